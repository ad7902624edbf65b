"""A tracker that keeps everything in memory (for notebooks and tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphae.tracking.base import Tracker


class MemoryTracker(Tracker):
    """Records params and every metric; ``history[tag]`` is a list of ``(step, value)``.

    Figures, embeddings and PR curves are kept by tag in ``figures``,
    ``embeddings`` and ``pr_curves``.
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.history: dict[str, list[tuple[int | None, float]]] = {}
        self.run_dir: Path | None = None
        self.finished: bool | None = None
        self.figures: dict[str, Any] = {}
        self.embeddings: dict[str, tuple[Any, dict[str, Any] | None]] = {}
        self.pr_curves: dict[str, tuple[Any, Any]] = {}

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

    def log_figure(self, tag: str, figure: Any, step: int | None = None) -> None:
        """Keep the figure."""
        self.figures[tag] = figure

    def log_embedding(
        self,
        tag: str,
        embeddings: Any,
        metadata: dict[str, Any] | None = None,
        step: int | None = None,
    ) -> None:
        """Keep the embeddings and their metadata."""
        self.embeddings[tag] = (embeddings, metadata)

    def log_pr_curve(self, tag: str, labels: Any, scores: Any, step: int | None = None) -> None:
        """Keep labels and scores."""
        self.pr_curves[tag] = (labels, scores)

    def end_run(self, success: bool = True) -> None:
        """Record how the run ended."""
        self.finished = success

    def last(self, tag: str) -> float:
        """The latest value of ``tag``."""
        return self.history[tag][-1][1]
