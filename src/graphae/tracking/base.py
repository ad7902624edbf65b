"""The tracker interface (after PyKEEN's result trackers).

A tracker is told when a run starts and ends, receives the run's settings
once and metrics as they happen. Trackers never influence training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Tracker:
    """Base tracker: every method is a no-op, subclasses override what they need."""

    def start_run(self, run_dir: Path | None) -> None:
        """A run begins; ``run_dir`` is where it writes (``None`` when not saved)."""

    def log_params(self, params: dict[str, Any]) -> None:
        """The run's settings (flat ``name -> value``)."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Metrics by tag (e.g. ``"val/auc"``) at ``step`` (the epoch)."""

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
