"""Scoring node pairs for link prediction."""

from __future__ import annotations

from collections.abc import Callable

import torch

from graphae.evaluation.metrics import ranking_metrics

Decode = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Pairs decoded at once: a chunk gathers ``2 x chunk x d`` embedding entries
#: (128 MiB for 16-d), whatever the number of pairs scored.
CHUNK_PAIRS = 1 << 20


@torch.no_grad()
def decode_in_chunks(
    decode: Decode, z: torch.Tensor, pairs: torch.Tensor, chunk: int | None = None
) -> torch.Tensor:
    """``decode(z, pairs)`` computed ``chunk`` pairs at a time, as one 1-d tensor.

    The same numbers as one call for decoders that score each pair on its
    own (the inner product, the MLP decoder in eval mode), in ``O(chunk · d)``
    extra memory instead of ``O(k · d)``. ``chunk`` defaults to :data:`CHUNK_PAIRS`.
    """
    chunk = chunk or CHUNK_PAIRS
    if pairs.shape[1] <= chunk:
        return decode(z, pairs).reshape(-1)
    parts = [
        decode(z, pairs[:, start : start + chunk]).reshape(-1)
        for start in range(0, pairs.shape[1], chunk)
    ]
    return torch.cat(parts)


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
        auc, ap = ranking_metrics(decode_in_chunks(decode, z, self.pairs), self.num_pos)
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
    logits = torch.cat([decode_in_chunks(decode, z, pos), decode_in_chunks(decode, z, neg)])
    labels = torch.zeros(len(logits), device=logits.device)  # where the logits are (cuda)
    labels[: pos.shape[1]] = 1.0
    return labels, logits
