"""Synthetic graphs for tests, examples and scale benchmarks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph


def planted_partition(
    num_blocks: int = 4,
    block_size: int = 50,
    p_in: float = 0.3,
    p_out: float = 0.01,
    num_features: int = 16,
    feature_noise: float = 1.0,
    seed: int = 0,
) -> Data:
    """A planted-partition (stochastic block model) graph with block-informative features.

    Nodes in the same block connect with probability ``p_in``, others with
    ``p_out`` (PyG's :func:`stochastic_blockmodel_graph`). Features are a
    noisy one-hot of the block, projected to ``num_features`` dimensions.

    Args:
        num_blocks (int, optional): number of communities. (default: ``4``)
        block_size (int, optional): nodes per community. (default: ``50``)
        p_in (float, optional): within-block edge probability. (default: ``0.3``)
        p_out (float, optional): between-block edge probability. (default: ``0.01``)
        num_features (int, optional): feature width. (default: ``16``)
        feature_noise (float, optional): std of the Gaussian noise. (default: ``1.0``)
        seed (int, optional): random seed. (default: ``0``)

    Returns:
        Data: ``x``, ``edge_index`` (both directions), ``y`` (block ids), ``name``.

    """
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        probs = torch.full((num_blocks, num_blocks), p_out)
        probs.fill_diagonal_(p_in)
        edge_index = stochastic_blockmodel_graph([block_size] * num_blocks, probs)
        y = torch.arange(num_blocks).repeat_interleave(block_size)
        projection = torch.randn(num_blocks, num_features)
        x = projection[y] + feature_noise * torch.randn(len(y), num_features)
    finally:
        torch.random.set_rng_state(state)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=len(y), name="planted")


def social_graph(
    num_nodes: int,
    num_edges: int,
    *,
    num_communities: int | None = None,
    mixing: float = 0.1,
    degree_exponent: float = 2.5,
    isolated_fraction: float = 0.0,
    num_features: int = 0,
    feature_noise: float = 1.0,
    sparse_features: bool = False,
    words_per_node: int = 16,
    seed: int = 0,
) -> Data:
    """A social-network-like graph: degree-corrected planted partition with hubs.

    Every node belongs to one of ``num_communities`` planted communities (of
    heavy-tailed sizes) and has an expected-degree weight ``θ`` drawn from a
    Pareto law, so degrees follow a power law with ``P(k) ∝ k^-degree_exponent``
    and a few hubs exist. Edges are drawn as in a degree-corrected stochastic
    block model (Karrer & Newman, 2011), https://arxiv.org/abs/1008.3926:

    .. math::
        P(\\{i, j\\}) \\propto \\theta_i \\theta_j \\cdot
        \\begin{cases} (1 - \\mu) / \\Theta_c & c_i = c_j = c \\\\
        \\mu / \\Theta & c_i \\neq c_j \\end{cases}

    with ``μ = mixing``, ``Θ_c`` the weight of community ``c`` and ``Θ`` the
    total, so a node's expected degree is proportional to its ``θ`` whatever
    its community. First every non-isolated node gets one edge to a partner
    drawn the same way (so none is left without edges by chance; low-degree
    nodes that pick each other form small components); the rest are drawn in
    a few rounds until exactly ``num_edges`` distinct undirected edges exist.
    A share ``isolated_fraction`` of the nodes gets no edges at all.

    Features (``num_features > 0``) carry a noisy community signal: dense
    ``x = centroid[y] + feature_noise · ε`` with Gaussian centroids and noise,
    or with ``sparse_features`` a binary bag of words (sparse CSR) where each
    node draws ``words_per_node`` words, each from its community's topic
    (``num_features // num_communities`` words of its own) with probability
    ``1 / (1 + feature_noise)`` and from the whole vocabulary otherwise.

    Everything is vectorised (numpy) and drawn from its own generator; the
    global torch and numpy random states are left untouched. Measured on a
    busy 2-core machine: 0.4–0.6 s for 100k nodes / 1M edges, ~7 s for 1M
    nodes / 10M edges, ~17 s (2.9 GiB peak) for 1M nodes / 30M edges, 26 s
    (4.5 GiB peak, 2.4 GiB of it the result) for ogbl-citation2's size, 2.9M
    nodes / 30M edges with 128 dense float32 features.

    Args:
        num_nodes (int): number of nodes N.
        num_edges (int): number of undirected edges (``edge_index`` holds
            twice as many columns, one per direction).
        num_communities (int, optional): planted communities; ``None`` gives
            ``max(2, round(sqrt(N / 10)))``, e.g. 14 for 2,000 nodes and 100
            for 100,000. (default: ``None``)
        mixing (float, optional): share of edges drawn between
            communities, in ``[0, 1]``; a little more end up there, as
            repeats (removed) are likelier inside. (default: ``0.1``)
        degree_exponent (float, optional): power-law exponent ``γ > 1`` of
            the degree distribution; social networks have ``2 < γ < 3``,
            smaller means heavier hubs. (default: ``2.5``)
        isolated_fraction (float, optional): share of nodes without any
            edge, in ``[0, 1)``; every other node has at least one as long
            as ``num_edges`` is at least their number. (default: ``0.0``)
        num_features (int, optional): feature width; ``0`` gives ``x=None``.
            (default: ``0``)
        feature_noise (float, optional): noise-to-signal ratio of the
            features (Gaussian std; for bag of words, off-topic words per
            topic word). (default: ``1.0``)
        sparse_features (bool, optional): binary bag-of-words features as a
            sparse CSR tensor instead of dense Gaussian ones (for large
            graphs). (default: ``False``)
        words_per_node (int, optional): word draws per node for bag-of-words
            features (repeats collapse). (default: ``16``)
        seed (int, optional): random seed. (default: ``0``)

    Returns:
        Data: ``edge_index`` (``[2, 2 * num_edges]``, both directions, no
        self-loops or duplicates), ``x`` (``N x num_features`` or ``None``),
        ``y`` (community of each node), ``num_nodes`` and ``name="social"``.

    Raises:
        ValueError: invalid settings, or more edges than the non-isolated
            nodes can hold (at most half of all their pairs).

    """
    rng = np.random.default_rng(seed)
    if num_communities is None:
        num_communities = max(2, round(math.sqrt(num_nodes / 10)))
    num_isolated = round(isolated_fraction * num_nodes)
    _check_social_settings(
        num_nodes, num_edges, num_communities, mixing, degree_exponent, isolated_fraction,
        num_isolated, num_features, words_per_node,
    )  # fmt: skip
    # nodes are handled by "position" (sorted by community) and relabelled at the end
    sizes = _community_sizes(rng, num_nodes, num_communities)
    community = np.repeat(np.arange(num_communities), sizes)
    theta = (1.0 - rng.random(num_nodes)) ** (-1.0 / (degree_exponent - 1.0))
    theta[rng.choice(num_nodes, num_isolated, replace=False)] = 0.0
    active = np.flatnonzero(theta)
    theta = _cap_weights(theta, num_edges, len(active))
    sampler = _NodeSampler(theta, community, sizes, rng)

    sources = active if num_edges >= len(active) else rng.choice(active, num_edges, replace=False)
    backbone = _pair_keys(sources, sampler.partners(community[sources], mixing), num_nodes)
    keys = _fill_edges(_sorted_unique(backbone), num_edges, mixing, sampler, rng)

    labels = rng.permutation(num_nodes)  # position -> node id
    y = np.empty(num_nodes, dtype=np.int64)
    y[labels] = community
    edge_index = np.empty((2, 2 * num_edges), dtype=np.int64)
    edge_index[0, :num_edges] = edge_index[1, num_edges:] = labels[keys // num_nodes]
    edge_index[1, :num_edges] = edge_index[0, num_edges:] = labels[keys % num_nodes]
    x = None
    if num_features > 0:
        x = _community_features(
            rng, y, num_communities, num_features, feature_noise, sparse_features, words_per_node
        )
    return Data(
        x=x,
        edge_index=torch.from_numpy(edge_index),
        y=torch.from_numpy(y),
        num_nodes=num_nodes,
        name="social",
    )


def _check_social_settings(
    num_nodes: int,
    num_edges: int,
    num_communities: int,
    mixing: float,
    degree_exponent: float,
    isolated_fraction: float,
    num_isolated: int,
    num_features: int,
    words_per_node: int,
) -> None:
    if num_nodes < 2 or num_edges < 1:
        raise ValueError(f"need num_nodes >= 2 and num_edges >= 1, got {num_nodes}, {num_edges}")
    if not 1 <= num_communities <= num_nodes:
        raise ValueError(f"num_communities must be in [1, {num_nodes}], got {num_communities}")
    if not 0.0 <= mixing <= 1.0:
        raise ValueError(f"mixing must be in [0, 1], got {mixing}")
    if not degree_exponent > 1.0:
        raise ValueError(f"degree_exponent must be > 1, got {degree_exponent}")
    if not 0.0 <= isolated_fraction < 1.0:
        raise ValueError(f"isolated_fraction must be in [0, 1), got {isolated_fraction}")
    active = num_nodes - num_isolated
    if num_edges > active * (active - 1) // 4:
        raise ValueError(
            f"{num_edges} edges exceed half of the {active * (active - 1) // 2} pairs "
            f"of the {active} non-isolated nodes"
        )
    if num_features < 0 or words_per_node < 1:
        raise ValueError("num_features must be >= 0 and words_per_node >= 1")


def _community_sizes(rng: np.random.Generator, num_nodes: int, num_communities: int) -> np.ndarray:
    """Heavy-tailed community sizes (Pareto shares), each at least 1, summing to N."""
    shares = rng.pareto(2.0, num_communities) + 1.0
    return 1 + rng.multinomial(num_nodes - num_communities, shares / shares.sum())


def _cap_weights(theta: np.ndarray, num_edges: int, num_active: int) -> np.ndarray:
    """Cap the weights so that no expected degree exceeds ``num_active - 1``."""
    for _ in range(8):
        cap = (num_active - 1) * theta.sum() / (2 * num_edges)
        if theta.max() <= cap:
            break
        theta = np.minimum(theta, cap)
    return theta


class _NodeSampler:
    """Draws node positions with probability ∝ ``θ`` overall or within a community.

    Inverse-CDF sampling with a guide table (Chen, 1974): the bucket of a
    uniform number gives a first index that a few vectorised steps correct;
    7x faster than ``np.searchsorted`` on a million nodes.
    """

    #: guide-table buckets per node: ~1 correction step on heavy-tailed weights
    BUCKETS_PER_NODE = 4

    def __init__(
        self, theta: np.ndarray, community: np.ndarray, sizes: np.ndarray, rng: np.random.Generator
    ) -> None:
        self.rng, self.community = rng, community
        self.cum = np.cumsum(theta)
        self.total = float(self.cum[-1])
        ends = np.cumsum(sizes) - 1
        self.end_mass = self.cum[ends]
        self.mass = np.diff(self.end_mass, prepend=0.0)
        self.start_mass = self.end_mass - self.mass
        self.last = int(np.flatnonzero(theta)[-1])
        buckets = self.BUCKETS_PER_NODE * len(theta)
        self.scale = buckets / self.total
        self.guide = np.searchsorted(self.cum, np.arange(buckets) / self.scale, side="right")
        # intra-community edges need a second node there: skip communities with < 2
        self.pairable = np.bincount(community, weights=theta > 0, minlength=len(sizes)) >= 2

    def _invert(self, u: np.ndarray) -> np.ndarray:
        """The first position whose cumulative weight exceeds ``u``."""
        bucket = np.minimum((u * self.scale).astype(np.int64), len(self.guide) - 1)
        index = np.minimum(self.guide[bucket], self.last)
        todo = np.flatnonzero(self.cum[index] <= u)
        while todo.size:
            index[todo] += 1
            todo = todo[self.cum[index[todo]] <= u[todo]]
        return np.minimum(index, self.last)

    def anywhere(self, count: int) -> np.ndarray:
        """``count`` positions drawn ∝ ``θ`` from all nodes."""
        return self._invert(self.rng.random(count) * self.total)

    def within(self, communities: np.ndarray) -> np.ndarray:
        """One position per entry, drawn ∝ ``θ`` inside that community."""
        u = (
            self.start_mass[communities]
            + self.rng.random(len(communities)) * self.mass[communities]
        )
        return self._invert(u)

    def across(self, communities: np.ndarray, rounds: int = 8) -> np.ndarray:
        """One position per entry, drawn ∝ ``θ`` outside that community (when possible)."""
        nodes = self.anywhere(len(communities))
        redo = np.flatnonzero(self.community[nodes] == communities)
        for _ in range(rounds):
            if not redo.size:
                break
            nodes[redo] = self.anywhere(len(redo))
            redo = redo[self.community[nodes[redo]] == communities[redo]]
        return nodes

    def partners(self, communities: np.ndarray, mixing: float) -> np.ndarray:
        """Partners of nodes in ``communities``: inside with probability ``1 - mixing``."""
        inside = (self.rng.random(len(communities)) >= mixing) & self.pairable[communities]
        nodes = np.empty(len(communities), dtype=np.int64)
        nodes[inside] = self.within(communities[inside])
        nodes[~inside] = self.across(communities[~inside])
        return nodes

    def edges(self, count: int, mixing: float) -> tuple[np.ndarray, np.ndarray]:
        """``count`` candidate edges (self-loops and repeats possible)."""
        weight = np.where(self.pairable, self.mass, 0.0)
        inside = self.rng.binomial(count, 1.0 - mixing) if weight.sum() > 0 else 0
        communities = np.zeros(0, dtype=np.int64)
        if inside:  # pairs come out grouped by community; their order does not matter
            chosen = self.rng.multinomial(inside, weight / weight.sum())
            communities = np.repeat(np.arange(len(weight)), chosen)
        first = np.concatenate([self.within(communities), self.anywhere(count - inside)])
        second = np.concatenate(
            [self.within(communities), self.across(self.community[first[inside:]])]
        )
        return first, second


def _pair_keys(a: np.ndarray, b: np.ndarray, num_nodes: int) -> np.ndarray:
    """``min * N + max`` of each pair, self-loops dropped."""
    keep = a != b
    a, b = a[keep], b[keep]
    return np.minimum(a, b) * num_nodes + np.maximum(a, b)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting (numpy 2.3+'s hashing ``np.unique`` is ~20x slower here)."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


def _fill_edges(
    backbone: np.ndarray,
    num_edges: int,
    mixing: float,
    sampler: _NodeSampler,
    rng: np.random.Generator,
    max_rounds: int = 100,
) -> np.ndarray:
    """Sorted keys of exactly ``num_edges`` distinct edges: all of ``backbone`` plus drawn ones.

    Each round draws the missing number of edges (inflated by the share of
    repeats seen so far) and merges the new distinct ones into a sorted
    array; surplus drawn edges are then dropped at random.
    """
    num_nodes = len(sampler.cum)
    keys = backbone  # sorted, distinct
    is_drawn = np.zeros(len(keys), dtype=bool)
    repeat_share = 0.0
    for _ in range(max_rounds):
        missing = num_edges - len(keys)
        if missing <= 0:
            break
        count = int(missing / max(1.0 - repeat_share, 0.05) * 1.02) + 16
        new = _sorted_unique(_pair_keys(*sampler.edges(count, mixing), num_nodes))
        at = np.minimum(np.searchsorted(keys, new), max(len(keys) - 1, 0))
        new = new[keys[at] != new] if len(keys) else new
        repeat_share = 1.0 - len(new) / count
        merged = np.concatenate([keys, new])
        order = np.argsort(merged, kind="stable")  # merges two sorted runs in linear time
        keys = merged[order]
        is_drawn = np.concatenate([is_drawn, np.ones(len(new), dtype=bool)])[order]
    else:
        raise ValueError(f"could not place {num_edges} distinct edges; the graph is too dense")
    surplus = len(keys) - num_edges
    if surplus > 0:
        drawn = np.flatnonzero(is_drawn)
        keys = np.delete(keys, drawn[rng.choice(len(drawn), surplus, replace=False)])
    return keys


def _community_features(
    rng: np.random.Generator,
    y: np.ndarray,
    num_communities: int,
    num_features: int,
    noise: float,
    sparse: bool,
    words_per_node: int,
) -> torch.Tensor:
    """Noisy community signal: Gaussian around centroids, or a sparse bag of words."""
    num_nodes = len(y)
    if not sparse:
        centroids = rng.standard_normal((num_communities, num_features), dtype=np.float32)
        x = rng.standard_normal((num_nodes, num_features), dtype=np.float32)
        x *= noise
        x += centroids[y]
        return torch.from_numpy(x)
    topic_size = max(1, num_features // num_communities)
    vocabulary = rng.permutation(num_features)
    draws = num_nodes * words_per_node
    node = np.repeat(np.arange(num_nodes), words_per_node)
    slot = y[node] * topic_size + rng.integers(0, topic_size, draws)
    word = np.where(
        rng.random(draws) < 1.0 / (1.0 + noise),
        vocabulary[slot % num_features],
        rng.integers(0, num_features, draws),
    )
    keys = _sorted_unique(node * num_features + word)  # row-major CSR order
    counts = np.bincount(keys // num_features, minlength=num_nodes)
    crow = torch.from_numpy(np.concatenate([[0], np.cumsum(counts)]))
    col = torch.from_numpy(keys % num_features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "CSR support is in beta"
        return torch.sparse_csr_tensor(
            crow, col, torch.ones(len(keys)), size=(num_nodes, num_features)
        )
