"""The VGAE's Gaussian sample and its KL term, in one pass each way.

Kingma & Welling, "Auto-Encoding Variational Bayes" (ICLR 2014), as used by
Kipf & Welling, "Variational Graph Auto-Encoders" (2016).
"""

from __future__ import annotations

from typing import Any

import torch


class _GaussianSample(torch.autograd.Function):
    r"""``z = μ + σ ⊙ ε`` and the mean KL over nodes, with closed-form gradients.

    Autograd of the plain expressions records ~12 small kernels and nodes
    (exp, mul, add, and the KL's squares and sums) and copies the column
    halves the encoder's shared product returns; here it is one node:

    .. math::
        \frac{\partial}{\partial \mu} = g_z + \frac{g_{KL}}{N} \mu, \qquad
        \frac{\partial}{\partial \log\sigma} = g_z \odot \varepsilon \odot \sigma
            + \frac{g_{KL}}{N} (\sigma^2 - 1)
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, mu: torch.Tensor, logstd: torch.Tensor, eps: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # column views of one product run ~3x slower elementwise: copy once
        mu, logstd = mu.contiguous(), logstd.contiguous()
        std = torch.exp(logstd)
        noise = eps.mul_(std)  # in place: ε is the caller's fresh draw, not kept
        z = mu + noise
        var = std.mul_(std)
        n = mu.shape[0]
        total = 2 * logstd.sum() - torch.vdot(mu.view(-1), mu.view(-1)) - var.sum()
        kl = (-0.5 / n) * (mu.numel() + total)
        ctx.save_for_backward(mu, noise, var)
        return z, kl

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any, grad_z: torch.Tensor, grad_kl: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        mu, noise, var = ctx.saved_tensors
        scale = grad_kl / mu.shape[0]
        grad_mu = torch.addcmul(grad_z, mu, scale)
        grad_logstd = torch.addcmul((var - 1) * scale, grad_z, noise)  # σ ε = noise
        return grad_mu, grad_logstd, None


def gaussian_sample(
    mu: torch.Tensor, logstd: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Reparameterised sample and KL divergence from the standard normal prior.

    .. math::
        z = \mu + \sigma \odot \varepsilon,\ \varepsilon \sim \mathcal{N}(0, I),
        \qquad
        \mathrm{KL} = \frac{1}{N} \sum_i -\tfrac12 \sum_d
            \big(1 + 2\log\sigma_{id} - \mu_{id}^2 - \sigma_{id}^2\big)

    Args:
        mu (Tensor): ``N x d`` means.
        logstd (Tensor): ``N x d`` log standard deviations.
        generator (Generator, optional): source of ``ε``.

    Returns:
        tuple: ``z`` (``N x d``) and the KL of ``q(z_i)`` from ``N(0, I)``
        averaged over the N nodes (a scalar), both differentiable.

    """
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return _GaussianSample.apply(mu, logstd, eps)
