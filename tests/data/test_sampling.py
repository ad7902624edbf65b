"""Neighbour sampling: exact rows with full fanout, bounded and unbiased rows otherwise, seeded."""

from __future__ import annotations

import pytest
import torch

from graphae.data import gcn_adjacency, planted_partition
from graphae.data.sampling import NeighborSampler, gather_rows


@pytest.fixture(scope="module")
def graph():
    data = planted_partition(num_blocks=4, block_size=30, p_in=0.3, p_out=0.02, seed=1)
    return data, gcn_adjacency(data.edge_index, int(data.num_nodes))


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _dense_rows(block) -> torch.Tensor:
    """The block's weights as a dense ``num_dst x N`` matrix over global node ids."""
    dense = block.adj.to_dense()
    n = 120
    out = torch.zeros(block.num_dst, n)
    out[:, block.nodes] = dense
    return out


@pytest.mark.parametrize("fanout", [-1, 10_000])
def test_full_fanout_gives_the_full_rows(graph, fanout):
    _, adj = graph
    sampler = NeighborSampler(adj)
    assert fanout < 0 or fanout >= sampler.max_degree
    seeds = torch.tensor([3, 0, 77, 119, 45])
    blocks = sampler.sample(seeds, [fanout, fanout], _generator())
    assert len(blocks) == 2
    assert torch.equal(blocks[-1].nodes[: blocks[-1].num_dst], seeds)  # dst first, in order
    assert torch.equal(blocks[0].nodes[: blocks[0].num_dst], blocks[1].nodes)
    full = adj.to_dense()
    for block in blocks:
        dst = block.nodes[: block.num_dst]
        torch.testing.assert_close(_dense_rows(block), full[dst], rtol=0, atol=0)


def test_sampled_rows_are_bounded_and_use_the_full_graph_weights(graph):
    _, adj = graph
    sampler = NeighborSampler(adj)
    seeds = torch.arange(0, 120, 7)
    (block,) = sampler.sample(seeds, [3], _generator())
    full = adj.to_dense()
    rows = _dense_rows(block)
    degree = (full > 0).sum(1) - 1  # without the self-loop
    for i, v in enumerate(seeds.tolist()):
        taken = rows[i].nonzero().squeeze(1)
        neighbours = taken[taken != v]
        assert len(neighbours) == min(3, int(degree[v]))
        assert rows[i, v] == full[v, v]  # the self-loop, unscaled
        scale = degree[v] / len(neighbours)
        torch.testing.assert_close(rows[i, neighbours], full[v, neighbours] * scale)


def test_sampled_rows_are_unbiased(graph):
    """Each entry of a sampled row averages to ``Â``'s: within 5 standard errors over 2000 draws."""
    _, adj = graph
    sampler = NeighborSampler(adj)
    seeds = torch.arange(0, 120, 11)
    draws = [_dense_rows(sampler.sample(seeds, [2], _generator(k))[0]) for k in range(2000)]
    stacked = torch.stack(draws)
    exact = adj.to_dense()[seeds]
    error = (stacked.mean(0) - exact).abs()
    standard_error = stacked.std(0) / len(draws) ** 0.5
    assert (error <= 5 * standard_error + 1e-7).all()
    # the rescaling d_v / |S(v)| is what makes it so: without it the mean is far off
    unscaled = (stacked > 0).float().mean(0) * exact  # E[sampled without rescaling]
    assert ((unscaled - exact).abs() > 5 * standard_error + 1e-7).any()


def test_samples_depend_on_the_generator_seed_only(graph):
    _, adj = graph
    sampler = NeighborSampler(adj)
    seeds = torch.tensor([5, 50, 100])
    a = sampler.sample(seeds, [2, 2], _generator(7))
    b = sampler.sample(seeds, [2, 2], _generator(7))
    c = sampler.sample(seeds, [2, 2], _generator(8))
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.nodes, y.nodes)
        assert torch.equal(x.adj.to_dense(), y.adj.to_dense())
    assert any(
        x.nodes.shape != z.nodes.shape or not torch.equal(x.nodes, z.nodes)
        for x, z in zip(a, c, strict=True)
    )


def test_gather_rows_of_dense_sparse_and_identity_features():
    x = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0], [4.0, 5.0, 0.0]])
    nodes = torch.tensor([2, 0, 2])
    assert torch.equal(gather_rows(x, nodes, 3), x[nodes])
    sparse = gather_rows(x.to_sparse_csr(), nodes, 3)
    assert sparse.layout == torch.sparse_csr and torch.equal(sparse.to_dense(), x[nodes])
    one_hot = gather_rows(None, nodes, 3)
    assert torch.equal(one_hot.to_dense(), torch.eye(3)[nodes])
