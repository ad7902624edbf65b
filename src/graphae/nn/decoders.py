"""Decoders: score node pairs from embeddings (and, for MaskGAE, predict degrees)."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from graphae.losses import pair_logits

#: activations of the MLP decoders, by name
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "elu": nn.ELU}


class InnerProductDecoder(nn.Module):
    """Inner-product decoder of Kipf & Welling (2016).

    .. math::
        p(A_{ij} = 1 \\mid z_i, z_j) = \\sigma(z_i^\\top z_j)

    Returns logits; apply :func:`torch.sigmoid` for probabilities.
    """

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Logits ``z_i · z_j`` for the ``[2, k]`` node pairs."""
        return pair_logits(z, pairs)


class MLP(nn.Module):
    """Linear layers with dropout and an activation between them.

    ``layers`` linear maps ``in_dim -> hidden_dim -> ... -> out_dim``; every
    inner layer is ``φ(W dropout(h) + b)`` (``dropout_after``: ``φ(dropout(W h + b))``,
    MaskGAE's degree decoder), the last one linear.

    Args:
        in_dim (int): input width.
        hidden_dim (int): width of the inner layers.
        out_dim (int, optional): output width. (default: ``1``)
        layers (int, optional): number of linear maps, at least 1. (default: ``2``)
        dropout (float, optional): dropout rate. (default: ``0.0``)
        activation (str, optional): ``"relu"`` or ``"elu"``. (default: ``"relu"``)
        dropout_after (bool, optional): dropout after each inner map instead
            of before it. (default: ``False``)

    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int,
        out_dim: int = 1,
        layers: int = 2,
        dropout: float = 0.0,
        activation: str = "relu",
        dropout_after: bool = False,
    ) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"an MLP needs at least one layer, got {layers}")
        widths = [in_dim] + [hidden_dim] * (layers - 1) + [out_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.dropout = nn.Dropout(dropout)
        self.activation = ACTIVATIONS[activation]()
        self.dropout_after = dropout_after

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``k x in_dim`` -> ``k x out_dim``."""
        for linear in self.linears[:-1]:
            if self.dropout_after:
                h = self.activation(self.dropout(linear(h)))
            else:
                h = self.activation(linear(self.dropout(h)))
        return self.linears[-1](h)


class MLPDecoder(nn.Module):
    """MLP on the Hadamard product, MaskGAE's edge decoder.

    Li et al., "What's Behind the Mask: Understanding Masked Graph Modeling for
    Graph Autoencoders" (KDD 2023), https://arxiv.org/abs/2205.10053:

    .. math::
        \\mathrm{logit}(u, v) = \\mathrm{MLP}(z_u \\odot z_v)

    Symmetric in ``u`` and ``v`` (``⊙`` commutes). Dropout acts before each
    inner layer, in training mode only.

    Args:
        latent_dim (int): embedding size d.
        hidden_dim (int, optional): width of the inner layers. (default: ``64``)
        layers (int, optional): linear maps, at least 1. (default: ``2``)
        dropout (float, optional): dropout before each inner layer. (default: ``0.0``)
        activation (str, optional): ``"relu"`` or ``"elu"``. (default: ``"relu"``)

    """

    def __init__(
        self,
        latent_dim: int,
        hidden_dim: int = 64,
        layers: int = 2,
        dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.mlp = MLP(latent_dim, hidden_dim, 1, layers, dropout, activation)

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Logits for the ``[2, k]`` node pairs (shape ``[k]``)."""
        h = z.index_select(0, pairs[0]) * z.index_select(0, pairs[1])
        return self.mlp(h).squeeze(-1)


class DegreeDecoder(nn.Module):
    """MLP from a node's embedding to its degree, MaskGAE's auxiliary decoder.

    .. math::
        \\hat{d}_u = \\mathrm{ReLU}(\\mathrm{MLP}(z_u))

    trained by regression on the degrees in the masked edges (MaskGAE, KDD
    2023). Dropout follows each inner layer, as in MaskGAE's code.

    Args:
        latent_dim (int): embedding size d.
        hidden_dim (int, optional): width of the inner layers. (default: ``64``)
        layers (int, optional): linear maps, at least 1. (default: ``2``)
        dropout (float, optional): dropout after each inner layer. (default: ``0.0``)
        activation (str, optional): ``"relu"`` or ``"elu"``. (default: ``"relu"``)

    """

    def __init__(
        self,
        latent_dim: int,
        hidden_dim: int = 64,
        layers: int = 2,
        dropout: float = 0.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.mlp = MLP(latent_dim, hidden_dim, 1, layers, dropout, activation, dropout_after=True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Predicted degree of every node (shape ``[N]``, non-negative)."""
        return torch.relu(self.mlp(z).squeeze(-1))
