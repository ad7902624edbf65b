"""TensorBoard tracker: scalars per epoch and the run's hyperparameters.

Hyperparameters go to the HParams plugin in the run's own event file (not in
a timestamped sub-folder, as ``SummaryWriter.add_hparams`` would do), so that
each run directory is one row in the HParams table and one line in Scalars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphae.tracking.base import Tracker, flatten

#: Metric tags shown as columns of the HParams table when they were logged.
HPARAM_METRICS = ("test/auc", "test/ap", "val/best_auc", "val/best_ap", "test/last_auc")


def _hparam_value(value: Any) -> bool | int | float | str:
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


class TensorBoardTracker(Tracker):
    """Write TensorBoard event files with :class:`torch.utils.tensorboard.SummaryWriter`."""

    def __init__(self) -> None:
        self.writer: Any = None
        self.params: dict[str, Any] = {}
        self.logged: set[str] = set()

    def start_run(self, run_dir: Path | None) -> None:
        """Open a writer on the run directory."""
        if run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(run_dir))

    def log_params(self, params: dict[str, Any]) -> None:
        """Keep the settings; they are written with the final metrics at the end."""
        self.params.update({k: _hparam_value(v) for k, v in flatten(params).items()})

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """One scalar per tag."""
        if self.writer is None:
            return
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, float(value), step)
            self.logged.add(tag)

    def end_run(self, success: bool = True) -> None:
        """Write the HParams entry (settings + final metrics) and close."""
        if self.writer is None:
            return
        if success and self.params:
            from torch.utils.tensorboard.summary import hparams

            metrics = {tag: 0.0 for tag in HPARAM_METRICS if tag in self.logged}
            for summary in hparams(self.params, metrics):
                self.writer.file_writer.add_summary(summary)
        self.writer.close()
        self.writer = None
