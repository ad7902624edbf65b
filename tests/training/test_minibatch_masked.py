"""Masked mini-batch training (MaskGAE in batches): the full-graph mask, visible graph and loss."""

from __future__ import annotations

import pytest
import torch

from graphae import TrainConfig
from graphae.data import planted_partition
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import split_edges
from graphae.data.sampling import gather_rows
from graphae.nn.blocks import encode_blocks
from graphae.nn.factory import build_from_config
from graphae.pipeline import train
from graphae.training.masked import MaskedObjective
from graphae.training.masking import make_mask
from graphae.training.minibatch import MinibatchStep

SMALL = {"model": "maskgae", "hidden_dim": 32, "latent_dim": 16}


@pytest.fixture(scope="module")
def communities():
    """Six planted communities of 40 nodes: a link is far more likely within one."""
    return planted_partition(num_blocks=6, block_size=40, p_in=0.25, p_out=0.005, seed=2)


def _setting(graph, mask: str, degree_weight: float, **settings):
    n = int(graph.num_nodes)
    split = split_edges(graph.edge_index, n, seed=0)
    edges, x = split.train_edge_index(), prepare_features(graph.x)
    config = TrainConfig(**{**SMALL, "layers": 2, "degree_weight": degree_weight, **settings})
    torch.manual_seed(0)
    model = build_from_config(config, x.shape[1])
    masked = MaskedObjective.for_model(
        model, edges, n, make_mask(mask, 0.7, 3), degree_weight, seed=3
    )
    adj = gcn_adjacency(edges, n)
    step = MinibatchStep(
        model, x, adj, split.train_pos, n, batch_size=10**6, fanouts=[-1], seed=3, masked=masked
    )
    return model, x, adj, masked, step


@pytest.mark.parametrize("mask", ["directed", "edge", "path"])
def test_an_epoch_reconstructs_the_full_graph_masks_targets_over_its_visible_graph(planted, mask):
    model, x, adj, masked, step = _setting(planted, mask, 0.5)
    n, epoch = int(planted.num_nodes), 4
    draw = masked.draw(epoch)
    targets = step.targets(epoch)
    assert torch.equal(targets.pairs, draw.targets)  # the same draw, not a copy of it
    assert (targets.weight is None) == (draw.weight is None)
    if draw.weight is not None:
        assert torch.equal(targets.weight, draw.weight)
    assert torch.equal(targets.degree, torch.bincount(draw.ends, minlength=n).float())
    assert not torch.equal(step.targets(epoch + 1).pairs, targets.pairs)  # a new mask each epoch
    # batch norm on its running statistics, no dropout: one deterministic encoder
    model.eval()
    visible = masked.graph.adjacency(~draw.hidden)
    full = model.encode(x, visible).z
    blocks = targets.sampler.sample(torch.arange(n), step.fanouts)  # fanout -1: every neighbour
    z = encode_blocks(model, gather_rows(x, blocks[0].nodes, n), [b.adj for b in blocks], n).z
    torch.testing.assert_close(z, full, rtol=1e-5, atol=1e-6)
    # the whole epoch as one batch, met by the full-graph objective's negatives: its loss
    negatives = masked.negatives(targets.count(), epoch)
    index = torch.randperm(draw.targets.shape[1])  # any order
    assert torch.unique(torch.cat([targets.pairs, negatives], 1)).numel() == n  # all nodes
    parts = step.loss(model, targets, index, negatives, epoch, 0)
    expected = masked(masked.encode(model, x, adj, epoch), epoch)
    assert set(parts) == set(expected) == {"recon", "degree", "loss"}
    for name, value in expected.items():
        assert float(parts[name].detach()) == pytest.approx(float(value.detach()), rel=1e-5), name


def test_without_a_mask_the_degree_loss_regresses_the_training_degrees(planted):
    _, _, _, masked, step = _setting(planted, "none", 0.5)
    targets = step.targets(1)
    assert targets is step.targets(2) and targets.weight is None
    n = int(planted.num_nodes)
    assert torch.equal(targets.degree, torch.bincount(masked.draw(1).ends, minlength=n).float())


def _run(graph, **settings):
    torch.set_num_threads(1)
    settings = {**SMALL, "epochs": 20, "quiet": True, "save": False, **settings}
    return train(data=graph, **settings)


def test_masked_minibatch_training_beats_chance_and_is_seeded(communities):
    batches = {"batch_size": 128, "fanout": [5]}
    a = _run(communities, **batches)
    assert a.objective == "masked"
    assert a.config.mask == "directed" and a.config.degree_weight == 0.003
    assert a.metrics["test"]["auc"] > 0.8  # chance: 0.5; full-graph, 20 epochs: 0.85
    b = _run(communities, **batches)
    assert a.metrics["test"] == b.metrics["test"]
    assert torch.equal(a.embeddings, b.embeddings)
    c = _run(communities, seed=1, **batches)
    assert a.metrics["test"] != c.metrics["test"]
