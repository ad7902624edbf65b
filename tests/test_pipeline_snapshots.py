"""Checkpoint ensembles (``--snapshots K``): chosen on validation, saved, reloaded, resumed."""

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
from graphae.pipeline import resume
from graphae.tracking.memory import MemoryTracker
from graphae.training.checkpointing import kept_run, load_train_state
from graphae.training.trainer import _Selection
from tests.conftest import assert_one_line_error, cli
from tests.test_pipeline_ensemble import EPOCHS, TIMINGS, _CrashInMember, _settings, cli_train


def test_selection_keeps_the_best_of_the_spaced_epochs():
    model = torch.nn.Linear(1, 1)
    selection = _Selection("auc", keep=2, every=2)
    for epoch, auc in [(1, 0.99), (2, 0.5), (3, 0.7), (4, 0.8), (6, 0.6), (8, 0.8), (10, 0.9)]:
        with torch.no_grad():
            model.weight.fill_(epoch)
        selection.offer(epoch, {"auc": auc}, model)
    assert selection.best_epoch == 1  # the best epoch overall, spaced or not
    # epochs 2, 4, 6, 8, 10 are the candidates; on a tie (4 and 8) the earlier stays
    assert [s["epoch"] for s in selection.snapshots] == [10, 4]
    assert [float(s["state"]["weight"]) for s in selection.snapshots] == [10.0, 4.0]
    again = _Selection("auc", keep=2, every=2)
    again.load_state_dict(selection.state_dict())
    assert [s["epoch"] for s in again.snapshots] == [10, 4]
    assert _Selection("auc").snapshots == []  # keep=1: the best epoch alone, no copies


def test_snapshots_are_the_best_spaced_epochs_and_score_together(planted, tmp_path):
    single_memory, memory = MemoryTracker(), MemoryTracker()
    single = train(data=planted, trackers=[single_memory], **_settings(tmp_path, name="single"))
    settings = _settings(tmp_path, snapshots=3, snapshot_every=5)
    result = train(data=planted, trackers=[memory], **settings)
    metrics = result.metrics
    assert result.run_dir is not None and result.run_dir.name.startswith("maskgae_snap3_")
    # the snapshots cost no training: the same curve, the same best epoch
    assert memory.history["val/auc"] == single_memory.history["val/auc"]
    assert metrics["best_epoch"] == single.metrics["best_epoch"]
    assert metrics["best_epoch_test"] == {k: single.metrics["test"][k] for k in ("auc", "ap")}
    # the three best validated epochs among 5, 10, ..., 30, best first
    val = dict(memory.history["val/auc"])  # (epoch, score) pairs
    spaced = sorted(range(5, EPOCHS + 1, 5), key=lambda e: -val[e])
    assert [s["epoch"] for s in metrics["snapshots"]] == spaced[:3]
    assert [s["val"]["auc"] for s in metrics["snapshots"]] == [val[e] for e in spaced[:3]]
    assert metrics["test"]["auc"] > 0.85 and metrics["test"] != single.metrics["test"]
    # saved: the snapshots side by side; each part of the reloaded model is one snapshot
    z = np.load(result.run_dir / EMBEDDINGS_FILE)
    width = result.config.latent_dim
    assert z.shape == (planted.num_nodes, 3 * width)
    model, config = load_checkpoint(result.run_dir / "checkpoint.pt")
    assert (config.snapshots, config.snapshot_every) == (3, 5)
    model.eval()
    x = prepare_features(planted.x, True)
    adj = gcn_adjacency(result.split.train_edge_index(), planted.num_nodes)
    embedding = model.embed(x, adj)
    parts = zip(model.decoder.members, torch.split(embedding, width, dim=1), strict=True)
    for (decoder, part), snapshot in zip(parts, metrics["snapshots"], strict=True):
        scored = link_metrics(decoder, part, *result.split.pairs("val"))
        assert scored["auc"] == pytest.approx(snapshot["val"]["auc"], abs=1e-9)
    again = link_metrics(model.decode, embedding, *result.split.pairs("test"))
    assert again["auc"] == pytest.approx(metrics["test"]["auc"], abs=1e-9)


def _numbers(run_dir) -> dict:
    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    return {k: v for k, v in metrics.items() if k not in TIMINGS | {"resumed_from_epoch"}}


def test_a_stopped_run_resumes_with_its_snapshots(planted, tmp_path):
    settings = _settings(tmp_path, snapshots=3, snapshot_every=4, checkpoint_every=5)
    reference = train(data=planted, **{**settings, "name": "reference", "checkpoint_every": 0})
    with pytest.raises(KeyboardInterrupt) as caught:
        train(data=planted, name="stopped", trackers=[_CrashInMember(0, 23)], **settings)
    run_dir = kept_run(caught.value)
    assert run_dir is not None
    state = load_train_state(run_dir / RESUME_FILE)
    assert [s["epoch"] for s in state.selection["snapshots"]]  # kept in the checkpoint
    result = resume(run_dir, data=planted)
    assert _numbers(run_dir) == _numbers(reference.run_dir)
    assert torch.equal(result.embeddings, reference.embeddings)


def test_an_ensemble_of_snapshot_ensembles(planted, tmp_path):
    alone = train(data=planted, save=False, **_settings(tmp_path, snapshots=2, snapshot_every=5))
    result = train(
        data=planted, save=False, **_settings(tmp_path, ensemble=2, snapshots=2, snapshot_every=5)
    )
    members = result.metrics["members"]
    assert [len(member["snapshots"]) for member in members] == [2, 2]
    # member 0 is the run of its seed with the same snapshots, number for number
    assert members[0]["snapshots"] == alone.metrics["snapshots"]
    assert members[0]["test"] == {k: alone.metrics["test"][k] for k in ("auc", "ap")}
    assert members[1]["ensemble_test"]["auc"] == pytest.approx(result.metrics["test"]["auc"])
    assert result.embeddings.shape == (planted.num_nodes, 4 * result.config.latent_dim)


def test_snapshot_settings_are_checked():
    config = TrainConfig(model="maskgae", snapshots=5)
    assert config.snapshot_every == 50  # 2K candidates over the 500 epochs
    assert config.with_overrides(epochs=200).snapshot_every == 20
    assert TrainConfig(model="gae", snapshots=3, eval_every=7).snapshot_every == 28
    assert TrainConfig(model="gae").snapshot_every is None
    with pytest.raises(ConfigError, match="multiple of eval-every"):
        TrainConfig(model="gae", snapshots=2, snapshot_every=5, eval_every=2)
    with pytest.raises(ConfigError, match="200 epochs with --snapshot-every 10 give 20"):
        TrainConfig(model="gae", snapshots=50, snapshot_every=10)
    for bad in (0, -1, 1.5):
        with pytest.raises(ConfigError, match="snapshots"):
            TrainConfig(model="gae", snapshots=bad)


def test_cli_reports_the_snapshots(capsys, planted_files, tmp_path):
    common = [*cli_train(planted_files, tmp_path), "--quiet", "--no-figures"]
    code, out, err = cli(capsys, *common, "--snapshots", "3")
    assert code in (0, None), err
    assert "GAE* (3 snapshots) on" in out and "3 snapshots of epochs" in out
    assert "the best epoch (" in out and "snapshots: val AUC" in out
    (run,) = [p for p in tmp_path.iterdir() if p.name.startswith("gae_nofeat_snap3_")]
    code, out, err = cli(capsys, "predict", run, "--node", "n0", "--top", "3")
    assert code in (0, None), err
    code, out, err = cli(capsys, *common, "--snapshots", "30")
    assert_one_line_error(code, err, "--snapshots 30", "20 epochs with --snapshot-every 1 give 20")


def test_snapshots_of_mini_batch_training(planted, tmp_path):
    settings = _settings(tmp_path, model="gae", batch_size=256, epochs=12, snapshots=3)
    result = train(data=planted, save=False, **settings)
    assert [s["epoch"] % 2 for s in result.metrics["snapshots"]] == [0, 0, 0]  # every 12 // 6
    assert result.metrics["test"]["auc"] > 0.8
