"""The one place that wires the parts together.

config -> data/split -> model -> training -> evaluation -> tracking/artifacts.

>>> from graphae import TrainConfig, train
>>> result = train(TrainConfig(model="gae", dataset="Cora", epochs=200))  # doctest: +SKIP
>>> result.metrics["test"]  # doctest: +SKIP
{'auc': 0.91..., 'ap': 0.92...}
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from graphae.artifacts.checkpoint import save_checkpoint
from graphae.artifacts.run_dir import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    EMBEDDINGS_FILE,
    METRICS_FILE,
    SPLIT_FILE,
    create_run_dir,
    versions,
    write_json,
)
from graphae.config import TrainConfig
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import LinkSplit, split_edges
from graphae.data.planetoid import load_planetoid
from graphae.errors import ConfigError
from graphae.evaluation.link_prediction import link_metrics
from graphae.nn.autoencoders import GAE
from graphae.nn.factory import build_model
from graphae.tracking.base import Tracker
from graphae.tracking.jsonl import JsonlTracker
from graphae.tracking.tensorboard import TensorBoardTracker
from graphae.training.objectives import DenseObjective, SampledObjective, resolve_objective
from graphae.training.trainer import fit, show_progress


@dataclass
class RunResult:
    """Outcome of :func:`train`.

    Attributes:
        config: the settings of the run.
        objective: the objective that ran (``"dense"`` or ``"sampled"``).
        metrics: what ``metrics.json`` holds (``metrics["test"]["auc"]``, ...).
        model: the model with its best-validation weights, in eval mode.
        embeddings: ``N x d`` node embeddings from those weights (``μ`` for VGAE).
        split: the link split used.
        run_dir: the run directory (``None`` when not saved).

    """

    config: TrainConfig
    objective: str
    metrics: dict[str, Any]
    model: GAE
    embeddings: torch.Tensor
    split: LinkSplit
    run_dir: Path | None


def train(
    config: TrainConfig | None = None,
    *,
    data: Data | None = None,
    split: LinkSplit | None = None,
    trackers: Sequence[Tracker] = (),
    save: bool = True,
    **overrides: Any,
) -> RunResult:
    """Train a GAE/VGAE for link prediction and score the test split once.

    Args:
        config (TrainConfig, optional): settings; keyword ``overrides`` are
            applied on top (``train(model="gae", epochs=50)`` works too).
        data (Data, optional): a graph with ``x``/``edge_index``; default:
            load ``config.dataset``.
        split (LinkSplit, optional): a precomputed split (to compare methods
            on identical splits); default: :func:`split_edges` with the seed.
        trackers (sequence, optional): extra trackers (TensorBoard and
            ``history.jsonl`` are added when ``save``).
        save (bool, optional): write a run directory. (default: ``True``)
        **overrides: :class:`TrainConfig` fields replacing those of ``config``.

    Returns:
        RunResult: metrics, model, embeddings, split and run directory.

    Raises:
        ConfigError: invalid settings (before anything is written).
        DataError: data set unknown or unavailable (before anything is written).

    """
    config = TrainConfig.from_dict({**(config or TrainConfig()).to_dict(), **overrides})
    check_device(config.device)
    started = time.perf_counter()
    if data is None:
        data = load_planetoid(config.dataset, config.data_root)
    num_nodes = int(data.num_nodes)
    if split is None:
        split = split_edges(
            data.edge_index, num_nodes, config.val_fraction, config.test_fraction, config.seed
        )
    objective_name = resolve_objective(config.objective, num_nodes, config.dense_max_nodes)

    run_dir = create_run_dir(config.runs_dir, config.run_name) if save else None
    all_trackers = [*trackers, *([TensorBoardTracker(), JsonlTracker()] if save else [])]
    try:
        result = _run(config, data, split, objective_name, run_dir, all_trackers, started)
    except BaseException:
        for tracker in all_trackers:
            tracker.end_run(success=False)
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    for tracker in all_trackers:
        tracker.end_run(success=True)
    return result


def check_device(device: str) -> None:
    """Raise :class:`ConfigError` for an unknown or unavailable torch device."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        message = f"device {device!r} is not a torch device (e.g. cpu, cuda, cuda:1)"
        raise ConfigError(message) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use cpu")


def _run(
    config: TrainConfig,
    data: Data,
    split: LinkSplit,
    objective_name: str,
    run_dir: Path | None,
    trackers: Sequence[Tracker],
    started: float,
) -> RunResult:
    device = torch.device(config.device)
    num_nodes = int(data.num_nodes)
    train_edges = split.train_edge_index().to(device)
    adj = gcn_adjacency(train_edges, num_nodes)
    x = prepare_features(data.x, config.features)
    x = x.to(device) if x is not None else None
    in_dim = x.shape[1] if x is not None else num_nodes

    torch.manual_seed(config.seed)
    model = build_model(
        config.model, in_dim, config.hidden_dim, config.latent_dim, config.dropout
    ).to(device)
    if objective_name == "dense":
        objective: Any = DenseObjective(train_edges, num_nodes)
    else:
        generator = torch.Generator().manual_seed(config.seed)
        objective = SampledObjective(train_edges, num_nodes, generator)

    run_info = {
        "config": config.to_dict(),
        "run_name": run_dir.name if run_dir else config.run_name,
        "objective": objective_name,
        "num_nodes": num_nodes,
        "num_features": in_dim if x is not None else 0,
        "split_counts": split.counts(),
        "versions": versions(),
    }
    if run_dir is not None:
        write_json(run_dir / CONFIG_FILE, run_info)
        split.save(run_dir / SPLIT_FILE)
    params = {**config.to_dict(), "objective": objective_name}
    params.pop("extra", None)
    for tracker in trackers:
        tracker.start_run(run_dir)
        tracker.log_params(params)

    val_pairs = tuple(p.to(device) for p in split.pairs("val"))
    test_pairs = tuple(p.to(device) for p in split.pairs("test"))
    fitted = fit(
        model,
        x,
        adj,
        objective,
        val_pairs,  # type: ignore[arg-type]
        epochs=config.epochs,
        lr=config.lr,
        eval_every=config.eval_every,
        select_metric=config.select_metric,
        trackers=trackers,
        progress=show_progress(config.quiet),
    )
    test_last = link_metrics(model, model.embed(x, adj), *test_pairs)
    model.load_state_dict(fitted.best_state)
    model.eval()
    embeddings = model.embed(x, adj)
    test = link_metrics(model, embeddings, *test_pairs)

    final = {
        "test/auc": test["auc"],
        "test/ap": test["ap"],
        "test/last_auc": test_last["auc"],
        "test/last_ap": test_last["ap"],
        "val/best_auc": fitted.best_val["auc"],
        "val/best_ap": fitted.best_val["ap"],
    }
    for tracker in trackers:
        tracker.log_metrics(final, step=config.epochs)
    metrics = {
        "model": config.model,
        "dataset": config.dataset,
        "features": config.features,
        "objective": objective_name,
        "seed": config.seed,
        "epochs": config.epochs,
        "best_epoch": fitted.best_epoch,
        "val": fitted.best_val,
        "test": test,
        "val_last": fitted.last_val,
        "test_last": test_last,
        "train_seconds": round(fitted.seconds, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    if run_dir is not None:
        save_checkpoint(run_dir / CHECKPOINT_FILE, model, config, in_dim, objective=objective_name)
        np.save(run_dir / EMBEDDINGS_FILE, embeddings.cpu().numpy())
        metrics["total_seconds"] = round(time.perf_counter() - started, 3)
        write_json(run_dir / METRICS_FILE, metrics)  # last: marks the run complete
    return RunResult(
        config=config,
        objective=objective_name,
        metrics=metrics,
        model=model,
        embeddings=embeddings,
        split=split,
        run_dir=run_dir,
    )
