import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import graphae.tracking as tracking
from graphae.tracking import JsonlTracker, MemoryTracker, TensorBoardTracker, Tracker

TRACKERS = [
    cls
    for cls in vars(tracking).values()
    if isinstance(cls, type) and issubclass(cls, Tracker) and cls is not Tracker
]


@pytest.mark.parametrize("cls", TRACKERS, ids=lambda c: c.__name__)
def test_every_tracker_honours_the_interface(cls, tmp_path):
    tracker = cls()
    tracker.start_run(tmp_path)
    tracker.log_params({"model": "gae", "lr": 0.01, "name": None, "nested": {"a": 1}})
    for step in range(3):
        tracker.log_metrics({"train/loss": 1.0 / (step + 1), "val/auc": 0.5 + step / 10}, step=step)
    tracker.log_metrics({"test/auc": 0.9}, step=3)
    tracker.end_run(success=True)
    tracker.end_run(success=True)  # idempotent


def test_every_tracker_class_is_tested():
    assert {c.__name__ for c in TRACKERS} == {"JsonlTracker", "MemoryTracker", "TensorBoardTracker"}


def test_tensorboard_events_read_back(tmp_path):
    tracker = TensorBoardTracker()
    tracker.start_run(tmp_path)
    tracker.log_params({"model": "vgae", "latent_dim": 16, "data_root": None})
    for step in range(1, 6):
        tracker.log_metrics({"train/loss": 1.0 / step, "val/auc": 0.6 + step / 100}, step=step)
    tracker.log_metrics({"test/auc": 0.91, "test/ap": 0.92}, step=5)
    tracker.end_run()
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    scalars = acc.Tags()["scalars"]
    assert {"train/loss", "val/auc", "test/auc", "test/ap"} <= set(scalars)
    assert [e.step for e in acc.Scalars("val/auc")] == [1, 2, 3, 4, 5]
    assert acc.Scalars("test/auc")[0].value == pytest.approx(0.91)
    hparams = acc.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in hparams and "_hparams_/experiment" in hparams
    start = hparams["_hparams_/session_start_info"]
    assert b"latent_dim" in start and b"vgae" in start
    assert b"test/auc" in hparams["_hparams_/experiment"]


def test_jsonl_history(tmp_path):
    tracker = JsonlTracker()
    tracker.start_run(tmp_path)
    tracker.log_metrics({"train/loss": 0.5}, step=1)
    tracker.log_metrics({"train/loss": 0.4, "val/auc": 0.8}, step=2)
    tracker.end_run()
    lines = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert lines == [{"step": 1, "train/loss": 0.5}, {"step": 2, "train/loss": 0.4, "val/auc": 0.8}]


def test_memory_tracker_keeps_history():
    tracker = MemoryTracker()
    tracker.log_metrics({"a": 1.0}, 1)
    tracker.log_metrics({"a": 2.0}, 2)
    assert tracker.history["a"] == [(1, 1.0), (2, 2.0)] and tracker.last("a") == 2.0
