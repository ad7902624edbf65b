import numpy as np
import pytest
import torch

import graphae
from graphae import TrainConfig
from graphae.artifacts.checkpoint import load_checkpoint
from graphae.artifacts.run_dir import CHECKPOINT_FILE, EMBEDDINGS_FILE
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import split_edges
from graphae.evaluation import link_metrics
from graphae.nn.autoencoders import GAE
from graphae.nn.factory import build_model
from graphae.training.objectives import DenseObjective
from graphae.training.trainer import fit, make_adam


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


def test_mode_independence_is_the_encoders_declaration():
    assert build_model("gae", 10, 4, 2, 0.0).mode_independent()
    assert build_model("vgae", 10, 4, 2, 0.0).mode_independent()
    assert not build_model("gae", 10, 4, 2, 0.5).mode_independent()
    assert not build_model("vgae", 10, 4, 2, 0.5).mode_independent()
    # encoders that declare nothing get the safe answer: a separate eval pass
    assert not GAE(torch.nn.Sequential(torch.nn.Dropout(0.1))).mode_independent()
    assert not GAE(torch.nn.Linear(3, 2)).mode_independent()
    assert not GAE(lambda x, adj: x).mode_independent()


def test_make_adam_is_torchs_fused_adam():
    model = torch.nn.Linear(3, 2)
    optimizer = make_adam(model, 0.01)
    assert type(optimizer) is torch.optim.Adam
    assert optimizer.defaults["fused"] is True  # CPU builds of torch >= 2.4 have the kernel
    assert optimizer.defaults["lr"] == 0.01


def test_make_adam_falls_back_where_fused_is_refused(monkeypatch):
    real = torch.optim.Adam

    def without_fused(params, lr, fused=None):
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be ... supported devices")
        return real(params, lr=lr)

    monkeypatch.setattr(torch.optim, "Adam", without_fused)
    model = torch.nn.Linear(3, 2)
    optimizer = make_adam(model, 0.01)
    assert not optimizer.defaults["fused"]
    assert len(optimizer.param_groups[0]["params"]) == 2  # every parameter, despite the retry


def test_test_metrics_come_from_the_best_validation_weights(planted, tmp_path):
    config = TrainConfig(
        model="gae", features=False, epochs=30, quiet=True, figures=False, runs_dir=str(tmp_path)
    )
    result = graphae.train(config, data=planted)
    metrics, run = result.metrics, result.run_dir
    assert metrics["best_epoch"] < config.epochs  # this run peaks before its end
    model, _ = load_checkpoint(run / CHECKPOINT_FILE)
    adj = gcn_adjacency(result.split.train_edge_index(), planted.num_nodes)
    z = model.embed(None, adj)
    test_pairs = result.split.pairs("test")
    assert link_metrics(model.decode, z, *test_pairs) == {
        k: metrics["test"][k] for k in ("auc", "ap")
    }
    assert metrics["test"] != metrics["test_last"]
    assert torch.equal(torch.from_numpy(np.load(run / EMBEDDINGS_FILE)), z)
    assert torch.equal(result.embeddings, z)
    # the checkpoint's weights are those that scored the best validation
    assert link_metrics(model.decode, z, *result.split.pairs("val")) == metrics["val"]
