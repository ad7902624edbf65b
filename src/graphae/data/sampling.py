"""Neighbour sampling for mini-batch training: per-layer bipartite blocks with GCN weights.

Node-wise sampling of GraphSAGE (Hamilton, Ying & Leskovec, "Inductive
Representation Learning on Large Graphs", NeurIPS 2017,
https://arxiv.org/abs/1706.02216) with the GCN weights of the *full*
training graph, rescaled so that each sampled row is an unbiased estimate of
the full row (as in Chen, Zhu & Song, "Stochastic Training of Graph
Convolutional Networks with Variance Reduction", ICML 2018,
https://arxiv.org/abs/1710.10568). For a destination node ``v`` with ``d_v``
neighbours of which ``S(v)`` were sampled (uniformly, without replacement,
``|S(v)| = min(d_v, fanout)``):

.. math::
    \\tilde{A}_{vu} = \\frac{d_v}{|S(v)|}\\, \\hat{A}_{vu} \\ (u \\in S(v)), \\qquad
    \\tilde{A}_{vv} = \\hat{A}_{vv}, \\qquad
    \\mathbb{E}\\big[\\tilde{A}_{v\\cdot} H\\big] = \\hat{A}_{v\\cdot} H

with ``Â = D^{-1/2}(A + I)D^{-1/2}`` of the training graph (its weights, if
any). When ``d_v <= fanout`` every neighbour is taken and the row *is*
``Â``'s: with fanouts at or above the largest degree, a forward pass over the
blocks gives the full-graph rows of the seeds.

Blocks follow PyG's convention: a block maps features of its ``nodes``
(source nodes, the destination nodes first) to its ``num_dst`` destination
nodes; :meth:`NeighborSampler.sample` returns them input layer first.
Everything is vectorised (no Python loop over nodes or edges); the random
choices come from the generator passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from graphae.sparse import csr


@dataclass(frozen=True)
class Block:
    """One sampled hop: an ``num_dst x len(nodes)`` sparse CSR matrix of GCN weights.

    Attributes:
        adj: the block's weights ``Ã`` (destination rows, source columns), CSR.
        nodes: global ids of the source nodes; the first ``num_dst`` are the
            destination nodes, in order.
        num_dst: number of destination nodes.

    """

    adj: torch.Tensor
    nodes: torch.Tensor
    num_dst: int

    def to(self, device: torch.device | str) -> Block:
        """The block with its matrix on ``device`` (the ids stay where they are)."""
        return Block(self.adj.to(device), self.nodes, self.num_dst)


class NeighborSampler:
    """Samples per-layer blocks from a training graph's normalised adjacency ``Â``.

    Keeps ``Â`` without its diagonal as CSR (``int64`` row pointers, ``int32``
    columns where the node count allows) and the diagonal ``Â_vv`` apart.

    Args:
        adj (Tensor): ``N x N`` normalised adjacency with self-loops, sparse
            CSR (:func:`graphae.data.gcn_adjacency` of the training edges).

    """

    def __init__(self, adj: torch.Tensor) -> None:
        n = int(adj.shape[0])
        crow, col, values = adj.crow_indices().long(), adj.col_indices().long(), adj.values()
        row = torch.repeat_interleave(torch.arange(n, device=col.device), crow.diff())
        loop = row == col
        self.num_nodes = n
        self.self_weight = torch.zeros(n, dtype=values.dtype).index_add_(
            0, row[loop].cpu(), values[loop].cpu()
        )
        off = ~loop
        self.degree = torch.bincount(row[off].cpu(), minlength=n)
        self.rowptr = torch.zeros(n + 1, dtype=torch.long)
        torch.cumsum(self.degree, 0, out=self.rowptr[1:])
        self.col = col[off].cpu().to(torch.int32 if n < 2**31 else torch.long)
        self.weight = values[off].cpu()

    @property
    def max_degree(self) -> int:
        """The largest number of neighbours of a node (a fanout from here on takes all)."""
        return int(self.degree.max()) if self.num_nodes else 0

    def sample(
        self,
        seeds: torch.Tensor,
        fanouts: Sequence[int],
        generator: torch.Generator | None = None,
    ) -> list[Block]:
        """Blocks for ``len(fanouts)`` hops around ``seeds``, the input layer's first.

        Args:
            seeds (Tensor): distinct node ids whose outputs are wanted.
            fanouts (sequence of int): neighbours sampled per node at each hop,
                from the seeds outward (PyG's ``num_neighbors`` order); ``-1``: all.
            generator (Generator, optional): source of the random choices.

        Returns:
            list[Block]: ``blocks[-1]``'s destination nodes are ``seeds``;
            ``blocks[i]``'s destination nodes are ``blocks[i + 1].nodes``.

        """
        nodes = seeds.long().cpu()
        blocks: list[Block] = []
        for fanout in fanouts:
            block = self._hop(nodes, int(fanout), generator)
            blocks.append(block)
            nodes = block.nodes
        return blocks[::-1]

    def _hop(self, dst: torch.Tensor, fanout: int, generator: torch.Generator | None) -> Block:
        """The block from ``dst``'s sampled neighbours (and ``dst`` itself) to ``dst``."""
        num_dst = len(dst)
        degree = self.degree.index_select(0, dst)
        total = int(degree.sum())
        local_row = torch.repeat_interleave(torch.arange(num_dst), degree, output_size=total)
        row_start = torch.cumsum(degree, 0) - degree  # first edge of each row in this list
        offset = torch.arange(total) - row_start.index_select(0, local_row)
        edge = self.rowptr.index_select(0, dst).index_select(0, local_row) + offset
        taken = degree if fanout < 0 else degree.clamp(max=fanout)
        if fanout >= 0 and bool((degree > fanout).any()):
            keep = _sample_rows(local_row, offset, degree, fanout, generator)
            local_row, edge = local_row[keep], edge[keep]
        # d_v / |S(v)|: 1 where every neighbour was taken, so those rows are Â's exactly
        scale = degree.to(self.weight.dtype) / taken.clamp(min=1).to(self.weight.dtype)
        values = self.weight.index_select(0, edge) * scale.index_select(0, local_row)
        nodes, src = _relabel(dst, self.col.index_select(0, edge).long())
        loops = torch.arange(num_dst)
        rows = torch.cat([local_row, loops])
        cols = torch.cat([src, loops])
        values = torch.cat([values, self.self_weight.index_select(0, dst)])
        order = torch.argsort(rows * len(nodes) + cols)
        rows, cols, values = rows[order], cols[order], values[order]
        crow = torch.zeros(num_dst + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(rows, minlength=num_dst), 0, out=crow[1:])
        small = len(nodes) < 2**31 and len(values) < 2**31
        index = torch.int32 if small else torch.long
        adj = csr(crow.to(index), cols.to(index), values, (num_dst, len(nodes)))
        return Block(adj, nodes, num_dst)


def _sample_rows(
    local_row: torch.Tensor,
    offset: torch.Tensor,
    degree: torch.Tensor,
    fanout: int,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Which of the listed edges to keep: all of rows up to ``fanout``, ``fanout`` of the others.

    The edges of each row of more than ``fanout`` are put in a uniformly
    random order (one sort of ``row + U[0, 1)``, which keeps the rows
    grouped) and the first ``fanout`` kept: a uniform sample without
    replacement.
    """
    heavy = degree.index_select(0, local_row) > fanout
    keep = ~heavy
    listed = heavy.nonzero().squeeze(1)
    if len(listed) == 0:
        return keep
    rows = local_row.index_select(0, listed)
    noise = torch.rand(len(listed), generator=generator, dtype=torch.float64)
    order = torch.argsort(rows.double() + noise, stable=True)
    # rows stay grouped in the same places, so position p of the sorted list is in
    # row rows[p], at rank offset[listed[p]] within it
    chosen = listed.index_select(0, order)[offset.index_select(0, listed) < fanout]
    keep[chosen] = True
    return keep


def _relabel(dst: torch.Tensor, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Source node ids (``dst`` first, then new ones by first appearance) and ``src``'s local ids.

    ``dst`` must be distinct. No array of size N: one ``unique`` of the listed ids.
    """
    listed = torch.cat([dst, src])
    unique, inverse = torch.unique(listed, return_inverse=True)
    first = torch.full((len(unique),), len(listed), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(len(listed)), reduce="amin")
    order = torch.argsort(first)  # by first appearance: the destinations first, in order
    local = torch.empty_like(order)
    local[order] = torch.arange(len(order))
    return unique.index_select(0, order), local.index_select(0, inverse[len(dst) :])


def gather_rows(x: torch.Tensor | None, nodes: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The feature rows of ``nodes``: dense, sparse CSR, or one-hot rows for identity features.

    Identity features (``x`` is ``None``) become the ``len(nodes) x N`` sparse
    one-hot rows of ``nodes``, so ``X_B W = W[nodes]`` and dropout on them drops
    whole rows of ``W``, as :class:`~graphae.nn.layers.GraphConv` does on ``I``.
    """
    count = len(nodes)
    if x is None:
        crow = torch.arange(count + 1, dtype=torch.long)
        values = torch.ones(count)
        small = num_nodes < 2**31
        index = torch.int32 if small else torch.long
        return csr(crow.to(index), nodes.to(index), values, (count, num_nodes))
    nodes = nodes.to(x.device)
    if x.layout == torch.strided:
        return x.index_select(0, nodes)
    crow, col = x.crow_indices().long(), x.col_indices()
    start = crow.index_select(0, nodes)
    lengths = crow.index_select(0, nodes + 1) - start
    total = int(lengths.sum())
    row = torch.repeat_interleave(torch.arange(count, device=x.device), lengths, output_size=total)
    new_crow = torch.zeros(count + 1, dtype=torch.long, device=x.device)
    torch.cumsum(lengths, 0, out=new_crow[1:])
    entry = start.index_select(0, row) + torch.arange(total, device=x.device) - new_crow[row]
    index_dtype = x.crow_indices().dtype
    return csr(
        new_crow.to(index_dtype),
        col.index_select(0, entry),
        x.values().index_select(0, entry),
        (count, int(x.shape[1])),
    )
