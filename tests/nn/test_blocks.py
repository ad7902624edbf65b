"""Encoders over sampled blocks: with every neighbour taken they give the full-graph rows."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from graphae.data import gcn_adjacency, planted_partition
from graphae.data.sampling import NeighborSampler, gather_rows
from graphae.errors import ConfigError
from graphae.nn.blocks import block_forward, encode_blocks, encoder_hops
from graphae.nn.factory import ModelParts, build_model

SEEDS = torch.tensor([4, 17, 0, 63, 99, 118])

#: (model, parts): the 2016 encoders, the linear ones and GCN stacks with every option
CASES = [
    ("gae", ModelParts()),
    ("vgae", ModelParts()),
    ("gae", ModelParts(encoder="linear")),
    ("vgae", ModelParts(encoder="linear")),
    ("gae", ModelParts(layers=3, norm="batch", residual=True, activation="elu")),
    ("gae", ModelParts(layers=2, norm="layer", activate_output=True, propagate_after=1)),
    ("vgae", ModelParts(layers=3, norm="batch", propagate_before=1, propagate_after=1)),
    ("maskgae", ModelParts(layers=1, norm="batch", activate_output=True, decoder="mlp")),
]


@pytest.fixture(scope="module")
def graph():
    data = planted_partition(num_blocks=4, block_size=30, p_in=0.3, p_out=0.02, seed=3)
    return data, gcn_adjacency(data.edge_index, int(data.num_nodes))


def _blocks(adj: torch.Tensor, hops: int, fanout: int = -1):
    return NeighborSampler(adj).sample(SEEDS, [fanout] * hops, torch.Generator().manual_seed(0))


@pytest.mark.parametrize(("name", "parts"), CASES)
@pytest.mark.parametrize("features", [True, False])
def test_block_forward_equals_the_full_forward_rows(graph, name, parts, features):
    data, adj = graph
    n = int(data.num_nodes)
    x = data.x if features else None
    torch.manual_seed(0)
    model = build_model(name, x.shape[1] if features else n, 16, 16, bias=True, parts=parts)
    model.eval()  # batch norm with its running statistics, as at evaluation
    with torch.no_grad():
        for norm in model.modules():  # statistics that are not the initial ones
            if isinstance(norm, nn.BatchNorm1d):
                norm.running_mean.uniform_(-0.5, 0.5)
                norm.running_var.uniform_(0.5, 2.0)
    blocks = _blocks(adj, encoder_hops(model.encoder))
    full = model.encoder(x, adj)
    inputs = gather_rows(x, blocks[0].nodes, n)
    out = block_forward(model.encoder, inputs, [b.adj for b in blocks])
    full, out = (full, out) if isinstance(full, tuple) else ((full,), (out,))
    for a, b in zip(full, out, strict=True):
        torch.testing.assert_close(b, a[SEEDS], rtol=1e-5, atol=1e-6)


def test_block_forward_has_gradients_and_samples_in_training(graph):
    data, adj = graph
    model = build_model("vgae", data.x.shape[1], 16, 8)
    blocks = _blocks(adj, 2, fanout=2)
    inputs = gather_rows(data.x, blocks[0].nodes, int(data.num_nodes))
    encoding = encode_blocks(model, inputs, [b.adj for b in blocks], int(data.num_nodes))
    assert encoding.z.shape == (len(SEEDS), 8) and encoding.kl is not None
    assert not torch.equal(encoding.z, encoding.mu)  # a sample in training mode
    (encoding.z.sum() + encoding.kl).backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_an_encoder_without_a_block_forward_is_refused():
    with pytest.raises(ConfigError, match="--batch-size"):
        encoder_hops(nn.Linear(3, 3))
