"""The MLflow tracker against a real local MLflow store, read back with MLflow's own client."""

import json

import pytest

from graphae.tracking.mlflow import MlflowTracker, mlflow_available, mlflow_key

pytestmark = pytest.mark.skipif(not mlflow_available(), reason="mlflow is not installed")


@pytest.fixture
def store(tmp_path_factory, monkeypatch):
    """A private file store (MLflow 3 refuses file stores unless allowed); its URI."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    return tmp_path_factory.mktemp("mlruns").as_uri()


def _runs(uri, experiment="graphae"):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment}"
    return client, client.search_runs([found.experiment_id])


def test_names_mlflow_accepts():
    assert mlflow_key("test/hits@20") == "test/hits_at_20"
    assert mlflow_key("val/auc") == "val/auc"
    assert mlflow_key("weird[name]") == "weird_name_"


def test_a_training_run_reads_back_from_the_store(store, planted, tmp_path):
    from graphae import TrainConfig, train

    config = TrainConfig(model="gae", latent_dim=8, epochs=12, runs_dir=str(tmp_path), quiet=True)
    result = train(config, data=planted, trackers=[MlflowTracker(store)])
    client, (run,) = _runs(store)
    assert run.info.run_name == result.run_dir.name and run.info.status == "FINISHED"
    assert run.data.tags["graphae.run_dir"] == str(result.run_dir.resolve())
    params = run.data.params
    assert (params["model"], params["latent_dim"], params["epochs"]) == ("gae", "8", "12")
    # per-epoch metrics at their epochs; the final ones once
    history = client.get_metric_history(run.info.run_id, "val/auc")
    assert [m.step for m in history] == list(range(1, 13))
    assert history[-1].value == pytest.approx(result.metrics["val_last"]["auc"])
    assert run.data.metrics["test/auc"] == pytest.approx(result.metrics["test"]["auc"])
    assert run.data.metrics["test/hits_at_20"] == pytest.approx(result.metrics["test"]["hits@20"])
    # figures, and the whole run folder, complete (its files closed before the upload)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert artifacts == {"figures/latent.png", "figures/roc.png", "figures/curves.png"}
    folder = {a.path.split("/", 1)[1] for a in client.list_artifacts(run.info.run_id, "run")}
    assert {"metrics.json", "config.json", "history.jsonl", "checkpoint.pt"} <= folder
    local = client.download_artifacts(run.info.run_id, "run", str(tmp_path / "back"))
    back = (tmp_path / "back" / "run" / "history.jsonl").read_text()
    # one line per epoch, then the final metrics
    assert back == (result.run_dir / "history.jsonl").read_text() and len(back.splitlines()) == 13
    assert json.loads((tmp_path / "back" / "run" / "metrics.json").read_text()) == json.loads(
        (result.run_dir / "metrics.json").read_text()
    )
    assert local


def test_one_tracker_follows_the_runs_of_a_sweep(store, planted, tmp_path):
    from graphae import TrainConfig, train

    tracker = MlflowTracker(store, experiment="sweep")
    for seed in (0, 1):
        config = TrainConfig(epochs=3, seed=seed, runs_dir=str(tmp_path), quiet=True, figures=False)
        train(config, data=planted, trackers=[tracker])
    _, runs = _runs(store, "sweep")
    assert sorted(r.data.params["seed"] for r in runs) == ["0", "1"]
    assert all(r.info.status == "FINISHED" for r in runs)


def test_a_failed_run_is_marked_failed_without_artifacts(store, tmp_path):
    tracker = MlflowTracker(store)
    (tmp_path / "run").mkdir()
    tracker.start_run(tmp_path / "run")
    tracker.log_params({"model": "gae"})
    tracker.log_metrics({"train/loss": 0.5}, step=1)
    tracker.end_run(success=False)
    client, (run,) = _runs(store)
    assert run.info.status == "FAILED" and run.data.metrics == {"train/loss": 0.5}
    assert client.list_artifacts(run.info.run_id) == []


def test_mlflow_failing_mid_run_warns_and_keeps_the_run(store, planted, tmp_path, monkeypatch):
    from graphae import TrainConfig, train
    from graphae.tracking.mlflow import MlflowWarning

    tracker = MlflowTracker(store)
    tracker.flush_seconds = 0.0  # send every epoch
    real_start = tracker.start_run

    def start_then_break(run_dir):
        real_start(run_dir)
        client = tracker.client

        class GoneAway:  # the server stops answering after the params
            calls = 0

            def __getattr__(self, name):
                if name in ("log_batch", "log_artifacts", "log_figure"):
                    GoneAway.calls += 1
                    if GoneAway.calls > 1:
                        raise ConnectionError("server went away\nlong traceback text")
                return getattr(client, name)

        tracker.client = GoneAway()

    monkeypatch.setattr(tracker, "start_run", start_then_break)
    config = TrainConfig(epochs=5, runs_dir=str(tmp_path), quiet=True)
    expected = r"incomplete \(logging metrics: server went away\); the graphae run goes on"
    with pytest.warns(MlflowWarning, match=expected):
        result = train(config, data=planted, trackers=[tracker])
    assert (result.run_dir / "metrics.json").is_file()  # the run itself is complete and kept
    _, (run,) = _runs(store)
    assert run.info.status == "FAILED" and run.data.params["epochs"] == "5"


def test_an_unusable_store_is_a_config_error(tmp_path, monkeypatch):
    from graphae.errors import ConfigError

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="cannot log to MLflow"):
        MlflowTracker(str(blocker / "mlruns")).start_run(None)


def test_cli_train_and_sweep_log_to_mlflow(store, data_root, tmp_path, capsys):
    from graphae.cli import main

    common = ["--data-root", str(data_root), "--runs-dir", str(tmp_path), "--threads", "1"]
    argv = ["train", "--epochs", "2", "--quiet", "--no-figures", *common]
    assert main([*argv, "--tracker", "tensorboard,mlflow", "--mlflow-uri", store]) == 0
    sweep = ["sweep", "--epochs", "2", "--latent-dim", "2", "4", "--quiet", "--no-figures"]
    assert main([*sweep, *common, "--tracker", "mlflow", "--mlflow-uri", store]) == 0
    capsys.readouterr()
    _, runs = _runs(store)
    assert sorted(r.data.params["latent_dim"] for r in runs) == ["16", "2", "4"]
    assert main([*argv, "--tracker", "wandb"]) == 2
    assert "unknown tracker 'wandb'" in capsys.readouterr().err


def test_cli_reproduce_logs_every_run_to_mlflow(store, data_root, tmp_path, capsys):
    from graphae.cli import main

    argv = ["reproduce", "kipf2016", "--datasets", "Cora", "--methods", "GAE", "SC"]
    argv += ["--runs", "1", "--epochs", "2", "--data-root", str(data_root), "--threads", "1"]
    argv += ["--out", str(tmp_path / "repro"), "--mlflow-uri", store]
    assert main([*argv, "--mlflow-experiment", "kipf"]) == 0
    capsys.readouterr()
    _, runs = _runs(store, "kipf")
    assert sorted(r.info.run_name for r in runs) == ["gae_seed0", "sc_seed0"]
    assert all(r.info.status == "FINISHED" and "test/auc" in r.data.metrics for r in runs)


def test_cli_vae_logs_to_mlflow(store, tmp_path, capsys):
    from graphae.cli import main

    argv = ["vae", "--dataset", "digits", "--epochs", "2", "--hidden", "16", "--quiet"]
    argv += ["--train-size", "200", "--test-size", "50", "--runs-dir", str(tmp_path)]
    assert main([*argv, "--mlflow-uri", store, "--mlflow-experiment", "images"]) == 0
    capsys.readouterr()
    client, (run,) = _runs(store, "images")
    assert run.data.params["model"] == "vae" and run.data.params["latent_dim"] == "2"
    history = client.get_metric_history(run.info.run_id, "test/neg_elbo")
    assert [m.step for m in history] == [1, 2]
    figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert {"figures/manifold.png", "figures/samples.png", "figures/elbo.png"} <= figures


@pytest.mark.slow
def test_default_store_is_mlflows_local_default(planted, tmp_path, monkeypatch):
    """No URI: MLflow's own default in the working directory, which ``mlflow ui`` there shows."""
    import mlflow

    from graphae import TrainConfig, train

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = TrainConfig(epochs=2, runs_dir="runs", quiet=True, figures=False)
    train(config, data=planted, trackers=[MlflowTracker()])
    _, (run,) = _runs(mlflow.get_tracking_uri())
    assert run.info.status == "FINISHED"
    assert (tmp_path / "mlruns").is_dir()
