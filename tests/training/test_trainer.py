import copy

import pytest
import torch

from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import split_edges
from graphae.nn.autoencoders import GAE
from graphae.nn.factory import build_model
from graphae.training.objectives import DenseObjective
from graphae.training.trainer import fit


def _fit(planted, model_name, eval_every, reuse, monkeypatch, dropout=0.0):
    split = split_edges(planted.edge_index, planted.num_nodes, seed=0)
    edges = split.train_edge_index()
    adj = gcn_adjacency(edges, planted.num_nodes)
    x = prepare_features(planted.x)
    torch.manual_seed(0)
    model = build_model(model_name, x.shape[1], 16, 8, dropout)
    if not reuse:
        monkeypatch.setattr(GAE, "mode_independent", lambda self: False)
    result = fit(
        model,
        x,
        adj,
        DenseObjective(edges, planted.num_nodes),
        split.pairs("val"),
        epochs=12,
        lr=0.01,
        eval_every=eval_every,
    )
    monkeypatch.undo()
    return result


@pytest.mark.parametrize("model_name", ["gae", "vgae"])
@pytest.mark.parametrize("eval_every", [1, 5])
def test_validation_from_the_next_training_pass_equals_a_separate_eval_pass(
    planted, monkeypatch, model_name, eval_every
):
    fast = _fit(planted, model_name, eval_every, True, monkeypatch)
    slow = _fit(planted, model_name, eval_every, False, monkeypatch)
    assert [h["epoch"] for h in fast.history] == list(range(1, 13))
    for a, b in zip(fast.history, slow.history, strict=True):
        assert a.keys() == b.keys()
        assert a == pytest.approx(b, rel=1e-5, abs=1e-7)
    assert fast.best_epoch == slow.best_epoch
    for key, value in fast.best_state.items():
        torch.testing.assert_close(value, slow.best_state[key])
    validated = [h["epoch"] for h in fast.history if "val/auc" in h]
    assert validated == ([*range(1, 13)] if eval_every == 1 else [5, 10, 12])


def test_models_with_dropout_are_not_mode_independent():
    assert build_model("gae", 10, 4, 2, 0.0).mode_independent()
    assert not build_model("vgae", 10, 4, 2, 0.5).mode_independent()
    assert not GAE(torch.nn.Sequential(torch.nn.Dropout(0.1))).mode_independent()


def test_fused_adam_fast_path_gives_adams_numbers_and_state():
    from graphae.training.trainer import _FusedAdam, make_adam

    torch.manual_seed(0)
    models = [torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))]
    models.append(copy.deepcopy(models[0]))
    ours = make_adam(models[0], 0.01)
    assert isinstance(ours, _FusedAdam)
    reference = torch.optim.Adam(models[1].parameters(), lr=0.01, fused=True)
    x = torch.randn(32, 7)
    for step in range(20):
        if step == 10:  # a changed setting goes through Adam.step, then fast again
            for opt in (ours, reference):
                opt.param_groups[0]["lr"] = 0.003
        for model, opt in zip(models, (ours, reference), strict=True):
            opt.zero_grad(set_to_none=True)
            model(x).pow(2).mean().backward()
            opt.step()
        if step >= 1 and step != 10:
            assert ours._lists is not None  # the fast path ran
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)
    theirs = reference.state_dict()["state"]
    for key, state in ours.state_dict()["state"].items():
        for name, value in state.items():
            assert torch.equal(value, theirs[key][name])


def test_fused_adam_takes_the_ordinary_step_when_a_gradient_is_missing():
    from graphae.training.trainer import make_adam

    torch.manual_seed(0)
    a, b = torch.nn.Parameter(torch.randn(3)), torch.nn.Parameter(torch.randn(3))
    opt = make_adam(torch.nn.ParameterList([a, b]), 0.1)
    for _ in range(2):
        opt.zero_grad()
        (a.sum() + b.sum()).backward()
        opt.step()
    before = b.detach().clone()
    opt.zero_grad()
    a.sum().backward()  # b gets no gradient: Adam leaves it alone
    opt.step()
    assert torch.equal(b, before)
