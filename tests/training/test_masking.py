"""Edge and path masks, and the masked graphs' normalised adjacency."""

import math

import pytest
import torch

from graphae.data.graph import gcn_adjacency
from graphae.data.link_split import split_edges
from graphae.training.masking import (
    DirectedEdgeMask,
    EdgeMask,
    PathMask,
    TrainingGraph,
    make_mask,
)
from graphae.training.rng import MASKS, epoch_generator


@pytest.fixture
def train_edges(planted):
    return split_edges(planted.edge_index, planted.num_nodes, seed=0).train_edge_index()


@pytest.fixture
def graph(planted, train_edges):
    return TrainingGraph(train_edges, planted.num_nodes)


def _keys(edge_index: torch.Tensor, n: int) -> set[int]:
    return set((edge_index[0] * n + edge_index[1]).tolist())


def _same_csr(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (
        torch.equal(a.crow_indices(), b.crow_indices())
        and torch.equal(a.col_indices(), b.col_indices())
        and torch.equal(a.values(), b.values())
    )


def test_training_graph_holds_each_undirected_edge_once(graph, train_edges, planted):
    n = planted.num_nodes
    u, v = graph.edges
    assert (u < v).all() and graph.num_edges * 2 == train_edges.shape[1]
    both = torch.cat([graph.edges, graph.edges.flip(0)], dim=1)
    assert _keys(both, n) == _keys(train_edges, n)
    with pytest.raises(ValueError, match="both directions"):
        TrainingGraph(train_edges[:, train_edges[0] < train_edges[1]], n)


def test_adjacency_of_all_edges_is_gcn_adjacency_bit_for_bit(graph, train_edges, planted):
    assert _same_csr(graph.adjacency(), gcn_adjacency(train_edges, planted.num_nodes))


def test_adjacency_of_kept_edges_is_gcn_adjacency_of_those_edges(graph, planted):
    n = planted.num_nodes
    keep = torch.rand(graph.num_edges, generator=torch.Generator().manual_seed(1)) < 0.4
    kept = graph.edges[:, keep]
    expected = gcn_adjacency(torch.cat([kept, kept.flip(0)], dim=1), n)
    assert _same_csr(graph.adjacency(keep), expected)
    assert graph.adjacency(keep).shape == (n, n)


def test_weighted_adjacency_matches_gcn_adjacency(train_edges, planted):
    n = planted.num_nodes
    u, v = train_edges
    weight = 1.0 + (torch.minimum(u, v) * 7 + torch.maximum(u, v)) % 5  # same both ways
    graph = TrainingGraph(train_edges, n, weight)
    expected = gcn_adjacency(train_edges, n, weight)
    torch.testing.assert_close(graph.adjacency().to_dense(), expected.to_dense())


def test_edge_mask_masks_exactly_its_share(graph):
    masked = EdgeMask(0.7)(graph, torch.Generator().manual_seed(0))
    assert masked.dtype == torch.bool and masked.shape == (graph.num_edges,)
    assert int(masked.sum()) == round(0.7 * graph.num_edges)


def test_directed_mask_hides_edges_with_both_directions_masked(graph):
    mask = DirectedEdgeMask(0.7)
    forward, backward = mask.directions(graph, torch.Generator().manual_seed(0))
    assert int(forward.sum() + backward.sum()) == round(0.7 * 2 * graph.num_edges)
    draw = mask.draw(graph, torch.Generator().manual_seed(0))
    assert torch.equal(draw.hidden, forward & backward)
    assert 0.4 < float(draw.hidden.float().mean()) < 0.58  # ~ρ² = 49%
    assert torch.equal(draw.targets, graph.edges[:, forward | backward])
    assert torch.equal(draw.weight, (forward.float() + backward.float())[forward | backward])
    assert len(draw.ends) == int(draw.weight.sum())  # one receiving node per direction
    assert torch.equal(mask(graph, torch.Generator().manual_seed(0)), draw.hidden)


def test_undirected_draws_target_exactly_the_hidden_edges(graph):
    for mask in (EdgeMask(0.5), PathMask(0.5, 2)):
        draw = mask.draw(graph, torch.Generator().manual_seed(1))
        assert torch.equal(draw.targets, graph.edges[:, draw.hidden]) and draw.weight is None
        assert torch.equal(draw.ends, draw.targets.reshape(-1))  # both ends of each edge


def test_masks_depend_only_on_seed_and_epoch(graph):
    for mask in (EdgeMask(0.5), PathMask(0.5, 3), DirectedEdgeMask(0.5)):
        first = mask(graph, epoch_generator(7, 4, MASKS))
        mask(graph, epoch_generator(7, 3, MASKS))  # other draws in between change nothing
        assert torch.equal(mask(graph, epoch_generator(7, 4, MASKS)), first)
        assert not torch.equal(mask(graph, epoch_generator(7, 5, MASKS)), first)
        assert not torch.equal(mask(graph, epoch_generator(8, 4, MASKS)), first)


def test_path_mask_follows_random_walks(graph):
    mask = PathMask(0.3, walk_length=4)
    walks = mask.walks(graph, torch.Generator().manual_seed(0))
    assert walks.shape == (round(0.3 * graph.num_edges), 4)
    assert len(set(walks[:, 0].tolist())) == len(walks)  # distinct first edges
    ends = graph.edges[:, walks]  # [2, W, L]: the two nodes of each crossed edge
    for step in range(3):  # consecutive edges of a walk share a node
        a, b = ends[:, :, step], ends[:, :, step + 1]
        assert ((a[0] == b[0]) | (a[0] == b[1]) | (a[1] == b[0]) | (a[1] == b[1])).all()
    masked = mask(graph, torch.Generator().manual_seed(0))
    assert torch.equal(masked.nonzero().flatten(), walks.unique())


def test_path_mask_hits_about_its_expected_share(graph):
    # the ρE first edges are distinct; later steps cross edges about uniformly (a random
    # walk's stationary law on edges): an edge is missed w.p. ≈ (1 - ρ) e^{-ρ(L-1)}
    mask = PathMask(0.5, walk_length=3)
    share = float(mask(graph, torch.Generator().manual_seed(0)).float().mean())
    assert abs(share - (1 - 0.5 * math.exp(-1.0))) < 0.04  # ~82%


def test_make_mask_and_bad_settings():
    assert make_mask("none", 0.5) is None
    assert isinstance(make_mask("edge", 0.5), EdgeMask)
    assert isinstance(make_mask("directed", 0.5), DirectedEdgeMask)
    assert make_mask("path", 0.5, 3).walk_length == 3
    with pytest.raises(ValueError):
        make_mask("node", 0.5)
    with pytest.raises(ValueError):
        EdgeMask(1.5)
    with pytest.raises(ValueError):
        PathMask(0.5, 0)
