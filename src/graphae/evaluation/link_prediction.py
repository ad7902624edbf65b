"""Scoring node pairs for link prediction."""

from __future__ import annotations

from collections.abc import Callable

import torch

from graphae.evaluation.metrics import ranking_metrics

Decode = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class LinkScorer:
    """AUC and AP of a decoder's scores on fixed positive and negative pairs.

    For pairs scored again and again (validation every epoch): the pairs are
    concatenated once, and the scores ranked where they are, without
    splitting and re-joining them (:func:`link_metrics` does the same once).

    Args:
        pos (Tensor): ``[2, k]`` positive pairs.
        neg (Tensor): ``[2, m]`` negative pairs.

    """

    def __init__(self, pos: torch.Tensor, neg: torch.Tensor) -> None:
        self.pairs = torch.cat([pos, neg], dim=1)
        self.num_pos = int(pos.shape[1])

    @torch.no_grad()
    def __call__(self, decode: Decode, z: torch.Tensor) -> dict[str, float]:
        """``{"auc": ..., "ap": ...}`` of ``decode(z, pairs)``, in [0, 1].

        Raises:
            NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``),
                e.g. from NaN embeddings.

        """
        auc, ap = ranking_metrics(decode(z, self.pairs).reshape(-1), self.num_pos)
        return {"auc": auc, "ap": ap}


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

    Raises:
        NonFiniteScoresError: a score is NaN or infinite (a ``ValueError``).

    """
    return LinkScorer(pos, neg)(decode, z)


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
