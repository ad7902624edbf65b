"""Mini-batch training data-parallel: each rank takes its share of every batch.

Ranks are emulated in one process first (the shares of a batch add up to
its loss and gradient when the encoder is exact: fanout -1, no batch norm,
no dropout); then 2 gloo processes under torchrun train MaskGAE in
mini-batches and end with identical parameters and buffers.
"""

from __future__ import annotations

import json

import pytest
import torch

from graphae.config import TrainConfig
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import split_edges
from graphae.nn.factory import build_from_config
from graphae.training.distributed import DataParallel
from graphae.training.masked import MaskedObjective
from graphae.training.masking import make_mask
from graphae.training.minibatch import MinibatchStep
from tests.training.torchrun import assert_ranks_average_to_one_process, one_process, train_ddp


def _step(planted, ranks: DataParallel | None, mask: str = "directed"):
    """The loss parts and gradients of batch 2 of epoch 3 (this rank's share)."""
    n = int(planted.num_nodes)
    split = split_edges(planted.edge_index, n, seed=0)
    edges, x = split.train_edge_index(), prepare_features(planted.x)
    config = TrainConfig(model="gae", decoder="mlp", hidden_dim=16, latent_dim=8)
    torch.manual_seed(0)
    model = build_from_config(config, x.shape[1])
    model.train()
    masked = MaskedObjective.for_model(model, edges, n, make_mask(mask, 0.7), seed=3)
    adj = gcn_adjacency(edges, n)
    step = MinibatchStep(model, x, adj, split.train_pos, n, batch_size=300, fanouts=[-1],
                         seed=3, masked=masked, ranks=ranks)  # fmt: skip
    targets = step.targets(3)
    index = step.order(targets.pairs.shape[1], 3)[2]
    negatives = step.negatives(targets.count(index), 3, 2)
    parts = step.loss(model, targets, index, negatives, 3, 2)
    parts["loss"].backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    return {k: float(v.detach()) for k, v in parts.items()}, grads


@pytest.mark.parametrize("mask", ["directed", "edge"])
@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_shares_of_a_batch_average_to_its_loss_and_gradient(planted, mask, world_size):
    ranks = [_step(planted, DataParallel(r, world_size), mask) for r in range(world_size)]
    assert_ranks_average_to_one_process(_step(planted, None, mask), ranks)


def test_an_empty_share_gives_zeros_with_the_other_ranks_keys(planted):
    n = int(planted.num_nodes)
    split = split_edges(planted.edge_index, n, seed=0)
    edges, x = split.train_edge_index(), prepare_features(planted.x)
    config = TrainConfig(model="maskgae", hidden_dim=16, latent_dim=8)
    model = build_from_config(config, x.shape[1])
    masked = MaskedObjective.for_model(model, edges, n, make_mask("directed", 0.7), 0.1, seed=3)
    adj = gcn_adjacency(edges, n)
    step = MinibatchStep(model, x, adj, split.train_pos, n, batch_size=1, fanouts=[3],
                         masked=masked, ranks=DataParallel(0, 2))  # fmt: skip
    targets = step.targets(1)
    index = step.order(targets.pairs.shape[1], 1)[0]
    negatives = step.negatives(1, 1, 0)
    parts = step.loss(model, targets, index, negatives, 1, 0)  # rank 0 of 2: no pair of 1
    assert list(parts) == ["recon", "degree", "loss"]
    assert all(float(v) == 0.0 for v in parts.values())
    other = MinibatchStep(model, x, adj, split.train_pos, n, batch_size=1, fanouts=[3],
                          masked=masked, ranks=DataParallel(1, 2))  # fmt: skip
    assert list(other.loss(model, targets, index, negatives, 1, 0)) == list(parts)


GRAPH = "synthetic:nodes=300,edges=1500,features=16"
MINIBATCH = {"model": "maskgae", "epochs": 8, "seed": 3, "hidden_dim": 32, "latent_dim": 32}
MINIBATCH.update(batch_size=256, fanout=[5], degree_weight=0.05)


def _flags(settings: dict) -> list[str]:
    flags = []
    for key, value in settings.items():
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        flags += ["--" + key.replace("_", "-"), text]
    return flags


def test_torchrun_two_processes_train_maskgae_in_minibatches(tmp_path):
    """2 gloo ranks: identical weights and batch norm statistics; one process's AUC, about."""
    done = train_ddp(tmp_path, GRAPH, *_flags(MINIBATCH))
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "runs" / "ddp"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["objective"] == "masked"
    assert json.loads((run / "config.json").read_text())["config"]["batch_size"] == 256
    digests = metrics["distributed"]["parameters_sha256"]  # buffers and random states too
    assert len(digests) == 2 and digests[0] == digests[1]

    single = one_process(dataset=GRAPH, **MINIBATCH)
    # other neighbourhoods, batch-norm batches and dropout masks: the same distribution
    assert metrics["test"]["auc"] > 0.8
    assert abs(metrics["test"]["auc"] - single.metrics["test"]["auc"]) < 0.05
