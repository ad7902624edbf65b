"""Data-parallel training: shards add up to the full loss; torchrun with 2 CPU processes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.distributed as dist

from graphae.config import TrainConfig
from graphae.data.graph import gcn_adjacency
from graphae.data.link_split import split_edges
from graphae.errors import ConfigError
from graphae.nn.autoencoders import Encoding
from graphae.nn.factory import build_model
from graphae.sparse import PairRounds, SymmetricPairs
from graphae.tracking.jsonl import JsonlTracker
from graphae.training.distributed import DataParallel, process_group, shard_entries, share
from graphae.training.objectives import SampledObjective
from tests.training.torchrun import one_process, train_ddp


@pytest.fixture
def training_graph(planted):
    n = planted.num_nodes
    return split_edges(planted.edge_index, n, seed=0).train_edge_index(), n


@pytest.mark.parametrize("world_size", [2, 3, 5])
def test_shards_partition_the_entries_evenly(training_graph, world_size):
    edges, n = training_graph
    positive_pairs = SymmetricPairs.from_edge_index(edges, n)
    negatives = PairRounds.draw(500, n, [torch.Generator().manual_seed(4)]).pairs()
    pairs, positives = positive_pairs.stack(negatives), len(positive_pairs)
    weight = torch.rand(len(pairs))
    shards = [shard_entries(pairs, weight, positives, r, world_size) for r in range(world_size)]
    assert torch.equal(torch.cat([s.col for s, _, _ in shards]), pairs.col)
    assert torch.equal(torch.cat([w for _, w, _ in shards]), weight * world_size)
    assert sum(p for _, _, p in shards) == positives
    widest_row = int((pairs.crow[1:] - pairs.crow[:-1]).max())
    for shard, shard_weight, _ in shards:  # whole rows, about len / W entries each
        assert shard.crow.shape == pairs.crow.shape and int(shard.crow[-1]) == len(shard)
        assert len(shard_weight) == len(shard)
        assert abs(len(shard) - len(pairs) / world_size) <= widest_row + 1


@pytest.mark.parametrize("model_name", ["gae", "vgae"])
@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_gradients_average_to_the_full_gradient(
    training_graph, planted, model_name, world_size
):
    """Ranks' shares split pairs between ranks, yet the mean gradient is the full one."""
    edges, n = training_graph
    adj = gcn_adjacency(edges, n)

    def loss_and_grads(shard: tuple[int, int] | None) -> tuple[float, list[torch.Tensor]]:
        torch.manual_seed(0)  # the same weights and (VGAE) the same sample on every rank
        model = build_model(model_name, planted.x.shape[1], 16, 8, 0.0, False)
        objective = SampledObjective(edges, n, seed=2)
        objective.shard = shard
        loss = objective(model.encode(planted.x, adj), 1)["loss"]
        loss.backward()
        return float(loss.detach()), [p.grad.clone() for p in model.parameters()]

    full_loss, full_grads = loss_and_grads(None)
    ranks = [loss_and_grads((r, world_size)) for r in range(world_size)]
    assert np.mean([loss for loss, _ in ranks]) == pytest.approx(full_loss, rel=1e-5)
    for i, full in enumerate(full_grads):
        mean = torch.stack([grads[i] for _, grads in ranks]).mean(0)
        torch.testing.assert_close(mean, full, rtol=1e-4, atol=1e-6)
        # and the ranks' own gradients do differ: each sees only its share
        assert not torch.allclose(ranks[0][1][i], full, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_test_a_share_of_the_draws_and_get_the_same_flags(training_graph, world_size):
    """Each rank tests 1/W of the drawn entries; the gathered flags are the full draw's."""
    edges, n = training_graph
    shares: dict[int, torch.Tensor] = {}

    def draw(rank: int, gather) -> tuple[torch.Tensor, int]:
        objective = SampledObjective(edges, n, seed=4)
        objective.shard, objective.gather_over_ranks = (rank, world_size), gather
        tested = 0
        contains = objective.excluded.contains

        def counting(row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
            nonlocal tested
            tested += row.numel()
            return contains(row, col)

        objective.excluded.contains = counting  # type: ignore[method-assign]
        _, usable = objective.draw_negatives(700, [1, 2, 3])  # three epochs at once
        return usable, tested

    def record(rank: int):
        def gather(mine: torch.Tensor, total: int) -> torch.Tensor:
            shares[rank] = mine
            return torch.zeros(total, dtype=mine.dtype)

        return gather

    for rank in range(world_size):  # first pass: what each rank tests
        draw(rank, record(rank))
    full, total = draw(0, None)  # one process: every entry tested
    assert total == 3 * 1400 and not bool(full.all())  # some draws hit an edge or a loop
    for rank in range(world_size):
        gathered, tested = draw(rank, lambda mine, total: torch.cat(list(shares.values())))
        assert torch.equal(gathered, full)
        assert tested == len(shares[rank]) <= total // world_size + 1


@pytest.mark.parametrize(("total", "world_size"), [(10, 3), (4, 4), (2, 3), (9, 2)])
def test_gather_puts_the_ranks_shares_in_rank_order(monkeypatch, total, world_size):
    """Uneven shares are padded for the all-gather and trimmed after (emulated all-gather)."""
    values = torch.rand(total) > 0.5
    sent: dict[int, torch.Tensor] = {}

    def gathered(rank: int) -> torch.Tensor:
        def all_gather(parts: list[torch.Tensor], tensor: torch.Tensor) -> None:
            sent[rank] = tensor.clone()
            for r, part in enumerate(parts):
                part.copy_(sent.get(r, torch.zeros_like(tensor)))

        monkeypatch.setattr(dist, "all_gather", all_gather)
        mine = values[share(total, rank, world_size)]
        return DataParallel(rank, world_size).gather(mine, total)

    for rank in range(world_size):  # first pass: every rank's padded share
        gathered(rank)
    for rank in range(world_size):
        result = gathered(rank)
        assert result.dtype == torch.bool and torch.equal(result, values)


def test_unsharded_objective_is_unchanged(training_graph):
    edges, n = training_graph
    z = torch.randn(n, 8)
    whole = SampledObjective(edges, n, seed=1)(Encoding(z=z, mu=z), 3)["loss"]
    one = SampledObjective(edges, n, seed=1)
    one.shard = (0, 1)  # one rank: its share is everything
    assert float(one(Encoding(z=z, mu=z), 3)["loss"]) == pytest.approx(float(whole), rel=1e-6)


def test_rank_0_saves_and_logs_the_others_do_not(tmp_path):
    config = TrainConfig(objective="sampled", device="cuda")
    tracker = JsonlTracker()
    main_config, save, trackers = DataParallel(0, 2).prepare(config, "sampled", True, [tracker])
    assert (save, list(trackers), main_config.quiet) == (True, [tracker], False)
    other, save, trackers = DataParallel(1, 2, local_rank=1).prepare(
        config, "sampled", True, [tracker]
    )
    assert (save, list(trackers), other.quiet) == (False, [], True)
    assert (main_config.device, other.device) == ("cuda:0", "cuda:1")  # this machine's GPU


@pytest.mark.parametrize("setting", ["dense", "auto"])
def test_dense_objective_is_refused_with_the_fix(setting):
    config = TrainConfig(objective=setting)
    with pytest.raises(ConfigError, match="--objective sampled") as caught:
        DataParallel(0, 2).prepare(config, "dense", True, [])
    assert ("auto chose it" in str(caught.value)) == (setting == "auto")


def test_one_process_outside_torchrun_starts_no_group(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    with process_group("gloo", "cpu") as ranks:
        assert ranks is None and not dist.is_initialized()


def test_nccl_without_cuda_is_refused(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    with pytest.raises(ConfigError, match="gloo"), process_group("nccl", "cpu"):
        pass
    assert not dist.is_initialized()


GRAPH = "synthetic:nodes=300,edges=1500,features=16"
SETTINGS = ["--objective", "sampled", "--epochs", "40", "--seed", "3"]


def test_torchrun_two_processes_match_one(tmp_path):
    """2 gloo ranks: identical weights on both, and the single-process run's numbers."""
    done = train_ddp(tmp_path, GRAPH, *SETTINGS)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test AUC") == 1  # rank 0 alone reports
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ddp"]  # and writes
    run = tmp_path / "runs" / "ddp"
    metrics = json.loads((run / "metrics.json").read_text())
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    replicas = metrics["distributed"]
    assert replicas["world_size"] == 2 and replicas["backend"] == "gloo"
    digests = replicas["parameters_sha256"]  # each rank hashed its own weights
    assert len(digests) == 2 and digests[0] == digests[1]

    single = one_process(dataset=GRAPH, objective="sampled", epochs=40, seed=3)
    assert abs(metrics["test"]["auc"] - single.metrics["test"]["auc"]) < 0.01
    # the same computation up to the order of a few float sums
    embeddings = np.load(run / "embeddings.npy")
    np.testing.assert_allclose(embeddings, single.embeddings.numpy(), atol=1e-3)
