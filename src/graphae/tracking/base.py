"""The tracker interface (after PyKEEN's result trackers).

A tracker is told when a run starts and ends, receives the run's settings
once and metrics as they happen. Trackers never influence training.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure


class Tracker:
    """Base tracker: every method is a no-op, subclasses override what they need."""

    def start_run(self, run_dir: Path | None) -> None:
        """A run begins; ``run_dir`` is where it writes (``None`` when not saved)."""

    def log_params(self, params: dict[str, Any]) -> None:
        """The run's settings (flat ``name -> value``)."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Metrics by tag (e.g. ``"val/auc"``) at ``step`` (the epoch)."""

    def log_figure(self, tag: str, figure: Figure, step: int | None = None) -> None:
        """A matplotlib figure (TensorBoard's Images dashboard)."""

    def log_embedding(
        self,
        tag: str,
        embeddings: np.ndarray,
        metadata: dict[str, Sequence[Any]] | None = None,
        step: int | None = None,
    ) -> None:
        """Row vectors (e.g. node embeddings) with per-row metadata columns (the Projector)."""

    def log_pr_curve(
        self, tag: str, labels: np.ndarray, scores: np.ndarray, step: int | None = None
    ) -> None:
        """Binary ``labels`` and predicted probabilities ``scores`` (TensorBoard's PR curves)."""

    def end_run(self, success: bool = True) -> None:
        """The run has finished (``success=False``: it failed or was interrupted)."""


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into ``"a.b"`` keys."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
