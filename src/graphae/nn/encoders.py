"""Encoders: maps ``(X, Â)`` to node embeddings ``Z`` (or ``(μ, log σ)`` for VGAE).

* :class:`GCNEncoder`, :class:`VariationalGCNEncoder`: the two-layer GCNs of
  Kipf & Welling, "Variational Graph Auto-Encoders" (2016),
  https://arxiv.org/abs/1611.07308;
* :class:`GCNStackEncoder`, :class:`VariationalGCNStackEncoder`: GCNs of any
  depth with batch/layer norm, residuals and parameter-free propagation
  (MaskGAE's encoder, KDD 2023);
* :class:`LinearEncoder`, :class:`VariationalLinearEncoder`: the one-layer
  linear encoders of Salha et al. (2020).
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graphae.nn.fused import gcn2, gcn2_heads
from graphae.nn.layers import GraphConv
from graphae.sparse import csr, sparse_matmul, spmm


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


#: activations of the configurable encoders, by name
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "elu": nn.ELU}
#: node-wise normalisations of the configurable encoders, by name (``"none"``: identity)
NORMS: dict[str, type[nn.Module]] = {
    "none": nn.Identity,
    "batch": nn.BatchNorm1d,
    "layer": nn.LayerNorm,
}


def propagate(adj: torch.Tensor, h: torch.Tensor, steps: int) -> torch.Tensor:
    """``Â^steps H``: parameter-free propagation (SGC, Wu et al. 2019), ``steps >= 0``."""
    for _ in range(steps):
        h = sparse_matmul(adj, h)
    return h


class SparseFeatures:
    """A sparse CSR feature matrix indexed for dropout products ``dropout(X) W``.

    Dropout on ``X``'s stored values zeroes most of them at MaskGAE's rates
    (80% on Cora), so :meth:`dropped` returns ``dropout(X)`` *without* the
    dropped entries, and its transpose (for ``∇W = dropout(X)ᵀ G``) from a
    transposed pattern computed once: the two sparse products then cost a
    ``1 - p`` share of ``X W`` each, and no transpose is formed per step.

    Args:
        x (Tensor): ``N x F`` sparse CSR features.

    """

    def __init__(self, x: torch.Tensor) -> None:
        # copies only: a reference to `x` would keep it alive in sparse_features' cache
        self.shape: tuple[int, int] = (x.shape[0], x.shape[1])
        n = x.shape[0]
        self.values = x.values().detach().clone()
        crow, col = x.crow_indices().long(), x.col_indices().long()
        self.row = torch.repeat_interleave(torch.arange(n, device=x.device), crow.diff())
        self.order = torch.argsort(col * n + self.row)  # the entries in the transpose's order
        self.t_row, self.t_col = col[self.order], self.row[self.order].int()
        self.t_values = self.values[self.order]
        self.col = col.int()

    def dropped(self, p: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``(dropout(X), dropout(X)ᵀ)`` with one draw, as CSR without the dropped entries.

        Each stored value is kept with probability ``1 - p`` (the global torch
        generator, as :func:`torch.nn.functional.dropout`) and scaled by ``1 / (1 - p)``.
        """
        n, f = self.shape
        keep = torch.rand(self.values.shape, device=self.values.device) >= p
        scale = 1.0 / (1.0 - p)
        kept = _compact(keep, self.row, self.col, self.values, scale, n, (n, f))
        kept_t = _compact(keep[self.order], self.t_row, self.t_col, self.t_values, scale, f, (f, n))
        return kept, kept_t


def _compact(
    keep: torch.Tensor,
    row: torch.Tensor,
    col: torch.Tensor,
    values: torch.Tensor,
    scale: float,
    rows: int,
    shape: tuple[int, int],
) -> torch.Tensor:
    """The CSR matrix of the kept entries (of row-sorted ``row``, ``col``, ``values``), scaled."""
    index = keep.nonzero().squeeze(1)
    crow = torch.zeros(rows + 1, dtype=torch.int32, device=row.device)
    torch.cumsum(torch.bincount(row.index_select(0, index), minlength=rows), 0, out=crow[1:])
    kept_values = values.index_select(0, index).mul_(scale)
    return csr(crow, col.index_select(0, index), kept_values, shape)


#: ``id(features) -> (weak reference, SparseFeatures)``, kept while the features live
_FEATURES: dict[int, tuple[weakref.ref[torch.Tensor], SparseFeatures]] = {}


def sparse_features(x: torch.Tensor) -> SparseFeatures:
    """:class:`SparseFeatures` of ``x``, built once per matrix and kept while it lives."""
    key = id(x)
    cached = _FEATURES.get(key)
    if cached is not None and cached[0]() is x:
        return cached[1]
    indexed = SparseFeatures(x)
    ref = weakref.ref(x, lambda _, key=key: _FEATURES.pop(key, None))
    _FEATURES[key] = (ref, indexed)
    return indexed


class _DroppedProduct(torch.autograd.Function):
    """``dropout(X) W`` for sparse ``X`` given as ``(X', X'ᵀ)``; ``∇W = X'ᵀ G``."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, kept: torch.Tensor, kept_t: torch.Tensor, weight: torch.Tensor
    ) -> torch.Tensor:
        ctx.kept_t = kept_t
        return spmm(kept, weight)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, None, torch.Tensor]:  # type: ignore[override]
        return None, None, spmm(ctx.kept_t, grad.contiguous())


def dropout_product(
    x: torch.Tensor | None, weight: torch.Tensor, p: float, training: bool
) -> torch.Tensor:
    """``dropout(X) W`` for dense, sparse CSR or identity (``None``) features.

    The identity's dropout drops whole rows of ``W`` (as :class:`GraphConv`);
    sparse ``X`` goes through :class:`SparseFeatures` (the dropped entries
    left out of both products).
    """
    active = training and p > 0
    if x is None:
        if not active:
            return weight
        keep = torch.full((weight.shape[0], 1), 1 - p, device=weight.device)
        return weight * torch.bernoulli(keep) / (1 - p)
    if x.layout == torch.strided:
        return F.dropout(x, p, training) @ weight
    if not active:
        return sparse_matmul(x, weight)
    kept, kept_t = sparse_features(x).dropped(p)
    return _DroppedProduct.apply(kept, kept_t, weight)


class GCNStackEncoder(nn.Module):
    """A configurable GCN encoder: depth, width, normalisation, residuals, propagation.

    The encoder of MaskGAE (Li et al., "What's Behind the Mask: Understanding
    Masked Graph Modeling for Graph Autoencoders", KDD 2023,
    https://arxiv.org/abs/2205.10053) and of the Refined-GAE line of work, in
    the style of Kipf & Welling's GCN. Layer ``l`` computes

    .. math::
        H^{(l+1)} = \\phi\\Big(\\mathrm{norm}\\big(\\hat{A}^{1 + k_l}\\,
            \\mathrm{dropout}(H^{(l)})\\, W_l + b_l\\big)\\Big)
            \\; \\big(+\\, H^{(l)}\\big)

    with ``k_0 = propagate_before`` and ``k_l = 0`` for later layers (``Â^k X W
    = (Â^k X) W``: SGC-style propagation of the inputs, computed on the narrow
    product), and the output multiplied by ``Â^{propagate_after}``. The last
    layer has the norm and activation ``φ`` only with ``activate_output``
    (MaskGAE's; the 2016 encoders end linear). The residual term joins layers
    whose input and output have the same width.

    Args:
        in_dim (int): feature width F (or N for identity features).
        hidden_dim (int, optional): width of the inner layers. (default: ``128``)
        latent_dim (int, optional): embedding size, the last layer's width. (default: ``128``)
        layers (int, optional): number of graph convolutions. (default: ``1``)
        dropout (float, optional): dropout on each layer's input. (default: ``0.0``)
        norm (str, optional): ``"none"``, ``"batch"`` or ``"layer"``. (default: ``"batch"``)
        residual (bool, optional): residual connections. (default: ``False``)
        activation (str, optional): ``"relu"`` or ``"elu"``. (default: ``"elu"``)
        activate_output (bool, optional): norm and activation after the last
            layer too. (default: ``True``)
        propagate_before (int, optional): extra ``Â`` steps on the inputs. (default: ``0``)
        propagate_after (int, optional): ``Â`` steps on the output. (default: ``0``)
        bias (bool, optional): layers with a bias, zero-initialised. (default: ``True``)

    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int = 128,
        latent_dim: int = 128,
        layers: int = 1,
        dropout: float = 0.0,
        norm: str = "batch",
        residual: bool = False,
        activation: str = "elu",
        activate_output: bool = True,
        propagate_before: int = 0,
        propagate_after: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be at least 1, got {layers}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}")
        widths = [in_dim] + [hidden_dim] * (layers - 1) + [latent_dim]
        self.dropout, self.norm, self.residual = dropout, norm, residual
        self.propagate_before, self.propagate_after = propagate_before, propagate_after
        self.convs = nn.ModuleList(GraphConv(a, b, dropout) for a, b in itertools.pairwise(widths))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(width)) for width in widths[1:] if bias
        )
        shaped = layers if activate_output else layers - 1  # layers with norm + activation
        self.norms = nn.ModuleList(NORMS[norm](width) for width in widths[1 : shaped + 1])
        self.activation = ACTIVATIONS[activation]()

    def mode_independent(self) -> bool:
        """Whether the output is the same in training and eval mode: no dropout, no batch norm."""
        return self.dropout == 0 and not (self.norm == "batch" and len(self.norms))

    def conv(
        self,
        index: int,
        h: torch.Tensor | None,
        adj: torch.Tensor,
        weight: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``Â^{1+k} dropout(H) W + b`` of layer ``index`` (or with another head's ``W``, ``b``)."""
        if weight is None:
            weight = self.convs[index].weight
            bias = self.biases[index] if len(self.biases) else None
        support = dropout_product(h, weight, self.dropout, self.training)
        out = propagate(adj, support, 1 + (self.propagate_before if index == 0 else 0))
        return out if bias is None else out + bias

    def layer(self, index: int, h: torch.Tensor | None, adj: torch.Tensor) -> torch.Tensor:
        """Layer ``index`` on its input ``h`` (``None``: identity features)."""
        out = self.conv(index, h, adj)
        if index < len(self.norms):
            out = self.activation(self.norms[index](out))
        if self.residual and h is not None and h.layout == torch.strided and h.shape == out.shape:
            out = out + h
        return out

    def forward(self, x: torch.Tensor | None, adj: torch.Tensor) -> torch.Tensor:
        """Return the ``N x latent_dim`` embedding Z."""
        h = x
        for index in range(len(self.convs)):
            h = self.layer(index, h, adj)
        assert h is not None
        return propagate(adj, h, self.propagate_after)


class VariationalGCNStackEncoder(GCNStackEncoder):
    """:class:`GCNStackEncoder` with mean and log-std heads, for VGAE.

    The first ``layers - 1`` layers are shared; the last is two linear heads
    (no norm, no activation), each followed by ``Â^{propagate_after}``:

    .. math::
        \\mu = \\hat{A}^{k}\\, \\mathrm{GCN}_\\mu(H), \\quad
        \\log\\sigma = \\hat{A}^{k}\\, \\mathrm{GCN}_\\sigma(H)

    With ``layers=1`` the heads read the features: the linear VGAE of Salha et
    al. (with ``norm="none"``, ``bias=False``). Arguments as
    :class:`GCNStackEncoder` (``activate_output`` does not apply).
    """

    def __init__(
        self, in_dim: int, hidden_dim: int = 128, latent_dim: int = 128, **kwargs: Any
    ) -> None:
        kwargs["activate_output"] = False
        super().__init__(in_dim, hidden_dim, latent_dim, **kwargs)
        last = self.convs[-1]
        self.conv_logstd = GraphConv(last.in_dim, last.out_dim, self.dropout)
        self.bias_logstd = nn.Parameter(torch.zeros(last.out_dim)) if len(self.biases) else None

    def forward(  # type: ignore[override]
        self, x: torch.Tensor | None, adj: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, logstd)``, each ``N x latent_dim``."""
        h = x
        last = len(self.convs) - 1
        for index in range(last):
            h = self.layer(index, h, adj)
        mu = self.conv(last, h, adj)
        logstd = self.conv(last, h, adj, self.conv_logstd.weight, self.bias_logstd)
        return propagate(adj, mu, self.propagate_after), propagate(
            adj, logstd, self.propagate_after
        )


class LinearEncoder(nn.Module):
    """One linear graph convolution, the encoder of the linear GAE.

    Salha, Hennequin & Vazirgiannis, "Keep It Simple: Graph Autoencoders Without
    Graph Convolutional Networks" (NeurIPS 2019 GRL workshop) and "Simple and
    Effective Graph Autoencoders with One-Hop Linear Models" (ECML-PKDD 2020),
    https://arxiv.org/abs/2001.07614:

    .. math::
        Z = \\hat{A} X W

    Args:
        in_dim (int): feature width F (or N for identity features).
        hidden_dim (int, optional): unused (one layer); kept for a common signature.
        latent_dim (int, optional): embedding size. (default: ``16``)
        dropout (float, optional): dropout on the input. (default: ``0.0``)
        bias (bool, optional): a bias (the paper's has none). (default: ``False``)

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
        self.conv = GraphConv(in_dim, latent_dim, dropout, bias)

    def mode_independent(self) -> bool:
        """Whether the output is the same in training and eval mode: no dropout."""
        return self.conv.dropout == 0

    def forward(self, x: torch.Tensor | None, adj: torch.Tensor) -> torch.Tensor:
        """Return the ``N x latent_dim`` embedding Z."""
        return self.conv(x, adj)


class VariationalLinearEncoder(nn.Module):
    """Two linear graph convolutions for ``μ`` and ``log σ``, the linear VGAE encoder.

    Salha et al. (2020), https://arxiv.org/abs/2001.07614:

    .. math::
        \\mu = \\hat{A} X W_\\mu, \\qquad \\log\\sigma = \\hat{A} X W_\\sigma

    Args:
        in_dim (int): feature width F (or N for identity features).
        hidden_dim (int, optional): unused (one layer); kept for a common signature.
        latent_dim (int, optional): embedding size. (default: ``16``)
        dropout (float, optional): dropout on the input, each head its own draw.
            (default: ``0.0``)
        bias (bool, optional): biases (the paper's have none). (default: ``False``)

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
        self.conv_mu = GraphConv(in_dim, latent_dim, dropout, bias)
        self.conv_logstd = GraphConv(in_dim, latent_dim, dropout, bias)

    def mode_independent(self) -> bool:
        """Whether the output is the same in training and eval mode: no dropout."""
        return self.conv_mu.dropout == 0

    def forward(
        self, x: torch.Tensor | None, adj: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, logstd)``, each ``N x latent_dim``."""
        return self.conv_mu(x, adj), self.conv_logstd(x, adj)
