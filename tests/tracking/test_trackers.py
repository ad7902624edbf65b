import json
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import graphae.tracking as tracking
from graphae.artifacts.atomic import OutputError
from graphae.errors import ConfigError
from graphae.tracking import JsonlTracker, MemoryTracker, MlflowTracker, TensorBoardTracker, Tracker
from graphae.tracking.mlflow import mlflow_available
from graphae.tracking.registry import make_trackers, tracker_names
from graphae.tracking.tensorboard import trial_id

TRACKERS = [
    cls
    for cls in vars(tracking).values()
    if isinstance(cls, type) and issubclass(cls, Tracker) and cls is not Tracker
]


@pytest.fixture
def mlflow_store(tmp_path_factory, monkeypatch):
    """A private MLflow file store (MLflow 3 refuses file stores unless allowed)."""
    if not mlflow_available():
        pytest.skip("mlflow is not installed")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = tmp_path_factory.mktemp("mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.mark.parametrize("cls", TRACKERS, ids=lambda c: c.__name__)
def test_every_tracker_honours_the_interface(cls, tmp_path, request):
    if cls is MlflowTracker:
        request.getfixturevalue("mlflow_store")  # never the working directory's store
    tracker = cls()
    tracker.start_run(tmp_path)
    tracker.log_params({"model": "gae", "lr": 0.01, "name": None, "nested": {"a": 1}})
    for step in range(3):
        tracker.log_metrics({"train/loss": 1.0 / (step + 1), "val/auc": 0.5 + step / 10}, step=step)
    tracker.log_metrics({"test/auc": 0.9}, step=3)
    tracker.log_figure("figures/x", _figure(), step=3)
    tracker.log_embedding("emb", np.ones((4, 3)), {"class": [0, 1, 0, 1]}, step=3)
    tracker.log_pr_curve("test/pr", np.array([1, 0, 1, 0]), np.array([0.9, 0.2, 0.6, 0.4]), 3)
    tracker.end_run(success=True)
    tracker.end_run(success=True)  # idempotent


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


def test_every_tracker_class_is_tested():
    assert {c.__name__ for c in TRACKERS} == {
        "JsonlTracker",
        "MemoryTracker",
        "MlflowTracker",
        "TensorBoardTracker",
    }


def test_tensorboard_events_read_back(tmp_path):
    from tensorboard.plugins.hparams import api_pb2, metadata

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
    # a session, never an experiment summary: TensorBoard infers the experiment
    # from every run's session, so runs of any kind share one HParams table
    assert set(hparams) == {"_hparams_/session_start_info", "_hparams_/session_end_info"}
    start = metadata.parse_session_start_info_plugin_data(hparams["_hparams_/session_start_info"])
    assert dict(start.hparams)["model"].string_value == "vgae"
    assert dict(start.hparams)["latent_dim"].number_value == 16
    assert "data_root" not in start.hparams  # None: an empty cell, not the text "None"
    assert start.group_name.startswith("16d vgae · ") and tmp_path.name in start.group_name
    # the final scores again, under tags the HParams table lists (and ticks) first
    assert acc.Scalars("hparams/test_auc")[0].value == pytest.approx(0.91)
    assert acc.Scalars("hparams/test_ap")[0].step == 5
    end = metadata.parse_session_end_info_plugin_data(hparams["_hparams_/session_end_info"])
    assert end.status == api_pb2.STATUS_SUCCESS


def test_tensorboard_images_pr_curves_and_projector_read_back(tmp_path):
    from google.protobuf import text_format
    from tensorboard.plugins.projector import projector_config_pb2

    tracker = TensorBoardTracker()
    tracker.start_run(tmp_path)
    tracker.log_figure("figures/roc", _figure(), step=7)
    labels = np.array([1, 1, 1, 0, 0, 0])
    tracker.log_pr_curve("test/pr_curve", labels, np.array([0.9, 0.8, 0.3, 0.4, 0.2, 0.1]), 7)
    z = np.arange(18, dtype=np.float32).reshape(6, 3)
    tracker.log_embedding("embeddings", z, {"class": [0, 1, 2, 0, 1, 2], "deg": [1] * 6}, step=7)
    tracker.end_run()

    acc = EventAccumulator(str(tmp_path), size_guidance={"images": 0, "tensors": 0})
    acc.Reload()
    image = acc.Images("figures/roc")[0]
    assert image.step == 7 and image.width > 50 and image.encoded_image_string[:4] == b"\x89PNG"
    assert "test/pr_curve" in acc.PluginTagToContent("pr_curves")
    pr = acc.Tensors("test/pr_curve")[0]
    assert pr.step == 7 and pr.tensor_proto.tensor_shape.dim[0].size == 6  # TP, FP, ... rows

    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), config)
    (emb,) = config.embeddings
    assert emb.tensor_name.startswith("embeddings")
    tensors = np.loadtxt(tmp_path / emb.tensor_path, delimiter="\t")
    np.testing.assert_allclose(tensors, z)
    meta = (tmp_path / emb.metadata_path).read_text().splitlines()
    assert meta[0].split("\t") == ["class", "deg"] and len(meta) == 7


def test_jsonl_history(tmp_path):
    tracker = JsonlTracker()
    tracker.start_run(tmp_path)
    tracker.log_metrics({"train/loss": 0.5}, step=1)
    tracker.log_metrics({"train/loss": 0.4, "val/auc": 0.8}, step=2)
    tracker.end_run()
    lines = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert lines == [{"step": 1, "train/loss": 0.5}, {"step": 2, "train/loss": 0.4, "val/auc": 0.8}]


def test_jsonl_write_errors_name_the_file(tmp_path, monkeypatch):
    tracker = JsonlTracker()
    tracker.start_run(tmp_path)

    class Full:
        def write(self, text):
            raise OSError(28, "No space left on device")  # a file object's error: no file name

        def close(self):
            raise OSError(28, "No space left on device")

    tracker._file = Full()
    with pytest.raises(OutputError, match=r"cannot write .*history\.jsonl: No space left") as e:
        tracker.log_metrics({"train/loss": 0.5}, step=1)
    assert e.value.path == tmp_path / "history.jsonl" and e.value.exit_code == 1
    tracker.end_run(success=False)  # a failed run's clean-up does not raise again
    tracker._file = Full()
    with pytest.raises(OutputError):
        tracker.end_run(success=True)
    with pytest.raises(OutputError, match="Not a directory"):
        JsonlTracker().start_run(tmp_path / "history.jsonl")


def test_memory_tracker_keeps_history():
    tracker = MemoryTracker()
    tracker.log_metrics({"a": 1.0}, 1)
    tracker.log_metrics({"a": 2.0}, 2)
    assert tracker.history["a"] == [(1, 1.0), (2, 2.0)] and tracker.last("a") == 2.0


def test_trial_ids_start_with_what_tells_runs_apart():
    graph = {"model": "vgae", "features": True, "latent_dim": 2, "epochs": 100, "seed": 0}
    run = Path("runs/vgae_citeseer_2d_100ep_seed0")
    assert trial_id(run, {**graph, "dataset": "CiteSeer"}) == (
        "s0 100ep 2d vgae · CiteSeer · runs/vgae_citeseer_2d_100ep_seed0"
    )
    assert trial_id(run, {**graph, "features": False}).startswith("s0 100ep 2d vgae* · runs/")
    baseline = {"model": "sc", "latent_dim": 128, "seed": 3, "dataset": "Cora"}
    assert trial_id(Path("r/sc_cora_seed3"), baseline) == "s3 128d sc · Cora · r/sc_cora_seed3"
    assert trial_id(Path("mine"), {}) == "mine"
    # same settings, different folders: different ids (one id would merge them into one row)
    assert trial_id(Path("a/x"), graph) != trial_id(Path("b/x"), graph)


@pytest.mark.parametrize("dim", [1, 2])
def test_projector_pads_narrow_embeddings_and_says_so(tmp_path, dim):
    from google.protobuf import text_format
    from tensorboard.plugins.projector import projector_config_pb2

    tracker = TensorBoardTracker()
    tracker.start_run(tmp_path)
    z = np.arange(6 * dim, dtype=np.float32).reshape(6, dim)
    tracker.log_embedding("embeddings", z, {"class": ["Theory", "AI"] * 3}, step=4)
    tracker.end_run()
    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), config)
    (emb,) = config.embeddings
    assert emb.tensor_name.startswith(f"embeddings ({dim}-d, padded with ")
    tensors = np.loadtxt(tmp_path / emb.tensor_path, delimiter="\t")
    assert tensors.shape == (6, 3)
    np.testing.assert_array_equal(tensors[:, :dim], z)
    assert not tensors[:, dim:].any()
    assert (tmp_path / emb.metadata_path).read_text().splitlines()[:2] == ["Theory", "AI"]


def test_tracker_names_from_the_command_line():
    assert tracker_names(None) == ["tensorboard"]
    assert tracker_names(["tensorboard,mlflow"]) == ["tensorboard", "mlflow"]
    assert tracker_names(["MLflow", "tensorboard", "mlflow"]) == ["mlflow", "tensorboard"]
    with pytest.raises(ConfigError, match="unknown tracker 'wandb'; choose from tensorboard, ml"):
        tracker_names(["tensorboard,wandb"])
    assert make_trackers(["tensorboard"]) == []  # its event files are in every run folder


def test_mlflow_tracker_without_mlflow_is_a_config_error(monkeypatch):
    import graphae.tracking.mlflow as module

    monkeypatch.setattr(module, "mlflow_available", lambda: False)
    with pytest.raises(ConfigError, match=r"needs MLflow: pip install 'graphae\[mlflow\]'"):
        make_trackers(["mlflow"])
    with pytest.raises(ConfigError):  # a URI asks for MLflow too
        make_trackers(None, mlflow_uri="sqlite:///x.db")
