"""Wiring of an image-VAE run: data -> model -> training -> figures -> run directory.

The run directory, trackers (TensorBoard, ``history.jsonl``) and the clean-up
of failed runs are the same as for the graph autoencoders
(:func:`graphae.pipeline.run_directory`).

>>> from graphae.vae import VAEConfig, train_vae
>>> result = train_vae(VAEConfig(dataset="digits", latent_dim=2, epochs=20))  # doctest: +SKIP
>>> result.metrics["test"]["neg_elbo"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from graphae.artifacts.run_dir import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    versions,
    write_json,
)
from graphae.pipeline import check_device, run_directory
from graphae.tracking.base import Tracker
from graphae.training.trainer import show_progress
from graphae.vae import figures
from graphae.vae.checkpoint import save_vae
from graphae.vae.config import OUTPUT_SETTINGS, VAEConfig
from graphae.vae.data import ImageData, load_images
from graphae.vae.model import VAE
from graphae.vae.train import evaluate, fit_vae

#: What the objective is, recorded with every run.
OBJECTIVE = (
    "negative ELBO per image in nats: Bernoulli decoder (BCE with logits on pixel "
    "intensities, summed over pixels) + closed-form KL(q(z|x) || N(0, I)); "
    "one reparameterised sample of z per image"
)


@dataclass
class VAERunResult:
    """Outcome of :func:`train_vae`.

    Attributes:
        config: the settings of the run.
        metrics: what ``metrics.json`` holds (``metrics["test"]["neg_elbo"]``, ...).
        model: the trained model, in eval mode.
        history: per-epoch metrics (as in ``history.jsonl``).
        run_dir: the run directory (``None`` when not saved).
        files: PNG files written in the run directory.

    """

    config: VAEConfig
    metrics: dict[str, Any]
    model: VAE
    history: list[dict[str, float]]
    run_dir: Path | None
    files: list[Path] = field(default_factory=list)


def train_vae(
    config: VAEConfig | None = None,
    *,
    data: ImageData | None = None,
    trackers: tuple[Tracker, ...] | list[Tracker] = (),
    save: bool = True,
    **overrides: Any,
) -> VAERunResult:
    """Train a VAE on images and score train and test −ELBO every epoch.

    Args:
        config (VAEConfig, optional): settings; keyword ``overrides`` are applied on top.
        data (ImageData, optional): images to use; default: load ``config.dataset``.
        trackers (sequence, optional): extra trackers (TensorBoard and
            ``history.jsonl`` are added when ``save``).
        save (bool, optional): write a run directory. (default: ``True``)
        **overrides: :class:`VAEConfig` fields replacing those of ``config``.

    Returns:
        VAERunResult: metrics, model, history, run directory and its pictures.

    Raises:
        ConfigError: invalid settings (before anything is written).
        DataError: data set unknown, missing or corrupt (before anything is written).

    """
    config = VAEConfig.from_dict({**(config or VAEConfig()).to_dict(), **overrides})
    check_device(config.device)
    started = time.perf_counter()
    if data is None:
        data = load_images(config.dataset, config.data_root)
    data = data.subset(config.train_size, config.test_size)
    with run_directory(config.runs_dir, config.run_name, save, trackers) as (run_dir, tracks):
        return _run(config, data, run_dir, tracks, started)


def _run(
    config: VAEConfig,
    data: ImageData,
    run_dir: Path | None,
    trackers: list[Tracker],
    started: float,
) -> VAERunResult:
    device = torch.device(config.device)
    train_x, test_x = data.train_x.to(device), data.test_x.to(device)
    torch.manual_seed(config.seed)
    model = VAE(data.shape, config.latent_dim, config.hidden).to(device)
    if run_dir is not None:
        write_json(run_dir / CONFIG_FILE, _run_info(config, data, model, run_dir))
    # "model" first: in a runs folder shared with graph runs, HParams' model column
    params = {"model": "vae"}
    params.update({k: v for k, v in config.to_dict().items() if k not in OUTPUT_SETTINGS})
    params["hidden"] = "-".join(map(str, config.hidden)) or "none"
    for tracker in trackers:
        tracker.start_run(run_dir)
        tracker.log_params(params)

    fitted = fit_vae(
        model,
        train_x,
        test_x,
        epochs=config.epochs,
        batch_size=config.batch_size,
        optimizer=config.optimizer,
        lr=config.lr,
        lr_schedule=config.lr_schedule,
        kl_warmup=config.kl_warmup,
        seed=config.seed,
        trackers=trackers,
        progress=show_progress(config.quiet),
    )
    model.eval()
    last = fitted.history[-1]
    metrics: dict[str, Any] = {
        "dataset": config.dataset,
        "latent_dim": config.latent_dim,
        "hidden": list(config.hidden),
        "num_pixels": data.num_pixels,
        "optimizer": config.optimizer,
        "lr": config.lr,
        "batch_size": config.batch_size,
        "epochs": config.epochs,
        "seed": config.seed,
        "test": {k: last[f"test/{k}"] for k in ("neg_elbo", "recon", "kl")},
        "train": {k: last[f"train/{k}"] for k in ("neg_elbo", "recon", "kl")},
        "seconds_per_epoch": round(fitted.train_seconds / config.epochs, 3),
        "seconds_per_epoch_with_test": round(fitted.seconds / config.epochs, 3),
        "train_seconds": round(fitted.train_seconds, 3),
        "num_train": int(train_x.shape[0]),
        "num_test": int(test_x.shape[0]),
    }
    files: list[Path] = []
    if run_dir is not None:
        files = draw_run(model, data, fitted.history, config, run_dir, trackers)
        save_vae(run_dir / CHECKPOINT_FILE, model, config)
        metrics["files"] = [f.name for f in files]
        metrics["total_seconds"] = round(time.perf_counter() - started, 3)
        write_json(run_dir / METRICS_FILE, metrics)  # last: marks the run complete
    else:
        metrics["total_seconds"] = round(time.perf_counter() - started, 3)
    return VAERunResult(config, metrics, model, fitted.history, run_dir, files)


def _run_info(config: VAEConfig, data: ImageData, model: VAE, run_dir: Path) -> dict[str, Any]:
    return {
        "config": config.to_dict(),
        "run_name": run_dir.name,
        "kind": "vae",
        "objective": OBJECTIVE,
        "dataset": {
            "name": data.name,
            "image_shape": list(data.shape),
            "num_train": len(data.train_x),
            "num_test": len(data.test_x),
        },
        "architecture": "-".join(map(str, [data.num_pixels, *config.hidden, config.latent_dim])),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "versions": versions(),
    }


def draw_run(
    model: VAE,
    data: ImageData,
    history: list[dict[str, float]],
    config: VAEConfig,
    run_dir: Path,
    trackers: list[Tracker] | tuple[Tracker, ...] = (),
) -> list[Path]:
    """Write the run's PNGs and hand each figure to the trackers (``figures/<name>``).

    ``elbo.png`` (train/test −ELBO and KL per epoch), ``samples.png`` (8x8
    grid decoded from ``z ~ N(0, I)``, the paper's Figure 5),
    ``reconstructions.png`` (test images and their reconstructions) and, for
    a 2-d latent space, ``manifold.png`` (the paper's Figure 4) and
    ``codes.png`` (test codes ``μ`` by class).
    """
    from graphae.figures import save_figure

    device = next(model.parameters()).device
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    label = f"VAE on {data.name}, z = {config.latent_dim}, {epochs}, seed {config.seed}"
    generator = torch.Generator(device=device).manual_seed(config.seed)
    test_x = data.test_x[:32].to(device)
    pictures = {
        "elbo": figures.elbo_figure(history, label),
        "samples": figures.grid_figure(
            model.sample(64, generator), f"{label}\n64 samples decoded from z ~ N(0, I)", 8
        ),
        "reconstructions": figures.reconstruction_figure(
            model.images(test_x.cpu()), model.reconstruct(test_x).cpu(), 8, label
        ),
    }
    if config.latent_dim == 2:
        pictures["manifold"] = figures.manifold_figure(model, 20, label)
        with torch.inference_mode():
            mu = torch.cat([model.encode(b.to(device))[0].cpu() for b in data.test_x.split(5000)])
        pictures["codes"] = figures.codes_figure(mu, data.test_y, data.classes, label)
    files = []
    for name, picture in pictures.items():
        files.append(save_figure(picture, run_dir / f"{name}.png"))
        for tracker in trackers:
            tracker.log_figure(f"figures/{name}", picture, config.epochs)
    return files


def evaluate_run(model: VAE, config: VAEConfig, data: ImageData | None = None) -> dict[str, float]:
    """Test −ELBO of a (reloaded) model, computed exactly as during training."""
    if data is None:
        data = load_images(config.dataset, config.data_root)
    data = data.subset(config.train_size, config.test_size)
    device = next(model.parameters()).device
    return evaluate(model, data.test_x.to(device), seed=config.seed)
