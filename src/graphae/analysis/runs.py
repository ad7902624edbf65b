"""Read run directories back: settings, final metrics and per-epoch history.

Works on any folder written by :func:`graphae.train` or
:func:`graphae.pipeline.evaluate_embedding`. A folder whose files are missing
or unreadable is reported, never fatal.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphae.artifacts.run_dir import CONFIG_FILE, METRICS_FILE, RESUME_FILE
from graphae.config import OUTPUT_SETTINGS, TrainConfig
from graphae.errors import ConfigError

HISTORY_FILE = "history.jsonl"
#: Test ranking metrics (:mod:`graphae.evaluation.ranking`), read when a run has them.
RANKING_KEYS = ("hits@20", "hits@50", "hits@100", "mrr")
#: Settings that make runs differ (the seed is grouped over, not compared).
SETTING_KEYS = (
    "model",
    "dataset",
    "features",
    "latent_dim",
    "hidden_dim",
    "epochs",
    "lr",
    "objective",
)


@dataclass
class RunRecord:
    """One finished run as read from disk.

    ``metrics`` is flat: ``val_auc``, ``val_ap``, ``test_auc``, ``test_ap``,
    ``best_epoch``, ``seconds`` (the run's total wall time), and (runs that
    recorded them) the test ``hits@20``, ``hits@50``, ``hits@100`` and
    ``mrr``, and the training loop's seconds per epoch: ``epoch_seconds``
    (wall time: grows when other programs share the cores) and
    ``epoch_cpu_seconds`` (process CPU time, all threads: about the same
    however busy the machine is).
    """

    path: Path
    settings: dict[str, Any]
    seed: int
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    # every setting that shapes the numbers but the seed (JSON), e.g. the mask or the
    # ensemble size, which the table does not show; "" for records built without one
    result_key: str = ""

    @property
    def setting_key(self) -> tuple[tuple[str, Any], ...]:
        """Hashable settings without the seed, for grouping seeds.

        Runs that differ in any setting that shapes their numbers (not only
        in the columns shown, :data:`SETTING_KEYS`) are never grouped as seeds.
        """
        return (*((k, self.settings.get(k)) for k in SETTING_KEYS), ("result", self.result_key))

    @property
    def result_settings(self) -> dict[str, Any]:
        """Every setting that shapes the numbers but the seed (``{}`` without a result key)."""
        return json.loads(self.result_key) if self.result_key else {}


def find_run_dirs(paths: list[str]) -> list[Path]:
    """Run folders named by ``paths``, sorted, without duplicates.

    Each path is a run folder, a folder of runs (searched recursively), or a
    glob pattern.
    """
    found: set[Path] = set()
    for pattern in paths:
        for match in sorted(glob.glob(pattern)) or [pattern]:
            path = Path(match)
            if (path / CONFIG_FILE).is_file() or (path / METRICS_FILE).is_file():
                found.add(path)
            elif path.is_dir():
                found.update(p.parent for p in path.rglob(CONFIG_FILE))
                found.update(p.parent for p in path.rglob(METRICS_FILE))
    return sorted(found)


def read_run(path: Path) -> RunRecord:
    """Read one run folder.

    Raises:
        ValueError: the run is unfinished or its files are missing or corrupt
            (the message says which).

    """
    info = _read_json(path / CONFIG_FILE, missing="no config.json")
    resumable = (path / RESUME_FILE).is_file()  # a stopped run with a resume checkpoint
    hint = f", resumable: graphae train --resume {path}" if resumable else ""
    metrics = _read_json(path / METRICS_FILE, missing=f"unfinished (no metrics.json){hint}")
    if "val" not in metrics and "test" in metrics:
        raise ValueError("not a link-prediction run (e.g. an image VAE run); nothing to compare")
    try:
        config = info.get("config") or {
            "model": info["method"],
            "dataset": info.get("dataset", ""),
            **info.get("settings", {}),
        }
        settings = {k: config.get(k) for k in SETTING_KEYS}
        if settings["latent_dim"] is None:  # a baseline's embedding size
            settings["latent_dim"] = config.get("dim")
        settings["objective"] = info.get("objective", settings.get("objective"))
        flat = {
            "val_auc": float(metrics["val"]["auc"]),
            "val_ap": float(metrics["val"]["ap"]),
            "test_auc": float(metrics["test"]["auc"]),
            "test_ap": float(metrics["test"]["ap"]),
            "best_epoch": float(metrics.get("best_epoch", 0)),
            "seconds": float(metrics.get("total_seconds", 0.0)),
        }
        # Hits@K and MRR (test only); runs from before they existed lack them
        flat.update({k: float(metrics["test"][k]) for k in RANKING_KEYS if k in metrics["test"]})
        flat.update(_per_epoch(metrics))
        seed = int(config.get("seed", metrics.get("seed", 0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unexpected content ({type(exc).__name__}: {exc})") from None
    history = _read_history(path / HISTORY_FILE)
    return RunRecord(path, settings, seed, flat, history, _result_key(info, config))


#: Not compared beyond the table's columns: the seed (grouped over), the device (a
#: performance knob) and the data set's name (a column already, spelt as given).
NOT_COMPARED = frozenset({"seed", "device", "dataset"})


def _result_key(info: dict[str, Any], config: dict[str, Any]) -> str:
    """The run's settings that shape its numbers, all but the seed, as one string.

    A graph autoencoder run's ``config.json`` is read as a
    :class:`~graphae.config.TrainConfig` so that a setting an older version
    did not record takes its default (such runs still group with new ones).
    """
    values = dict(config)
    if "config" in info:
        try:
            values = TrainConfig.from_dict(config).result_settings()
        except (ConfigError, TypeError, ValueError):  # another version's: compare as written
            values = dict(config)
    kept = {k: v for k, v in values.items() if k not in NOT_COMPARED | OUTPUT_SETTINGS}
    return json.dumps(kept, sort_keys=True, default=str)


def _per_epoch(metrics: dict[str, Any]) -> dict[str, float]:
    """Training seconds per epoch, wall and CPU, where the run recorded them.

    Runs without epochs (baselines) have none; runs from before CPU time was
    recorded have only the wall time.
    """
    epochs = metrics.get("epochs")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        return {}
    found = {}
    pairs = (("train_seconds", "epoch_seconds"), ("train_cpu_seconds", "epoch_cpu_seconds"))
    for key, name in pairs:
        if isinstance(metrics.get(key), (int, float)):
            found[name] = float(metrics[key]) / epochs
    return found


def _read_json(path: Path, missing: str) -> dict[str, Any]:
    """Parse a JSON file; ``ValueError(missing)`` if absent, naming the file if corrupt."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(missing) from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path.name} unreadable ({exc})") from None


def _read_history(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            break  # a torn last line: keep what precedes it
    return rows


def read_runs(paths: list[str]) -> tuple[list[RunRecord], list[tuple[Path, str]]]:
    """Read every run under ``paths``; return ``(runs, [(folder, why skipped), ...])``."""
    runs, skipped = [], []
    for path in find_run_dirs(paths):
        try:
            runs.append(read_run(path))
        except ValueError as exc:
            skipped.append((path, str(exc)))
    return runs, skipped
