"""Full-batch training with validation every epoch and best-weights selection."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from graphae.evaluation.link_prediction import link_metrics
from graphae.nn.autoencoders import GAE, Encoding
from graphae.tracking.base import Tracker

Objective = Callable[[Encoding], dict[str, torch.Tensor]]


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        best_epoch: epoch whose weights scored best on validation.
        best_val: validation metrics at that epoch.
        last_val: validation metrics at the last epoch.
        best_state: copy of the model's ``state_dict`` at ``best_epoch``.
        seconds: wall time of the loop.
        history: per-epoch metrics (``{"epoch": ..., "train/loss": ..., ...}``).

    """

    best_epoch: int
    best_val: dict[str, float]
    last_val: dict[str, float]
    best_state: dict[str, torch.Tensor]
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def show_progress(quiet: bool) -> bool:
    """Progress bars only on an interactive terminal and when not ``quiet``."""
    return not quiet and sys.stderr.isatty()


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
) -> FitResult:
    """Train with Adam, validating every ``eval_every`` epochs and at the last one.

    Args:
        model (GAE): the autoencoder.
        x (Tensor or None): node features (``None``: identity).
        adj (Tensor): normalised training adjacency.
        objective (callable): maps an :class:`Encoding` to loss parts.
        val_pairs (tuple): validation ``(positives, negatives)``.
        epochs (int): number of full-batch steps.
        lr (float): Adam learning rate.
        eval_every (int, optional): validation cadence. (default: ``1``)
        select_metric (str, optional): ``"auc"`` or ``"ap"``, picks the kept
            weights. (default: ``"auc"``)
        trackers (sequence, optional): receive ``train/*`` and ``val/*`` metrics.
        progress (bool, optional): show a progress bar. (default: ``False``)

    Returns:
        FitResult: the best-validation weights and the history.

    """
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best_score, best_epoch = -1.0, 0
    best_val: dict[str, float] = {}
    last_val: dict[str, float] = {}
    best_state: dict[str, torch.Tensor] = {}
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), disable=not progress, unit="epoch", leave=False)
    for epoch in bar:
        model.train()
        optimizer.zero_grad(set_to_none=True)
        parts = objective(model.encode(x, adj))
        parts["loss"].backward()
        optimizer.step()
        metrics = {f"train/{k}": float(v.detach()) for k, v in parts.items()}
        if epoch % eval_every == 0 or epoch == epochs:
            last_val = link_metrics(model.decode, model.embed(x, adj), *val_pairs)
            metrics.update({f"val/{k}": v for k, v in last_val.items()})
            if last_val[select_metric] > best_score:
                best_score, best_epoch, best_val = last_val[select_metric], epoch, last_val
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bar.set_postfix(loss=f"{metrics['train/loss']:.4f}", val_auc=f"{last_val['auc']:.4f}")
        for tracker in trackers:
            tracker.log_metrics(metrics, step=epoch)
        history.append({"epoch": epoch, **metrics})
    bar.close()
    return FitResult(
        best_epoch=best_epoch,
        best_val=best_val,
        last_val=last_val,
        best_state=best_state,
        seconds=time.perf_counter() - start,
        history=history,
    )
