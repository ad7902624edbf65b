"""Leak-free train/validation/test split of a graph's edges for link prediction.

Follows the protocol of Kipf & Welling (2016) and ``mask_test_edges`` in
tkipf/gae: of the undirected edges, ``floor(E * test_fraction)`` go to test,
``floor(E * val_fraction)`` to validation and the rest to training. Validation
and test get equally many negatives, drawn uniformly from node pairs that are
not edges of the (full) graph. The split then asserts, like the reference code,
that nothing leaks:

* no negative pair is an edge of the graph;
* no pair (in either direction) appears in two of the five sets;
* train + val + test positives are exactly the graph's edges.

The encoder only ever sees ``train_pos`` (:meth:`LinkSplit.train_edge_index`).

:func:`split_nodes` instead holds out *nodes* (a node-inductive split): every
edge touching a test node is a test positive, every other edge touching a
validation node a validation positive, so the held-out nodes are isolated in
the training graph and can only be embedded from their features. Such a split
has ``kind == "inductive"`` and records its held-out nodes;
:func:`check_split` then also checks that each pair touches the right nodes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

_SETS = ("train_pos", "val_pos", "val_neg", "test_pos", "test_neg")
#: held-out edges (split_edges), held-out nodes (split_nodes), or a data set's published
#: split (graphae.data.ogb), kept as published: checked for shapes and node ids only
KINDS = ("edge", "inductive", "official", "pyg")


@dataclass
class LinkSplit:
    """Node pairs of each split as ``[2, k]`` long tensors with ``row < col``.

    ``kind`` is ``"edge"`` (:func:`split_edges`: held-out edges between nodes
    the encoder sees), ``"inductive"`` (:func:`split_nodes`: held-out nodes
    ``val_nodes`` and ``test_nodes``, long tensors, with all their edges),
    ``"pyg"`` (:func:`pyg_link_split`: held-out edges as PyG draws them, whose
    negatives may repeat a pair) or ``"official"`` (a publisher's split, OGB).
    """

    num_nodes: int
    train_pos: torch.Tensor
    val_pos: torch.Tensor
    val_neg: torch.Tensor
    test_pos: torch.Tensor
    test_neg: torch.Tensor
    seed: int | None = None
    kind: str = "edge"
    val_nodes: torch.Tensor | None = None
    test_nodes: torch.Tensor | None = None

    def train_edge_index(self) -> torch.Tensor:
        """Training edges in both directions: the only graph the encoder sees."""
        return torch.cat([self.train_pos, self.train_pos.flip(0)], dim=1)

    def train_val_edge_index(self) -> torch.Tensor:
        """Training and validation edges in both directions.

        The graph PyG's ``RandomLinkSplit`` hands the encoder for scoring the
        test pairs (its ``test_data.edge_index``); see ``TrainConfig.test_graph``.
        """
        known = torch.cat([self.train_pos, self.val_pos], dim=1)
        return torch.cat([known, known.flip(0)], dim=1)

    def pairs(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(positives, negatives)`` of ``"val"`` or ``"test"``."""
        return getattr(self, f"{split}_pos"), getattr(self, f"{split}_neg")

    def counts(self) -> dict[str, int]:
        """Number of pairs in each set."""
        return {s: int(getattr(self, s).shape[1]) for s in _SETS}

    def node_counts(self) -> dict[str, int]:
        """Number of held-out nodes, ``{"val_nodes": .., "test_nodes": ..}``.

        Empty for an edge split, which holds out no node.
        """
        if self.val_nodes is None or self.test_nodes is None:
            return {}
        return {
            "val_nodes": int(self.val_nodes.numel()),
            "test_nodes": int(self.test_nodes.numel()),
        }

    def cold_test_pairs(self) -> int:
        """Number of test positives with an endpoint that has no training edge.

        The encoder sees such an endpoint as an isolated node, so the pair can
        only be predicted from features. Every test positive of an inductive
        split is cold; in an edge split, low-degree nodes can lose all their
        edges to validation and test.
        """
        train = self.train_pos.cpu().numpy()
        degree = np.bincount(train.ravel(), minlength=self.num_nodes)
        test = self.test_pos.cpu().numpy()
        return int(np.count_nonzero((degree[test[0]] == 0) | (degree[test[1]] == 0)))

    def save(self, path: str | Path) -> None:
        """Write the split as a NumPy ``.npz`` file (readable without graphae)."""
        arrays = {s: getattr(self, s).numpy() for s in _SETS}
        for name in ("val_nodes", "test_nodes"):
            nodes = getattr(self, name)
            if nodes is not None:
                arrays[name] = nodes.numpy()
        seed = -1 if self.seed is None else self.seed
        np.savez_compressed(
            path, num_nodes=self.num_nodes, seed=seed, kind=np.array(self.kind), **arrays
        )

    @classmethod
    def load(cls, path: str | Path) -> LinkSplit:
        """Read a split written by :meth:`save` and re-check it.

        Files written before node-inductive splits existed (no ``kind``) load
        as edge splits.
        """
        with np.load(path) as f:
            seed = int(f["seed"])
            nodes = {
                name: torch.from_numpy(f[name]).long()
                for name in ("val_nodes", "test_nodes")
                if name in f.files
            }
            split = cls(
                num_nodes=int(f["num_nodes"]),
                seed=None if seed < 0 else seed,
                kind=str(f["kind"]) if "kind" in f.files else "edge",
                **{s: torch.from_numpy(f[s]).long() for s in _SETS},
                **nodes,
            )
        check_split(split)
        return split


def pair_keys(pairs: torch.Tensor, num_nodes: int) -> np.ndarray:
    """Direction-free integer key ``min * N + max`` of each pair in ``[2, k]``."""
    p = pairs.numpy() if isinstance(pairs, torch.Tensor) else np.asarray(pairs)
    lo, hi = np.minimum(p[0], p[1]).astype(np.int64), np.maximum(p[0], p[1]).astype(np.int64)
    return lo * num_nodes + hi


def _pairs_from_keys(keys: np.ndarray, num_nodes: int) -> torch.Tensor:
    return torch.from_numpy(np.stack([keys // num_nodes, keys % num_nodes])).long()


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values, by one sort.

    Same result as ``np.unique``, whose hash-based path (NumPy >= 2.3) is tens
    of times slower on millions of distinct int64 keys.
    """
    ordered = np.sort(values)
    if len(ordered) == 0:
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def _isin(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_keys)`` for sorted distinct keys, by binary search.

    The queries are sorted first, so the searches walk ``sorted_keys`` in
    order (several times faster than random probes on large arrays).
    """
    if len(values) == 0 or len(sorted_keys) == 0:
        return np.zeros(len(values), dtype=bool)
    order = np.argsort(values)
    queries = values[order]
    at = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    found = np.empty(len(values), dtype=bool)
    found[order] = sorted_keys[at] == queries
    return found


def _first_occurrences(values: np.ndarray) -> np.ndarray:
    """Distinct values in the order of their first occurrence."""
    if len(values) == 0:
        return values
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = order[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
    return values[np.sort(first)]


def _collect_pairs(
    draw: Callable[[int], tuple[np.ndarray, np.ndarray]],
    forbidden: np.ndarray,
    count: int,
    num_nodes: int,
) -> torch.Tensor:
    """Draw candidate pairs until ``count`` distinct ones avoid ``forbidden`` (sorted keys).

    ``draw(size)`` returns up to ``size`` candidate endpoints ``(a, b)``;
    self-pairs, forbidden pairs and repeats are rejected, the first occurrence
    kept, so the result stays in random draw order.
    """
    chosen = np.empty(0, dtype=np.int64)
    while len(chosen) < count:
        a, b = draw(int((count - len(chosen)) * 1.2) + 16)
        keys = np.minimum(a, b) * num_nodes + np.maximum(a, b)
        keys = _first_occurrences(keys[(a != b) & ~_isin(keys, forbidden)])
        keys = keys[~_isin(keys, np.sort(chosen))]
        chosen = np.concatenate([chosen, keys])
    return _pairs_from_keys(chosen[:count], num_nodes)


def undirected_edges(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Unique undirected edges ``[2, E]`` with ``row < col``, self-loops dropped."""
    keys = pair_keys(edge_index.cpu(), num_nodes)
    keys = _unique(keys[keys // num_nodes != keys % num_nodes])
    return _pairs_from_keys(keys, num_nodes)


def split_edges(
    edge_index: torch.Tensor,
    num_nodes: int,
    val_fraction: float = 0.05,
    test_fraction: float = 0.10,
    seed: int = 0,
) -> LinkSplit:
    """Split a graph's edges into train/val/test positives plus equal negatives.

    Args:
        edge_index (Tensor): ``[2, E]`` edges, either or both directions.
        num_nodes (int): number of nodes N.
        val_fraction (float, optional): share of undirected edges for
            validation. (default: ``0.05``)
        test_fraction (float, optional): share for test. (default: ``0.10``)
        seed (int, optional): seeds the permutation and the negatives.
            (default: ``0``)

    Returns:
        LinkSplit: checked by :func:`check_split` before it is returned.

    """
    edges = undirected_edges(edge_index, num_nodes)
    num_edges = edges.shape[1]
    n_test = math.floor(num_edges * test_fraction)
    n_val = math.floor(num_edges * val_fraction)
    if n_val < 1 or n_test < 1 or num_edges - n_val - n_test < 1:
        raise ValueError(
            f"{num_edges} edges are too few for a {val_fraction}/{test_fraction} split"
        )
    rng = np.random.default_rng(seed)
    perm = torch.from_numpy(rng.permutation(num_edges))
    test_pos = edges[:, perm[:n_test]]
    val_pos = edges[:, perm[n_test : n_test + n_val]]
    train_pos = edges[:, perm[n_test + n_val :]]
    negatives = sample_non_edges(pair_keys(edges, num_nodes), num_nodes, n_test + n_val, rng)
    split = LinkSplit(
        num_nodes=num_nodes,
        train_pos=train_pos,
        val_pos=val_pos,
        val_neg=negatives[:, n_test:],
        test_pos=test_pos,
        test_neg=negatives[:, :n_test],
        seed=seed,
    )
    check_split(split, edges)
    return split


def pyg_link_split(
    edge_index: torch.Tensor,
    num_nodes: int,
    val_fraction: float = 0.05,
    test_fraction: float = 0.10,
    seed: int = 0,
) -> LinkSplit:
    """The split PyG's ``RandomLinkSplit`` draws after seeding every generator with ``seed``.

    This is the split of scripts that call ``set_seed(seed)`` (``random``,
    NumPy and torch) and then ``T.RandomLinkSplit(num_val, num_test,
    is_undirected=True, split_labels=True)`` on the undirected graph, as
    MaskGAE's ``train_linkpred.py`` does (seed 2022): the same edges and
    negatives, so a paper's one-split protocol is run on its very split.
    :func:`split_edges` is graphae's own (faster, NumPy-seeded) split; the two
    give different, equally valid splits for one seed. The global random
    generators are restored afterwards.

    Args:
        edge_index (Tensor): ``[2, E]`` edges, either or both directions.
        num_nodes (int): number of nodes N.
        val_fraction (float, optional): share of undirected edges for
            validation. (default: ``0.05``)
        test_fraction (float, optional): share for test. (default: ``0.10``)
        seed (int, optional): the seed given to ``random``, NumPy and torch.
            (default: ``0``)

    Returns:
        LinkSplit: checked by :func:`check_split` before it is returned.

    """
    import torch_geometric.transforms as T  # PyG's alias; imported here, where it is used
    from torch_geometric.data import Data

    edges = undirected_edges(edge_index, num_nodes)
    graph = Data(edge_index=torch.cat([edges, edges.flip(0)], dim=1), num_nodes=num_nodes)
    graph = T.ToUndirected()(graph)  # PyG's edge order, as the scripts load the graph
    saved = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    try:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        splitter = T.RandomLinkSplit(
            num_val=val_fraction,
            num_test=test_fraction,
            is_undirected=True,
            split_labels=True,
            add_negative_train_samples=False,
        )
        train, val, test = splitter(graph)
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.random.set_rng_state(saved[2])

    def canonical(pairs: torch.Tensor) -> torch.Tensor:  # row < col; scores are symmetric
        return pairs.sort(dim=0).values

    split = LinkSplit(
        num_nodes=num_nodes,
        train_pos=canonical(train.pos_edge_label_index),
        val_pos=canonical(val.pos_edge_label_index),
        val_neg=canonical(val.neg_edge_label_index),
        test_pos=canonical(test.pos_edge_label_index),
        test_neg=canonical(test.neg_edge_label_index),
        seed=seed,
        kind="pyg",
    )
    check_split(split, edges)
    return split


def sample_non_edges(
    edge_keys: np.ndarray, num_nodes: int, count: int, rng: np.random.Generator
) -> torch.Tensor:
    """Draw ``count`` distinct node pairs uniformly among the non-edges (no self-pairs).

    Args:
        edge_keys (ndarray): :func:`pair_keys` of every edge to avoid.
        num_nodes (int): number of nodes N.
        count (int): how many pairs.
        rng (Generator): NumPy random generator.

    Returns:
        Tensor: ``[2, count]`` pairs with ``row < col``, in random order.

    """
    forbidden = _unique(edge_keys)
    available = num_nodes * (num_nodes - 1) // 2 - len(forbidden)
    if count > available:
        raise ValueError(f"asked for {count} non-edges but the graph has only {available}")

    def draw(size: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.integers(0, num_nodes, size), rng.integers(0, num_nodes, size)

    return _collect_pairs(draw, forbidden, count, num_nodes)


def split_nodes(
    edge_index: torch.Tensor,
    num_nodes: int,
    val_fraction: float = 0.05,
    test_fraction: float = 0.10,
    seed: int = 0,
) -> LinkSplit:
    r"""Hold out nodes with all their edges: a node-inductive link split.

    ``floor(N * test_fraction)`` test nodes :math:`T` and
    ``floor(N * val_fraction)`` validation nodes :math:`V` are drawn uniformly
    among the nodes with at least one edge (an isolated node has no link to
    hold out). Each undirected edge ``(u, v)`` goes to the set of its most
    held-out endpoint:

    .. math::
        \text{set}(u, v) = \begin{cases}
        \text{test} & u \in T \lor v \in T \\
        \text{val} & \text{else if } u \in V \lor v \in V \\
        \text{train} & \text{otherwise}
        \end{cases}

    so the held-out nodes are isolated in the training graph and are embedded
    from their features alone. Validation and test get as many negatives as
    positives, drawn uniformly among the non-edges that touch a node of their
    set: a test negative has an endpoint in :math:`T`, a validation negative an
    endpoint in :math:`V` and none in :math:`T`.

    Args:
        edge_index (Tensor): ``[2, E]`` edges, either or both directions.
        num_nodes (int): number of nodes N.
        val_fraction (float, optional): share of the N nodes held out for
            validation. (default: ``0.05``)
        test_fraction (float, optional): share held out for test.
            (default: ``0.10``)
        seed (int, optional): seeds the choice of nodes and the negatives.
            (default: ``0``)

    Returns:
        LinkSplit: ``kind == "inductive"``, checked by :func:`check_split`.

    Raises:
        ValueError: too few nodes or edges for the fractions (no held-out node,
            or no train, validation or test positive).

    """
    edges = undirected_edges(edge_index, num_nodes)
    ends = edges.numpy()
    n_test = math.floor(num_nodes * test_fraction)
    n_val = math.floor(num_nodes * val_fraction)
    connected = np.flatnonzero(np.bincount(ends.ravel(), minlength=num_nodes))
    too_few = f"for a {val_fraction}/{test_fraction} node split"
    if n_val < 1 or n_test < 1 or n_val + n_test > len(connected):
        raise ValueError(f"{num_nodes} nodes ({len(connected)} with edges) are too few {too_few}")
    rng = np.random.default_rng(seed)
    held = rng.permutation(connected)[: n_test + n_val]
    test_nodes, val_nodes = np.sort(held[:n_test]), np.sort(held[n_test:])
    role = np.zeros(num_nodes, dtype=np.int8)  # 0 train, 1 val, 2 test
    role[val_nodes], role[test_nodes] = 1, 2
    edge_role = np.maximum(role[ends[0]], role[ends[1]])
    train_pos, val_pos, test_pos = (edges[:, torch.from_numpy(edge_role == r)] for r in range(3))
    if min(train_pos.shape[1], val_pos.shape[1], test_pos.shape[1]) < 1:
        raise ValueError(
            f"{edges.shape[1]} edges are too few {too_few}: "
            f"{train_pos.shape[1]} train, {val_pos.shape[1]} val, {test_pos.shape[1]} test"
        )
    n = num_nodes
    test_neg = sample_non_edges_touching(
        pair_keys(test_pos, n), n, test_nodes, np.arange(n), test_pos.shape[1], rng
    )
    val_neg = sample_non_edges_touching(
        pair_keys(val_pos, n), n, val_nodes, np.flatnonzero(role < 2), val_pos.shape[1], rng
    )
    split = LinkSplit(
        num_nodes=num_nodes,
        train_pos=train_pos,
        val_pos=val_pos,
        val_neg=val_neg,
        test_pos=test_pos,
        test_neg=test_neg,
        seed=seed,
        kind="inductive",
        val_nodes=torch.from_numpy(val_nodes).long(),
        test_nodes=torch.from_numpy(test_nodes).long(),
    )
    check_split(split, edges)
    return split


def sample_non_edges_touching(
    edge_keys: np.ndarray,
    num_nodes: int,
    anchors: np.ndarray,
    partners: np.ndarray,
    count: int,
    rng: np.random.Generator,
) -> torch.Tensor:
    """Draw ``count`` distinct non-edges uniformly among pairs with an endpoint in ``anchors``.

    The allowed pairs are ``{a, b}`` with ``a`` in ``anchors``, ``b`` in
    ``partners`` (which must contain ``anchors``) and ``a != b``. One endpoint
    is drawn uniformly from ``anchors``, the other from ``partners``; a pair of
    two anchors can come either way round, so it is kept with probability 1/2,
    which makes every allowed pair equally likely. Edges and repeats are
    rejected and the rest drawn again.

    Args:
        edge_keys (ndarray): :func:`pair_keys` of every edge among the allowed
            pairs (edges elsewhere cannot be drawn).
        num_nodes (int): number of nodes N.
        anchors (ndarray): nodes of which every pair has at least one.
        partners (ndarray): nodes allowed as the other endpoint.
        count (int): how many pairs.
        rng (Generator): NumPy random generator.

    Returns:
        Tensor: ``[2, count]`` pairs with ``row < col``, in random order.

    """
    anchors, partners = np.asarray(anchors, np.int64), np.asarray(partners, np.int64)
    forbidden = _unique(edge_keys)
    num_a, num_p = len(anchors), len(partners)
    available = num_a * (num_p - num_a) + num_a * (num_a - 1) // 2 - len(forbidden)
    if count > available:
        raise ValueError(f"asked for {count} non-edges but only {available} are allowed")
    is_anchor = np.zeros(num_nodes, dtype=bool)
    is_anchor[anchors] = True

    def draw(size: int) -> tuple[np.ndarray, np.ndarray]:
        a = anchors[rng.integers(0, num_a, size)]
        b = partners[rng.integers(0, num_p, size)]
        keep = ~is_anchor[b] | (rng.random(size) < 0.5)
        return a[keep], b[keep]

    return _collect_pairs(draw, forbidden, count, num_nodes)


def check_split(split: LinkSplit, graph_edges: torch.Tensor | None = None) -> None:
    """Assert the leak-free properties; raise ``ValueError`` naming the first violated one.

    Args:
        split (LinkSplit): the split to check.
        graph_edges (Tensor, optional): all edges of the graph; when given,
            negatives must avoid them and the positives must cover them exactly.
            (default: ``None``: the union of the positives)

    """
    n = split.num_nodes
    keys = {s: pair_keys(getattr(split, s), n) for s in _SETS}
    for s, k in keys.items():
        pairs = getattr(split, s)
        if pairs.dim() != 2 or pairs.shape[0] != 2:
            raise ValueError(f"{s} must have shape [2, k], got {tuple(pairs.shape)}")
        if len(k) and (pairs.min() < 0 or pairs.max() >= n):
            raise ValueError(f"{s} has node ids outside [0, {n})")
        if split.kind == "official":  # repeats, self-pairs, overlaps: the publisher's
            continue
        if np.any(k // n == k % n):
            raise ValueError(f"{s} contains a self-pair")
        repeats_allowed = split.kind == "pyg" and s.endswith("_neg")  # PyG's negative draw
        if len(_unique(k)) != len(k) and not repeats_allowed:
            raise ValueError(f"{s} contains a duplicate pair")
    if split.kind == "official":
        return
    every = np.sort(np.concatenate([_unique(k) for k in keys.values()]))
    shared = every[1:][every[1:] == every[:-1]]
    if len(shared):  # a pair in two sets
        a, b = [s for s in _SETS if (keys[s] == shared[0]).any()][:2]
        raise ValueError(f"{a} and {b} share a pair (leak)")
    positives = np.concatenate([keys["train_pos"], keys["val_pos"], keys["test_pos"]])
    all_edges = _unique(positives if graph_edges is None else pair_keys(graph_edges, n))
    for s in ("val_neg", "test_neg"):
        if _isin(keys[s], all_edges).any():
            raise ValueError(f"{s} contains an edge of the graph")
    if graph_edges is not None and not np.array_equal(np.sort(positives), all_edges):
        raise ValueError("train + val + test positives are not exactly the graph's edges")
    for s in ("val", "test"):
        if len(keys[f"{s}_pos"]) != len(keys[f"{s}_neg"]):
            raise ValueError(f"{s} has unequal numbers of positives and negatives")
    if split.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {split.kind!r}")
    if split.kind == "inductive":
        _check_held_out_nodes(split)


def _check_held_out_nodes(split: LinkSplit) -> None:
    """The node-inductive checks of :func:`check_split`: each pair touches the right nodes."""
    n = split.num_nodes
    if split.val_nodes is None or split.test_nodes is None:
        raise ValueError("an inductive split needs val_nodes and test_nodes")
    role = np.zeros(n, dtype=np.int8)  # 0 train, 1 val, 2 test
    for name, r in (("val_nodes", 1), ("test_nodes", 2)):
        nodes = getattr(split, name).cpu().numpy()
        if len(nodes) and (nodes.min() < 0 or nodes.max() >= n):
            raise ValueError(f"{name} has node ids outside [0, {n})")
        if len(_unique(nodes)) != len(nodes) or (role[nodes] != 0).any():
            raise ValueError(f"{name} repeats a node or shares one with val_nodes")
        role[nodes] = r
    for s in _SETS:
        pairs = getattr(split, s).cpu().numpy()
        low = np.minimum(role[pairs[0]], role[pairs[1]])
        high = np.maximum(role[pairs[0]], role[pairs[1]])
        if s == "train_pos" and (high > 0).any():
            raise ValueError("train_pos touches a held-out node (leak)")
        if s.startswith("val") and ((high != 1) | (low == 2)).any():
            raise ValueError(f"{s} has a pair without a val node or with a test node")
        if s.startswith("test") and (high != 2).any():
            raise ValueError(f"{s} has a pair without a test node")
