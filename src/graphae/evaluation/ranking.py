"""Hits@K and MRR of the test positives against the test negatives (OGB's definitions).

Beside AUC/AP (:mod:`graphae.evaluation.metrics`), which compare every
positive with every negative on average, these look at the top of the ranking:
does a true edge outscore (nearly) all non-edges? They follow OGB's
``ogb.linkproppred.Evaluator`` (``ogb/linkproppred/evaluate.py``, ogb 1.3.6):

- **Hits@K** as for ogbl-collab/ppa/ddi: one list of negatives shared by all
  positives; a positive is a hit when its score is *strictly* greater than the
  K-th highest negative score (a tie with it is a miss). With fewer than K
  negatives every positive counts as a hit (OGB returns 1.0).
- **MRR against the shared test negatives.** OGB's MRR (ogbl-citation2) ranks
  each positive among its *own* negatives; our splits have one shared list of
  negatives, so here each positive is ranked among all test negatives plus
  itself, ``rank = 1 + #(negatives scoring higher)``, and the MRR is the mean
  of ``1 / rank`` over the positives. Ties count as OGB counts them: the
  average of the optimistic rank (the positive first among equal scores) and
  the pessimistic one (last), ``rank = 1 + (#(neg > p) + #(neg >= p)) / 2``.
  Other positives are not in the list: the value does not depend on how
  positives score against each other.

All values are fractions in [0, 1]. Every function refuses NaN or infinite
scores (:class:`~graphae.evaluation.metrics.NonFiniteScoresError`), like
:mod:`graphae.evaluation.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from graphae.evaluation.metrics import _check_finite

#: The cut-offs of :func:`ranking_report` (OGB reports Hits@20/50/100 for its link tasks).
HITS_KS = (20, 50, 100)


def _sorted_negatives(pos: torch.Tensor, neg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pos, negatives sorted ascending)``, flattened; checked non-empty and finite."""
    dtype = torch.promote_types(pos.dtype, neg.dtype)
    pos, neg = pos.flatten().to(dtype), neg.flatten().to(dtype)
    if pos.numel() == 0 or neg.numel() == 0:
        raise ValueError("need at least one positive and one negative score")
    _check_finite(torch.cat([pos, neg]))
    return pos, torch.sort(neg).values


def _hits(pos: torch.Tensor, neg_sorted: torch.Tensor, k: int) -> float:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if neg_sorted.numel() < k:
        return 1.0  # OGB's rule: fewer negatives than K, every positive is a hit
    kth_highest = neg_sorted[-k]
    return int((pos > kth_highest).sum()) / pos.numel()


def _mrr(pos: torch.Tensor, neg_sorted: torch.Tensor) -> float:
    n = neg_sorted.numel()
    higher = n - torch.searchsorted(neg_sorted, pos, right=True)  # neg > p
    at_least = n - torch.searchsorted(neg_sorted, pos, right=False)  # neg >= p
    rank = 1.0 + 0.5 * (higher + at_least).double()
    return float((1.0 / rank).mean())


def hits_at_k(pos_scores: torch.Tensor, neg_scores: torch.Tensor, k: int) -> float:
    """Hits@K: the fraction of positives scoring strictly above the K-th highest negative.

    OGB's Hits@K for ogbl-collab/ppa/ddi: the negatives are shared by all
    positives; a positive tied with the K-th highest negative is a miss; with
    fewer than ``k`` negatives the result is 1.0.

    Args:
        pos_scores (Tensor): scores (or logits) of the positive pairs.
        neg_scores (Tensor): scores of the negative pairs.
        k (int): the cut-off, at least 1.

    Returns:
        float: in [0, 1].

    Raises:
        NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``).
        ValueError: no positive or no negative score, or ``k < 1``.

    """
    pos, neg_sorted = _sorted_negatives(pos_scores, neg_scores)
    return _hits(pos, neg_sorted, k)


def mean_reciprocal_rank(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> float:
    """MRR against the shared test negatives: mean over positives of ``1 / rank``.

    Each positive is ranked among all negatives plus itself (not among the
    other positives): ``rank = 1 + #(negatives scoring higher)``. Ties with
    negatives count as in OGB's MRR, the average of the optimistic and the
    pessimistic rank, ``1 + (#(neg > p) + #(neg >= p)) / 2``. (OGB's
    ogbl-citation2 MRR ranks each positive against its own negatives; our
    split has one list of negatives for all positives, hence this variant.)

    Args:
        pos_scores (Tensor): scores (or logits) of the positive pairs.
        neg_scores (Tensor): scores of the negative pairs.

    Returns:
        float: in (0, 1]; 1 when every positive outscores every negative.

    Raises:
        NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``).
        ValueError: no positive or no negative score.

    """
    pos, neg_sorted = _sorted_negatives(pos_scores, neg_scores)
    return _mrr(pos, neg_sorted)


def ranking_report(
    pos: torch.Tensor, neg: torch.Tensor, ks: Sequence[int] = HITS_KS
) -> dict[str, float]:
    """``{"hits@20": ..., "hits@50": ..., "hits@100": ..., "mrr": ...}`` from one sort.

    :func:`hits_at_k` for each ``k`` in ``ks`` and :func:`mean_reciprocal_rank`,
    as fractions in [0, 1], the negatives checked and sorted once.

    Raises:
        NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``).
        ValueError: no positive or no negative score, or a ``k < 1``.

    """
    pos, neg_sorted = _sorted_negatives(pos, neg)
    report = {f"hits@{k}": _hits(pos, neg_sorted, k) for k in ks}
    report["mrr"] = _mrr(pos, neg_sorted)
    return report
