"""Pictures of one run: latent space, ROC curve of the test split, training curves.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot
state, no display needed), saved as PNG in the run directory and handed to the
trackers (TensorBoard shows them under Images).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Metric history as the trainer keeps it: ``[{"epoch": 1, "train/loss": ...}, ...]``.
History = Sequence[Mapping[str, float]]


def project_2d(z: np.ndarray) -> tuple[np.ndarray, tuple[str, str], str]:
    """Two coordinates per row of ``z`` to draw it in the plane.

    A 2-d latent space is drawn as it is; a wider one is projected on its first
    two principal components, and the axis labels say so with the share of
    variance each component explains. PCA rather than t-SNE because it is
    deterministic, takes milliseconds on PubMed and keeps the geometry an
    inner-product decoder uses.

    Returns:
        tuple: ``(N x 2 points, (x label, y label), description)``.

    """
    z = np.asarray(z, dtype=np.float64)
    d = z.shape[1]
    if d == 1:
        return np.column_stack([z[:, 0], np.zeros(len(z))]), ("z", ""), "the 1-d latent space"
    if d == 2:
        return z, ("z₁", "z₂"), "the 2-d latent space"
    points, share = pca_2d(z)
    labels = (f"PC 1 ({share[0]:.0f}% of variance)", f"PC 2 ({share[1]:.0f}% of variance)")
    return points, labels, f"PCA projection of the {d}-d latent space"


def pca_2d(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores on the first two principal components and their % of variance.

    ``Z - mean = U S Vᵀ``; the scores are ``U S`` for the two largest singular
    values, each component's sign fixed so its largest loading is positive
    (as scikit-learn's ``PCA`` does). A NumPy SVD rather than scikit-learn:
    same result, without the 0.55 s import in every ``graphae train``.
    """
    centered = z - z.mean(axis=0)
    _, singular, vt = np.linalg.svd(centered, full_matrices=False)
    components = vt[:2]
    signs = np.sign(components[np.arange(2), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    variance = singular**2
    return centered @ components.T, 100 * variance[:2] / max(variance.sum(), 1e-300)


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct score threshold (from (0, 0) to (1, 1)).

    Same points as ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``;
    tied scores make one diagonal step, so the trapezoid area is the AUC.
    """
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    ranked, sorted_scores = labels[order], np.asarray(scores, dtype=np.float64)[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(ranked) - 1]
    tp = np.cumsum(ranked)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    positives, negatives = max(labels.sum(), 1), max((~labels).sum(), 1)
    return np.r_[0.0, fp / negatives], np.r_[0.0, tp / positives]


#: Points drawn at most in a latent plot (a fixed random subset beyond it).
MAX_PLOTTED_POINTS = 50_000


def latent_figure(
    z: np.ndarray,
    classes: np.ndarray | None = None,
    title: str = "",
    class_names: Sequence[str] | None = None,
) -> Figure:
    """Scatter plot of the embeddings (or their PCA projection), coloured by node class.

    Class ``-1`` is drawn grey as "unlabelled"; ``class_names[c]`` names class
    ``c`` when given. Beyond :data:`MAX_PLOTTED_POINTS` nodes a fixed random
    subset is drawn (the projection uses every node), and the title says so.
    """
    from matplotlib.figure import Figure

    points, (xlabel, ylabel), description = project_2d(z)
    if len(points) > MAX_PLOTTED_POINTS:
        keep = np.sort(np.random.default_rng(0).choice(len(points), MAX_PLOTTED_POINTS, False))
        description += f", {MAX_PLOTTED_POINTS:,} of {len(points):,} nodes drawn"
        points = points[keep]
        classes = None if classes is None else np.asarray(classes)[keep]
    fig = Figure(figsize=(6, 5.2))
    ax = fig.add_subplot()
    size = max(1.0, min(12.0, 20000 / max(len(points), 1)))
    if classes is None:
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.6, linewidths=0)
    else:
        classes = np.asarray(classes)
        values = np.unique(classes)
        labelled = values[values >= 0]
        cmap = _class_colours(len(labelled))
        groups = [
            (classes == c, cmap[i], class_names[int(c)] if class_names else f"class {c}", 0.7)
            for i, c in enumerate(labelled)
        ]
        if len(labelled) < len(values):
            groups.append((classes < 0, "0.6", "unlabelled", 0.3))
        for mask, colour, name, alpha in groups:
            ax.scatter(
                points[mask, 0],
                points[mask, 1],
                s=size,
                alpha=alpha,
                linewidths=0,
                color=colour,
                label=f"{name} ({mask.sum()})",
            )
        ax.legend(fontsize=7, markerscale=8 / np.sqrt(size), loc="best", framealpha=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title}\n{description}" if title else description, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _class_colours(n: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def roc_figure(labels: np.ndarray, scores: np.ndarray, title: str = "") -> Figure:
    """ROC curve of the scores with its AUC and the chance diagonal."""
    from matplotlib.figure import Figure

    fpr, tpr = roc_points(labels, scores)
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids
    positives = int(np.sum(labels))
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, linewidth=1.8, label=f"AUC = {100 * auc:.2f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    counts = f"{positives} positive, {len(labels) - positives} negative test pairs"
    ax.set_title(f"{title}\nROC, {counts}" if title else f"ROC, {counts}", fontsize=10)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def training_curves_figure(
    history: History, best_epoch: int | None = None, title: str = ""
) -> Figure:
    """Training loss (and its parts) and validation AUC/AP (in %) per epoch, best epoch marked.

    Scores are drawn in percent, as the command line and the ROC legend print them.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    loss_ax, val_ax = fig.subplots(1, 2)
    for tag, style in (("train/loss", "-"), ("train/recon", "--"), ("train/kl", ":")):
        steps, values = _series(history, tag)
        if steps:
            loss_ax.plot(steps, values, style, label=tag.split("/")[1], linewidth=1.5)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss")
    loss_ax.set_title("training loss", fontsize=10)
    for tag, label in (("val/auc", "val AUC"), ("val/ap", "val AP")):
        steps, values = _series(history, tag)
        if steps:
            val_ax.plot(steps, [100 * v for v in values], label=label, linewidth=1.5)
    if best_epoch is not None:
        val_ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1)
        val_ax.text(
            best_epoch,
            0.02,
            f" best epoch {best_epoch}",
            transform=val_ax.get_xaxis_transform(),
            fontsize=8,
        )
    val_ax.set_xlabel("epoch")
    val_ax.set_ylabel("validation score (%)")
    val_ax.set_title("validation link prediction", fontsize=10)
    for ax in (loss_ax, val_ax):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _series(history: History, tag: str) -> tuple[list[float], list[float]]:
    points = [(h["epoch"], h[tag]) for h in history if tag in h and "epoch" in h]
    return [s for s, _ in points], [v for _, v in points]


def save_figure(figure: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``figure`` as PNG (or the format ``path``'s extension names: ``.pdf``, ``.svg``).

    The file is written atomically, and under exactly the name given (no
    extension is appended).

    Returns:
        Path: ``path``.

    Raises:
        OutputError: the file cannot be written (nothing is left behind).

    """
    from graphae.artifacts.atomic import atomic_path

    path = Path(path)
    fmt = path.suffix[1:].lower()
    if fmt not in figure.canvas.get_supported_filetypes():
        fmt = "png"
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format=fmt)
    return path
