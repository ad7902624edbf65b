"""The masked objective (MaskGAE) data-parallel: shares add up to the full loss and gradient.

Ranks are emulated in one process: each "rank" builds the model from the
same seed (so the same weights and the same encoder dropout masks), draws
the same mask and negatives, and computes its share of the loss. Then
2 gloo processes under torchrun train MaskGAE end to end.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from graphae.config import TrainConfig
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import split_edges
from graphae.nn.factory import build_from_config
from graphae.training.distributed import DataParallel, rank_stream, share
from graphae.training.masked import MaskedObjective
from graphae.training.masking import make_mask
from tests.training.torchrun import assert_ranks_average_to_one_process, one_process, train_ddp


@pytest.fixture
def setting(planted):
    n = planted.num_nodes
    edges = split_edges(planted.edge_index, n, seed=0).train_edge_index()
    return edges, gcn_adjacency(edges, n), prepare_features(planted.x)


def _step(config: TrainConfig, setting, shard, epoch: int = 3):
    """One step's loss parts and gradients, on ``shard`` (``None``: one process)."""
    edges, adj, x = setting
    torch.manual_seed(0)  # every rank: the same weights and encoder dropout masks
    model = build_from_config(config, x.shape[1])
    model.train()
    mask = make_mask(config.mask, config.mask_ratio, config.walk_length)
    objective = MaskedObjective.for_model(
        model, edges, x.shape[0], mask, config.degree_weight, seed=5
    )
    objective.shard = shard
    parts = objective(objective.encode(model, x, adj, epoch), epoch)
    parts["loss"].backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    return {k: float(v.detach()) for k, v in parts.items()}, grads


MASKGAE = {"model": "maskgae", "hidden_dim": 32, "latent_dim": 16, "degree_weight": 0.5}


@pytest.mark.parametrize(
    "settings",
    [
        MASKGAE,  # directed mask (weighted targets), batch norm, dropout 0.8, degree decoder
        {**MASKGAE, "mask": "edge", "mask_ratio": 0.5},
        {**MASKGAE, "mask": "path", "mask_ratio": 0.3, "degree_weight": 0.0},
        {"model": "vgae", "decoder": "mlp", "mask": "none"},  # KL replicated on every rank
    ],
    ids=["maskgae", "edge-mask", "path-mask", "vgae-mlp"],
)
@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_gradients_average_to_the_single_process_gradient(setting, settings, world_size):
    config = TrainConfig(**settings)
    ranks = [_step(config, setting, (r, world_size)) for r in range(world_size)]
    # loss, recon, degree and kl: each counted once overall
    assert_ranks_average_to_one_process(_step(config, setting, None), ranks)


def test_the_degree_loss_counts_once(setting):
    """Only the degree term differs between two weights: its gradient scales by α, not W α."""
    config = TrainConfig(**MASKGAE)
    without = TrainConfig(**{**MASKGAE, "degree_weight": 0.0})
    for shard in [None, (0, 2), (1, 2)]:
        with_parts, _ = _step(config, setting, shard)
        without_parts, _ = _step(without, setting, shard)
        difference = with_parts["loss"] - without_parts["loss"]
        assert difference == pytest.approx(0.5 * with_parts["degree"], rel=1e-4)
    mean_degree = np.mean([_step(config, setting, (r, 2))[0]["degree"] for r in range(2)])
    assert mean_degree == pytest.approx(_step(config, setting, None)[0]["degree"], rel=1e-5)


def test_decoder_dropout_leaves_the_ranks_random_streams_alike(setting):
    """Shares of different sizes would advance torch's generator differently; they do not."""
    edges, adj, x = setting
    config = TrainConfig(**{**MASKGAE, "decoder_dropout": 0.5})
    states = []
    for shard in [(0, 3), (1, 3), (2, 3), None]:
        torch.manual_seed(0)
        model = build_from_config(config, x.shape[1])
        model.train()
        mask = make_mask(config.mask, config.mask_ratio)
        objective = MaskedObjective.for_model(model, edges, x.shape[0], mask, 0.5, seed=5)
        objective.shard = shard
        encoding = objective.encode(model, x, adj, 1)
        before = torch.get_rng_state()
        objective(encoding, 1)
        states.append((before, torch.get_rng_state()))
    for before, after in states[:3]:  # each rank: back where it was, as every other rank
        assert torch.equal(before, after) and torch.equal(after, states[0][1])
    assert not torch.equal(*states[3])  # one process draws from the global generator
    z, cpu = torch.randn(x.shape[0], 16), torch.device("cpu")
    logits = []
    for epoch, rank in [(1, 0), (1, 1), (2, 0), (1, 0)]:
        with rank_stream(5, epoch, rank, cpu):
            logits.append(model.decode(z, edges[:, :50]))
    assert torch.equal(logits[0], logits[3])  # a stream of (seed, epoch, rank)
    assert not torch.equal(logits[0], logits[1]) and not torch.equal(logits[0], logits[2])


def test_the_masked_objective_is_accepted_data_parallel():
    config = TrainConfig(model="maskgae")
    assert DataParallel(0, 2).prepare(config, "masked", True, [])[1] is True


@pytest.mark.parametrize("count", [0, 1, 7, 100])
@pytest.mark.parametrize("world_size", [1, 2, 3, 8])
def test_shares_cover_the_items_once(count, world_size):
    shares = [share(count, r, world_size) for r in range(world_size)]
    covered = [i for s in shares for i in range(count)[s]]
    assert covered == list(range(count))
    assert max(s.stop - s.start for s in shares) - min(s.stop - s.start for s in shares) <= 1


GRAPH = "synthetic:nodes=300,edges=1500,features=16"
SETTINGS = ["--model", "maskgae", "--epochs", "30", "--seed", "3", "--hidden-dim", "32"]
SETTINGS += ["--latent-dim", "32", "--decoder-dropout", "0.2"]


def test_torchrun_two_processes_train_maskgae(tmp_path):
    """2 gloo ranks: identical weights (batch norm statistics too) and one process's AUC."""
    done = train_ddp(tmp_path, GRAPH, *SETTINGS)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "runs" / "ddp"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["objective"] == "masked"
    digests = metrics["distributed"]["parameters_sha256"]  # random states compared as well
    assert len(digests) == 2 and digests[0] == digests[1]

    single = one_process(
        dataset=GRAPH,
        model="maskgae",
        epochs=30,
        seed=3,
        hidden_dim=32,
        latent_dim=32,
        decoder_dropout=0.2,
    )
    # decoder dropout draws per rank: the same distribution, other masks than one process's
    assert abs(metrics["test"]["auc"] - single.metrics["test"]["auc"]) < 0.03
