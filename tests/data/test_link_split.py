import math

import numpy as np
import pytest
import torch

from graphae.data.link_split import (
    LinkSplit,
    check_split,
    pair_keys,
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
