"""MLflow tracker: settings, per-epoch metrics, figures and the run folder as artifacts.

One graphae run is one MLflow run, named like its run folder, in the
experiment ``graphae`` (or ``$MLFLOW_EXPERIMENT_NAME``, or the one given).
The store is MLflow's: the ``tracking_uri`` given (``--mlflow-uri``), else
``$MLFLOW_TRACKING_URI``, else MLflow's local default in the working
directory (MLflow 2: the ``./mlruns`` file store; MLflow 3: ``./mlflow.db``
with artifacts under ``./mlruns``), which ``mlflow ui`` started in the same
folder shows.

What is logged:

- params: the run's settings, flattened (``"a.b"``), as MLflow stores them (text);
- metrics: every ``log_metrics`` call at its step (the epoch), batched;
- figures: each figure as ``<tag>.png`` (e.g. ``figures/roc.png``);
- the run folder (config, metrics, history, checkpoint, embeddings, PNGs,
  TensorBoard events) under ``run/``, when the run succeeded.

MLflow allows letters, digits and ``_ - . / : space`` in names: ``@`` is
written ``_at_`` (``test/hits@20`` -> ``test/hits_at_20``), anything else
``_``. MLflow is imported only when a run starts; a missing MLflow is a
:class:`~graphae.errors.ConfigError` when the tracker is made, and so is a
store that cannot be opened when a run starts. Later MLflow errors never stop
a run (see :class:`MlflowTracker`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphae.errors import ConfigError
from graphae.tracking.base import Tracker, flatten

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Experiment of runs when neither the tracker nor ``$MLFLOW_EXPERIMENT_NAME`` names one.
DEFAULT_EXPERIMENT = "graphae"
#: MLflow's limits: characters of a param value, entries per ``log_batch`` call.
MAX_PARAM_LENGTH = 6000
MAX_PARAMS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000

_INVALID = re.compile(r"[^/\w.\- :]")


def mlflow_key(name: str) -> str:
    """``name`` as MLflow accepts it: ``@`` -> ``_at_``, other disallowed characters -> ``_``."""
    return _INVALID.sub("_", name.replace("@", "_at_"))


def mlflow_available() -> bool:
    """Whether the ``mlflow`` package can be imported."""
    return importlib.util.find_spec("mlflow") is not None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class MlflowWarning(RuntimeWarning):
    """MLflow failed during a run: the run goes on, its copy in MLflow is incomplete."""


class MlflowTracker(Tracker):
    """Log runs to an MLflow tracking store (a local folder or database, or a server).

    The same tracker may follow several runs in turn (a sweep): each
    ``start_run`` opens a new MLflow run. A store that cannot be opened stops
    the run before training (:class:`~graphae.errors.ConfigError`); a failure
    after that (a server gone away) never stops or removes the run: it is
    reported once as an :class:`MlflowWarning`, and the MLflow run is marked
    ``FAILED``.

    Args:
        tracking_uri (str, optional): where MLflow stores runs, e.g.
            ``sqlite:///mlflow.db``, ``http://host:5000`` or ``./mlruns``.
            (default: ``None``: ``$MLFLOW_TRACKING_URI``, else MLflow's local default)
        experiment (str, optional): MLflow experiment name, created when
            missing. (default: ``$MLFLOW_EXPERIMENT_NAME``, else ``"graphae"``)

    Raises:
        ConfigError: MLflow is not installed.

    """

    #: Metrics are sent in batches at most this often (seconds); all at the end.
    flush_seconds = 5.0

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None) -> None:
        if not mlflow_available():
            raise ConfigError(
                "the mlflow tracker needs MLflow: pip install 'graphae[mlflow]' (or mlflow)"
            )
        self.tracking_uri = tracking_uri
        self.experiment = (
            experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        )
        self.client: Any = None
        self.run_id: str | None = None
        self.run_dir: Path | None = None
        self.failure: str | None = None  # the first MLflow error of the current run
        self._params: dict[str, str] = {}
        self._pending: list[Any] = []
        self._last_flush = 0.0

    def start_run(self, run_dir: Path | None) -> None:
        """Open an MLflow run named like the run folder (``graphae`` when not saved).

        Raises:
            ConfigError: the tracking store cannot be opened (a bad URI, a
                server that does not answer).

        """
        from mlflow.tracking import MlflowClient

        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._params, self._pending, self.failure = {}, [], None
        self._last_flush = time.monotonic()
        try:
            self.client = MlflowClient(tracking_uri=self.tracking_uri)
            experiment = self.client.get_experiment_by_name(self.experiment)
            experiment_id = (
                experiment.experiment_id
                if experiment is not None
                else self.client.create_experiment(self.experiment)
            )
            tags = {"graphae.run_dir": str(self.run_dir.resolve())} if self.run_dir else {}
            run = self.client.create_run(
                experiment_id, run_name=self.run_dir.name if self.run_dir else "graphae", tags=tags
            )
        except Exception as exc:  # MLflow raises many kinds; the first line says what
            where = self.tracking_uri or "MLflow's default store"
            raise ConfigError(f"cannot log to MLflow ({where}): {_first_line(exc)}") from None
        self.run_id = run.info.run_id

    @contextlib.contextmanager
    def _reported(self, what: str) -> Iterator[None]:
        """Turn an MLflow error into one :class:`MlflowWarning` per run; the run goes on."""
        try:
            yield
        except Exception as exc:
            if self.failure is None:
                self.failure = f"{what}: {_first_line(exc)}"
                warnings.warn(
                    f"MLflow run {self.run_id} is incomplete ({self.failure}); "
                    "the graphae run goes on",
                    MlflowWarning,
                    stacklevel=4,
                )

    def log_params(self, params: dict[str, Any]) -> None:
        """Log the settings not logged yet (MLflow params cannot change once set)."""
        if self.run_id is None:
            return
        from mlflow.entities import Param

        new = {}
        for name, value in flatten(params).items():
            key = mlflow_key(name)
            if key not in self._params:
                new[key] = self._params[key] = str(value)[:MAX_PARAM_LENGTH]
        items = [Param(k, v) for k, v in new.items()]
        with self._reported("logging params"):
            for start in range(0, len(items), MAX_PARAMS_PER_BATCH):
                batch = items[start : start + MAX_PARAMS_PER_BATCH]
                self.client.log_batch(self.run_id, params=batch)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Queue the metrics at ``step``; they are sent about every :attr:`flush_seconds`."""
        if self.run_id is None:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._pending += [
            Metric(mlflow_key(tag), float(value), now, step or 0) for tag, value in metrics.items()
        ]
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        size = MAX_METRICS_PER_BATCH
        with self._reported("logging metrics"):
            for start in range(0, len(pending), size):
                self.client.log_batch(self.run_id, metrics=pending[start : start + size])

    def log_figure(self, tag: str, figure: Figure, step: int | None = None) -> None:
        """Log the figure as the artifact ``<tag>.png``."""
        if self.run_id is not None:
            with self._reported("logging a figure"):
                self.client.log_figure(self.run_id, figure, f"{tag}.png")

    def end_run(self, success: bool = True) -> None:
        """Send the queued metrics and (on success) the run folder; mark the run ended.

        The MLflow run is ``FINISHED`` when the graphae run succeeded and
        everything reached MLflow, else ``FAILED``. A failed graphae run's
        folder, which graphae removes, is not uploaded.
        """
        if self.run_id is None:
            return
        self._flush()
        if success and self.run_dir is not None and self.run_dir.is_dir():
            with self._reported("uploading the run folder"):
                self.client.log_artifacts(self.run_id, str(self.run_dir), artifact_path="run")
        status = "FINISHED" if success and self.failure is None else "FAILED"
        with self._reported("ending the run"):
            self.client.set_terminated(self.run_id, status)
        self.run_id = None
