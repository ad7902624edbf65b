"""Decoders that score node pairs from embeddings."""

from __future__ import annotations

import torch
from torch import nn

from graphae.losses import pair_logits


class InnerProductDecoder(nn.Module):
    """Inner-product decoder of Kipf & Welling (2016).

    .. math::
        p(A_{ij} = 1 \\mid z_i, z_j) = \\sigma(z_i^\\top z_j)

    Returns logits; apply :func:`torch.sigmoid` for probabilities.
    """

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Logits ``z_i · z_j`` for the ``[2, k]`` node pairs."""
        return pair_logits(z, pairs)

    def forward_all(self, z: torch.Tensor) -> torch.Tensor:
        """Dense ``N x N`` logits ``Z Zᵀ`` (small graphs only)."""
        return z @ z.t()
