"""Mini-batch training: it learns, it is seeded, it resumes exactly, it refuses what it lacks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from graphae import TrainConfig
from graphae.artifacts.run_dir import CONFIG_FILE, RESUME_FILE
from graphae.data import gcn_adjacency, planted_partition
from graphae.errors import ConfigError
from graphae.inference import load_run
from graphae.nn.factory import build_model
from graphae.pipeline import resume, train
from graphae.training.checkpointing import load_train_state
from graphae.training.minibatch import MinibatchStep, minibatch_objective, resolve_fanouts
from tests.conftest import assert_one_line_error, cli
from tests.training.test_resume import EPOCHS, _assert_same_run, _crash, _train

MINIBATCH = {"batch_size": 128, "fanout": [4, 4]}


@pytest.fixture(scope="module")
def communities():
    """Six planted communities of 40 nodes: a link is far more likely within one."""
    return planted_partition(num_blocks=6, block_size=40, p_in=0.25, p_out=0.005, seed=2)


def _run(graph, **settings):
    torch.set_num_threads(1)
    settings = {"model": "gae", "epochs": 20, "quiet": True, "save": False, **settings}
    return train(data=graph, **settings)


def test_minibatch_training_beats_chance_by_far(communities):
    result = _run(communities, **MINIBATCH)
    assert result.objective == "sampled"
    assert result.metrics["test"]["auc"] > 0.85


def test_loss_falls_and_each_epoch_takes_several_steps(communities):
    torch.manual_seed(0)
    n = int(communities.num_nodes)
    model = build_model("gae", communities.x.shape[1], 16, 8)
    edges = communities.edge_index
    pairs = edges[:, edges[0] < edges[1]]
    adj = gcn_adjacency(edges, n)
    step = MinibatchStep(model, communities.x, adj, pairs, n, batch_size=50, fanouts=[3])
    assert len(step.batches(1)) == -(-pairs.shape[1] // 50)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = [float(step(model, optimizer, epoch)["loss"]) for epoch in range(1, 16)]
    assert losses[-1] < 0.8 * losses[0]
    steps = optimizer.state_dict()["state"][0]["step"]
    assert int(steps) == 15 * len(step.batches(1))  # one Adam step per batch


def test_the_same_seed_gives_the_same_run_and_another_seed_another(communities):
    a = _run(communities, epochs=4, **MINIBATCH)
    b = _run(communities, epochs=4, **MINIBATCH)
    c = _run(communities, epochs=4, seed=1, **MINIBATCH)
    assert a.metrics["test"] == b.metrics["test"]
    assert torch.equal(a.embeddings, b.embeddings)
    assert a.metrics["test"] != c.metrics["test"]


def test_batches_and_negatives_depend_on_seed_epoch_and_batch(communities):
    n = int(communities.num_nodes)
    edges = communities.edge_index
    pairs = edges[:, edges[0] < edges[1]]
    model = build_model("gae", communities.x.shape[1], 16, 8)
    step = MinibatchStep(model, communities.x, gcn_adjacency(edges, n), pairs, n,
                         batch_size=64, fanouts=[5])  # fmt: skip
    assert all(torch.equal(x, y) for x, y in zip(step.batches(3), step.batches(3), strict=True))
    assert not torch.equal(step.batches(3)[0], step.batches(4)[0])
    assert torch.equal(step.negatives(64, 2, 1), step.negatives(64, 2, 1))
    assert not torch.equal(step.negatives(64, 2, 1), step.negatives(64, 2, 2))
    negatives = step.negatives(500, 1, 0)
    assert (negatives[0] != negatives[1]).all()  # no self-pairs, no training edges
    known = set(map(tuple, pairs.t().tolist())) | set(map(tuple, pairs.flip(0).t().tolist()))
    assert not known & set(map(tuple, negatives.t().tolist()))


@pytest.mark.parametrize(
    ("model", "settings"),
    [
        ("vgae", {"dropout": 0.2}),  # torch's global RNG: ε and dropout
        ("maskgae", {"mask": "none", "degree_weight": 0.0, "layers": 2}),  # MLP, batch norm
        ("maskgae", {"degree_weight": 0.5}),  # directed mask, degree loss, dropout 0.8
    ],
    ids=["vgae", "mlp-batch-norm", "maskgae"],
)
def test_a_crashed_minibatch_run_resumes_to_the_uninterrupted_result(
    planted, tmp_path, model, settings
):
    settings = {"model": model, "batch_size": 256, "fanout": [3], **settings}
    _train(planted, tmp_path, "reference", checkpoint_every=0, **settings)
    run_dir = _crash(planted, tmp_path, "crashed", epoch=13, **settings)
    assert load_train_state(run_dir / RESUME_FILE).epoch == 10
    result = resume(run_dir, data=planted)
    assert result.metrics["resumed_from_epoch"] == 10
    _assert_same_run(run_dir, tmp_path / "reference")
    saved = json.loads((run_dir / CONFIG_FILE).read_text())["config"]
    assert saved["batch_size"] == 256 and saved["fanout"] == [3]
    assert len(result.metrics["val"]) and result.metrics["epochs"] == EPOCHS


def test_the_dense_objective_is_refused(planted):
    with pytest.raises(ConfigError, match="--objective dense"):
        _run(planted, batch_size=64, objective="dense")


def test_settings_are_checked():
    assert minibatch_objective(TrainConfig(batch_size=8)) == "sampled"
    assert minibatch_objective(TrainConfig(batch_size=8, decoder="mlp")) == "masked"
    assert minibatch_objective(TrainConfig(batch_size=8, model="maskgae")) == "masked"
    assert minibatch_objective(TrainConfig(batch_size=8, degree_weight=0.1)) == "masked"
    assert resolve_fanouts([7], 3) == [7, 7, 7]
    assert resolve_fanouts([7, -1], 2) == [7, -1]
    with pytest.raises(ConfigError, match="one per hop"):
        resolve_fanouts([7, 7], 3)
    assert TrainConfig(fanout="10, 5").fanout == [10, 5]
    assert TrainConfig(fanout=-1).fanout == [-1]
    for bad in ("0", "ten", "-2", ""):
        with pytest.raises(ConfigError, match="fanout"):
            TrainConfig(fanout=bad)
    with pytest.raises(ConfigError, match="batch-size"):
        TrainConfig(batch_size=-1)


def test_cli_trains_in_minibatches_and_the_run_reloads(planted_files, tmp_path, capsys):
    args = ["train", "--edges", planted_files["edges"], "--features", planted_files["features"]]
    args += ["--model", "gae", "--epochs", "5", "--batch-size", "100", "--fanout", "5,5"]
    args += ["--runs-dir", tmp_path, "--name", "mb", "--no-figures", "--threads", "1"]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    run_dir = tmp_path / "mb"
    saved = json.loads((run_dir / CONFIG_FILE).read_text())["config"]
    assert saved["batch_size"] == 100 and saved["fanout"] == [5, 5]
    embeddings = tmp_path / "z.npy"
    code, _, err = cli(capsys, "embed", run_dir, "--out", embeddings)
    assert code == 0, err
    np.testing.assert_allclose(np.load(embeddings), np.load(run_dir / "embeddings.npy"))
    code, out, err = cli(capsys, "predict", run_dir, "--node", "n5", "--top", "3")
    assert code == 0 and out.startswith("top 3 partners of n5"), err
    assert load_run(run_dir).top_k("n5", 3).ids


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--objective", "dense"], "--objective dense"),
        (["--fanout", "3,3,3"], "one per hop"),
        (["--fanout", "0"], "fanout must be"),
        (["--batch-size", "-5"], "batch-size must be"),
    ],
)
def test_cli_refusals_are_one_line(planted_files, tmp_path, capsys, extra, fragment):
    args = ["train", "--edges", planted_files["edges"], "--model", "gae", "--epochs", "2"]
    args += ["--batch-size", "64", "--runs-dir", tmp_path, "--no-figures", *extra]
    code, _, err = cli(capsys, *args)
    assert_one_line_error(code, err, fragment)
    assert not any(tmp_path.iterdir())
