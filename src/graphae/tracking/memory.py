"""A tracker that keeps everything in memory (for notebooks and tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphae.tracking.base import Tracker


class MemoryTracker(Tracker):
    """Records params and every metric; ``history[tag]`` is a list of ``(step, value)``."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.history: dict[str, list[tuple[int | None, float]]] = {}
        self.run_dir: Path | None = None
        self.finished: bool | None = None

    def start_run(self, run_dir: Path | None) -> None:
        """Remember the run directory."""
        self.run_dir = run_dir

    def log_params(self, params: dict[str, Any]) -> None:
        """Store the settings."""
        self.params.update(params)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Append each metric."""
        for tag, value in metrics.items():
            self.history.setdefault(tag, []).append((step, float(value)))

    def end_run(self, success: bool = True) -> None:
        """Record how the run ended."""
        self.finished = success

    def last(self, tag: str) -> float:
        """The latest value of ``tag``."""
        return self.history[tag][-1][1]
