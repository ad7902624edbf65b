"""Resume checkpoints: what a stopped run needs to continue as if it had never stopped.

Every ``checkpoint_every`` epochs :func:`graphae.training.fit` hands a
:class:`TrainState` to a callback, and the pipeline writes it atomically
(:func:`save_train_state`) to ``resume.pt`` in the run folder. A run folder
with ``resume.pt`` and no ``metrics.json`` is *resumable*: ``graphae train
--resume RUN`` (:func:`graphae.pipeline.resume`) rebuilds the model from the
run's ``config.json``, restores the state and trains the remaining epochs;
``metrics.json`` then holds the same numbers, bit for bit, as an
uninterrupted run of the same settings and seed. ``resume.pt`` is removed
once ``metrics.json`` is written.

The state holds everything the remaining epochs depend on:

* the model's weights, and Adam's moments and step counts;
* torch's global random state (CPU, and the CUDA device's when the run
  trains there): VGAE's noise :math:`\\varepsilon` and dropout masks come
  from it;
* model selection: the best epoch, its score, validation metrics and
  weights, and the last validation;
* the history so far, and the epoch whose validation is *pending*: when a
  model's training pass equals its eval pass, epoch :math:`t` is validated
  with the :math:`\\mu` of the forward pass of epoch :math:`t + 1`
  (:func:`~graphae.training.fit`); a resumed run does the same, so its
  validation numbers are identical, not merely equal to rounding.

The objectives need no state: the sampled objective's negatives of epoch
:math:`t` come from a generator seeded by ``(seed, t)`` alone
(:mod:`graphae.training.rng`), and the dense objective draws nothing.

Cost, measured on the quick start (VGAE on Cora, 200 epochs, one thread, a
busy 2-core machine; ``benchmarks/resume_cost.py``): ``resume.pt`` is 0.79 MB
(weights, Adam's two moments, the best weights) and takes 2–7 ms to write,
so the default of one checkpoint every 100 epochs spends ~4 ms of a 6–8 s
run (0.04%); a checkpoint every epoch would add ~14%. The file grows with the
parameters (×4), not with the graph, except with identity features
(``--no-features``: an N × hidden first layer).
"""

from __future__ import annotations

import contextlib
import pickle
import shlex
import zipfile
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from graphae.analysis.runs import HISTORY_FILE
from graphae.artifacts.atomic import atomic_write
from graphae.artifacts.run_dir import CONFIG_FILE, METRICS_FILE, RESUME_FILE, read_json
from graphae.errors import ConfigError, DataError, TrainingError
from graphae.tracking.base import Tracker

#: Version of the ``resume.pt`` layout; a file of another version is refused.
FORMAT = 1

#: TensorBoard's event files in a run folder (a resumed run writes them anew).
EVENTS_GLOB = "events.out.tfevents.*"

#: Temporary files of :func:`graphae.artifacts.atomic.atomic_path` a killed process left.
TEMPORARY_GLOB = ".*.tmp*"


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The global random state of torch: the CPU generator's and, on CUDA, the device's."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    """Restore what :func:`rng_state` returned (on the same kind of device)."""
    torch.set_rng_state(state["cpu"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


@dataclass
class TrainState:
    """A training loop's state at the end of an epoch: what ``resume.pt`` holds.

    Attributes:
        epoch: the last completed epoch (from 1).
        model: the model's ``state_dict``.
        optimizer: the optimiser's ``state_dict``.
        selection: the model selection's ``state_dict`` (best epoch, score,
            validation metrics and weights; last validation).
        history: the per-epoch metrics logged so far, one row per epoch from 1.
        pending: the metrics of ``epoch`` while its validation waits for the
            next forward pass (then not yet in ``history``), else ``None``.
        rng: torch's random state (:func:`rng_state`).
        seconds: training time so far (wall).
        cpu_seconds: training time so far (the process's CPU time).
        member: the ensemble member in training (from 0; ``0`` for a single model).
        finished: the ensemble members trained before it, one record each
            (seed, best and last weights, selection, history, seconds), as
            the pipeline keeps them.

    """

    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    selection: dict[str, Any]
    history: list[dict[str, float]]
    pending: dict[str, float] | None
    rng: dict[str, torch.Tensor]
    seconds: float
    cpu_seconds: float
    member: int = 0
    finished: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def capture(
        cls,
        epoch: int,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        selection: dict[str, Any],
        history: list[dict[str, float]],
        pending: dict[str, float] | None,
        seconds: float,
        cpu_seconds: float,
    ) -> TrainState:
        """The state now. Its tensors are the live ones (no copy): save it before the next step."""
        device = next(model.parameters()).device
        return cls(
            epoch=epoch,
            model=model.state_dict(),
            optimizer=optimizer.state_dict(),
            selection=selection,
            history=list(history),
            pending=dict(pending) if pending is not None else None,
            rng=rng_state(device),
            seconds=seconds,
            cpu_seconds=cpu_seconds,
        )

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Load the weights and the optimiser's state into ``model``/``optimizer``; set the RNG."""
        model.load_state_dict(self.model)
        optimizer.load_state_dict(self.optimizer)
        set_rng_state(self.rng, next(model.parameters()).device)

    @property
    def logged_epochs(self) -> int:
        """How many epochs the trackers had received (``history``'s length)."""
        return len(self.history)


def save_train_state(path: str | Path, state: TrainState, **extra: Any) -> None:
    """Write ``state`` (and ``extra`` plain values) to ``path`` atomically.

    A reader (or a run killed while writing) sees the previous checkpoint or
    this one, never half of one.

    Raises:
        OutputError: the file cannot be written (the previous one is kept).

    """
    payload = {"format": FORMAT, **extra, **{f.name: getattr(state, f.name) for f in fields(state)}}
    with atomic_write(path) as f:  # a Python file: a full disk is an OutputError
        torch.save(payload, f)


def load_train_state(path: str | Path, device: str | torch.device = "cpu") -> TrainState:
    """Read a checkpoint written by :func:`save_train_state`, its tensors on ``device``.

    Raises:
        ConfigError: there is no such file.
        DataError: the file is unreadable, truncated, or not a resume checkpoint.

    """
    path = Path(path)
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such resume checkpoint") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile):
        raise DataError(f"{path}: not a readable resume checkpoint (corrupted?)") from None
    names = [f.name for f in fields(TrainState)]
    required = [
        f.name
        for f in fields(TrainState)
        if f.default is MISSING and f.default_factory is MISSING  # older files lack the rest
    ]
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataError(f"{path}: not a resume checkpoint of this graphae version")
    if any(name not in payload for name in required):
        raise DataError(f"{path}: incomplete resume checkpoint")
    return TrainState(**{name: payload[name] for name in names if name in payload})


def checkpointed_epoch(run_dir: str | Path) -> int | None:
    """The epoch of ``run_dir``'s resume checkpoint (read lazily), or ``None``."""
    where = checkpointed_at(run_dir)
    return where[1] if where is not None else None


def checkpointed_at(run_dir: str | Path) -> tuple[int, int] | None:
    """``(member, epoch)`` of ``run_dir``'s resume checkpoint (read lazily), or ``None``."""
    with contextlib.suppress(Exception):  # only for messages: never fails
        payload = torch.load(Path(run_dir) / RESUME_FILE, mmap=True, weights_only=True)
        return int(payload.get("member", 0)), int(payload["epoch"])
    return None


def check_resumable(run_dir: str | Path) -> dict[str, Any]:
    """``run_dir``'s ``config.json`` if it is a resumable ``graphae train`` run.

    Raises:
        ConfigError: no such folder, a finished run, no resume checkpoint, or
            not a ``graphae train`` run folder.
        DataError: ``config.json`` is unreadable.

    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    if (run_dir / METRICS_FILE).is_file():
        raise ConfigError(f"{run_dir} is a finished run ({METRICS_FILE} exists); nothing to resume")
    if not (run_dir / RESUME_FILE).is_file():
        raise ConfigError(
            f"{run_dir} has no resume checkpoint ({RESUME_FILE}): it stopped before its "
            "first checkpoint (--checkpoint-every), so it cannot be resumed"
        )
    try:
        info = read_json(run_dir / CONFIG_FILE)
    except (OSError, ValueError) as exc:
        raise DataError(f"{run_dir / CONFIG_FILE}: unreadable ({exc})") from None
    if not isinstance(info.get("config"), dict) or "objective" not in info:
        raise ConfigError(f"{run_dir}: not a graphae train run folder")
    return info


def clear_logs(run_dir: Path) -> None:
    """Remove the logs a stopped run left; a resumed run rewrites them from its checkpoint.

    ``history.jsonl`` and TensorBoard's event files of the stopped process
    may hold epochs past the checkpoint, or miss some before it (buffered
    when the process was killed); :func:`restart_trackers` writes the
    checkpoint's history anew. Temporary files of interrupted atomic writes
    go too.
    """
    for pattern in (HISTORY_FILE, EVENTS_GLOB, TEMPORARY_GLOB):
        for path in run_dir.glob(pattern):
            if path.is_file():
                path.unlink()


def restart_trackers(
    trackers: Sequence[Tracker],
    run_dir: Path | None,
    params: dict[str, Any],
    history: Sequence[dict[str, float]],
) -> None:
    """Start ``trackers`` on a resumed run and replay the checkpoint's history into them.

    Each row goes to :meth:`~graphae.tracking.base.Tracker.log_metrics` as
    :func:`~graphae.training.fit` sent it (``step`` = the epoch), so the
    logs end the same as an uninterrupted run's.
    """
    for tracker in trackers:
        tracker.start_run(run_dir)
        tracker.log_params(params)
    for row in history:
        metrics = {k: v for k, v in row.items() if k != "epoch"}
        for tracker in trackers:
            tracker.log_metrics(metrics, step=int(row["epoch"]))


def keeps_run(run_dir: Path, error: BaseException) -> bool:
    """Whether a run that failed with ``error`` is kept for resuming rather than removed.

    Kept: a run with a resume checkpoint, stopped by anything (Ctrl-C,
    SIGTERM, a full disk, a crash) except divergence
    (:class:`~graphae.errors.TrainingError`), which a resumed run would
    only repeat.
    """
    return (run_dir / RESUME_FILE).is_file() and not isinstance(error, TrainingError)


#: Attribute of an exception naming the run folder kept for resuming (see :func:`kept_run`).
_KEPT = "graphae_resumable_run"


def mark_kept(error: BaseException, run_dir: Path) -> None:
    """Record on ``error`` that ``run_dir`` was kept and can be resumed."""
    setattr(error, _KEPT, run_dir)


def kept_run(error: BaseException) -> Path | None:
    """The run folder kept for resuming when ``error`` stopped it (:func:`mark_kept`)."""
    return getattr(error, _KEPT, None)


def resume_command(run_dir: str | Path, world_size: int = 1) -> str:
    """The shell command that resumes ``run_dir`` (a run of ``world_size`` torchrun processes)."""
    launcher = "graphae"
    if world_size > 1:  # with as many processes as it started with
        launcher = f"torchrun --nproc-per-node {world_size} -m graphae"
    return f"{launcher} train --resume {shlex.quote(str(run_dir))}"


def describe_kept(run_dir: Path) -> str:
    """``<run> kept, resumable from epoch <k>: graphae train --resume <run>``.

    For an ensemble's member ``m > 0``: ``... from epoch <k> of ensemble member <m>: ...``.
    """
    at = checkpointed_at(run_dir)
    where = ""
    if at is not None:  # an ensemble's later members: which one, too
        where = f" from epoch {at[1]}" + (f" of ensemble member {at[0]}" if at[0] else "")
    world_size = 1
    with contextlib.suppress(Exception):  # only for the message: never fails
        world_size = int(read_json(run_dir / CONFIG_FILE).get("world_size", 1))
    return f"{run_dir} kept, resumable{where}: {resume_command(run_dir, world_size)}"


def discard_train_state(run_dir: Path) -> None:
    """Remove ``resume.pt`` from a finished run (its ``metrics.json`` written)."""
    (run_dir / RESUME_FILE).unlink(missing_ok=True)
