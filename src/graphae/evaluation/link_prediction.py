"""Scoring node pairs for link prediction."""

from __future__ import annotations

from collections.abc import Callable

import torch

from graphae.evaluation.metrics import auc_and_ap

Decode = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def link_metrics(
    decode: Decode, z: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
) -> dict[str, float]:
    """AUC and AP of the decoder's scores on positive vs negative pairs.

    Pairs are ranked by the logit ``z_i · z_j``, which orders them exactly as
    ``σ(z_i · z_j)`` does, without float saturation turning large logits into ties.

    Args:
        decode (callable): ``(z, pairs) -> logits``, e.g. ``model.decode`` or
            :class:`~graphae.nn.InnerProductDecoder` (for any embedding).
        z (Tensor): ``N x d`` embeddings (``μ`` for VGAE).
        pos (Tensor): ``[2, k]`` positive pairs.
        neg (Tensor): ``[2, k]`` negative pairs.

    Returns:
        dict: ``{"auc": ..., "ap": ...}`` in [0, 1].

    """
    scores = decode(z, torch.cat([pos, neg], dim=1))
    auc, ap = auc_and_ap(scores[: pos.shape[1]], scores[pos.shape[1] :])
    return {"auc": auc, "ap": ap}


@torch.no_grad()
def link_scores(
    decode: Decode, z: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (1 for ``pos``, 0 for ``neg``) and logits of all pairs, positives first.

    For curves: ROC from the logits, PR curves from ``torch.sigmoid(logits)``.
    """
    logits = torch.cat([decode(z, pos), decode(z, neg)])
    labels = torch.cat([torch.ones(pos.shape[1]), torch.zeros(neg.shape[1])])
    return labels, logits
