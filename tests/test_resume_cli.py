"""``graphae train --resume``: runs killed (SIGKILL), stopped (SIGTERM) or interrupted (Ctrl-C).

The bar of issue 18: the quick start (``graphae train --model vgae --dataset
Cora``, 200 epochs, a checkpoint every 100 by default) killed with SIGKILL
after epoch 100 and resumed ends with the same ``metrics.json`` numbers as an
uninterrupted run. The processes are real; the uninterrupted runs and the
resumes run in-process (``--threads 1`` everywhere, so every run computes
alike).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphae.artifacts.run_dir import METRICS_FILE, RESUME_FILE
from graphae.tracking.jsonl import JsonlTracker
from graphae.training.checkpointing import checkpointed_epoch, load_train_state
from tests.conftest import REPO, assert_one_line_error, cli

FRIENDS = REPO / "examples" / "friends.csv"
#: What may differ between a resumed and an uninterrupted run's metrics.json.
TIMINGS = {"train_seconds", "train_cpu_seconds", "total_seconds", "phase_seconds"}
QUICK_START = ["train", "--model", "vgae", "--dataset", "Cora", "--threads", "1"]


def _start(tmp_path: Path, argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "graphae", *map(str, argv)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen, epoch: int = 0, timeout: float = 180) -> None:
    """Wait until ``path``, a resume checkpoint, exists and holds ``epoch`` or a later one."""
    deadline = time.monotonic() + timeout
    while not path.is_file() or (checkpointed_epoch(path.parent) or 0) < epoch:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.01)


def _numbers(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    return {k: v for k, v in metrics.items() if k not in TIMINGS | {"resumed_from_epoch"}}


def _kill_and_resume(capsys, tmp_path: Path, argv: list[str], after: int) -> Path:
    """Start ``argv``, SIGKILL it soon after its checkpoint of epoch ``after``, resume it."""
    run_dir = tmp_path / "runs" / "killed"
    process = _start(tmp_path, [*argv, "--name", "killed"])
    try:
        _wait_for(run_dir / RESUME_FILE, process, after)
        time.sleep(random.uniform(0, 0.05))  # into a random epoch after the checkpoint
        assert process.poll() is None, "the run finished before it was killed"
        process.kill()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (run_dir / METRICS_FILE).exists()
    code, out, err = cli(capsys, "train", "--resume", run_dir, "--threads", "1", "--quiet")
    assert code == 0, err
    assert f"run directory: {run_dir}" in out
    assert "  resumed from its checkpoint of epoch " in out
    return run_dir


def test_quick_start_killed_after_epoch_100_resumes_to_the_same_metrics(
    tmp_path, capsys, data_root
):
    argv = [*QUICK_START, "--data-root", data_root, "--runs-dir", tmp_path / "runs"]
    argv += ["--quiet", "--no-figures"]
    run_dir = _kill_and_resume(capsys, tmp_path, argv, after=100)
    code, _, err = cli(capsys, *argv, "--name", "uninterrupted")
    assert code == 0, err
    resumed = json.loads((run_dir / METRICS_FILE).read_text())
    assert resumed["resumed_from_epoch"] == 100
    assert resumed["epochs"] == 200
    assert _numbers(run_dir) == _numbers(tmp_path / "runs" / "uninterrupted")
    assert not (run_dir / RESUME_FILE).exists()


def test_sampled_objective_killed_at_a_random_epoch_resumes_to_the_same_metrics(
    tmp_path, capsys, planted_files
):
    argv = ["train", "--edges", planted_files["edges"], "--features", planted_files["features"]]
    argv += ["--model", "gae", "--objective", "sampled", "--dropout", "0.2", "--epochs", "400"]
    argv += ["--checkpoint-every", "25", "--threads", "1", "--quiet", "--no-figures"]
    argv += ["--runs-dir", tmp_path / "runs"]
    after = random.choice([25, 50, 75, 100])
    run_dir = _kill_and_resume(capsys, tmp_path, argv, after)
    assert json.loads((run_dir / METRICS_FILE).read_text())["resumed_from_epoch"] >= after
    code, _, err = cli(capsys, *argv, "--name", "uninterrupted", "--checkpoint-every", "0")
    assert code == 0, err
    assert _numbers(run_dir) == _numbers(tmp_path / "runs" / "uninterrupted")


def test_sigterm_keeps_a_resumable_run_and_says_how_to_resume_it(tmp_path, capsys):
    runs = tmp_path / "runs"
    run_dir = runs / "stopped"
    argv = ["train", "--edges", FRIENDS, "--epochs", "1000000", "--checkpoint-every", "20"]
    argv += ["--quiet", "--no-figures", "--runs-dir", runs, "--name", "stopped"]
    process = _start(tmp_path, argv)
    try:
        _wait_for(run_dir / RESUME_FILE, process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, err
    epoch = load_train_state(run_dir / RESUME_FILE).epoch
    assert epoch % 20 == 0
    assert err.splitlines() == [
        f"graphae: stopped by SIGTERM; {run_dir} kept, resumable from epoch {epoch}: "
        f"graphae train --resume {run_dir}"
    ]
    assert not (run_dir / METRICS_FILE).exists()
    assert [p for p in run_dir.rglob("*") if ".tmp" in p.name] == []
    # never taken for a finished run
    code, _, err = cli(capsys, "compare", runs, "--no-plot")
    assert code != 0
    assert f"skipped {run_dir}: unfinished (no metrics.json), resumable: graphae train" in err


def test_ctrl_c_keeps_the_run_then_resume_finishes_it(tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    run_dir = runs / "friends"
    argv = ["train", "--edges", FRIENDS, "--epochs", "60", "--checkpoint-every", "20"]
    argv += ["--quiet", "--no-figures", "--runs-dir", runs, "--name", "friends"]
    log = JsonlTracker.log_metrics

    def interrupt_at_47(self, metrics, step=None):
        if step == 47:
            raise KeyboardInterrupt
        log(self, metrics, step)

    monkeypatch.setattr(JsonlTracker, "log_metrics", interrupt_at_47)
    code, _, err = cli(capsys, *argv)
    assert code == 130
    assert err == (
        f"graphae: interrupted; {run_dir} kept, resumable from epoch 40: "
        f"graphae train --resume {run_dir}\n"
    )
    monkeypatch.undo()
    code, _, err = cli(capsys, "train", "--resume", run_dir, "--checkpoint-every", "7")
    assert code == 0, err
    assert json.loads((run_dir / METRICS_FILE).read_text())["resumed_from_epoch"] == 40
    code, _, err = cli(capsys, "train", "--resume", run_dir)
    assert_one_line_error(code, err, f"{run_dir} is a finished run", "nothing to resume")


def test_resume_refuses_other_settings_and_folders_without_a_checkpoint(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code, _, err = cli(capsys, "train", "--resume", run_dir, "--epochs", "5", "--lr=0.1")
    assert_one_line_error(
        code,
        err,
        f"--resume continues {run_dir} with the settings of its config.json; "
        "drop --epochs --lr (or start a new run)",
    )
    code, _, err = cli(capsys, "train", "--resume", run_dir)
    assert_one_line_error(code, err, f"{run_dir}: no such run directory")
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    code, _, err = cli(capsys, "train", "--resume", run_dir, "--threads", "1")
    assert_one_line_error(code, err, f"{run_dir} has no resume checkpoint (resume.pt)")


@pytest.mark.parametrize("value", ["-1", "x"])
def test_checkpoint_every_is_checked(capsys, value):
    code, _, err = cli(capsys, "train", "--checkpoint-every", value)
    assert_one_line_error(code, err, "checkpoint-every")
