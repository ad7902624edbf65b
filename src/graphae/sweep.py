"""Sweeps: train the Cartesian product of list-valued settings, resumably.

Any setting of a run that shapes its numbers can be swept (:data:`SWEEPABLE`).
Each combination is a normal run directory under ``runs_dir``, named so that
its differences read at a glance in TensorBoard's run list: the usual
``<model>_<dataset>_<d>d_<E>ep`` (which already names the model's parts that
differ from its defaults, e.g. ``_edgemask`` or ``_ens3``) plus, for every
other setting that varies, ``_<option><value>`` (``_lr0.005``,
``_dropout0.5``, ``_weight-decay0``), ``_<objective>``, and ``_seed<k>`` last.
Finished combinations are skipped when the sweep is run again; a summary of
all runs goes to ``<runs_dir>/<sweep_name>.json``.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from graphae.artifacts.run_dir import finished_metrics, is_complete, resumable_with, write_json
from graphae.config import OUTPUT_SETTINGS, TrainConfig, flag
from graphae.errors import ConfigError
from graphae.tracking.base import Tracker

#: Settings a sweep may vary: every setting that shapes a run's numbers (the
#: fields of :class:`~graphae.config.TrainConfig` but where outputs go and the device).
SWEEPABLE = tuple(
    f.name for f in dataclasses.fields(TrainConfig) if f.name not in OUTPUT_SETTINGS | {"device"}
)
#: Recorded in every summary entry, varied or not.
SUMMARY_SETTINGS = ("model", "dataset", "features", "latent_dim", "epochs", "lr", "objective")
#: Settings the default run name already tells apart (``TrainConfig.run_name``).
NAMED = frozenset(
    {"model", "dataset", "edges", "features", "latent_dim", "epochs", "split"}
    | {"encoder", "decoder", "mask", "ensemble", "snapshots"}
)


def expand(grid: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """All combinations of ``grid`` (``{setting: [values]}``), first key varying slowest."""
    for key in grid:
        if key not in SWEEPABLE:
            close = difflib.get_close_matches(key, SWEEPABLE, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"cannot sweep {key!r}{hint}; sweepable: the settings of graphae train, "
                f"{', '.join(SWEEPABLE)}"
            )
    for key, values in grid.items():
        if not values:
            raise ConfigError(f"sweep setting {key} has no values")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def run_name(config: TrainConfig, varying: set[str]) -> str:
    """``config.run_name`` plus the varying settings it does not already show.

    In the order of :data:`SWEEPABLE`, the seed last: ``_lr0.005``,
    ``_<objective>``, ``_<option><value>`` for any other setting (a flag:
    ``_residual`` / ``_no-residual``), ``_seed<k>``.
    """
    name = config.run_name
    for key in SWEEPABLE:
        if key in varying and key not in NAMED and key != "seed":
            name += "_" + _tag(key, getattr(config, key))
    if "seed" in varying:
        name += f"_seed{config.seed}"
    return name


def _tag(key: str, value: Any) -> str:
    """A varying setting as a run-name part, safe in a folder name."""
    if key == "objective":
        text = str(value)
    elif isinstance(value, bool):
        text = flag(key) if value else f"no-{flag(key)}"
    elif isinstance(value, float):
        text = f"{flag(key)}{value:g}"
    elif isinstance(value, list):
        text = f"{flag(key)}{'-'.join(map(str, value))}"
    else:
        text = f"{flag(key)}{value}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


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
    from graphae.pipeline import graph_files, load_data, resume, train

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    base = base or TrainConfig()
    combos = expand(grid)
    varying = {k for k, v in grid.items() if len(v) > 1}
    # every config is built (and so validated) before anything is trained
    # with_overrides: settings a combination leaves unset (None) are its model's defaults
    configs = [base.with_overrides(**c, name=None) for c in combos]
    configs = [replace(c, name=run_name(c, varying)) for c in configs]
    _require_distinct_names(configs, combos)
    # stand-ins for settings that runs saved by older versions lack
    defaults = TrainConfig().result_settings()
    summary: list[dict[str, Any]] = []
    durations: list[float] = []
    graphs: dict[str, Any] = {}  # the user's files, read once for every run on them
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
            data = None
            if config.edges:
                files = {**dataclasses.asdict(graph_files(config)), "name": config.dataset}
                key = json.dumps(files, sort_keys=True, default=str)
                if key not in graphs:
                    graphs[key] = load_data(config)
                data = graphs[key]
            if resumable:  # stopped after a checkpoint: continue it (same numbers)
                shown = {"quiet": config.quiet, "figures": config.figures}
                result = resume(run_dir, data=data, trackers=trackers, **shown)
            else:
                result = train(config, data=data, trackers=trackers)
            durations.append(time.perf_counter() - tick)
            metrics, run_dir = result.metrics, result.run_dir or run_dir
            test = metrics["test"]
            log(f"{label}: test AUC {100 * test['auc']:.1f}  AP {100 * test['ap']:.1f}")
        summary.append(
            {
                "name": run_dir.name,
                "run_dir": str(run_dir),
                "settings": _summary_settings(config, grid),
                "val": metrics["val"],
                "test": metrics["test"],
                "skipped": skipped,
            }
        )
        write_json(Path(config.runs_dir) / f"{sweep_name}.json", {"grid": grid, "runs": summary})
    return summary


def _summary_settings(config: TrainConfig, grid: dict[str, Sequence[Any]]) -> dict[str, Any]:
    """The run's model, data set, sizes, lr and objective, its seed, and every swept setting."""
    values = config.to_dict()
    values["dataset"] = config.graph_name
    keys = [*SUMMARY_SETTINGS, *(k for k in grid if k not in SUMMARY_SETTINGS), "seed"]
    return {k: values[k] for k in dict.fromkeys(keys)}


def _require_distinct_names(configs: list[TrainConfig], combos: list[dict[str, Any]]) -> None:
    """Two combinations must not share a run folder (e.g. Cora and cora, or equal values)."""
    seen: dict[str, dict[str, Any]] = {}
    for config, combo in zip(configs, combos, strict=True):
        other = seen.setdefault(config.run_name, combo)
        if other is not combo:
            raise ConfigError(
                f"the combinations {other} and {combo} would share the run folder "
                f"{config.run_name}: give each value once"
            )
