"""Deep ensembles through the pipeline: train, save, reload, resume, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from graphae import TrainConfig, load_checkpoint, train
from graphae.artifacts.run_dir import EMBEDDINGS_FILE, METRICS_FILE, RESUME_FILE
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.errors import ConfigError
from graphae.evaluation import link_metrics
from graphae.nn.ensemble import ConcatEncoder
from graphae.pipeline import resume
from graphae.tracking.base import Tracker
from graphae.tracking.memory import MemoryTracker
from graphae.training.checkpointing import describe_kept, kept_run, load_train_state
from tests.conftest import assert_one_line_error, cli
from tests.training.torchrun import one_process, train_ddp

EPOCHS = 30
GRAPH = "synthetic:nodes=300,edges=1500,features=16"
TIMINGS = {"train_seconds", "train_cpu_seconds", "total_seconds", "phase_seconds"}


def _settings(tmp_path, **extra):
    return {
        "model": "maskgae",
        "epochs": EPOCHS,
        "runs_dir": str(tmp_path / "runs"),
        "quiet": True,
        "figures": False,
        **extra,
    }


def test_an_ensemble_averages_members_that_are_single_runs(planted, tmp_path):
    single = train(data=planted, **_settings(tmp_path, name="single"))
    memory = MemoryTracker()
    result = train(data=planted, trackers=[memory], **_settings(tmp_path, ensemble=3))
    metrics = result.metrics
    assert result.run_dir is not None and result.run_dir.name.startswith("maskgae_ens3_")
    assert len(metrics["members"]) == 3
    first = metrics["members"][0]
    # member 0 is the single model of the run's seed, number for number
    assert first["seed"] == 0 and first["best_epoch"] == single.metrics["best_epoch"]
    assert first["test"] == {k: single.metrics["test"][k] for k in ("auc", "ap")}
    assert len({member["seed"] for member in metrics["members"]}) == 3
    assert "ensemble_test" not in first  # members 0..k together: what an ensemble of k+1 scores
    assert metrics["members"][2]["ensemble_test"]["auc"] == pytest.approx(metrics["test"]["auc"])
    assert metrics["test"]["auc"] > 0.85
    # the CPU time of the run is the members' together
    assert metrics["train_cpu_seconds"] > single.metrics["train_cpu_seconds"]
    # member 0's curves under the usual tags, the others' under member<k>/
    assert len(memory.history["val/auc"]) == EPOCHS
    assert len(memory.history["member2/val/auc"]) == EPOCHS
    # the embeddings are the members' side by side; the saved model scores as the live one
    z = np.load(result.run_dir / EMBEDDINGS_FILE)
    assert z.shape == (planted.num_nodes, 3 * result.config.latent_dim)
    assert np.array_equal(z[:, : result.config.latent_dim], single.embeddings.numpy())
    model, config = load_checkpoint(result.run_dir / "checkpoint.pt")
    assert config.ensemble == 3 and isinstance(model.encoder, ConcatEncoder)
    x = prepare_features(planted.x, True)
    adj = gcn_adjacency(result.split.train_edge_index(), planted.num_nodes)
    model.eval()
    again = link_metrics(model.decode, model.embed(x, adj), *result.split.pairs("test"))
    assert again["auc"] == pytest.approx(metrics["test"]["auc"], abs=1e-9)


def test_a_one_member_ensemble_is_the_single_model(planted, tmp_path):
    a = train(data=planted, save=False, **_settings(tmp_path))
    b = train(data=planted, save=False, **_settings(tmp_path, ensemble=1))
    assert a.metrics["test"] == b.metrics["test"] and "members" not in b.metrics
    assert torch.equal(a.embeddings, b.embeddings)


class _CrashInMember(Tracker):
    """Raises when member ``member`` logs epoch ``epoch`` (member 0: the untagged curves)."""

    def __init__(self, member: int, epoch: int) -> None:
        self.tag = f"member{member}/train/loss" if member else "train/loss"
        self.epoch = epoch

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self.tag in metrics and step == self.epoch:
            raise KeyboardInterrupt


def _numbers(run_dir) -> dict:
    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    drop = TIMINGS | {"resumed_from_epoch", "resumed_from_member"}
    for member in metrics.get("members", []):
        assert member.pop("train_seconds") >= 0 and member.pop("train_cpu_seconds") >= 0
    return {k: v for k, v in metrics.items() if k not in drop}


@pytest.mark.parametrize("member", [0, 1])
def test_an_ensemble_resumes_inside_any_member(planted, tmp_path, member):
    settings = _settings(tmp_path, ensemble=2, checkpoint_every=5)
    reference = train(data=planted, **{**settings, "name": "reference", "checkpoint_every": 0})
    with pytest.raises(KeyboardInterrupt) as caught:
        train(data=planted, name="stopped", trackers=[_CrashInMember(member, 13)], **settings)
    run_dir = kept_run(caught.value)
    assert run_dir is not None and (run_dir / RESUME_FILE).is_file()
    state = load_train_state(run_dir / RESUME_FILE)
    assert (state.member, state.epoch, len(state.finished)) == (member, 10, member)
    message = describe_kept(run_dir)  # what a stopped run prints
    assert "from epoch 10" in message
    assert ("of ensemble member 1" in message) == (member == 1)
    memory = MemoryTracker()
    result = resume(run_dir, data=planted, trackers=[memory])
    assert result.metrics["resumed_from_member"] == member
    assert _numbers(run_dir) == _numbers(reference.run_dir)
    assert torch.equal(result.embeddings, reference.embeddings)
    history = (run_dir / "history.jsonl").read_text()
    assert history == (reference.run_dir / "history.jsonl").read_text()
    assert len(memory.history["member1/train/loss"]) == EPOCHS  # replayed, then live


def test_an_ensemble_trains_in_mini_batches(planted, tmp_path):
    settings = _settings(tmp_path, model="gae", batch_size=256, epochs=15, ensemble=2)
    result = train(data=planted, save=False, **settings)
    assert len(result.metrics["members"]) == 2
    assert result.metrics["test"]["auc"] > 0.8


def test_the_ensemble_size_is_checked():
    for bad in (0, -1, 1.5):
        with pytest.raises(ConfigError, match="ensemble"):
            TrainConfig(model="maskgae", ensemble=bad)


def cli_train(planted_files, runs_dir) -> list:
    """``graphae train`` of a featureless GAE on the planted graph's files, 20 epochs."""
    edges = planted_files["edges"]
    return ["train", "--model", "gae", "--edges", edges, "--epochs", "20", "--runs-dir", runs_dir]


def test_cli_trains_and_reports_an_ensemble(capsys, planted_files, tmp_path):
    common = [*cli_train(planted_files, tmp_path), "--quiet", "--no-figures"]
    code, out, err = cli(capsys, *common, "--ensemble", "2")
    assert code in (0, None), err
    assert "GAE* x2 on" in out and "ensemble of 2: best epochs" in out
    (run,) = [p for p in tmp_path.iterdir() if p.name.startswith("gae_nofeat_ens2_")]
    # embed and predict through the saved ensemble: both members' embeddings, averaged scores
    code, out, err = cli(capsys, "embed", run, "--out", tmp_path / "z.npy")
    assert code in (0, None), err
    assert np.load(tmp_path / "z.npy").shape == (200, 32)
    code, out, err = cli(capsys, "predict", run, "--node", "n0", "--top", "3")
    assert code in (0, None), err
    assert "top 3 partners of n0" in out
    code, out, err = cli(capsys, *common, "--ensemble", "0")
    assert_one_line_error(code, err, "ensemble")


def test_torchrun_two_processes_train_an_ensemble(tmp_path):
    """2 gloo ranks train each member data-parallel: identical weights, one process's AUC.

    Each member is a checkpoint ensemble of 2 snapshots (``--snapshots``) too.
    """
    flags = ["--model", "maskgae", "--epochs", "20", "--hidden-dim", "32", "--latent-dim", "32"]
    done = train_ddp(tmp_path, GRAPH, *flags, "--ensemble", "2", "--snapshots", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "runs" / "ddp" / METRICS_FILE).read_text())
    digests = metrics["distributed"]["parameters_sha256"]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert [len(member["snapshots"]) for member in metrics["members"]] == [2, 2]
    single = one_process(
        dataset=GRAPH,
        model="maskgae",
        epochs=20,
        hidden_dim=32,
        latent_dim=32,
        ensemble=2,
        snapshots=2,
    )
    assert abs(metrics["test"]["auc"] - single.metrics["test"]["auc"]) < 0.02
