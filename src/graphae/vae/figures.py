"""Pictures of an image-VAE run, after Kingma & Welling (2014), Figures 4 and 5.

Figures are built with :class:`matplotlib.figure.Figure` and rendered by
the Agg canvas (no pyplot state, no display needed); the caller saves them
as PNG and hands them to the trackers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from graphae.vae.model import VAE

History = Sequence[Mapping[str, float]]


def tile(
    images: torch.Tensor | np.ndarray, ncols: int | None = None, pad: int = 1, fill: float = 0.5
) -> np.ndarray:
    """Arrange ``n x 1 x H x W`` (or ``n x H x W``) images in a grid.

    Args:
        images (Tensor or ndarray): values in ``[0, 1]``.
        ncols (int, optional): images per row. (default: ``ceil(sqrt(n))``)
        pad (int, optional): pixels between images. (default: ``1``)
        fill (float, optional): value of the gaps (and of empty cells). (default: ``0.5``)

    Returns:
        numpy.ndarray: one 2-d array of the mosaic.

    """
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else images
    array = np.asarray(array, dtype=np.float32).reshape(len(array), *array.shape[-2:])
    n, h, w = array.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    size = (nrows * (h + pad) - pad, ncols * (w + pad) - pad)
    mosaic = np.full(size, fill, dtype=np.float32)
    for i, image in enumerate(array):
        r, c = divmod(i, ncols)
        mosaic[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = image
    return mosaic


def tile_gap(width: int) -> int:
    """Pixels between tiles ``width`` pixels wide: 1 for 8x8 digits, 2 for 28x28 images."""
    return max(1, width // 14)


def grid_figure(
    images: torch.Tensor | np.ndarray,
    title: str = "",
    ncols: int | None = None,
    pad: int | None = None,
) -> Figure:
    """A grid of grey-scale images, white on black as in the paper (e.g. 64 samples).

    Args:
        images (Tensor or ndarray): ``n x 1 x H x W`` (or ``n x H x W``) in ``[0, 1]``.
        title (str, optional): the figure's title. (default: ``""``)
        ncols (int, optional): images per row. (default: ``ceil(sqrt(n))``)
        pad (int, optional): pixels of grey between images.
            (default: :func:`tile_gap` of the image width)

    """
    from matplotlib.figure import Figure

    mosaic = tile(images, ncols, tile_gap(images.shape[-1]) if pad is None else pad)
    height, width = mosaic.shape
    fig = Figure(figsize=(6, 6 * height / width + (0.4 if title else 0)))
    ax = fig.add_subplot()
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def reconstruction_figure(
    originals: torch.Tensor, reconstructions: torch.Tensor, ncols: int = 8, title: str = ""
) -> Figure:
    """Rows of test images, each followed by a row of their reconstructions."""
    n = min(len(originals), len(reconstructions))
    rows = []
    for start in range(0, n, ncols):
        rows += [originals[start : start + ncols], reconstructions[start : start + ncols]]
    heading = "odd rows: test images; even rows: reconstructions (decoded μ)"
    return grid_figure(torch.cat(rows), f"{title}\n{heading}" if title else heading, ncols)


@torch.no_grad()
def manifold_figure(model: VAE, n: int = 20, title: str = "") -> Figure:
    """The learned 2-d manifold (the paper's Figure 4).

    Decodes a regular ``n x n`` grid of the unit square mapped through the
    inverse Gaussian CDF, ``z = Φ⁻¹(u)``, ``u ∈ (0, 1)²``, so that the grid
    covers the prior ``N(0, I)`` with equal probability mass per cell. Grey
    gaps (:func:`tile_gap` pixels) separate the tiles: without them
    neighbouring decodings, which change little, merge into stripes.
    """
    if model.latent_dim != 2:
        raise ValueError(f"the manifold needs a 2-d latent space, not {model.latent_dim}-d")
    u = torch.linspace(0.5 / n, 1 - 0.5 / n, n, dtype=torch.float64)
    coords = torch.special.ndtri(u).float()
    # rows from top (large z₂) to bottom, columns left (small z₁) to right
    z = torch.stack(torch.meshgrid(coords.flip(0), coords, indexing="ij")[::-1], -1)
    images = model.sample(n * n, z=z.reshape(-1, 2))
    heading = f"decoded z = Φ⁻¹(u) on a {n}x{n} grid, z₁ left→right, z₂ bottom→top"
    return grid_figure(images, f"{title}\n{heading}" if title else heading, ncols=n)


def codes_figure(
    mu: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    classes: Sequence[str],
    title: str = "",
) -> Figure:
    """Test codes ``μ(x)`` in the 2-d latent plane, coloured by class."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    mu = np.asarray(mu.cpu() if isinstance(mu, torch.Tensor) else mu)
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    fig = Figure(figsize=(7, 5.6))
    ax = fig.add_subplot()
    cmap = colormaps["tab10"]
    size = max(1.0, min(12.0, 20000 / max(len(mu), 1)))
    for c in np.unique(labels):
        mask = labels == c
        name = classes[c] if 0 <= c < len(classes) else str(c)
        ax.scatter(
            mu[mask, 0],
            mu[mask, 1],
            s=size,
            alpha=0.6,
            linewidths=0,
            color=cmap(c % 10),
            label=name,
        )
    ax.legend(
        fontsize=7, markerscale=8 / math.sqrt(size), loc="center left", bbox_to_anchor=(1, 0.5)
    )
    ax.set_xlabel("μ₁")
    ax.set_ylabel("μ₂")
    heading = f"test codes μ(x) of {len(mu)} images by class"
    ax.set_title(f"{title}\n{heading}" if title else heading, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def elbo_figure(history: History, title: str = "") -> Figure:
    """Train and test −ELBO per epoch (nats per image), with the KL part on a second axis."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 4))
    elbo_ax, kl_ax = fig.subplots(1, 2)
    for split, style in (("train", "--"), ("test", "-")):
        epochs, values = _series(history, f"{split}/neg_elbo")
        elbo_ax.plot(epochs, values, style, marker=".", label=f"{split} −ELBO", linewidth=1.5)
        epochs, values = _series(history, f"{split}/kl")
        kl_ax.plot(epochs, values, style, marker=".", label=f"{split} KL", linewidth=1.5)
    _, last = _series(history, "test/neg_elbo")
    elbo_ax.set_title(f"−ELBO (last test: {last[-1]:.1f})" if last else "−ELBO", fontsize=10)
    elbo_ax.set_ylabel("nats per image")
    kl_ax.set_title("KL(q(z|x) ‖ p(z)) part", fontsize=10)
    for ax in (elbo_ax, kl_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def sizes_figure(histories: Mapping[str, History], title: str = "") -> Figure:
    """Test (solid) and train (dashed) −ELBO per epoch, one colour per run (latent size)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    cmap = colormaps["tab10"]
    tops = []
    for i, (label, history) in enumerate(histories.items()):
        epochs, test = _series(history, "test/neg_elbo")
        ax.plot(epochs, test, "-", marker=".", color=cmap(i % 10), label=f"{label} test")
        epochs, train = _series(history, "train/neg_elbo")
        ax.plot(epochs, train, "--", color=cmap(i % 10), alpha=0.7, label=f"{label} train")
        tops += test[1:2] + train[1:2]
    if tops:  # the first epoch is far above the rest: start the axis at the second
        low, _ = ax.get_ylim()
        ax.set_ylim(low, max(tops) + 2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("−ELBO (nats per image)")
    ax.set_title(title or "train and test −ELBO per epoch", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    fig.tight_layout()
    return fig


def _series(history: History, tag: str) -> tuple[list[float], list[float]]:
    points = [(h["epoch"], h[tag]) for h in history if tag in h and "epoch" in h]
    return [e for e, _ in points], [v for _, v in points]
