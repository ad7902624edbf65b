"""A tracker that appends metrics to ``history.jsonl`` in the run directory."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from graphae.artifacts.atomic import OutputError
from graphae.tracking.base import Tracker


class JsonlTracker(Tracker):
    """One JSON object per ``log_metrics`` call: ``{"step": ..., "<tag>": value, ...}``.

    The file is a log, appended to as the run goes (not written atomically);
    ``metrics.json``, written last, marks a run complete. A failed write
    (disk full) raises :class:`~graphae.artifacts.atomic.OutputError`
    naming the file.

    Args:
        filename (str, optional): file name inside the run directory.
            (default: ``"history.jsonl"``)

    """

    def __init__(self, filename: str = "history.jsonl") -> None:
        self.filename = filename
        self._file: IO[str] | None = None
        self._path: Path | None = None

    def start_run(self, run_dir: Path | None) -> None:
        """Open the file (nothing is written when ``run_dir`` is ``None``)."""
        if run_dir is not None:
            self._path = run_dir / self.filename
            with self._errors_name_the_file():
                self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Append one line."""
        if self._file is not None:
            record: dict[str, Any] = {"step": step, **{k: float(v) for k, v in metrics.items()}}
            with self._errors_name_the_file():
                self._file.write(json.dumps(record) + "\n")

    def end_run(self, success: bool = True) -> None:
        """Close the file (a failed run ignores errors while closing)."""
        file, self._file = self._file, None
        if file is None:
            return
        try:
            with self._errors_name_the_file():
                file.close()
        except OutputError:
            if success:
                raise

    @contextlib.contextmanager
    def _errors_name_the_file(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:  # a write error of a file object has no file name
            raise OutputError(self._path or self.filename, exc) from exc
