import pytest
import torch
from torch import nn

from graphae.training.optim import FlatAdam, make_adam


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3, bias=False))


def _loss(model: nn.Module, step: int) -> torch.Tensor:
    x = torch.randn(11, 5, generator=torch.Generator().manual_seed(step))
    return model(x).pow(2).mean() + model[0].bias.abs().sum()


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int, clear=None) -> None:
    for step in range(steps):
        optimizer.zero_grad()
        if clear is not None:
            clear(model, step)
        _loss(model, step).backward()
        optimizer.step()


@pytest.mark.parametrize("fused", [True, False])
def test_same_updates_as_torch_adam(fused):
    ours, theirs = _model(), _model()
    _train(ours, FlatAdam(ours.parameters(), lr=0.05), 25)
    _train(theirs, torch.optim.Adam(theirs.parameters(), lr=0.05, fused=fused), 25)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert not torch.equal(ours[0].weight, _model()[0].weight)  # it did train


def test_parameters_and_gradients_are_views_of_the_flat_tensors():
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = FlatAdam(model.parameters(), lr=0.01)
    flat, offset = optimizer.flat, 0
    for p, old in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, old)  # values kept
        assert p.data_ptr() == flat.data_ptr() + offset * 4
        assert p.grad.data_ptr() == flat.grad.data_ptr() + offset * 4
        offset += p.numel()
    assert offset == flat.numel()


def test_gradients_cleared_or_replaced_from_outside_still_count():
    def clear(model: nn.Module, step: int) -> None:
        if step % 3 == 0:
            model.zero_grad(set_to_none=True)  # autograd then makes new tensors
        elif step % 3 == 1:
            model[2].weight.grad = torch.zeros_like(model[2].weight)

    ours, theirs = _model(), _model()
    _train(ours, FlatAdam(ours.parameters(), lr=0.05), 12, clear)
    _train(theirs, torch.optim.Adam(theirs.parameters(), lr=0.05), 12)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_trained_weights_reload_into_a_fresh_model():
    model = _model()
    _train(model, make_adam(model, 0.05), 5)
    fresh = _model(seed=1)
    fresh.load_state_dict(model.state_dict())
    for a, b in zip(fresh.parameters(), model.parameters(), strict=True):
        assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()


def test_mixed_dtypes_fall_back_to_torch_adam():
    model = _model()
    model[2].weight.data = model[2].weight.data.double()
    assert not isinstance(make_adam(model, 0.01), FlatAdam)
    with pytest.raises(ValueError, match="one dtype"):
        FlatAdam(model.parameters(), lr=0.01)
    assert isinstance(make_adam(_model(), 0.01), FlatAdam)
