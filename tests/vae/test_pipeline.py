import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from graphae.tracking import MemoryTracker
from graphae.vae import VAEConfig, load_images, load_vae, train_sizes, train_vae
from graphae.vae.pipeline import evaluate_run

RUN_FILES = {
    "config.json",
    "metrics.json",
    "history.jsonl",
    "checkpoint.pt",
    "elbo.png",
    "samples.png",
    "reconstructions.png",
    "manifold.png",
    "codes.png",
}


@pytest.fixture(scope="module")
def digits():
    return load_images("digits")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, digits):
    runs = tmp_path_factory.mktemp("runs")
    tracker = MemoryTracker()
    config = VAEConfig(dataset="digits", latent_dim=2, epochs=3, runs_dir=str(runs), quiet=True)
    return train_vae(config, data=digits, trackers=[tracker]), tracker


def test_run_directory_files(finished):
    result, _ = finished
    run = result.run_dir
    assert run.name == "vae_digits_2d_3ep"
    names = {p.name for p in run.iterdir()}
    assert names >= RUN_FILES and any(n.startswith("events.out.tfevents") for n in names)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["neg_elbo"] == pytest.approx(
        metrics["test"]["recon"] + metrics["test"]["kl"]
    )
    assert metrics["epochs"] == 3 and metrics["seconds_per_epoch"] > 0
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["hidden"] == [500, 250] and info["architecture"] == "64-500-250-2"
    assert "torch" in info["versions"] and "ELBO" in info["objective"]
    lines = (run / "history.jsonl").read_text().splitlines()
    assert len(lines) == 3 and "test/neg_elbo" in json.loads(lines[0])


def test_checkpoint_reloads_alone_with_the_same_test_elbo(finished, digits):
    result, _ = finished
    model, config = load_vae(result.run_dir)
    assert config == result.config and not model.training
    again = evaluate_run(model, config, digits)
    assert again["neg_elbo"] == pytest.approx(result.metrics["test"]["neg_elbo"], rel=1e-6)
    model2, _ = load_vae(result.run_dir / "checkpoint.pt")
    z = torch.randn(5, 2)
    torch.testing.assert_close(model.sample(5, z=z), model2.sample(5, z=z))


def test_trackers_get_scalars_and_figures(finished):
    _, tracker = finished
    for tag in ("train/neg_elbo", "test/neg_elbo", "train/kl", "test/recon", "lr"):
        assert len(tracker.history[tag]) == 3
    values = [v for _, v in tracker.history["train/neg_elbo"]]
    assert values[-1] < values[0]
    assert {"figures/samples", "figures/manifold", "figures/codes"} <= set(tracker.figures)


def test_tensorboard_has_scalars_and_images(finished):
    result, _ = finished
    acc = EventAccumulator(str(result.run_dir), size_guidance={"images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    for tag in ("train/neg_elbo", "test/neg_elbo", "train/recon", "train/kl", "test/kl"):
        assert tag in tags["scalars"]
    assert [e.step for e in acc.Scalars("test/neg_elbo")] == [1, 2, 3]
    for name in ("elbo", "samples", "reconstructions", "manifold", "codes"):
        assert f"figures/{name}" in tags["images"]


def test_several_sizes_write_a_comparison(tmp_path, digits):
    config = VAEConfig(dataset="digits", epochs=2, hidden=(64,), runs_dir=str(tmp_path), quiet=True)
    seen = []
    result = train_sizes(config, [2, 5], on_run=seen.append)
    folder = result.folder
    assert folder == tmp_path / "vae_digits_2-5d_2ep" and len(seen) == 2
    assert {p.name for p in folder.iterdir()} >= {
        "vae_digits_2d_2ep",
        "vae_digits_5d_2ep",
        "elbo.png",
        "table.md",
        "table.json",
    }
    assert not (folder / "vae_digits_5d_2ep" / "manifold.png").exists()
    table = json.loads((folder / "table.json").read_text())
    assert [r["latent_dim"] for r in table["rows"]] == [2, 5]
    assert table["settings"]["hidden"] == [64] and "latent_dim" not in table["settings"]
    assert "| 5 |" in (folder / "table.md").read_text()


def test_failed_run_leaves_no_folder(tmp_path, digits, monkeypatch):
    import graphae.vae.pipeline as pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "fit_vae", boom)
    with pytest.raises(RuntimeError):
        train_vae(VAEConfig(epochs=1, runs_dir=str(tmp_path)), data=digits)
    assert list(tmp_path.iterdir()) == []


def test_failure_in_several_sizes_leaves_no_empty_parent(tmp_path, digits, monkeypatch):
    import graphae.vae.pipeline as pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "fit_vae", boom)
    with pytest.raises(RuntimeError):
        train_sizes(VAEConfig(epochs=1, runs_dir=str(tmp_path)), [2, 3])
    assert list(tmp_path.iterdir()) == []
