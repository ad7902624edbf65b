"""Edge masking, a training-time transform of the graph the encoder sees.

Li et al., "What's Behind the Mask: Understanding Masked Graph Modeling for
Graph Autoencoders" (MaskGAE, KDD 2023), https://arxiv.org/abs/2205.10053:
every step, a share of the training edges is masked; the encoder sees the
graph without them and the decoder learns to reconstruct them. Two masks:

* :class:`EdgeMask`: a uniform share ``ρ`` of the undirected training edges;
* :class:`PathMask`: the edges of random walks of ``L`` steps, one walk
  started on each of a uniform share ``ρ`` of the edges (from a random end,
  along that edge first). Walks mask about ``1 - (1 - ρ) e^{-ρ(L-1)}`` of
  the edges (Cora, ``ρ = 0.5``, ``L = 2``: 70%).

* :class:`DirectedEdgeMask`: what MaskGAE's code does: a share ``ρ`` of the
  edges' *directions*; an edge leaves the encoder's graph only when both
  its directions are masked (a share ``ρ²``), and every masked direction is
  a target (``2ρE`` targets, of which the edges with one masked direction
  stay visible to the encoder).

:class:`EdgeMask` and :class:`PathMask` act on undirected edges: the targets
are exactly the edges the encoder does not see.

:class:`TrainingGraph` holds the training edges indexed once so that a
masked graph's normalised adjacency ``Â = D^{-1/2}(A + I)D^{-1/2}`` is a
few vectorised passes (no sort, no coalescing) per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from graphae.sparse import csr


class TrainingGraph:
    """Undirected training edges with the pattern of ``Â`` and the tables for random walks.

    Args:
        edge_index (Tensor): ``[2, 2E]`` training edges, both directions of
            each, no self-loops (a :class:`~graphae.data.LinkSplit`'s
            ``train_edge_index()``).
        num_nodes (int): N.
        edge_weight (Tensor, optional): one positive weight per entry of
            ``edge_index``, equal for both directions. (default: ``None``: all 1)

    Attributes:
        edges: ``[2, E]`` the undirected edges, ``u < v``; a mask is a boolean
            vector over them.
        num_nodes: N.

    Raises:
        ValueError: ``edge_index`` has self-loops or lacks a direction of some edge.

    """

    def __init__(
        self, edge_index: torch.Tensor, num_nodes: int, edge_weight: torch.Tensor | None = None
    ) -> None:
        edge_index = edge_index.cpu()
        row, col = edge_index
        upper = row < col
        if bool((row == col).any()) or 2 * int(upper.sum()) != edge_index.shape[1]:
            raise ValueError("training edges must hold both directions of each edge, no self-loops")
        self.num_nodes = n = num_nodes
        self.edges = edge_index[:, upper]
        u, v = self.edges
        count = self.edges.shape[1]
        weight = torch.ones(count) if edge_weight is None else edge_weight.cpu()[upper].float()
        loops = torch.arange(n)
        # the entries of Â's pattern, sorted by (row, col): both directions of every
        # edge, then the self-loops; each knows its undirected edge (loops: `count`)
        rows, cols = torch.cat([u, v, loops]), torch.cat([v, u, loops])
        ids = torch.cat([torch.arange(count).repeat(2), torch.full((n,), count)])
        order = torch.argsort(rows * n + cols)
        self.row, self.col, self.entry_edge = rows[order], cols[order], ids[order]
        self.entry_weight = torch.cat([weight, weight, torch.ones(n)])[order]
        # random walks: each node's incident edges, without the self-loops
        not_loop = self.entry_edge < count
        walk_rows = self.row[not_loop]
        self.walk_next, self.walk_edge = self.col[not_loop], self.entry_edge[not_loop]
        self.walk_ptr = torch.zeros(n + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(walk_rows, minlength=n), 0, out=self.walk_ptr[1:])

    @property
    def num_edges(self) -> int:
        """Number of undirected edges E."""
        return int(self.edges.shape[1])

    def adjacency(self, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``Â`` of the graph of the kept edges, as sparse CSR (int32 indices).

        .. math::
            \\hat{A} = D^{-1/2} (A + I) D^{-1/2}, \\qquad D_{ii} = \\sum_j (A + I)_{ij}

        The same matrix as :func:`graphae.data.gcn_adjacency` of those edges
        (bit for bit without weights: the same operations in the same order).

        Args:
            keep (Tensor, optional): ``[E]`` boolean, the edges to keep. (default: all)

        """
        n = self.num_nodes
        if keep is None:
            row, col, weight = self.row, self.col, self.entry_weight
        else:
            entry_keep = torch.cat([keep, keep.new_ones(1)])[self.entry_edge]
            row, col = self.row[entry_keep], self.col[entry_keep]
            weight = self.entry_weight[entry_keep]
        degree = torch.zeros(n).index_add_(0, col, weight)
        inv_sqrt = degree.pow_(-0.5)
        inv_sqrt.masked_fill_(inv_sqrt == float("inf"), 0.0)
        values = inv_sqrt[row] * weight * inv_sqrt[col]
        crow = torch.zeros(n + 1, dtype=torch.int32)
        torch.cumsum(torch.bincount(row, minlength=n), 0, out=crow[1:])
        return csr(crow, col.int(), values, (n, n))


@dataclass(frozen=True)
class MaskDraw:
    """One step's mask.

    Attributes:
        hidden: ``[E]`` boolean, the edges left out of the encoder's graph.
        targets: ``[2, k]`` the edges to reconstruct (``u < v``).
        weight: ``[k]`` how many times each target counts (``None``: once each).
        ends: the node that receives each masked direction (both ends of an
            undirected target), whose counts are the degree decoder's targets.

    """

    hidden: torch.Tensor
    targets: torch.Tensor
    weight: torch.Tensor | None
    ends: torch.Tensor

    @classmethod
    def undirected(cls, graph: TrainingGraph, hidden: torch.Tensor) -> MaskDraw:
        """The draw whose targets are exactly the ``hidden`` edges."""
        targets = graph.edges[:, hidden]
        return cls(hidden, targets, None, targets.reshape(-1))


class EdgeMask:
    """Mask ``round(ρ E)`` of the ``E`` undirected training edges, uniformly (MaskGAE's edge mask).

    Args:
        ratio (float): the share ``ρ`` in ``[0, 1]``.

    """

    kind = "edge"

    def __init__(self, ratio: float) -> None:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
        self.ratio = ratio

    def __call__(self, graph: TrainingGraph, generator: torch.Generator) -> torch.Tensor:
        """``[E]`` boolean: which edges are masked."""
        count = graph.num_edges
        masked = torch.zeros(count, dtype=torch.bool)
        masked[torch.randperm(count, generator=generator)[: round(self.ratio * count)]] = True
        return masked

    def draw(self, graph: TrainingGraph, generator: torch.Generator) -> MaskDraw:
        """The hidden edges, which are the targets."""
        return MaskDraw.undirected(graph, self(graph, generator))

    def __repr__(self) -> str:
        return f"EdgeMask(ratio={self.ratio})"


class DirectedEdgeMask:
    """Mask ``round(2ρE)`` of the ``2E`` edge directions, uniformly (MaskGAE's code).

    MaskGAE's ``MaskEdge`` masks the entries of a symmetric ``edge_index``
    independently and makes the rest undirected again: an edge is hidden
    from the encoder when both its directions are masked, and each masked
    direction is a reconstruction target, so an edge with one masked
    direction is a target the encoder still sees, and one with both counts
    twice. Here the targets are the edges with a masked direction, weighted
    by their number of masked directions (the same loss, each logit once).

    Args:
        ratio (float): the share ``ρ`` of directions, in ``[0, 1]``.

    """

    kind = "directed"

    def __init__(self, ratio: float) -> None:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
        self.ratio = ratio

    def directions(
        self, graph: TrainingGraph, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``[E]`` booleans: whether ``u -> v`` and whether ``v -> u`` is masked (``u < v``)."""
        count = graph.num_edges
        masked = torch.zeros(2 * count, dtype=torch.bool)
        chosen = torch.randperm(2 * count, generator=generator)[: round(self.ratio * 2 * count)]
        masked[chosen] = True
        return masked[:count], masked[count:]

    def __call__(self, graph: TrainingGraph, generator: torch.Generator) -> torch.Tensor:
        """``[E]`` boolean: which edges are hidden (both directions masked)."""
        forward, backward = self.directions(graph, generator)
        return forward & backward

    def draw(self, graph: TrainingGraph, generator: torch.Generator) -> MaskDraw:
        """Hidden edges, and every edge with a masked direction as a target."""
        forward, backward = self.directions(graph, generator)
        either = forward | backward
        weight = (forward.float() + backward.float())[either]
        u, v = graph.edges
        ends = torch.cat([v[forward], u[backward]])  # u -> v is received by v
        return MaskDraw(forward & backward, graph.edges[:, either], weight, ends)

    def __repr__(self) -> str:
        return f"DirectedEdgeMask(ratio={self.ratio})"


class PathMask:
    """Mask the edges of random walks (MaskGAE's path mask).

    ``round(ρ E)`` distinct edges are drawn uniformly; from a random end of
    each, a walk crosses that edge, then takes ``L - 1`` further steps, each
    to a uniformly drawn neighbour (backtracking allowed, node2vec with
    ``p = q = 1``). Every edge a walk crosses is masked.

    Args:
        ratio (float): the share ``ρ`` of edges that start a walk, in ``[0, 1]``.
        walk_length (int): steps per walk ``L >= 1`` (MaskGAE: encoder layers + 1).

    """

    kind = "path"

    def __init__(self, ratio: float, walk_length: int) -> None:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
        if walk_length < 1:
            raise ValueError(f"walk length must be at least 1, got {walk_length}")
        self.ratio, self.walk_length = ratio, walk_length

    def walks(self, graph: TrainingGraph, generator: torch.Generator) -> torch.Tensor:
        """``[W, L]`` the undirected edge ids crossed by each walk, in order.

        Consecutive edges of a walk share a node (the walk's position).
        """
        count = graph.num_edges
        first = torch.randperm(count, generator=generator)[: round(self.ratio * count)]
        side = torch.randint(0, 2, (len(first),), generator=generator)
        # cross the first edge from the drawn end: stand on its other end
        here = graph.edges[1 - side, first]
        steps = [first]
        for _ in range(self.walk_length - 1):
            start = graph.walk_ptr[here]
            degree = graph.walk_ptr[here + 1] - start  # >= 1: `here` was reached by an edge
            offset = (torch.rand(len(here), generator=generator) * degree).long()
            entry = start + torch.minimum(offset, degree - 1)
            steps.append(graph.walk_edge[entry])
            here = graph.walk_next[entry]
        return torch.stack(steps, dim=1)

    def __call__(self, graph: TrainingGraph, generator: torch.Generator) -> torch.Tensor:
        """``[E]`` boolean: which edges are masked (crossed by a walk)."""
        masked = torch.zeros(graph.num_edges, dtype=torch.bool)
        masked[self.walks(graph, generator).reshape(-1)] = True
        return masked

    def draw(self, graph: TrainingGraph, generator: torch.Generator) -> MaskDraw:
        """The hidden edges, which are the targets."""
        return MaskDraw.undirected(graph, self(graph, generator))

    def __repr__(self) -> str:
        return f"PathMask(ratio={self.ratio}, walk_length={self.walk_length})"


Mask = EdgeMask | DirectedEdgeMask | PathMask

#: mask name -> class (``"none"``: no mask, every training edge is a target)
MASKS: dict[str, type[Mask]] = {"edge": EdgeMask, "directed": DirectedEdgeMask, "path": PathMask}


def make_mask(kind: str, ratio: float, walk_length: int = 2) -> Mask | None:
    """The mask named ``kind`` (``"none"``: ``None``)."""
    if kind == "none":
        return None
    if kind == "path":
        return PathMask(ratio, walk_length)
    if kind in MASKS:
        return MASKS[kind](ratio)  # type: ignore[call-arg]
    raise ValueError(f"mask must be one of none, {', '.join(MASKS)}; got {kind!r}")
