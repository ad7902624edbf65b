"""The graph convolution of the GAE encoder.

We keep our own small layer rather than PyG's ``GCNConv`` because it takes the
normalised adjacency ``Â`` precomputed once per graph as a sparse CSR matrix,
accepts sparse or absent (identity) input features, and has no bias, exactly
like the reference code (tkipf/gae). ``Â`` itself comes from PyG's ``gcn_norm``
(see :func:`graphae.data.gcn_adjacency`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from graphae.sparse import sparse_matmul


def _is_sparse(x: torch.Tensor) -> bool:
    return x.layout != torch.strided


def sparse_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout on the stored values of a sparse CSR matrix (zeros stay zero)."""
    if not training or p == 0.0:
        return x
    values = F.dropout(x.values(), p, training=True)
    return torch.sparse_csr_tensor(
        x.crow_indices(), x.col_indices(), values, x.shape, check_invariants=False
    )


class GraphConv(nn.Module):
    """Graph convolution of Kipf & Welling (ICLR 2017), without bias by default.

    .. math::
        H' = \\hat{A}\\, \\mathrm{dropout}(H)\\, W \\; (+\\, b)

    Args:
        in_dim (int): input width F (for identity features: the node count N).
        out_dim (int): output width.
        dropout (float, optional): dropout on the input. (default: ``0.0``)
        bias (bool, optional): add a learned bias, zero-initialised (PyG's
            ``GCNConv`` default; the VGAE paper's layers have none).
            (default: ``False``)

    """

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.0, bias: bool = False) -> None:
        super().__init__()
        self.in_dim, self.out_dim, self.dropout = in_dim, out_dim, dropout
        self.weight = nn.Parameter(torch.empty(in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights, as in the reference code; zero bias, as in PyG."""
        nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor | None, adj: torch.Tensor) -> torch.Tensor:
        """Apply the layer.

        Args:
            x (Tensor or None): ``N x in_dim`` dense or sparse CSR input, or
                ``None`` for identity features (then ``X·W = W``).
            adj (Tensor): ``N x N`` normalised adjacency (sparse CSR).

        Returns:
            Tensor: ``N x out_dim``.

        """
        if x is None:
            # dropout(I) W: each diagonal 1 of I kept with probability 1 − p and
            # scaled to 1 / (1 − p), i.e. whole rows of W dropped or rescaled
            support = self.weight
            if self.training and self.dropout > 0:
                keep = torch.full((self.in_dim, 1), 1 - self.dropout, device=support.device)
                support = support * torch.bernoulli(keep) / (1 - self.dropout)
        elif _is_sparse(x):
            support = sparse_matmul(sparse_dropout(x, self.dropout, self.training), self.weight)
        else:
            support = F.dropout(x, self.dropout, self.training) @ self.weight
        out = sparse_matmul(adj, support)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        """Sizes, dropout and bias, shown by ``print(model)``."""
        return (
            f"{self.in_dim}, {self.out_dim}, dropout={self.dropout}, bias={self.bias is not None}"
        )
