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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

_SETS = ("train_pos", "val_pos", "val_neg", "test_pos", "test_neg")


@dataclass
class LinkSplit:
    """Node pairs of each split as ``[2, k]`` long tensors with ``row < col``."""

    num_nodes: int
    train_pos: torch.Tensor
    val_pos: torch.Tensor
    val_neg: torch.Tensor
    test_pos: torch.Tensor
    test_neg: torch.Tensor
    seed: int | None = None

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

    def save(self, path: str | Path) -> None:
        """Write the split as a NumPy ``.npz`` file (readable without graphae)."""
        arrays = {s: getattr(self, s).numpy() for s in _SETS}
        seed = -1 if self.seed is None else self.seed
        np.savez_compressed(path, num_nodes=self.num_nodes, seed=seed, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> LinkSplit:
        """Read a split written by :meth:`save` and re-check it."""
        with np.load(path) as f:
            seed = int(f["seed"])
            split = cls(
                num_nodes=int(f["num_nodes"]),
                seed=None if seed < 0 else seed,
                **{s: torch.from_numpy(f[s]).long() for s in _SETS},
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


def undirected_edges(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Unique undirected edges ``[2, E]`` with ``row < col``, self-loops dropped."""
    keys = pair_keys(edge_index.cpu(), num_nodes)
    keys = np.unique(keys[keys // num_nodes != keys % num_nodes])
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
    available = num_nodes * (num_nodes - 1) // 2 - len(np.unique(edge_keys))
    if count > available:
        raise ValueError(f"asked for {count} non-edges but the graph has only {available}")
    forbidden = np.unique(edge_keys)
    chosen = np.empty(0, dtype=np.int64)
    while len(chosen) < count:
        draw = int((count - len(chosen)) * 1.2) + 16
        a = rng.integers(0, num_nodes, draw)
        b = rng.integers(0, num_nodes, draw)
        keys = np.minimum(a, b) * num_nodes + np.maximum(a, b)
        keys = keys[(a != b) & ~np.isin(keys, forbidden)]
        # keep first occurrences only, in draw order, so the result stays random
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
        keys = keys[~np.isin(keys, chosen)]
        chosen = np.concatenate([chosen, keys])
    return _pairs_from_keys(chosen[:count], num_nodes)


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
        if np.any(k // n == k % n):
            raise ValueError(f"{s} contains a self-pair")
        if len(np.unique(k)) != len(k):
            raise ValueError(f"{s} contains a duplicate pair")
    for i, a in enumerate(_SETS):
        for b in _SETS[i + 1 :]:
            if np.isin(keys[a], keys[b]).any():
                raise ValueError(f"{a} and {b} share a pair (leak)")
    positives = np.concatenate([keys["train_pos"], keys["val_pos"], keys["test_pos"]])
    all_edges = positives if graph_edges is None else pair_keys(graph_edges, n)
    for s in ("val_neg", "test_neg"):
        if np.isin(keys[s], all_edges).any():
            raise ValueError(f"{s} contains an edge of the graph")
    if graph_edges is not None and not np.array_equal(np.sort(positives), np.unique(all_edges)):
        raise ValueError("train + val + test positives are not exactly the graph's edges")
    for s in ("val", "test"):
        if len(keys[f"{s}_pos"]) != len(keys[f"{s}_neg"]):
            raise ValueError(f"{s} has unequal numbers of positives and negatives")
