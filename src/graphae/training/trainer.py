"""Full-batch training with validation every epoch and best-weights selection."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from graphae.errors import TrainingError
from graphae.evaluation.link_prediction import LinkScorer
from graphae.evaluation.metrics import NonFiniteScoresError
from graphae.nn.autoencoders import GAE, Encoding
from graphae.tracking.base import Tracker
from graphae.training.checkpointing import TrainState

Objective = Callable[[Encoding, int], dict[str, torch.Tensor]]
Sync = Callable[[torch.nn.Module, dict[str, torch.Tensor]], dict[str, torch.Tensor]]
#: one epoch of another kind of training (mini-batch): ``(model, optimizer, epoch) -> loss parts``
EpochStep = Callable[[GAE, torch.optim.Optimizer, int], dict[str, torch.Tensor]]


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        best_epoch: epoch whose weights scored best on validation.
        best_val: validation metrics at that epoch.
        last_val: validation metrics at the last epoch.
        best_state: copy of the model's ``state_dict`` at ``best_epoch``.
        seconds: wall time of the loop.
        cpu_seconds: CPU time of the process during the loop, every thread's
            (up to threads x ``seconds``; unlike wall time it hardly changes
            when other programs compete for the cores). A resumed run counts
            only the part after the resume.
        history: per-epoch metrics (``{"epoch": ..., "train/loss": ..., ...}``).
        snapshots: with ``snapshots = K > 1``, the K best-validation weights
            among those of every ``snapshot_every``-th epoch, best first, each
            ``{"epoch", "val", "state"}`` (a checkpoint ensemble's members).

    """

    best_epoch: int
    best_val: dict[str, float]
    last_val: dict[str, float]
    best_state: dict[str, torch.Tensor]
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    cpu_seconds: float = 0.0
    snapshots: list[dict[str, Any]] = field(default_factory=list)


def show_progress(quiet: bool) -> bool:
    """Progress bars only on an interactive terminal and when not ``quiet``."""
    return not quiet and sys.stderr.isatty()


class _Selection:
    """The best validation score so far, its epoch, metrics and a copy of the weights.

    With ``keep = K > 1`` also the K best-scoring weights of the epochs that
    are multiples of ``every`` (a checkpoint ensemble's snapshots; on equal
    scores the earlier epoch stays).
    """

    def __init__(self, metric: str, keep: int = 1, every: int = 1) -> None:
        self.metric, self.keep, self.every = metric, keep, every
        self.best_score, self.best_epoch = -1.0, 0
        self.best_val: dict[str, float] = {}
        self.last_val: dict[str, float] = {}
        self.best_state: dict[str, torch.Tensor] = {}
        self.snapshots: list[dict[str, Any]] = []  # best first: {"epoch", "val", "state"}

    def offer(self, epoch: int, val: dict[str, float], model: torch.nn.Module) -> None:
        """Validation of ``model``'s current weights, reached at ``epoch``."""
        self.last_val = val
        if val[self.metric] > self.best_score:
            self.best_score, self.best_epoch, self.best_val = val[self.metric], epoch, val
            self.best_state = _copy_state(model)
        if self.keep > 1 and epoch % self.every == 0:
            kept = self.snapshots
            if len(kept) < self.keep or val[self.metric] > kept[-1]["val"][self.metric]:
                kept.append({"epoch": epoch, "val": val, "state": _copy_state(model)})
                kept.sort(key=lambda s: -s["val"][self.metric])  # stable: earlier first on ties
                del kept[self.keep :]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the settings (for resume checkpoints)."""
        return {k: v for k, v in vars(self).items() if k not in ("metric", "keep", "every")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        for key in ("best_score", "best_epoch", "best_val", "last_val", "best_state"):
            setattr(self, key, state[key])
        self.snapshots = list(state.get("snapshots", []))


def _copy_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def make_adam(model: torch.nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """``torch.optim.Adam`` with its fused kernel where the torch build and device have one.

    The fused kernel applies the same update rule in one pass over each
    parameter (2.3x faster per step on CPU than the default). Where
    ``fused=True`` is refused (a build or device without the kernel), the
    default implementation is used.
    """
    params = list(model.parameters())
    decay = {"weight_decay": weight_decay} if weight_decay else {}  # Adam's L2 penalty
    try:
        return torch.optim.Adam(params, lr=lr, fused=True, **decay)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, **decay)


def _divergence_hint(lr: float) -> str:
    """What a :class:`TrainingError` suggests: the usual causes of a diverging run."""
    return (
        f"the learning rate ({lr:g}) may be too high, or the data holds extreme values; "
        "try a smaller --lr"
    )


def fit(
    model: GAE,
    x: torch.Tensor | None,
    adj: torch.Tensor,
    objective: Objective,
    val_pairs: tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    lr: float,
    eval_every: int = 1,
    select_metric: str = "auc",
    trackers: Sequence[Tracker] = (),
    progress: bool = False,
    weight_decay: float = 0.0,
    grad_clip: float = 0.0,
    sync: Sync | None = None,
    checkpoint_every: int = 0,
    checkpoint: Callable[[TrainState], None] | None = None,
    resume_from: TrainState | None = None,
    epoch_step: EpochStep | None = None,
    snapshots: int = 1,
    snapshot_every: int = 1,
) -> FitResult:
    """Train with Adam, validating every ``eval_every`` epochs and at the last one.

    Args:
        model (GAE): the autoencoder.
        x (Tensor or None): node features (``None``: identity).
        adj (Tensor): normalised training adjacency.
        objective (callable): maps an :class:`Encoding` and the epoch (from 1) to loss parts.
        val_pairs (tuple): validation ``(positives, negatives)``.
        epochs (int): number of full-batch steps.
        lr (float): Adam learning rate.
        eval_every (int, optional): validation cadence. (default: ``1``)
        select_metric (str, optional): ``"auc"`` or ``"ap"``, picks the kept
            weights. (default: ``"auc"``)
        trackers (sequence, optional): receive ``train/*`` and ``val/*`` metrics.
        progress (bool, optional): show a progress bar. (default: ``False``)
        weight_decay (float, optional): Adam's L2 penalty. (default: ``0.0``)
        grad_clip (float, optional): clip the gradients' global norm to this
            (``0``: no clipping). (default: ``0.0``)
        sync (callable, optional): data-parallel training: called after each
            backward pass with the model and the loss parts, averages the
            gradients over ranks and returns the averaged parts
            (:meth:`graphae.training.distributed.DataParallel.average`).
        checkpoint_every (int, optional): hand a :class:`TrainState` to
            ``checkpoint`` every this many epochs (not after the last one;
            ``0``: never). (default: ``0``)
        checkpoint (callable, optional): saves the state it is given, at once
            (:func:`~graphae.training.checkpointing.save_train_state`).
        resume_from (TrainState, optional): continue from this saved state
            (epochs ``resume_from.epoch + 1 ... epochs``); the result is the
            same as without the interruption.
        epoch_step (callable, optional): trains one epoch its own way (its
            own steps, gradient clipping included) instead of one full-batch
            step of ``objective``, e.g. :class:`~graphae.training.minibatch.MinibatchStep`;
            validation stays a full-graph pass over ``adj``. (default: ``None``)
        snapshots (int, optional): keep the weights of the ``snapshots`` best
            validated epochs among the multiples of ``snapshot_every`` too
            (:attr:`FitResult.snapshots`; Chen et al., "Checkpoint
            Ensembles", 2017). (default: ``1``: only the best epoch's)
        snapshot_every (int, optional): spacing of the snapshot candidates. (default: ``1``)

    Returns:
        FitResult: the best-validation weights and the history.

    Raises:
        TrainingError: the loss or the validation scores became NaN or
            infinite; raised at the first such epoch.

    """
    optimizer = make_adam(model, lr, weight_decay)
    validate = LinkScorer(*val_pairs)
    state = _Selection(select_metric, snapshots, snapshot_every)
    history: list[dict[str, float]] = []
    # When the model declares that μ is the same in training and eval mode, the
    # forward pass of step t+1 also validates the weights of epoch t (before they
    # change), saving one encoder pass per epoch.
    # An objective with an ``encode(model, x, adj, epoch)`` method (masking) shows the
    # encoder another graph than ``adj``: then a training pass never validates.
    encode = getattr(objective, "encode", None)
    reuse = model.mode_independent() and encode is None and epoch_step is None
    pending: dict[str, float] | None = None  # epoch awaiting that validation
    first, seconds_before, cpu_before = 1, 0.0, 0.0
    if resume_from is not None:  # weights, Adam, RNG, selection, history: as they were
        resume_from.restore(model, optimizer)
        state.load_state_dict(resume_from.selection)
        history.extend(resume_from.history)
        pending = dict(resume_from.pending) if resume_from.pending is not None else None
        first, seconds_before = resume_from.epoch + 1, resume_from.seconds
        cpu_before = resume_from.cpu_seconds

    def close_epoch(metrics: dict[str, float], z: torch.Tensor | None) -> None:
        epoch = int(metrics.pop("epoch"))
        if z is not None:
            try:
                model.eval()  # decoders with dropout or batch norm score in eval mode
                val = validate(model.decode, z)
            except NonFiniteScoresError as exc:
                raise TrainingError(
                    f"validation scores are not finite at epoch {epoch} ({exc}): "
                    + _divergence_hint(lr)
                ) from None
            finally:
                model.train()
            metrics.update({f"val/{k}": v for k, v in val.items()})
            state.offer(epoch, val, model)
            bar.set_postfix(loss=f"{metrics['train/loss']:.4f}", val_auc=f"{val['auc']:.4f}")
        for tracker in trackers:
            tracker.log_metrics(metrics, step=epoch)
        history.append({"epoch": epoch, **metrics})

    start, cpu_start = time.perf_counter(), time.process_time()
    bar = tqdm(range(first, epochs + 1), disable=not progress, unit="epoch", leave=False)
    model.train()
    for epoch in bar:
        if epoch_step is not None:
            parts = epoch_step(model, optimizer, epoch)
        else:
            optimizer.zero_grad(set_to_none=True)
            encoding = model.encode(x, adj) if encode is None else encode(model, x, adj, epoch)
            if pending is not None:
                close_epoch(pending, encoding.mu.detach())
                pending = None
            parts = objective(encoding, epoch)
            parts["loss"].backward()
            if sync is not None:
                parts = sync(model, parts)
            if grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
        metrics = {"epoch": epoch, **{f"train/{k}": float(v.detach()) for k, v in parts.items()}}
        if not math.isfinite(metrics["train/loss"]):  # the logged value: no extra sync
            loss = metrics["train/loss"]
            raise TrainingError(f"loss is {loss} at epoch {epoch}: " + _divergence_hint(lr))
        if epoch % eval_every == 0 or epoch == epochs:
            if reuse and epoch < epochs:
                pending = metrics
            else:
                close_epoch(metrics, model.embed(x, adj))
        else:
            close_epoch(metrics, None)
        due = checkpoint_every > 0 and epoch % checkpoint_every == 0 and epoch < epochs
        if checkpoint is not None and due:
            seconds = seconds_before + time.perf_counter() - start
            cpu = cpu_before + time.process_time() - cpu_start
            selection = state.state_dict()
            checkpoint(
                TrainState.capture(
                    epoch, model, optimizer, selection, history, pending, seconds, cpu
                )
            )
    bar.close()
    return FitResult(
        best_epoch=state.best_epoch,
        best_val=state.best_val,
        last_val=state.last_val,
        best_state=state.best_state,
        seconds=seconds_before + time.perf_counter() - start,
        history=history,
        cpu_seconds=cpu_before + time.process_time() - cpu_start,
        snapshots=state.snapshots,
    )
