"""The two-layer GCN of the GAE encoders as one autograd node.

Kipf & Welling, "Variational Graph Auto-Encoders" (2016), encoder:

.. math::
    Z = \\hat{A}\\, \\mathrm{ReLU}(\\hat{A} X W_0 + b_0)\\, W_1 + b_1

with, for VGAE, two second-layer heads (``W_μ``, ``W_σ``) on the shared
first layer, computed as one product with ``W_1 = [W_μ | W_σ]``.

Run through autograd op by op, the VGAE encoder is ~12 forward nodes (the
weight and bias concatenations, three Python-level
:func:`~graphae.sparse.sparse_matmul`, the split into heads) and as many
backward calls; on Cora the engine's bookkeeping costs about as much as the
arithmetic. :func:`gcn2` runs the same kernels in the same order, forward
and backward, inside one node: outputs and gradients are bit for bit those
of the op-by-op graph (tested). Measured on the example's model of
``benchmarks/pyg_example_speed.py`` (Cora VGAE, 2 threads): 0.05 ms less per
epoch in a quiet hour (paired blocks), 0.3–0.5 ms less in a busy one
(alternating runs), where every extra step of Python is slowed too.

The backward pass, for the output gradient ``G`` (the heads' side by side):

.. math::
    G_{HW} = \\hat{A}^\\top G, \\quad
    \\nabla W_1 = H^\\top G_{HW}, \\quad
    G_P = (G_{HW} W_1^\\top) \\odot [H > 0], \\quad
    \\nabla W_0 = X^\\top (\\hat{A}^\\top G_P),

``∇b₁ = Σ_rows G``, ``∇b₀ = Σ_rows G_P``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from graphae.sparse import spmm, transpose


def _first_product(x: torch.Tensor | None, weight: torch.Tensor) -> torch.Tensor:
    """``X W₀``: sparse, dense or identity (``None``) features."""
    if x is None:
        return weight
    if x.layout != torch.strided:
        return spmm(x, weight)
    return x @ weight


class _GCN2(torch.autograd.Function):
    """Arguments: ``x, adj, w0, b0, k`` then ``k`` head weights and ``k`` head biases."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor | None,
        adj: torch.Tensor,
        w0: torch.Tensor,
        b0: torch.Tensor | None,
        heads: int,
        *params: torch.Tensor | None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        weights, biases = params[:heads], params[heads:]
        h = spmm(adj, _first_product(x, w0), b0).relu_()
        w1 = weights[0] if heads == 1 else torch.cat(weights, dim=1)
        b1 = None
        if all(b is not None for b in biases):
            b1 = biases[0] if heads == 1 else torch.cat(biases)  # type: ignore[arg-type]
        out = spmm(adj, h @ w1, b1)
        ctx.x, ctx.adj = x, adj
        ctx.widths = [w.shape[1] for w in weights]
        ctx.biased = [b is not None for b in biases]
        ctx.save_for_backward(h, w1)
        if heads == 1:
            return out
        # each head contiguous: column views would be copied by every consumer
        return tuple(part.contiguous() for part in out.split(ctx.widths, dim=1))

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        h, w1 = ctx.saved_tensors
        x, adj, widths = ctx.x, ctx.adj, ctx.widths
        heads = len(widths)
        need = ctx.needs_input_grad
        grad = grads[0].contiguous() if heads == 1 else torch.cat(grads, dim=1)
        adj_t = transpose(adj)
        g_hw = spmm(adj_t, grad)
        g_b1 = grad.sum(0) if any(need[5 + heads :]) else None
        g_w1 = h.t().mm(g_hw) if any(need[5 : 5 + heads]) else None
        g_w0 = g_b0 = None
        if need[2] or need[3]:
            g_pre = torch.ops.aten.threshold_backward(g_hw.mm(w1.t()), h, 0)
            g_b0 = g_pre.sum(0) if need[3] else None
            if need[2]:
                g_s = spmm(adj_t, g_pre)
                if x is None:
                    g_w0 = g_s
                elif x.layout != torch.strided:
                    g_w0 = spmm(transpose(x), g_s)
                else:
                    g_w0 = x.t().mm(g_s)
        g_ws = [None] * heads if g_w1 is None else list(g_w1.split(widths, dim=1))
        g_bs = [None] * heads if g_b1 is None else list(g_b1.split(widths))
        g_bs = [g if biased else None for g, biased in zip(g_bs, ctx.biased, strict=True)]
        return None, None, g_w0, g_b0, None, *g_ws, *g_bs


def gcn2(
    x: torch.Tensor | None,
    adj: torch.Tensor,
    w0: torch.Tensor,
    b0: torch.Tensor | None,
    w1: torch.Tensor,
    b1: torch.Tensor | None = None,
) -> torch.Tensor:
    """``Â ReLU(Â X W₀ + b₀) W₁ + b₁`` with one autograd node (no dropout).

    Args:
        x (Tensor or None): ``N x F`` dense or sparse CSR features, or ``None``
            for identity features (``X W₀ = W₀``); needs no gradient.
        adj (Tensor): ``N x N`` normalised adjacency ``Â`` (sparse CSR; a
            dense one is multiplied op by op).
        w0 (Tensor): ``F x H`` first-layer weight.
        b0 (Tensor or None): first-layer bias (``H``).
        w1 (Tensor): ``H x D`` second-layer weight.
        b1 (Tensor or None, optional): second-layer bias (``D``).

    Returns:
        Tensor: ``N x D``.

    """
    (out,) = gcn2_heads(x, adj, w0, b0, [w1], [b1])
    return out


def gcn2_heads(
    x: torch.Tensor | None,
    adj: torch.Tensor,
    w0: torch.Tensor,
    b0: torch.Tensor | None,
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor | None],
) -> tuple[torch.Tensor, ...]:
    """Several second layers on one first layer: ``Â ReLU(Â X W₀ + b₀) W_k + b_k`` for each k.

    The heads are computed as one product with their weights side by side
    (``Â H [W_1 | W_2]``), the VGAE's ``μ`` and ``log σ``. Biases are added
    only when every head has one.

    Args:
        x (Tensor or None): features, as in :func:`gcn2`.
        adj (Tensor): ``Â``, as in :func:`gcn2`.
        w0 (Tensor): ``F x H`` first-layer weight.
        b0 (Tensor or None): first-layer bias.
        weights (sequence of Tensor): ``H x D_k`` head weights.
        biases (sequence of Tensor or None): ``D_k`` head biases.

    Returns:
        tuple: one contiguous ``N x D_k`` tensor per head.

    """
    if len(weights) != len(biases) or not weights:
        raise ValueError("need one bias (or None) per head weight, and at least one head")
    if adj.layout == torch.strided:  # a dense Â: plain autograd
        pre = adj @ (w0 if x is None else x @ w0)
        h = torch.relu(pre if b0 is None else pre + b0)
        outs = []
        for w, b in zip(weights, biases, strict=True):
            out = adj @ (h @ w)
            outs.append(out if b is None or None in biases else out + b)
        return tuple(outs)
    out = _GCN2.apply(x, adj, w0, b0, len(weights), *weights, *biases)
    return (out,) if len(weights) == 1 else out
