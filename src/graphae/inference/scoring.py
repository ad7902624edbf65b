"""Scoring node pairs with a trained decoder, in blocks (never an ``N x N`` matrix).

Two jobs, on node *indices* (:class:`~graphae.inference.run.TrainedRun` maps ids):

* :func:`top_partners`: the ``k`` nodes ``v`` with the largest logit
  ``decode(z, (u, v))`` for one node ``u``, scanning the candidates in
  blocks with a running top-k, so memory stays ``O(block · d)``;
* :func:`pair_logits`: the logits of given pairs, in blocks.

``decode`` is any ``(z, pairs[2, k]) -> logits`` callable (``model.decode``).
``decode=None`` means the inner-product decoder of Kipf & Welling (2016),

.. math::
    \\mathrm{logit}(u, v) = z_u^\\top z_v, \\qquad p(A_{uv} = 1) = \\sigma(z_u^\\top z_v),

for which a block of candidates is one matrix-vector product
``Z[a:b] @ z_u`` instead of gathering ``2 x block`` rows: about 10x faster.
Both paths give the same ranking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

Decode = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Candidates per block for the inner product (``block x d`` floats are read once).
INNER_PRODUCT_BLOCK = 1 << 20
#: Pairs per block for a generic decoder (it gathers ``2 x block x d`` floats).
DECODER_BLOCK = 1 << 16


class TopK(NamedTuple):
    """The best partners of one node, best first.

    Attributes:
        index: ``[k]`` long tensor of node indices.
        logit: ``[k]`` their logits (the score is ``σ(logit)``).

    """

    index: torch.Tensor
    logit: torch.Tensor


def top_partners(
    z: torch.Tensor,
    node: int,
    k: int,
    *,
    decode: Decode | None = None,
    exclude: torch.Tensor | None = None,
    block_size: int | None = None,
) -> TopK:
    """The ``k`` best-scored partners ``v`` of ``node``, scanning ``z`` in blocks.

    Args:
        z (Tensor): ``N x d`` node embeddings.
        node (int): the node ``u``.
        k (int): how many partners (fewer when fewer candidates remain).
        decode (callable, optional): ``(z, pairs) -> logits``; ``None``: the
            inner product ``z_u · z_v`` as a matrix-vector product. (default: ``None``)
        exclude (Tensor, optional): node indices never returned (e.g. ``u``
            itself and its known neighbours). (default: none)
        block_size (int, optional): candidates per block. (default:
            :data:`INNER_PRODUCT_BLOCK`, or :data:`DECODER_BLOCK` with ``decode``)

    Returns:
        TopK: indices and logits, highest logit first (equal logits in
        an unspecified order).

    """
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    num_nodes = z.shape[0]
    block = block_size or (INNER_PRODUCT_BLOCK if decode is None else DECODER_BLOCK)
    skip = _sorted_unique(exclude, z.device)
    best_logit = z.new_empty(0)
    best_index = torch.empty(0, dtype=torch.long, device=z.device)
    anchor = z[node]
    with torch.no_grad():
        for start in range(0, num_nodes, block):
            stop = min(start + block, num_nodes)
            logits = _block_logits(z, node, anchor, start, stop, decode).float()
            if skip is not None:
                lo, hi = torch.searchsorted(skip, torch.tensor([start, stop], device=z.device))
                logits[skip[lo:hi] - start] = float("-inf")
            take = min(k, stop - start)
            values, where = torch.topk(logits, take)
            best_logit = torch.cat([best_logit, values])
            best_index = torch.cat([best_index, where + start])
            if len(best_logit) > k:
                best_logit, best_index = _best(best_logit, best_index, k)
    best_logit, best_index = _best(best_logit, best_index, k)
    kept = best_logit > float("-inf")
    return TopK(index=best_index[kept], logit=best_logit[kept])


def _block_logits(
    z: torch.Tensor, node: int, anchor: torch.Tensor, start: int, stop: int, decode: Decode | None
) -> torch.Tensor:
    if decode is None:
        return z[start:stop] @ anchor
    candidates = torch.arange(start, stop, device=z.device)
    pairs = torch.stack([torch.full_like(candidates, node), candidates])
    return decode(z, pairs)


def _best(logit: torch.Tensor, index: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` largest logits; equal ones by index, so the result does not depend on order."""
    by_index = torch.argsort(index)
    logit, index = logit[by_index], index[by_index]
    order = torch.argsort(logit, descending=True, stable=True)[:k]
    return logit[order], index[order]


def _sorted_unique(nodes: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    if nodes is None or nodes.numel() == 0:
        return None
    return torch.unique(torch.as_tensor(nodes, dtype=torch.long, device=device))


def pair_logits(
    z: torch.Tensor,
    pairs: torch.Tensor,
    *,
    decode: Decode | None = None,
    block_size: int = DECODER_BLOCK,
) -> torch.Tensor:
    """Logits of ``[2, k]`` node pairs, decoded ``block_size`` pairs at a time.

    Args:
        z (Tensor): ``N x d`` node embeddings.
        pairs (Tensor): ``[2, k]`` node indices.
        decode (callable, optional): ``(z, pairs) -> logits``; ``None``: the
            inner product. (default: ``None``)
        block_size (int, optional): pairs per block. (default: :data:`DECODER_BLOCK`)

    Returns:
        Tensor: ``[k]`` float logits; ``σ(logit)`` is the score.

    """
    pairs = pairs.to(z.device)
    out = torch.empty(pairs.shape[1], dtype=torch.float32, device=z.device)
    with torch.no_grad():
        for start in range(0, pairs.shape[1], block_size):
            block = pairs[:, start : start + block_size]
            if decode is None:
                logits = (z.index_select(0, block[0]) * z.index_select(0, block[1])).sum(-1)
            else:
                logits = decode(z, block)
            out[start : start + block.shape[1]] = logits
    return out
