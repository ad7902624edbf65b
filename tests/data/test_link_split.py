import math

import numpy as np
import pytest
import torch

from graphae.data import split_nodes
from graphae.data.link_split import (
    LinkSplit,
    check_split,
    pair_keys,
    pyg_link_split,
    sample_non_edges_touching,
    split_edges,
    undirected_edges,
)
from graphae.data.planetoid import load_planetoid

SETS = ("train_pos", "val_pos", "val_neg", "test_pos", "test_neg")


def assert_leak_free(split: LinkSplit, edge_index: torch.Tensor) -> None:
    n = split.num_nodes
    graph = set(pair_keys(edge_index, n).tolist())
    keys = {s: pair_keys(getattr(split, s), n) for s in SETS}
    for s in SETS:
        pairs = getattr(split, s)
        assert (pairs[0] < pairs[1]).all(), f"{s} not canonical"
        assert len(set(keys[s].tolist())) == len(keys[s]), f"{s} has duplicates"
    for a in SETS:
        for b in SETS:
            if a < b:
                assert not set(keys[a].tolist()) & set(keys[b].tolist()), f"{a} and {b} overlap"
    for s in ("val_neg", "test_neg"):
        assert not set(keys[s].tolist()) & graph, f"{s} contains a graph edge"
    positives = set(keys["train_pos"].tolist()) | set(keys["val_pos"].tolist())
    assert positives | set(keys["test_pos"].tolist()) == graph
    # the encoder's graph holds no val/test edge, in either direction
    train_graph = split.train_edge_index()
    seen = set((train_graph[0] * n + train_graph[1]).tolist())
    for s in ("val_pos", "test_pos"):
        p = getattr(split, s)
        assert not seen & set((p[0] * n + p[1]).tolist())
        assert not seen & set((p[1] * n + p[0]).tolist())


def test_split_properties_on_planted(planted):
    split = split_edges(planted.edge_index, planted.num_nodes, 0.05, 0.10, seed=3)
    e = undirected_edges(planted.edge_index, planted.num_nodes).shape[1]
    counts = split.counts()
    assert counts["test_pos"] == counts["test_neg"] == math.floor(e * 0.10)
    assert counts["val_pos"] == counts["val_neg"] == math.floor(e * 0.05)
    assert counts["train_pos"] == e - counts["test_pos"] - counts["val_pos"]
    assert_leak_free(split, planted.edge_index)


def test_train_val_graph_adds_validation_edges_only(planted):
    split = split_edges(planted.edge_index, planted.num_nodes, 0.05, 0.10, seed=3)
    n = split.num_nodes
    graph = split.train_val_edge_index()
    keys = set((graph[0] * n + graph[1]).tolist())
    expected = set()
    for pairs in (split.train_pos, split.val_pos):
        expected |= set((pairs[0] * n + pairs[1]).tolist()) | set(
            (pairs[1] * n + pairs[0]).tolist()
        )
    assert keys == expected and graph.shape[1] == len(expected)
    test = split.test_pos
    assert not keys & set((test[0] * n + test[1]).tolist())


def test_split_on_cora_matches_paper_protocol(data_root):
    data = load_planetoid("Cora", data_root)
    split = split_edges(data.edge_index, data.num_nodes, seed=0)
    assert split.counts() == {
        "train_pos": 4488,
        "val_pos": 263,
        "val_neg": 263,
        "test_pos": 527,
        "test_neg": 527,
    }
    assert_leak_free(split, data.edge_index)


def test_pyg_split_is_the_split_of_a_seeded_pyg_script(data_root):
    # MaskGAE's train_linkpred.py: set_seed(2022), ToUndirected, RandomLinkSplit
    import random

    import torch_geometric.transforms as T

    data = load_planetoid("Cora", str(data_root))
    before = torch.random.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    split = pyg_link_split(data.edge_index, data.num_nodes, 0.05, 0.10, seed=2022)
    # the global generators are left as they were
    assert torch.equal(torch.random.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1]) and random.getstate() == before[2]
    assert_leak_free(split, data.edge_index)
    assert split.counts() == {
        "train_pos": 4488, "val_pos": 263, "val_neg": 263, "test_pos": 527, "test_neg": 527
    }  # fmt: skip
    random.seed(2022)
    np.random.seed(2022)
    torch.manual_seed(2022)
    _, val, test = T.RandomLinkSplit(
        num_val=0.05, num_test=0.1, is_undirected=True, split_labels=True,
        add_negative_train_samples=False,
    )(T.ToUndirected()(data.clone()))  # fmt: skip
    n = data.num_nodes
    for ours, theirs in ((split.test_pos, test.pos_edge_label_index),
                         (split.test_neg, test.neg_edge_label_index),
                         (split.val_neg, val.neg_edge_label_index)):  # fmt: skip
        assert sorted(pair_keys(ours, n).tolist()) == sorted(pair_keys(theirs, n).tolist())
    assert not torch.equal(split.test_pos, split_edges(data.edge_index, n, seed=2022).test_pos)


def test_split_is_seeded(planted):
    a = split_edges(planted.edge_index, planted.num_nodes, seed=1)
    b = split_edges(planted.edge_index, planted.num_nodes, seed=1)
    c = split_edges(planted.edge_index, planted.num_nodes, seed=2)
    for s in SETS:
        assert torch.equal(getattr(a, s), getattr(b, s))
    assert not torch.equal(a.test_pos, c.test_pos)


def test_split_save_load_roundtrip(planted, tmp_path):
    split = split_edges(planted.edge_index, planted.num_nodes, seed=0)
    split.save(tmp_path / "split.npz")
    loaded = LinkSplit.load(tmp_path / "split.npz")
    assert loaded.num_nodes == split.num_nodes and loaded.seed == 0
    assert loaded.kind == "edge" and loaded.val_nodes is None and loaded.test_nodes is None
    for s in SETS:
        assert torch.equal(getattr(loaded, s), getattr(split, s))
    with np.load(tmp_path / "split.npz") as f:  # readable without graphae
        assert set(SETS) <= set(f.files)


@pytest.mark.parametrize("leak", ["shared_pair", "reversed_pair", "negative_is_edge", "unequal"])
def test_check_split_catches_leaks(planted, leak):
    split = split_edges(planted.edge_index, planted.num_nodes, seed=0)
    if leak == "shared_pair":
        split.val_pos = torch.cat([split.val_pos, split.test_pos[:, :1]], dim=1)
        split.val_neg = torch.cat([split.val_neg, split.test_neg[:, :1]], dim=1)
    elif leak == "reversed_pair":
        split.test_neg = torch.cat([split.test_neg[:, 1:], split.val_neg[:, :1].flip(0)], dim=1)
    elif leak == "negative_is_edge":
        split.test_neg = torch.cat([split.test_neg[:, 1:], split.train_pos[:, :1]], dim=1)
    else:
        split.val_neg = split.val_neg[:, 1:]
    with pytest.raises(ValueError):
        check_split(split, planted.edge_index)


def test_split_rejects_tiny_graphs():
    edges = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="too few"):
        split_edges(edges, 3)


# --- node-inductive splits -------------------------------------------------


def edge_list(pairs: torch.Tensor) -> list[tuple[int, int]]:
    return [tuple(p) for p in pairs.t().tolist()]


def test_node_split_properties_on_planted(planted):
    n = planted.num_nodes
    split = split_nodes(planted.edge_index, n, 0.05, 0.10, seed=3)
    assert split.kind == "inductive"
    assert split.node_counts() == {"val_nodes": math.floor(n * 0.05), "test_nodes": 20}
    val, test = set(split.val_nodes.tolist()), set(split.test_nodes.tolist())
    assert not val & test
    edges = edge_list(undirected_edges(planted.edge_index, n))
    touched = {u for e in edges for u in e}
    assert val | test <= touched  # isolated nodes are never held out
    # each edge goes to the set of its most held-out endpoint
    expected = {"train_pos": set(), "val_pos": set(), "test_pos": set()}
    for u, v in edges:
        if u in test or v in test:
            expected["test_pos"].add((u, v))
        elif u in val or v in val:
            expected["val_pos"].add((u, v))
        else:
            expected["train_pos"].add((u, v))
    for s, pairs in expected.items():
        assert set(edge_list(getattr(split, s))) == pairs, s
    counts = split.counts()
    assert counts["val_neg"] == counts["val_pos"] > 0
    assert counts["test_neg"] == counts["test_pos"] > 0
    assert_leak_free(split, planted.edge_index)
    for u, v in edge_list(split.train_pos):
        assert not {u, v} & (val | test), "a training pair touches a held-out node"
    for s in ("val_pos", "val_neg"):
        for u, v in edge_list(getattr(split, s)):
            assert {u, v} & val and not {u, v} & test, s
    for s in ("test_pos", "test_neg"):
        for u, v in edge_list(getattr(split, s)):
            assert {u, v} & test, s
    # held-out nodes are isolated in the encoder's graph
    assert not set(split.train_edge_index().flatten().tolist()) & (val | test)


def test_node_split_save_load_roundtrip(planted, tmp_path):
    split = split_nodes(planted.edge_index, planted.num_nodes, seed=0)
    split.save(tmp_path / "split.npz")
    loaded = LinkSplit.load(tmp_path / "split.npz")
    assert loaded.kind == "inductive" and loaded.seed == 0
    assert loaded.num_nodes == split.num_nodes
    for s in (*SETS, "val_nodes", "test_nodes"):
        assert torch.equal(getattr(loaded, s), getattr(split, s)), s
    assert loaded.node_counts() == split.node_counts()


def test_old_split_files_load_as_edge_splits(planted, tmp_path):
    split = split_edges(planted.edge_index, planted.num_nodes, seed=0)
    arrays = {s: getattr(split, s).numpy() for s in SETS}
    np.savez_compressed(tmp_path / "old.npz", num_nodes=split.num_nodes, seed=0, **arrays)
    loaded = LinkSplit.load(tmp_path / "old.npz")
    assert loaded.kind == "edge" and loaded.val_nodes is None and loaded.test_nodes is None
    assert loaded.node_counts() == {}
    for s in SETS:
        assert torch.equal(getattr(loaded, s), getattr(split, s))


def test_node_split_is_seeded(planted):
    a = split_nodes(planted.edge_index, planted.num_nodes, seed=1)
    b = split_nodes(planted.edge_index, planted.num_nodes, seed=1)
    c = split_nodes(planted.edge_index, planted.num_nodes, seed=2)
    for s in (*SETS, "val_nodes", "test_nodes"):
        assert torch.equal(getattr(a, s), getattr(b, s)), s
    assert not torch.equal(a.test_nodes, c.test_nodes)


@pytest.mark.parametrize(
    "case",
    [
        "fractions_round_to_zero",  # floor(10 * 0.05) = 0 validation nodes
        "too_few_connected_nodes",  # 1 edge among 40 nodes, 6 to hold out
        "no_training_edge",  # a 4-clique among 20 nodes: 3 held out, no edge left
    ],
)
def test_node_split_rejects_tiny_graphs(case):
    if case == "fractions_round_to_zero":
        edges, n = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]), 10
    elif case == "too_few_connected_nodes":
        edges, n = torch.tensor([[0], [1]]), 40
    else:
        edges, n = torch.combinations(torch.arange(4)).t(), 20
    with pytest.raises(ValueError, match="too few"):
        split_nodes(edges, n)


@pytest.mark.parametrize(
    "leak", ["train_touches_held_out", "val_pair_touches_test", "test_pair_misses_test", "no_nodes"]
)
def test_check_split_catches_inductive_leaks(planted, leak):
    split = split_nodes(planted.edge_index, planted.num_nodes, seed=0)
    val, test = split.val_nodes.tolist(), split.test_nodes.tolist()
    if leak == "train_touches_held_out":  # a training node declared held out
        split.val_nodes = torch.tensor(sorted([*val, int(split.train_pos[0, 0])]))
        match = "train_pos"
    elif leak == "val_pair_touches_test":  # a validation node declared a test node
        node = next(u for u in split.val_pos.flatten().tolist() if u in val)
        split.val_nodes = torch.tensor([u for u in val if u != node])
        split.test_nodes = torch.tensor(sorted([*test, node]))
        match = "val_pos"
    elif leak == "test_pair_misses_test":  # a test node no longer held out
        u, v = next((u, v) for u, v in edge_list(split.test_pos) if (u in test) != (v in test))
        node = u if u in test else v
        split.test_nodes = torch.tensor([w for w in test if w != node])
        match = "without a test node"
    else:
        split.test_nodes = None
        match = "needs val_nodes and test_nodes"
    with pytest.raises(ValueError, match=match):
        check_split(split, planted.edge_index)


def test_touching_negatives_cover_exactly_the_allowed_pairs():
    # anchors {0, 1}, partners {0..4}: 2 * 3 + 1 = 7 pairs, minus the edge (1, 3)
    rng = np.random.default_rng(0)
    edge_keys = pair_keys(torch.tensor([[1], [3]]), 5)
    pairs = sample_non_edges_touching(edge_keys, 5, np.array([0, 1]), np.arange(5), 6, rng)
    assert set(edge_list(pairs)) == {(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (1, 4)}
    with pytest.raises(ValueError, match="only 6"):
        sample_non_edges_touching(edge_keys, 5, np.array([0, 1]), np.arange(5), 7, rng)


def test_touching_negatives_are_uniform():
    # anchors 0..49, partners 0..99: 50 * 50 anchor-partner pairs and 1225
    # anchor-anchor pairs; a uniform draw has 1225 / 3725 = 0.33 of the latter
    # (without the 1/2 correction, anchor-anchor pairs would be about 0.49).
    rng = np.random.default_rng(0)
    empty = np.empty(0, dtype=np.int64)
    pairs = sample_non_edges_touching(empty, 100, np.arange(50), np.arange(100), 1000, rng)
    assert (pairs.min(0).values < 50).all()
    share = (pairs.max(0).values < 50).float().mean().item()
    assert abs(share - 1225 / 3725) < 0.05


def test_cold_test_pairs_counts_endpoints_without_training_edges():
    # train edges 0-1, 1-2; test pairs: 2-3 (3 has no train edge), 0-2 (both
    # endpoints trained), 4-5 (neither): two cold pairs
    split = LinkSplit(
        num_nodes=7,
        train_pos=torch.tensor([[0, 1], [1, 2]]),
        val_pos=torch.tensor([[1], [6]]),
        val_neg=torch.tensor([[0], [6]]),
        test_pos=torch.tensor([[2, 0, 4], [3, 2, 5]]),
        test_neg=torch.tensor([[0, 0, 3], [3, 4, 4]]),
    )
    check_split(split)
    assert split.cold_test_pairs() == 2


def test_cold_test_pairs_on_edge_split_with_leaves():
    # a comb: path 0..49, with a leaf 50 + i hanging from each path node i;
    # a test edge to a leaf is always cold (it was the leaf's only edge)
    path = torch.stack([torch.arange(49), torch.arange(1, 50)])
    teeth = torch.stack([torch.arange(50), torch.arange(50, 100)])
    edges = torch.cat([path, teeth], dim=1)
    split = split_edges(edges, 100, 0.1, 0.2, seed=0)
    trained = set(split.train_pos.flatten().tolist())
    test = edge_list(split.test_pos)
    expected = sum(1 for u, v in test if u not in trained or v not in trained)
    assert split.cold_test_pairs() == expected
    assert expected >= sum(1 for _, v in test if v >= 50) > 0


def test_every_test_pair_of_a_node_split_is_cold(planted):
    split = split_nodes(planted.edge_index, planted.num_nodes, seed=0)
    assert split.cold_test_pairs() == split.counts()["test_pos"] > 0


def test_split_of_a_graph_unlike_cora_stays_leak_free():
    from graphae.data import social_graph

    # many small components, 5% isolated nodes, a few hubs
    data = social_graph(3_000, 6_000, isolated_fraction=0.05, degree_exponent=2.1, seed=1)
    split = split_edges(data.edge_index, data.num_nodes, seed=0)
    assert_leak_free(split, data.edge_index)
    cold = split.cold_test_pairs()
    assert 0 < cold < split.test_pos.shape[1]
    degree = np.bincount(split.train_pos.flatten().numpy(), minlength=data.num_nodes)
    t = split.test_pos.numpy()
    assert cold == int(((degree[t[0]] == 0) | (degree[t[1]] == 0)).sum())
