"""The two-layer GCN of the GAE encoders as one autograd node.

Kipf & Welling, "Variational Graph Auto-Encoders" (2016), encoder:

.. math::
    Z = \\hat{A}\\, \\mathrm{ReLU}(\\hat{A} X W_0 + b_0)\\, W_1 + b_1

Run through autograd op by op, this is ~8 forward nodes (three of them the
Python-level :func:`~graphae.sparse.sparse_matmul`) and as many backward
calls, and on Cora the engine's bookkeeping costs about as much as the
arithmetic. :func:`gcn2` runs the same kernels in the same order, forward
and backward, inside one node: the gradients are bit for bit those of the
op-by-op graph (tested), with a few hundred microseconds less overhead per
training step (``benchmarks/thread_blocks.py``-style paired blocks; see the
README's speed section). The backward pass:

.. math::
    G_{HW} = \\hat{A}^\\top G, \\quad
    \\nabla W_1 = H^\\top G_{HW}, \\quad
    G_P = (G_{HW} W_1^\\top) \\odot [H > 0], \\quad
    \\nabla W_0 = X^\\top (\\hat{A}^\\top G_P),

``∇b₁ = Σ_rows G``, ``∇b₀ = Σ_rows G_P``.
"""

from __future__ import annotations

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
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor | None,
        adj: torch.Tensor,
        w0: torch.Tensor,
        b0: torch.Tensor | None,
        w1: torch.Tensor,
        b1: torch.Tensor | None,
    ) -> torch.Tensor:
        pre = spmm(adj, _first_product(x, w0))
        if b0 is not None:
            pre = pre + b0
        h = torch.relu(pre)
        out = spmm(adj, h @ w1)
        if b1 is not None:
            out = out + b1
        ctx.x, ctx.adj = x, adj
        ctx.save_for_backward(h, w1)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        h, w1 = ctx.saved_tensors
        x, adj = ctx.x, ctx.adj
        need = ctx.needs_input_grad
        grad = grad.contiguous()
        adj_t = transpose(adj)
        g_b1 = grad.sum(0) if need[5] else None
        g_hw = spmm(adj_t, grad)
        g_w1 = h.t().mm(g_hw) if need[4] else None
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
        return None, None, g_w0, g_b0, g_w1, g_b1


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
    if adj.layout == torch.strided:  # a dense Â: plain autograd
        pre = adj @ (w0 if x is None else x @ w0)
        h = torch.relu(pre if b0 is None else pre + b0)
        out = adj @ (h @ w1)
        return out if b1 is None else out + b1
    return _GCN2.apply(x, adj, w0, b0, w1, b1)
