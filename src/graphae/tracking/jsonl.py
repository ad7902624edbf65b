"""A tracker that appends metrics to ``history.jsonl`` in the run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from graphae.tracking.base import Tracker


class JsonlTracker(Tracker):
    """One JSON object per ``log_metrics`` call: ``{"step": ..., "<tag>": value, ...}``.

    Args:
        filename (str, optional): file name inside the run directory.
            (default: ``"history.jsonl"``)

    """

    def __init__(self, filename: str = "history.jsonl") -> None:
        self.filename = filename
        self._file: IO[str] | None = None

    def start_run(self, run_dir: Path | None) -> None:
        """Open the file (nothing is written when ``run_dir`` is ``None``)."""
        if run_dir is not None:
            self._file = open(run_dir / self.filename, "a", encoding="utf-8")  # noqa: SIM115

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Append one line."""
        if self._file is not None:
            record: dict[str, Any] = {"step": step, **{k: float(v) for k, v in metrics.items()}}
            self._file.write(json.dumps(record) + "\n")

    def end_run(self, success: bool = True) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
