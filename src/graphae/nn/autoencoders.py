"""Graph autoencoders (GAE, VGAE) of Kipf & Welling (2016).

"Variational Graph Auto-Encoders", NIPS Bayesian Deep Learning workshop,
https://arxiv.org/abs/1611.07308.

Models are composed of an encoder and a decoder and keep no state between
calls: :meth:`GAE.encode` returns an :class:`Encoding`. Losses live in
:mod:`graphae.losses`, metrics in :mod:`graphae.evaluation`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from graphae.nn.decoders import InnerProductDecoder
from graphae.nn.reparameterize import gaussian_sample


class Encoding(NamedTuple):
    """What an encoder pass produced.

    Attributes:
        z: embedding used for reconstruction (a sample for VGAE in training).
        mu: deterministic embedding (``z`` for GAE, the mean for VGAE).
        logstd: log standard deviation (VGAE only).
        kl: ``KL(q(z_i) ‖ N(0, I))`` averaged over nodes, computed with the
            sample (VGAE in training mode only).

    """

    z: torch.Tensor
    mu: torch.Tensor
    logstd: torch.Tensor | None = None
    kl: torch.Tensor | None = None


class GAE(nn.Module):
    """Graph autoencoder: ``Z = encoder(X, Â)``, ``Â_rec = σ(decoder(Z))``.

    Args:
        encoder (Module): maps ``(x, adj)`` to ``Z``.
        decoder (Module, optional): maps ``(z, pairs)`` to logits.
            (default: :class:`InnerProductDecoder`)

    """

    variational = False

    def __init__(self, encoder: nn.Module, decoder: nn.Module | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder if decoder is not None else InnerProductDecoder()

    def encode(self, x: torch.Tensor | None, adj: torch.Tensor) -> Encoding:
        """Run the encoder."""
        z = self.encoder(x, adj)
        return Encoding(z=z, mu=z)

    def mode_independent(self) -> bool:
        """Whether ``μ`` is the same in training and eval mode, as the encoder declares.

        Then the ``μ`` of a training pass equals :meth:`embed`, and a trainer
        may validate with it instead of a second encoder pass. The encoder
        declares it with a ``mode_independent()`` method (the GCN encoders do,
        from their dropout settings); an encoder without one (a lambda, a
        module with functional dropout) is taken to depend on the mode, which
        costs an extra encoder pass per validation but is never wrong.
        """
        declare = getattr(self.encoder, "mode_independent", None)
        return bool(declare()) if callable(declare) else False

    @torch.no_grad()
    def embed(self, x: torch.Tensor | None, adj: torch.Tensor) -> torch.Tensor:
        """Deterministic node embeddings (``μ`` for VGAE), without gradients."""
        was_training = self.training
        self.eval()
        try:
            return self.encode(x, adj).mu.contiguous()
        finally:
            self.train(was_training)

    def decode(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Logits of the ``[2, k]`` pairs."""
        return self.decoder(z, pairs)


class VGAE(GAE):
    """Variational graph autoencoder.

    .. math::
        q(z_i \\mid X, A) = \\mathcal{N}(\\mu_i, \\mathrm{diag}(\\sigma_i^2)), \\qquad
        z = \\mu + \\sigma \\odot \\varepsilon, \\ \\varepsilon \\sim \\mathcal{N}(0, I)

    The encoder returns ``(mu, logstd)``. In training mode :meth:`encode`
    samples ``z``; in eval mode ``z = mu``.
    """

    variational = True

    def encode(self, x: torch.Tensor | None, adj: torch.Tensor) -> Encoding:
        """Run the encoder and reparameterise."""
        mu, logstd = self.encoder(x, adj)
        if not self.training:
            return Encoding(z=mu, mu=mu, logstd=logstd)
        z, kl = gaussian_sample(mu, logstd)
        return Encoding(z=z, mu=mu, logstd=logstd, kl=kl)
