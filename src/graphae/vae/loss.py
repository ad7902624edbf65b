"""The variational lower bound of Kingma & Welling (2014), as plain tensor functions.

For an image ``x`` with ``D`` pixel intensities in ``[0, 1]``, a Gaussian
encoder ``q(z|x) = N(μ, diag σ²)`` and a Bernoulli decoder with logits
``ℓ = f(z)``, the negative ELBO (the paper's Eq. 10, one sample of ``z``) is

.. math::
    -\\mathcal{L}(x) = \\underbrace{-\\log p(x \\mid z)}_{\\text{recon}}
    + \\underbrace{D_{KL}(q(z \\mid x) \\,\\|\\, \\mathcal{N}(0, I))}_{\\text{kl}},
    \\qquad z = μ + σ ⊙ ε,\\ ε \\sim \\mathcal{N}(0, I),

with the Bernoulli log-likelihood written on logits (numerically stable)

.. math::
    -\\log p(x \\mid z) = \\sum_{j=1}^{D} \\operatorname{softplus}(ℓ_j) - x_j ℓ_j
    = \\sum_j \\mathrm{BCE}(σ(ℓ_j), x_j)

and the KL divergence in closed form (the paper's Appendix B)

.. math::
    D_{KL} = -\\tfrac12 \\sum_{k=1}^{d} \\left(1 + \\log σ_k^2 - μ_k^2 - σ_k^2\\right).

Both are in nats per image. With intensities rather than binary pixels the
"likelihood" is the cross-entropy the reference implementations use; it is
not a normalised density, so these numbers compare only with that convention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``−log p(x|z)`` per image: binary cross-entropy on logits, summed over pixels.

    Args:
        logits (Tensor): ``N x D`` decoder logits ``ℓ``.
        x (Tensor): ``N x D`` targets in ``[0, 1]``.

    Returns:
        Tensor: ``N`` values in nats.

    """
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(μ, diag σ²) ‖ N(0, I))`` per image, in closed form.

    Args:
        mu (Tensor): ``N x d`` means.
        logvar (Tensor): ``N x d`` log-variances ``log σ²``.

    Returns:
        Tensor: ``N`` values in nats, ``−½ Σ_k (1 + log σ_k² − μ_k² − σ_k²)``.

    """
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def neg_elbo_terms(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the negative ELBO per image: ``(recon, kl)``; their sum is ``−ELBO``."""
    return bernoulli_nll(logits, x), gaussian_kl(mu, logvar)
