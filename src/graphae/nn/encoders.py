"""GCN encoders of Kipf & Welling, "Variational Graph Auto-Encoders" (2016).

https://arxiv.org/abs/1611.07308
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from graphae.nn.fused import gcn2, gcn2_heads
from graphae.nn.layers import GraphConv


class GCNEncoder(nn.Module):
    """Two-layer GCN, the GAE encoder.

    .. math::
        Z = \\mathrm{GCN}(X, A) = \\hat{A}\\, \\mathrm{ReLU}(\\hat{A} X W_0)\\, W_1

    Args:
        in_dim (int): feature width F (or N for identity features).
        hidden_dim (int, optional): first-layer width. (default: ``32``)
        latent_dim (int, optional): embedding size. (default: ``16``)
        dropout (float, optional): dropout on each layer's input. (default: ``0.0``)
        bias (bool, optional): layers with a bias (as PyG's ``GCNConv``).
            (default: ``False``, the paper's)

    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int = 32,
        latent_dim: int = 16,
        dropout: float = 0.0,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = GraphConv(in_dim, hidden_dim, dropout, bias)
        self.conv2 = GraphConv(hidden_dim, latent_dim, dropout, bias)

    def mode_independent(self) -> bool:
        """Whether the output is the same in training and eval mode: no layer has dropout."""
        return self.conv1.dropout == 0 and self.conv2.dropout == 0

    def forward(self, x: torch.Tensor | None, adj: torch.Tensor) -> torch.Tensor:
        """Return the ``N x latent_dim`` embedding Z."""
        if self.training and not self.mode_independent():
            return self.conv2(F.relu(self.conv1(x, adj)), adj)
        # the same computation as one autograd node (same numbers, less overhead)
        c1, c2 = self.conv1, self.conv2
        return gcn2(x, adj, c1.weight, c1.bias, c2.weight, c2.bias)


class VariationalGCNEncoder(nn.Module):
    """GCN with mean and log-std heads sharing the first layer, the VGAE encoder.

    .. math::
        \\mu = \\mathrm{GCN}_\\mu(X, A), \\quad \\log\\sigma = \\mathrm{GCN}_\\sigma(X, A),
        \\quad \\mathrm{GCN}_\\bullet = \\hat{A}\\, \\mathrm{ReLU}(\\hat{A} X W_0)\\, W_\\bullet

    Args:
        in_dim (int): feature width F (or N for identity features).
        hidden_dim (int, optional): shared first-layer width. (default: ``32``)
        latent_dim (int, optional): embedding size. (default: ``16``)
        dropout (float, optional): dropout on each layer's input. (default: ``0.0``)
        bias (bool, optional): layers with a bias (as PyG's ``GCNConv``).
            (default: ``False``, the paper's)

    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int = 32,
        latent_dim: int = 16,
        dropout: float = 0.0,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = GraphConv(in_dim, hidden_dim, dropout, bias)
        self.conv_mu = GraphConv(hidden_dim, latent_dim, dropout, bias)
        self.conv_logstd = GraphConv(hidden_dim, latent_dim, dropout, bias)

    def mode_independent(self) -> bool:
        """Whether the output is the same in training and eval mode: no layer has dropout."""
        return all(c.dropout == 0 for c in (self.conv1, self.conv_mu, self.conv_logstd))

    def forward(
        self, x: torch.Tensor | None, adj: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, logstd)``, each ``N x latent_dim``."""
        c1, c_mu, c_sigma = self.conv1, self.conv_mu, self.conv_logstd
        if self.training and not self.mode_independent():  # each head draws its own mask
            h = F.relu(c1(x, adj))
            return c_mu(h, adj), c_sigma(h, adj)
        # Â (h W_μ) and Â (h W_σ) as one product with 2·latent columns, the two
        # layers as one autograd node: the same numbers, less work and overhead
        mu, logstd = gcn2_heads(
            x, adj, c1.weight, c1.bias, [c_mu.weight, c_sigma.weight], [c_mu.bias, c_sigma.bias]
        )
        return mu, logstd
