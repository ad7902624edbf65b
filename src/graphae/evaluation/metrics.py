"""Ranking metrics for link prediction, as plain tensor functions.

Both match scikit-learn's ``roc_auc_score`` and ``average_precision_score``
(tested against them, ties included). They are written in torch because the
scores are already tensors: no host copy, and ~10x less time per call than
scikit-learn on val-sized inputs, which matters when validating every epoch.

Every function refuses scores that are NaN or infinite
(:class:`NonFiniteScoresError`): ranked as they come, NaN scores would give
a meaningless number (all-NaN scores ranked to an AUC of 0.0) rather than an error.
"""

from __future__ import annotations

import torch


class NonFiniteScoresError(ValueError):
    """Scores handed to a ranking metric hold NaN or infinite values."""


def _check_finite(scores: torch.Tensor) -> None:
    """Raise :class:`NonFiniteScoresError` if any score is NaN or infinite.

    One reduction on the scores when they are finite; the counts for the
    message are only computed when they are not.
    """
    if bool(torch.isfinite(scores).all()):
        return
    nan = int(torch.isnan(scores).sum())
    inf = int(torch.isinf(scores).sum())
    raise NonFiniteScoresError(
        f"{nan} of {scores.numel()} scores are NaN and {inf} infinite; "
        "ranking metrics need finite scores"
    )


def _joined(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """The positives' scores, then the negatives', as one 1-d tensor."""
    return torch.cat([pos.flatten(), neg.flatten()])


def _groups(scores: torch.Tensor, num_pos: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Per distinct score (ascending): number of pairs and of positives (float64); negatives.

    ``scores`` holds the positives' scores first, then the negatives'.
    """
    num_neg = scores.numel() - num_pos
    if num_pos <= 0 or num_neg <= 0:
        raise ValueError("need at least one positive and one negative score")
    _check_finite(scores)
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    positives = torch.bincount(inverse[:num_pos], minlength=len(counts))
    return counts.double(), positives.double(), num_neg


def _auc(counts: torch.Tensor, positives: torch.Tensor, n_pos: int, n_neg: int) -> float:
    # a positive beats the negatives strictly below its score and ties half of its own
    negatives = counts - positives
    wins = torch.dot(positives, torch.cumsum(negatives, 0) - 0.5 * negatives)
    return float(wins) / (n_pos * n_neg)


def _ap(counts: torch.Tensor, positives: torch.Tensor, n_pos: int) -> float:
    # thresholds from the highest score down: recall grows by positives / n_pos at
    # each, where precision is (positives so far) / (pairs so far)
    positives = positives.flip(0)
    precision = torch.cumsum(positives, 0) / torch.cumsum(counts.flip(0), 0)
    return float(torch.dot(positives, precision)) / n_pos


def roc_auc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties 1/2.

    Args:
        pos (Tensor): scores (or logits) of the positive pairs.
        neg (Tensor): scores of the negative pairs.

    Raises:
        NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``).

    """
    counts, positives, num_neg = _groups(_joined(pos, neg), pos.numel())
    return _auc(counts, positives, pos.numel(), num_neg)


def average_precision(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """Average precision, ``Σ_k (R_k − R_{k−1}) P_k`` over distinct thresholds.

    Args:
        pos (Tensor): scores (or logits) of the positive pairs.
        neg (Tensor): scores of the negative pairs.

    Raises:
        NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``).

    """
    counts, positives, _ = _groups(_joined(pos, neg), pos.numel())
    return _ap(counts, positives, pos.numel())


def auc_and_ap(pos: torch.Tensor, neg: torch.Tensor) -> tuple[float, float]:
    """:func:`roc_auc` and :func:`average_precision` from one ranking of the scores.

    Raises:
        NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``).

    """
    return ranking_metrics(_joined(pos, neg), pos.numel())


def ranking_metrics(scores: torch.Tensor, num_pos: int) -> tuple[float, float]:
    """:func:`auc_and_ap` of ``scores[:num_pos]`` (positives) against the rest, without copies.

    Args:
        scores (Tensor): 1-d scores, the positive pairs' first.
        num_pos (int): how many leading scores are positives.

    Raises:
        NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``).

    """
    counts, positives, num_neg = _groups(scores, num_pos)
    return _auc(counts, positives, num_pos, num_neg), _ap(counts, positives, num_pos)
