"""Sweeps: train the Cartesian product of list-valued settings, resumably.

Each combination is a normal run directory under ``runs_dir``, named so that
its differences read at a glance in TensorBoard's run list: the usual
``<model>_<dataset>_<d>d_<E>ep`` plus ``_lr<lr>``, ``_<objective>`` and
``_seed<k>`` when those vary. Finished combinations are skipped when the sweep
is run again; a summary of all runs goes to ``<runs_dir>/<sweep_name>.json``.
"""

from __future__ import annotations

import itertools
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from graphae.artifacts.run_dir import finished_metrics, is_complete, resumable_with, write_json
from graphae.config import TrainConfig
from graphae.errors import ConfigError
from graphae.tracking.base import Tracker

#: Settings a sweep may vary, in the order they appear in run names.
SWEEPABLE = ("model", "dataset", "features", "latent_dim", "epochs", "lr", "objective", "seed")


def expand(grid: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """All combinations of ``grid`` (``{setting: [values]}``), first key varying slowest."""
    unknown = set(grid) - set(SWEEPABLE)
    if unknown:
        raise ConfigError(f"cannot sweep {sorted(unknown)}; sweepable: {', '.join(SWEEPABLE)}")
    for key, values in grid.items():
        if not values:
            raise ConfigError(f"sweep setting {key} has no values")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def run_name(config: TrainConfig, varying: set[str]) -> str:
    """``config.run_name`` plus the varying settings it does not already show."""
    name = config.run_name
    if "lr" in varying:
        name += f"_lr{config.lr:g}"
    if "objective" in varying:
        name += f"_{config.objective}"
    if "seed" in varying:
        name += f"_seed{config.seed}"
    return name


def run_sweep(
    grid: dict[str, Sequence[Any]],
    base: TrainConfig | None = None,
    *,
    sweep_name: str = "sweep",
    log: Callable[[str], None] | None = None,
    trackers: Sequence[Tracker] = (),
) -> list[dict[str, Any]]:
    """Train every combination of ``grid`` on top of ``base``; skip finished ones.

    Args:
        grid (dict): ``{setting: [values, ...]}`` over :data:`SWEEPABLE` settings.
        base (TrainConfig, optional): all other settings (``runs_dir`` included).
        sweep_name (str, optional): the summary is ``<runs_dir>/<sweep_name>.json``.
        log (callable, optional): receives progress lines (default: stderr).
        trackers (sequence, optional): extra trackers (e.g. MLflow), handed
            every trained run in turn; skipped runs are not logged again.

    Returns:
        list: one summary dict per combination (name, settings, metrics, skipped).

    """
    from graphae.pipeline import resume, train

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    base = base or TrainConfig()
    combos = expand(grid)
    varying = {k for k, v in grid.items() if len(v) > 1}
    # every config is built (and so validated) before anything is trained
    # with_overrides: settings a combination leaves unset (None) are its model's defaults
    configs = [base.with_overrides(**c, name=None) for c in combos]
    configs = [replace(c, name=run_name(c, varying)) for c in configs]
    # stand-ins for settings that runs saved by older versions lack
    defaults = TrainConfig().result_settings()
    summary: list[dict[str, Any]] = []
    durations: list[float] = []
    for index, config in enumerate(configs, start=1):
        run_dir = Path(config.runs_dir) / config.run_name
        settings = {k: v for k, v in config.result_settings().items() if k != "device"}
        label = f"[{index}/{len(configs)}] {config.run_name}"
        metrics = finished_metrics(run_dir, settings, defaults)
        skipped = metrics is not None
        if skipped:
            log(f"{label}: done before, skipped")
        else:
            resumable = resumable_with(run_dir, settings, defaults)
            if run_dir.is_dir() and not is_complete(run_dir) and not resumable:
                shutil.rmtree(run_dir)  # an interrupted run of this sweep, not resumable
            left = len(configs) - index + 1
            eta = f"{sum(durations) / len(durations) * left:.0f}s" if durations else "unknown"
            log(f"{label} ... ({left} left, ETA {eta}){' resuming' if resumable else ''}")
            tick = time.perf_counter()
            if resumable:  # stopped after a checkpoint: continue it (same numbers)
                shown = {"quiet": config.quiet, "figures": config.figures}
                result = resume(run_dir, trackers=trackers, **shown)
            else:
                result = train(config, trackers=trackers)
            durations.append(time.perf_counter() - tick)
            metrics, run_dir = result.metrics, result.run_dir or run_dir
            test = metrics["test"]
            log(f"{label}: test AUC {100 * test['auc']:.1f}  AP {100 * test['ap']:.1f}")
        summary.append(
            {
                "name": run_dir.name,
                "run_dir": str(run_dir),
                "settings": {k: config.to_dict()[k] for k in SWEEPABLE},
                "val": metrics["val"],
                "test": metrics["test"],
                "skipped": skipped,
            }
        )
        write_json(Path(config.runs_dir) / f"{sweep_name}.json", {"grid": grid, "runs": summary})
    return summary
