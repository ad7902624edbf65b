"""Resumable runs: stopped after a checkpoint and resumed, a run ends as if never stopped.

The "crash" is an exception raised by a tracker while the run logs an
epoch; the folder is kept with its last ``resume.pt`` and
:func:`graphae.pipeline.resume` trains the remaining epochs. Every number of
``metrics.json`` (timings aside), the history, the TensorBoard scalars,
the embeddings and the saved weights must equal those of a run that never
stopped (and never checkpointed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphae import TrainConfig
from graphae.artifacts.checkpoint import read_checkpoint
from graphae.artifacts.run_dir import (
    CHECKPOINT_FILE,
    EMBEDDINGS_FILE,
    METRICS_FILE,
    RESUME_FILE,
)
from graphae.data import planted_partition
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import split_edges
from graphae.errors import ConfigError, DataError, TrainingError
from graphae.nn.factory import build_model
from graphae.pipeline import resume, train
from graphae.tracking.base import Tracker
from graphae.tracking.memory import MemoryTracker
from graphae.training.checkpointing import (
    TrainState,
    kept_run,
    load_train_state,
    save_train_state,
)
from graphae.training.objectives import DenseObjective, SampledObjective
from graphae.training.trainer import fit

#: What may differ between a resumed and an uninterrupted run's metrics.json.
TIMINGS = {"train_seconds", "train_cpu_seconds", "total_seconds", "phase_seconds"}
EPOCHS, EVERY = 30, 5


class Crash(Exception):
    """Stands in for anything that stops a process: a bug, a full disk, a kill."""


class CrashAt(Tracker):
    """A tracker that raises ``error`` when epoch ``epoch`` is logged."""

    def __init__(self, epoch: int, error: BaseException | None = None) -> None:
        self.epoch, self.error = epoch, error or Crash(f"crash at epoch {epoch}")

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if step == self.epoch:
            raise self.error


def _train(graph, runs: Path, name: str, trackers=(), **settings):
    settings = {
        "epochs": EPOCHS,
        "checkpoint_every": EVERY,
        "figures": False,
        "quiet": True,
        **settings,
    }
    return train(data=graph, runs_dir=str(runs), name=name, trackers=trackers, **settings)


def _crash(graph, runs: Path, name: str, epoch: int, **settings) -> Path:
    """Train until the tracker crashes at ``epoch``; return the folder kept for resuming."""
    with pytest.raises(Crash) as caught:
        _train(graph, runs, name, trackers=[CrashAt(epoch)], **settings)
    run_dir = runs / name
    assert kept_run(caught.value) == run_dir
    assert (run_dir / RESUME_FILE).is_file()
    assert not (run_dir / METRICS_FILE).exists()
    return run_dir


def _numbers(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    return {k: v for k, v in metrics.items() if k not in TIMINGS | {"resumed_from_epoch"}}


def _scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar TensorBoard shows for ``run_dir``, as ``tag -> [(step, value)]``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def _assert_same_run(resumed: Path, reference: Path) -> None:
    assert _numbers(resumed) == _numbers(reference)
    history = (resumed / "history.jsonl").read_text()
    assert history == (reference / "history.jsonl").read_text()
    steps = [json.loads(line)["step"] for line in history.splitlines()]
    assert steps == [*range(1, EPOCHS + 1), EPOCHS]  # every epoch once, then the final metrics
    a, b = np.load(resumed / EMBEDDINGS_FILE), np.load(reference / EMBEDDINGS_FILE)
    assert a.tobytes() == b.tobytes()
    weights = read_checkpoint(resumed / CHECKPOINT_FILE)["state_dict"]
    for key, value in read_checkpoint(reference / CHECKPOINT_FILE)["state_dict"].items():
        assert torch.equal(weights[key], value), key
    assert not (resumed / RESUME_FILE).exists()  # finished: no longer resumable


# GAE/VGAE x dense/sampled, MaskGAE; dropout (torch's RNG, and no validation from the
# training pass); dropout 0 (epoch t validated by the pass of t+1: pending at
# a checkpoint); validation every other epoch
CASES = [
    ("gae", "dense", 0.0, 1),
    ("vgae", "dense", 0.2, 1),
    ("gae", "sampled", 0.3, 2),
    ("vgae", "sampled", 0.0, 1),
    ("maskgae", "masked", 0.5, 1),  # a new mask each epoch, batch norm's running statistics
]


@pytest.mark.parametrize(("model", "objective", "dropout", "eval_every"), CASES)
def test_a_crashed_run_resumes_to_the_uninterrupted_result(
    planted, tmp_path, model, objective, dropout, eval_every
):
    settings = {"model": model, "objective": objective, "dropout": dropout}
    settings["eval_every"] = eval_every
    reference = _train(planted, tmp_path, "reference", checkpoint_every=0, **settings)
    assert reference.metrics["best_epoch"] > 8  # the resumed epochs choose the weights
    run_dir = _crash(planted, tmp_path, "crashed", epoch=13, **settings)
    assert load_train_state(run_dir / RESUME_FILE).epoch == 10

    memory = MemoryTracker()
    result = resume(run_dir, data=planted, trackers=[memory])
    assert result.metrics["resumed_from_epoch"] == 10
    assert result.metrics["test"] == reference.metrics["test"]
    assert torch.equal(result.embeddings, reference.embeddings)
    _assert_same_run(run_dir, tmp_path / "reference")
    # extra trackers get the whole history: replayed up to the checkpoint, then live
    assert [step for step, _ in memory.history["train/loss"]] == list(range(1, EPOCHS + 1))


def test_a_run_resumed_twice_and_its_tensorboard_scalars(planted, tmp_path):
    settings = {"model": "vgae", "objective": "sampled", "dropout": 0.1}
    _train(planted, tmp_path, "reference", checkpoint_every=0, **settings)
    run_dir = _crash(planted, tmp_path, "crashed", epoch=7, **settings)
    with pytest.raises(Crash):  # the resumed run stops again, after its next checkpoints
        resume(run_dir, data=planted, trackers=[CrashAt(22)])
    assert load_train_state(run_dir / RESUME_FILE).epoch == 20
    resume(run_dir, data=planted)
    _assert_same_run(run_dir, tmp_path / "reference")
    # the stopped processes' event files are replaced: each epoch's scalars once
    resumed, reference = _scalars(run_dir), _scalars(tmp_path / "reference")
    assert resumed.keys() == reference.keys()
    assert resumed["train/loss"] == reference["train/loss"]
    assert [step for step, _ in resumed["val/auc"]] == list(range(1, EPOCHS + 1))


def test_fit_resumes_from_a_state_to_the_same_result(planted):
    """The trainer alone: states handed out every 4 epochs, one reloaded into a fresh model."""
    split = split_edges(planted.edge_index, planted.num_nodes, seed=0)
    edges = split.train_edge_index()
    adj = gcn_adjacency(edges, planted.num_nodes)
    x = prepare_features(planted.x)
    objective = SampledObjective(edges, planted.num_nodes, seed=3)

    def run(states=None, resume_from=None):
        torch.manual_seed(0)
        model = build_model("vgae", x.shape[1], 16, 8, dropout=0.2)
        saver = None if states is None else (lambda s: states.append(_saved(s)))
        result = fit(
            model, x, adj, objective, split.pairs("val"), epochs=20, lr=0.01,
            checkpoint_every=4, checkpoint=saver, resume_from=resume_from,
        )  # fmt: skip
        return result, model

    states: list[TrainState] = []
    whole, model = run(states)
    assert [s.epoch for s in states] == [4, 8, 12, 16]  # none after the last epoch
    torch.manual_seed(123)  # the saved RNG state, not this, drives the rest
    resumed, again = run(resume_from=states[1])
    assert resumed.history == whole.history
    assert (resumed.best_epoch, resumed.best_val, resumed.last_val) == (
        whole.best_epoch,
        whole.best_val,
        whole.last_val,
    )
    for key, value in whole.best_state.items():
        assert torch.equal(resumed.best_state[key], value)
    for key, value in model.state_dict().items():
        assert torch.equal(again.state_dict()[key], value)


def _saved(state: TrainState) -> TrainState:
    """A state as a file holds it (its tensors copied, not the live ones)."""
    import io

    buffer = io.BytesIO()
    torch.save({f: getattr(state, f) for f in state.__dataclass_fields__}, buffer)
    buffer.seek(0)
    return TrainState(**torch.load(buffer, weights_only=True))


def test_the_dense_objective_and_negatives_need_no_saved_state(planted):
    """Negatives of epoch t are the same whichever epoch a (resumed) objective starts at."""
    edges = split_edges(planted.edge_index, planted.num_nodes, seed=0).train_edge_index()
    first = SampledObjective(edges, planted.num_nodes, seed=5)
    later = SampledObjective(edges, planted.num_nodes, seed=5)
    z = torch.randn(planted.num_nodes, 4)
    from graphae.nn.autoencoders import Encoding

    losses = [first(Encoding(z=z, mu=z), epoch) for epoch in range(1, 12)]
    for epoch in (11, 7):  # a resumed objective draws from its first epoch on
        assert torch.equal(later(Encoding(z=z, mu=z), epoch)["loss"], losses[epoch - 1]["loss"])
    dense = DenseObjective(edges, planted.num_nodes)
    assert torch.equal(dense(Encoding(z=z, mu=z), 1)["loss"], dense(Encoding(z=z, mu=z), 9)["loss"])


def test_a_run_without_a_checkpoint_is_removed_as_before(planted, tmp_path):
    with pytest.raises(Crash) as caught:  # stopped before its first checkpoint
        _train(planted, tmp_path, "early", trackers=[CrashAt(4)])
    assert kept_run(caught.value) is None
    with pytest.raises(Crash):  # never checkpointed
        _train(planted, tmp_path, "never", trackers=[CrashAt(20)], checkpoint_every=0)
    assert list(tmp_path.iterdir()) == []


def test_a_diverged_run_is_removed_even_with_a_checkpoint(planted, tmp_path):
    """Resuming a run whose loss stopped being finite would only repeat that: it goes."""
    diverged = TrainingError("loss is nan at epoch 12: try a smaller --lr")
    with pytest.raises(TrainingError):
        _train(planted, tmp_path, "diverged", trackers=[CrashAt(12, diverged)])
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_keeps_a_checkpointed_run(planted, tmp_path):
    with pytest.raises(KeyboardInterrupt) as caught:
        _train(planted, tmp_path, "stopped", trackers=[CrashAt(12, KeyboardInterrupt())])
    assert kept_run(caught.value) == tmp_path / "stopped"
    assert resume(tmp_path / "stopped", data=planted).metrics["resumed_from_epoch"] == 10


def test_resume_refuses_what_it_cannot_continue(planted, tmp_path):
    finished = _train(planted, tmp_path, "finished", epochs=6).run_dir
    with pytest.raises(ConfigError, match="is a finished run"):
        resume(finished, data=planted)
    with pytest.raises(ConfigError, match="no such run directory"):
        resume(tmp_path / "missing", data=planted)
    run_dir = _crash(planted, tmp_path, "crashed", epoch=7)
    with pytest.raises(ConfigError, match="cannot change epochs"):
        resume(run_dir, data=planted, epochs=50)
    other = planted_partition(num_blocks=4, block_size=40, p_in=0.3, p_out=0.01, seed=1)
    with pytest.raises(DataError, match="trained on 200 nodes"):
        resume(run_dir, data=other)
    (run_dir / RESUME_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="not a readable resume checkpoint"):
        resume(run_dir, data=planted)
    (run_dir / RESUME_FILE).unlink()
    with pytest.raises(ConfigError, match=f"{run_dir} has no resume checkpoint"):
        resume(run_dir, data=planted)


def test_a_checkpoint_is_written_atomically(tmp_path, monkeypatch, planted):
    """A write that fails half way keeps the previous checkpoint (and leaves no temporary file)."""
    run_dir = _crash(planted, tmp_path, "run", epoch=7)
    before = (run_dir / RESUME_FILE).read_bytes()
    state = load_train_state(run_dir / RESUME_FILE)

    def half_then_fail(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save_train_state(run_dir / RESUME_FILE, state)
    assert (run_dir / RESUME_FILE).read_bytes() == before
    assert [p.name for p in run_dir.iterdir() if ".tmp" in p.name] == []


@pytest.mark.parametrize("value", [-1, 1.5, True, "10"])
def test_checkpoint_every_must_be_a_count_of_epochs(value):
    with pytest.raises(ConfigError, match="checkpoint-every"):
        TrainConfig(checkpoint_every=value)
    assert TrainConfig(checkpoint_every=0).checkpoint_every == 0
    assert "checkpoint_every" not in TrainConfig().result_settings()  # never changes results
