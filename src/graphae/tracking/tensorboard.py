"""TensorBoard tracker: scalars, hyperparameters, figures, embeddings, PR curves.

Hyperparameters go to the HParams plugin in the run's own event file (not in
a timestamped sub-folder, as ``SummaryWriter.add_hparams`` would do), so that
each run directory is one row in the HParams table and one line in Scalars.

Each run writes only its *session* (its settings, a trial id and how it
ended), never an *experiment* summary. TensorBoard shows one experiment per
``--logdir``: when some run holds an experiment summary it takes the first
it finds, and its columns hide every other kind of run (a VAE run's summary
hides the graph runs' settings and AUC). Without one, the HParams plugin
infers the experiment from every run's session
(``tensorboard/plugins/hparams/backend_context.py``): the union of all
settings, marked ``differs`` where runs disagree and listed first, and every
scalar tag as a metric. So any mix of graph, baseline and image-VAE runs in
one folder shows each run with its own settings and metrics, and a run added
later needs nothing rewritten. The table ticks the first five settings and
metrics: the settings that vary, and the final scores, written again as
``hparams/test_auc``, ``hparams/test_ap`` or ``hparams/test_neg_elbo``
(:data:`HPARAM_SCORES`) so that they sort first. Each row's trial id starts
with what tells runs apart (:func:`trial_id`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from graphae.artifacts.atomic import OutputError
from graphae.tracking.base import Tracker, flatten

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Metrics a run logs once, at its end (besides the per-epoch ``train/*``,
#: ``val/*`` and, for image VAEs, ``test/*``). TensorBoard lists every scalar
#: tag as an HParams metric; these are the ones to compare runs by.
HPARAM_METRICS = (
    "test/auc",
    "test/ap",
    "test/hits@20",
    "test/hits@50",
    "test/hits@100",
    "test/mrr",
    "val/best_auc",
    "val/best_ap",
    "test/last_auc",
    "test/neg_elbo",  # image VAE runs
    "train/neg_elbo",
)

#: Final scores written again, at a run's end, as ``hparams/<name>`` scalars. The
#: HParams table lists a folder's scalar tags in sorted order as metrics and
#: ticks the first five; beside a VAE run's ``epoch_seconds``, ``kl_weight``
#: and ``lr`` these sort first, so a graph run's test AUC and AP and a VAE's
#: test −ELBO are all shown without ticking anything.
HPARAM_SCORES = {
    "test/auc": "hparams/test_auc",
    "test/ap": "hparams/test_ap",
    "test/neg_elbo": "hparams/test_neg_elbo",
}

#: Embeddings narrower than this are padded with constant axes for the Projector,
#: which draws nothing for fewer than 3 dimensions ("Total variance described: NaN%").
PROJECTOR_MIN_DIM = 3


def _hparam_value(value: Any) -> bool | int | float | str:
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def trial_id(run_dir: Path, params: dict[str, Any]) -> str:
    """The run's name in the HParams table's *Trial ID* column.

    That column shows about 15 characters (128 pixels), so the id starts with
    what most often tells runs apart, the most specific setting first (the
    reverse of a run folder's name): ``s0 100ep 2d vgae`` from the ``seed``,
    ``epochs``, ``latent_dim`` and ``model`` settings the run has (``*``
    after the model: without features). Sixteen runs of two models, two
    latent sizes, two epoch counts and two seeds all look different there.
    The data set and the run folder as ``parent/name`` follow; the folder
    keeps the ids of different runs different (runs with one id would be
    merged into one row, their metrics averaged). E.g.
    ``s0 100ep 2d vgae · CiteSeer · runs/vgae_citeseer_2d_100ep_seed0``.
    """
    lead = []
    for key, unit in (("seed", "s{}"), ("epochs", "{}ep"), ("latent_dim", "{}d")):
        if params.get(key) is not None:
            lead.append(unit.format(params[key]))
    if params.get("model") is not None:
        lead.append(f"{params['model']}{'*' if params.get('features') is False else ''}")
    parts = [" ".join(lead)] if lead else []
    if params.get("dataset"):
        parts.append(str(params["dataset"]))
    parts.append(f"{run_dir.parent.name}/{run_dir.name}" if run_dir.parent.name else run_dir.name)
    return " · ".join(parts)


def session_summaries(
    params: dict[str, Any], group_name: str, start_time: float, success: bool = True
) -> list[Any]:
    """The HParams plugin's session start and end summaries (no experiment summary).

    ``params`` are flat ``name -> bool | int | float | str``; ``group_name``
    is the trial id; ``start_time`` in seconds since the epoch.
    """
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    start = plugin_data_pb2.SessionStartInfo(group_name=group_name, start_time_secs=start_time)
    for name, value in params.items():
        if isinstance(value, bool):
            start.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            start.hparams[name].number_value = value
        else:
            start.hparams[name].string_value = str(value)
    end = plugin_data_pb2.SessionEndInfo(
        status=api_pb2.STATUS_SUCCESS if success else api_pb2.STATUS_FAILURE,
        end_time_secs=time.time(),
    )
    summaries = []
    for tag, data in (
        (metadata.SESSION_START_INFO_TAG, {"session_start_info": start}),
        (metadata.SESSION_END_INFO_TAG, {"session_end_info": end}),
    ):
        plugin_data = plugin_data_pb2.HParamsPluginData(**data)
        value = Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(plugin_data))
        value.tensor.CopyFrom(metadata.NULL_TENSOR)
        summaries.append(Summary(value=[value]))
    return summaries


class TensorBoardTracker(Tracker):
    """Write TensorBoard event files with :class:`torch.utils.tensorboard.SummaryWriter`."""

    #: Scalars are handed to the writer in batches at most this often (seconds).
    flush_seconds = 1.0

    def __init__(self) -> None:
        self.writer: Any = None
        self.run_dir: Path | None = None
        self.params: dict[str, Any] = {}
        self.logged: set[str] = set()
        self._pending: list[tuple[Any, int | None]] = []
        self._scores: dict[str, tuple[float, int | None]] = {}
        self._last_flush = 0.0
        self._started = 0.0

    def start_run(self, run_dir: Path | None) -> None:
        """Open a writer on the run directory.

        Raises:
            OutputError: the event file cannot be created. (Later write errors
                happen in the writer's own thread and are not raised.)

        """
        self._started = time.time()
        if run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            try:
                self.writer = SummaryWriter(log_dir=str(run_dir))
            except OSError as exc:
                raise OutputError(exc.filename or run_dir, exc) from exc
            self.run_dir = Path(run_dir)

    def log_params(self, params: dict[str, Any]) -> None:
        """Keep the settings (``None`` ones left out); they are written at the end.

        A setting left out shows as an empty cell in the HParams table, rather
        than a ``"None"`` that would turn a numeric column into text.
        """
        flat = flatten(params)
        self.params.update({k: _hparam_value(v) for k, v in flat.items() if v is not None})

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """One event per call holding every scalar, handed over about once a second.

        ``SummaryWriter.add_scalar`` makes one event per tag and wakes the
        writer's background thread for each; in a ~3 ms training epoch that
        thread cost ~0.4 ms of CPU. One event per call, batched per second,
        writes the same data (TensorBoard itself reloads every 30 s) for
        ~0.03 ms per epoch.
        """
        if self.writer is None:
            return
        from tensorboard.compat.proto.summary_pb2 import Summary

        values = [Summary.Value(tag=tag, simple_value=float(v)) for tag, v in metrics.items()]
        self._pending.append((Summary(value=values), step))
        self.logged.update(metrics)
        for tag in HPARAM_SCORES.keys() & metrics.keys():
            self._scores[HPARAM_SCORES[tag]] = (float(metrics[tag]), step)
        now = time.monotonic()
        if now - self._last_flush >= self.flush_seconds:
            self._flush()
            self._last_flush = now

    def _flush(self) -> None:
        for summary, step in self._pending:
            self.writer.file_writer.add_summary(summary, step)
        self._pending.clear()

    def log_figure(self, tag: str, figure: Figure, step: int | None = None) -> None:
        """Render the figure into the Images dashboard."""
        if self.writer is not None:
            self.writer.add_figure(tag, figure, step, close=False)

    def log_embedding(
        self,
        tag: str,
        embeddings: np.ndarray,
        metadata: dict[str, Sequence[Any]] | None = None,
        step: int | None = None,
    ) -> None:
        """Write the vectors and a ``metadata.tsv`` for the Projector.

        ``SummaryWriter.add_embedding`` writes ``<step>/<tag>/tensors.tsv``,
        ``metadata.tsv`` and ``projector_config.pbtxt`` in the run directory.
        Several metadata columns become a header row, so the Projector can
        colour by each of them.

        The Projector draws nothing below :data:`PROJECTOR_MIN_DIM` dimensions,
        so a 1- or 2-d embedding gets constant zero axes appended, and its name
        says so: ``embeddings (2-d, padded with a constant 3rd axis)``. The
        added axes carry no variance: PCA's first components are the real ones.
        """
        if self.writer is None:
            return
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim == 2 and vectors.shape[1] < PROJECTOR_MIN_DIM:
            dim = vectors.shape[1]
            pad = np.zeros((len(vectors), PROJECTOR_MIN_DIM - dim), dtype=np.float32)
            vectors = np.concatenate([vectors, pad], axis=1)
            axes = "a constant 3rd axis" if dim == 2 else "constant 2nd and 3rd axes"
            tag = f"{tag} ({dim}-d, padded with {axes})"
        columns = dict(metadata or {})
        header = None
        rows: list[Any] | None = None
        if len(columns) == 1:
            rows = [str(v) for v in next(iter(columns.values()))]
        elif columns:
            header = list(columns)
            rows = [[str(v) for v in row] for row in zip(*columns.values(), strict=True)]
        self.writer.add_embedding(
            vectors,
            metadata=rows,
            metadata_header=header,
            tag=tag,
            global_step=step,
        )

    def log_pr_curve(
        self, tag: str, labels: np.ndarray, scores: np.ndarray, step: int | None = None
    ) -> None:
        """Write a precision-recall curve (127 thresholds, TensorBoard's default)."""
        if self.writer is not None:
            self.writer.add_pr_curve(
                tag, np.asarray(labels).astype(bool), np.asarray(scores, dtype=np.float64), step
            )

    def end_run(self, success: bool = True) -> None:
        """Write the run's HParams session (settings, trial id, status) and close.

        No experiment summary is written: see the module's docstring. The
        final scores are written again as :data:`HPARAM_SCORES`.
        """
        if self.writer is None:
            return
        self._flush()
        if success:
            self._write_scores()
        if success and self.params:
            group = trial_id(self.run_dir, self.params) if self.run_dir else ""
            for summary in session_summaries(self.params, group, self._started, success):
                self.writer.file_writer.add_summary(summary)
        self.writer.close()
        self.writer = None

    def _write_scores(self) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        for tag, (value, step) in self._scores.items():
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
            self.writer.file_writer.add_summary(summary, step)
