import numpy as np
import pytest
import torch

import graphae
from graphae import TrainConfig
from graphae.data import prepare_features, social_graph


@pytest.fixture(scope="module")
def social():
    return social_graph(3000, 15000, num_features=16, seed=0)


def _degrees(data):
    return torch.bincount(data.edge_index[0], minlength=data.num_nodes)


def test_social_graph_sizes_and_contract(social):
    ei = social.edge_index
    assert social.num_nodes == 3000 and social.name == "social"
    assert ei.shape == (2, 2 * 15000) and ei.dtype == torch.long
    assert int(ei.min()) >= 0 and int(ei.max()) < 3000
    assert not bool((ei[0] == ei[1]).any())  # no self-loops
    keys = ei[0] * 3000 + ei[1]
    assert keys.unique().numel() == keys.numel()  # no duplicates
    reverse = torch.sort(ei[1] * 3000 + ei[0]).values
    assert torch.equal(torch.sort(keys).values, reverse)  # symmetric
    assert social.x.shape == (3000, 16) and social.x.dtype == torch.float32
    assert social.y.shape == (3000,) and social.y.dtype == torch.long


@pytest.mark.parametrize(("nodes", "edges"), [(500, 800), (2000, 30000), (50, 600)])
def test_social_graph_exact_edge_count(nodes, edges):
    ei = social_graph(nodes, edges, seed=3).edge_index
    assert ei.shape[1] == 2 * edges
    assert (ei[0] * nodes + ei[1]).unique().numel() == 2 * edges


def test_social_graph_degrees_are_heavy_tailed(social):
    degree = _degrees(social).float()
    assert degree.max() > 10 * degree.mean()
    # a power-law tail: the top 1% of nodes hold far more than 1% of the edge ends
    top = degree.sort(descending=True).values[:30]
    assert top.sum() > 0.08 * degree.sum()
    assert int(degree.min()) >= 1  # no isolated node unless asked for
    # a smaller exponent gives heavier hubs
    heavier = _degrees(social_graph(3000, 15000, degree_exponent=2.1, seed=0)).max()
    lighter = _degrees(social_graph(3000, 15000, degree_exponent=3.5, seed=0)).max()
    assert heavier > 2 * lighter


@pytest.mark.parametrize("mixing", [0.05, 0.3])
def test_social_graph_community_structure(mixing):
    data = social_graph(3000, 15000, mixing=mixing, seed=1)
    inside = (data.y[data.edge_index[0]] == data.y[data.edge_index[1]]).float().mean()
    assert 0 <= (1 - mixing) - float(inside) < 0.07  # repeats, removed, are likelier inside
    # against chance: random pairs rarely share a community
    sizes = torch.bincount(data.y).double()
    assert float((sizes / sizes.sum()).square().sum()) < 0.3
    assert social_graph(300, 900, num_communities=7, seed=0).y.unique().numel() == 7


def test_social_graph_isolated_fraction():
    data = social_graph(4000, 12000, isolated_fraction=0.25, seed=2)
    assert int((_degrees(data) == 0).sum()) == 1000
    assert data.edge_index.shape[1] == 24000


def test_social_graph_is_deterministic_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    np.random.seed(123)
    torch_before, numpy_before = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    a = social_graph(1000, 4000, num_features=8, seed=5)
    b = social_graph(1000, 4000, num_features=8, seed=5)
    assert torch.equal(torch.rand(3), torch_before)
    assert np.array_equal(np.random.rand(3), numpy_before)
    assert torch.equal(a.edge_index, b.edge_index)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    c = social_graph(1000, 4000, num_features=8, seed=6)
    assert not torch.equal(a.edge_index, c.edge_index)


def _nearest_centroid_accuracy(x, y):
    """Fit class centroids on even nodes, classify odd nodes."""
    fit, held = torch.arange(0, len(y), 2), torch.arange(1, len(y), 2)
    classes = y.unique()
    centroids = torch.stack([x[fit][y[fit] == c].mean(0) for c in classes])
    x_held = torch.nn.functional.normalize(x[held], dim=1)
    guess = classes[(x_held @ torch.nn.functional.normalize(centroids, dim=1).T).argmax(1)]
    return float((guess == y[held]).float().mean())


def test_social_graph_features_carry_the_communities(social):
    chance = float(torch.bincount(social.y).max()) / social.num_nodes
    assert _nearest_centroid_accuracy(social.x, social.y) > chance + 0.3
    assert social_graph(100, 300).x is None


def test_social_graph_sparse_bag_of_words():
    data = social_graph(2000, 8000, num_features=300, sparse_features=True, seed=0)
    assert data.x.layout == torch.sparse_csr and data.x.shape == (2000, 300)
    dense = data.x.to_dense()
    assert set(dense.unique().tolist()) == {0.0, 1.0}
    assert dense.sum(1).min() >= 1 and dense.sum(1).max() <= 16
    chance = float(torch.bincount(data.y).max()) / data.num_nodes
    assert _nearest_centroid_accuracy(dense, data.y) > chance + 0.3
    assert prepare_features(data.x).layout == torch.sparse_csr  # what train() feeds the encoder


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_nodes": 1, "num_edges": 1},
        {"num_nodes": 10, "num_edges": 30},  # more than half of the 45 pairs
        {"num_nodes": 100, "num_edges": 200, "mixing": 1.5},
        {"num_nodes": 100, "num_edges": 200, "degree_exponent": 1.0},
        {"num_nodes": 100, "num_edges": 200, "isolated_fraction": 1.0},
        {"num_nodes": 100, "num_edges": 200, "num_communities": 101},
    ],
)
def test_social_graph_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        social_graph(**kwargs)


def test_graphae_learns_links_on_a_social_graph():
    config = TrainConfig(
        model="gae", dataset="social", epochs=60, quiet=True, features=False, objective="sampled"
    )
    result = graphae.train(config, data=social_graph(2000, 10000, seed=0), save=False)
    assert result.metrics["test"]["auc"] > 0.75
