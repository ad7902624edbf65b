"""The variational autoencoder of Kingma & Welling, "Auto-Encoding Variational Bayes" (2014).

https://arxiv.org/abs/1312.6114. An MLP encoder gives the Gaussian
posterior ``q(z|x) = N(μ(x), diag σ²(x))``; a sample is drawn with the
reparameterisation trick ``z = μ + σ ⊙ ε``, ``ε ~ N(0, I)``, so that the
gradient flows through ``μ`` and ``σ``; an MLP decoder gives Bernoulli
logits ``ℓ(z)`` per pixel, ``p(x|z) = Π_j σ(ℓ_j)^{x_j} (1 − σ(ℓ_j))^{1 − x_j}``.
The objective lives in :mod:`graphae.vae.loss`; the model only computes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn


class VAEOutput(NamedTuple):
    """What :meth:`VAE.forward` returns (state is never kept on the module)."""

    logits: torch.Tensor  # N x D Bernoulli logits of p(x|z)
    mu: torch.Tensor  # N x d posterior means
    logvar: torch.Tensor  # N x d posterior log-variances log σ²
    z: torch.Tensor  # N x d reparameterised sample


def mlp(sizes: Sequence[int], relu_last: bool = False) -> nn.Sequential:
    """Linear layers of the given widths with ReLU between them (and after the last if asked)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if relu_last or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    r"""Gaussian-encoder, Bernoulli-decoder VAE on flattened images (Kingma & Welling, 2014).

    .. math::
        (μ, \log σ^2) = \mathrm{enc}(x), \quad z = μ + σ ⊙ ε, \quad
        p(x \mid z) = \mathrm{Bernoulli}(\mathrm{sigmoid}(\mathrm{dec}(z)))

    Args:
        image_shape (tuple): ``(H, W)`` of one image; the input width is ``H·W``.
        latent_dim (int): size ``d`` of ``z``.
        hidden (sequence of int, optional): encoder widths; the decoder mirrors
            them. (default: ``(500, 250)``, i.e. 784-500-250-d and back)

    """

    def __init__(
        self, image_shape: Sequence[int], latent_dim: int, hidden: Sequence[int] = (500, 250)
    ) -> None:
        super().__init__()
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.latent_dim = int(latent_dim)
        self.hidden = tuple(int(h) for h in hidden)
        in_dim = self.image_shape[0] * self.image_shape[1]
        body = [in_dim, *self.hidden]
        self.encoder = mlp(body, relu_last=True)  # x -> h (ReLU after every layer)
        self.posterior = nn.Linear(body[-1], 2 * self.latent_dim)  # h -> [μ, log σ²]
        self.decoder = mlp([self.latent_dim, *reversed(body)])  # z -> logits ℓ

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(μ, log σ²)`` of ``q(z|x)`` for ``N x D`` images."""
        mu, logvar = self.posterior(self.encoder(x)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits ``N x D`` of ``p(x|z)``."""
        return self.decoder(z)

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``z = μ + σ ⊙ ε`` with ``ε ~ N(0, I)`` (the paper's reparameterisation trick)."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        """Encode, draw one ``z`` per image, decode."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        return VAEOutput(self.decode(z), mu, logvar, z)

    def images(self, flat: torch.Tensor) -> torch.Tensor:
        """Reshape ``N x D`` values to ``N x 1 x H x W``."""
        return flat.reshape(-1, 1, *self.image_shape)

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decode ``z ~ N(0, I)`` (or the given ``z``) to pixel means.

        Returns:
            Tensor: ``n x 1 x H x W`` Bernoulli means ``σ(ℓ)`` in ``[0, 1]``.

        """
        device = next(self.parameters()).device
        if z is None:
            z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return self.images(torch.sigmoid(self.decode(z.to(device))))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel means decoded from the posterior means ``μ(x)``: ``N x 1 x H x W``."""
        return self.images(torch.sigmoid(self.decode(self.encode(x)[0])))
