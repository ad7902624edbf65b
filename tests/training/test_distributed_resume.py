"""Resuming a stopped torchrun run: with as many processes as it started with, to the same end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graphae.artifacts.run_dir import CONFIG_FILE, EMBEDDINGS_FILE, METRICS_FILE, RESUME_FILE
from graphae.config import TrainConfig
from graphae.errors import ConfigError
from graphae.pipeline import resume, train
from graphae.tracking.base import Tracker
from graphae.training import distributed
from graphae.training.checkpointing import describe_kept, kept_run
from graphae.training.distributed import DataParallel, check_world_size
from tests.training.torchrun import torchrun


class Crash(Exception):
    """Stands in for anything that stops a process."""


class CrashAt(Tracker):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if step == self.epoch:
            raise Crash(f"crash at epoch {step}")


def _stopped(planted, tmp_path: Path) -> Path:
    """A one-process run stopped at epoch 7 after its checkpoint of epoch 5."""
    with pytest.raises(Crash) as caught:
        train(
            data=planted,
            epochs=20,
            checkpoint_every=5,
            runs_dir=str(tmp_path),
            name="stopped",
            trackers=[CrashAt(7)],
            quiet=True,
            figures=False,
        )
    run_dir = kept_run(caught.value)
    assert run_dir is not None and (run_dir / RESUME_FILE).is_file()
    return run_dir


def test_the_number_of_processes_must_be_the_stopped_runs(planted, tmp_path, monkeypatch):
    run_dir = _stopped(planted, tmp_path)
    monkeypatch.setattr(distributed, "current", lambda: DataParallel(0, 2))
    with pytest.raises(ConfigError, match="started in one process, not 2; resume it with: gra"):
        resume(run_dir, data=planted)
    monkeypatch.setattr(distributed, "current", lambda: None)
    info = json.loads((run_dir / CONFIG_FILE).read_text())
    (run_dir / CONFIG_FILE).write_text(json.dumps({**info, "world_size": 3}))
    command = f"torchrun --nproc-per-node 3 -m graphae train --resume {run_dir}"
    with pytest.raises(ConfigError, match="on 3 torchrun processes, not 1") as caught:
        resume(run_dir, data=planted)
    assert str(caught.value).endswith(command) and "\n" not in str(caught.value)
    assert describe_kept(run_dir).endswith(command)  # what a stopped torchrun run prints
    assert (run_dir / RESUME_FILE).is_file() and not (run_dir / METRICS_FILE).exists()


def test_the_same_number_of_processes_passes():
    check_world_size("runs/a", 2, DataParallel(1, 2))
    check_world_size("runs/a", 1, None)
    with pytest.raises(ConfigError, match="not 3"):
        check_world_size("runs/a", 2, DataParallel(0, 3))


def test_each_rank_resumes_on_its_own_gpu():
    """The stopped run's config.json names rank 0's GPU; rank 1 takes its own."""
    config = TrainConfig(device="cuda:0", objective="sampled")
    main, save, _ = DataParallel(0, 2).prepare_resume(config, "sampled", [])
    other, other_save, trackers = DataParallel(1, 2, local_rank=1).prepare_resume(
        config, "sampled", [CrashAt(1)]
    )
    assert (main.device, save) == ("cuda:0", True)
    assert (other.device, other_save, list(trackers)) == ("cuda:1", False, [])
    cpu, _, _ = DataParallel(1, 2).prepare_resume(TrainConfig(), "sampled", [])
    assert cpu.device == "cpu"


GRAPH = "synthetic:nodes=300,edges=1500,features=16"
SETTINGS = {"model": "maskgae", "epochs": 20, "seed": 3, "hidden_dim": 32, "latent_dim": 32}
SETTINGS["decoder_dropout"] = 0.2  # encoder and decoder dropout: random state carried over
#: the same in mini-batches: each rank's share of every batch, buffers averaged each epoch
MINIBATCH = {**SETTINGS, "batch_size": 256, "fanout": [5]}
STOP = """
import torch
from graphae.pipeline import train
from graphae.tracking.base import Tracker
from graphae.training.distributed import process_group


class CrashAt(Tracker):  # rank 0 stops at epoch 12; torchrun then stops rank 1
    def log_metrics(self, metrics, step=None):
        if step == 12:
            raise RuntimeError("stopped at epoch 12")


torch.set_num_threads(1)
with process_group("gloo", "cpu"):
    train(dataset={graph!r}, runs_dir="runs", name="stopped", checkpoint_every=5, quiet=True,
          figures=False, trackers=[CrashAt()], **{settings!r})
"""
TIMINGS = {"train_seconds", "train_cpu_seconds", "total_seconds", "phase_seconds"}


@pytest.mark.slow
@pytest.mark.parametrize("settings", [SETTINGS, MINIBATCH], ids=["full-graph", "minibatch"])
def test_a_stopped_torchrun_run_resumes_to_the_uninterrupted_result(tmp_path, settings):
    """2 gloo ranks stopped at epoch 12, resumed from epoch 10: the same metrics, bit for bit."""
    options = [
        f"--{k.replace('_', '-')}={','.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in settings.items()
    ]
    common = ["--threads", "1", "--quiet", "--no-figures", "--runs-dir", "runs"]
    cli = ["-m", "graphae", "train", "--dataset", GRAPH, *options, *common]
    done = torchrun(tmp_path, *cli, "--name", "reference")
    assert done.returncode == 0, done.stderr[-3000:]
    (tmp_path / "stop.py").write_text(STOP.format(graph=GRAPH, settings=settings))
    stopped = torchrun(tmp_path, "stop.py")
    assert stopped.returncode != 0 and "stopped at epoch 12" in stopped.stderr
    run_dir, reference = tmp_path / "runs" / "stopped", tmp_path / "runs" / "reference"
    assert (run_dir / RESUME_FILE).is_file() and not (run_dir / METRICS_FILE).exists()

    resumed = torchrun(tmp_path, "-m", "graphae", "train", "--resume", "runs/stopped")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.count("resumed from its checkpoint of epoch 10") == 1  # rank 0 alone
    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    expected = json.loads((reference / METRICS_FILE).read_text())
    assert metrics.pop("resumed_from_epoch") == 10
    assert {k: v for k, v in metrics.items() if k not in TIMINGS} == {
        k: v for k, v in expected.items() if k not in TIMINGS
    }  # test and validation metrics, and both ranks' parameter hashes
    assert (run_dir / "history.jsonl").read_text() == (reference / "history.jsonl").read_text()
    a, b = np.load(run_dir / EMBEDDINGS_FILE), np.load(reference / EMBEDDINGS_FILE)
    assert a.tobytes() == b.tobytes()
    assert not (run_dir / RESUME_FILE).exists()
