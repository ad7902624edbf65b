"""Run directories: unique names, JSON files, library versions."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphae.artifacts.atomic import OutputError, atomic_write, make_folder

if TYPE_CHECKING:
    import numpy as np

#: Written last: a run directory without it did not finish.
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"
SPLIT_FILE = "split.npz"
CHECKPOINT_FILE = "checkpoint.pt"
#: An unfinished run's resume checkpoint (:mod:`graphae.training.checkpointing`).
RESUME_FILE = "resume.pt"
EMBEDDINGS_FILE = "embeddings.npy"
#: The users' node ids, one per line, in index order (row i of the embeddings).
NODES_FILE = "nodes.txt"


def create_run_dir(parent: str | Path, name: str) -> Path:
    """Create ``parent/name``; if taken, ``name_2``, ``name_3``, ... (never overwrites).

    Raises:
        OutputError: ``parent`` cannot be created or written (a file in the
            way, permission denied, read-only file system, disk full).

    """
    parent = make_folder(parent)
    candidate, suffix = parent / name, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            suffix += 1
            candidate = parent / f"{name}_{suffix}"
        except OSError as exc:
            raise OutputError(candidate, exc) from exc


def is_complete(run_dir: str | Path) -> bool:
    """Whether the run finished (its ``metrics.json`` exists)."""
    return (Path(run_dir) / METRICS_FILE).is_file()


def finished_metrics(
    run_dir: str | Path, settings: dict[str, Any], defaults: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Metrics of a finished run whose saved settings include ``settings``, else ``None``.

    Used to skip work that is already done (resumable reproductions and sweeps).
    ``defaults`` stand in for settings a run saved before they existed (a
    setting added later kept the old behaviour as its default).
    """
    run_dir = Path(run_dir)
    try:
        metrics = read_json(run_dir / METRICS_FILE)
    except (OSError, ValueError):
        return None
    same = _saved_settings_match(run_dir, settings, defaults)
    return metrics if same and "test" in metrics else None


def resumable_with(
    run_dir: str | Path, settings: dict[str, Any], defaults: dict[str, Any] | None = None
) -> bool:
    """Whether ``run_dir`` is an unfinished run of ``settings`` with a resume checkpoint.

    Sweeps and reproductions resume such a run (``graphae.pipeline.resume``)
    instead of training it again from the start.
    """
    run_dir = Path(run_dir)
    if (run_dir / METRICS_FILE).exists() or not (run_dir / RESUME_FILE).is_file():
        return False
    return _saved_settings_match(run_dir, settings, defaults)


def _saved_settings_match(
    run_dir: Path, settings: dict[str, Any], defaults: dict[str, Any] | None
) -> bool:
    """Whether the settings in ``run_dir/config.json`` include ``settings``.

    ``defaults`` stand in for settings the run saved before they existed.
    """
    try:
        info = read_json(run_dir / CONFIG_FILE)
    except (OSError, ValueError):
        return False
    saved = info.get("config") or info.get("settings") or {}
    fallback = defaults or {}
    return all(saved.get(k, fallback.get(k)) == v for k, v in settings.items())


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically (:func:`~graphae.artifacts.atomic.atomic_write`).

    Raises:
        OutputError: the file cannot be written.

    """
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_npy(path: str | Path, array: np.ndarray) -> None:
    """Save ``array`` as a ``.npy`` file, atomically.

    Raises:
        OutputError: the file cannot be written.

    """
    import numpy

    with atomic_write(path) as f:
        numpy.save(f, array)


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def versions() -> dict[str, str]:
    """Versions of Python, graphae and the libraries that shape the numbers."""
    import numpy
    import torch
    import torch_geometric

    import graphae

    return {
        "graphae": graphae.__version__,
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }
