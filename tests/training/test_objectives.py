import torch

from graphae.data.link_split import split_edges
from graphae.losses import sampled_reconstruction_loss
from graphae.nn.autoencoders import Encoding
from graphae.training.objectives import DenseObjective, SampledObjective, resolve_objective


def test_sampled_negatives_are_non_edges_without_self_pairs(planted):
    n = planted.num_nodes
    split = split_edges(planted.edge_index, n, seed=0)
    edges = split.train_edge_index()
    objective = SampledObjective(edges, n, torch.Generator().manual_seed(0))
    neg = objective.sample_negatives(5000)
    # 2,000 ordered edges + 200 self-pairs among 40,000 pairs: ~5.5% of draws are dropped
    assert 4500 < neg.shape[1] <= 5000
    assert (neg[0] != neg[1]).all()
    train = set((edges[0] * n + edges[1]).tolist())
    assert not train & set((neg[0] * n + neg[1]).tolist())
    assert neg.min() >= 0 and neg.max() < n


def test_sampled_negatives_are_seeded(planted):
    n, edges = planted.num_nodes, planted.edge_index
    a = SampledObjective(edges, n, torch.Generator().manual_seed(1)).sample_negatives(50)
    b = SampledObjective(edges, n, torch.Generator().manual_seed(1)).sample_negatives(50)
    assert torch.equal(a, b)


def test_sampled_negatives_are_uniform_over_non_edges():
    n = 6
    edges = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    objective = SampledObjective(edges, n, torch.Generator().manual_seed(0))
    neg = objective.sample_negatives(60_000)
    counts = torch.bincount(neg[0] * n + neg[1], minlength=n * n).float()
    valid = torch.ones(n, n, dtype=torch.bool)
    valid.fill_diagonal_(False)
    valid[edges[0], edges[1]] = False
    assert (counts.view(n, n)[~valid] == 0).all()
    expected = neg.shape[1] / int(valid.sum())  # 26 valid ordered pairs
    assert (counts.view(n, n)[valid] - expected).abs().max() < 5 * expected**0.5


def test_sampled_objective_equals_the_direct_loss(planted):
    n = planted.num_nodes
    edges = split_edges(planted.edge_index, n, seed=0).train_edge_index()
    objective = SampledObjective(edges, n, torch.Generator().manual_seed(3))
    z = torch.randn(n, 8, requires_grad=True)
    loss = objective(Encoding(z=z, mu=z))["loss"]
    (grad,) = torch.autograd.grad(loss, z)
    # the first call's negatives: round 0 of the batch drawn from the same generator,
    # as many pairs as undirected training edges, draws that hit an edge left out
    twin = SampledObjective(edges, n, torch.Generator().manual_seed(3))
    draws, usable = twin.draw_negatives(edges.shape[1] // 2, twin.rounds)
    first = draws.first[0][usable[0, draws.first[0]]]
    negatives = torch.stack([draws.row[0, first], draws.col[0, first]])
    z2 = z.detach().clone().requires_grad_()
    direct = sampled_reconstruction_loss(z2, edges, negatives)
    direct.backward()
    torch.testing.assert_close(loss, direct)
    torch.testing.assert_close(grad, z2.grad)


def test_objectives_report_parts(planted):
    n = planted.num_nodes
    z = torch.randn(n, 4)
    for objective in (
        DenseObjective(planted.edge_index, n),
        SampledObjective(planted.edge_index, n),
    ):
        gae = objective(Encoding(z=z, mu=z))
        assert set(gae) == {"loss", "recon"}
        vgae = objective(Encoding(z=z, mu=z, logstd=torch.zeros_like(z)))
        assert set(vgae) == {"loss", "recon", "kl"}
        torch.testing.assert_close(vgae["loss"], vgae["recon"] + vgae["kl"])


def test_auto_objective():
    assert resolve_objective("auto", 1000, 25_000) == "dense"
    assert resolve_objective("auto", 30_000, 25_000) == "sampled"
    assert resolve_objective("sampled", 10, 25_000) == "sampled"


def test_each_call_draws_fresh_negatives_in_batches(planted):
    n = planted.num_nodes
    edges = split_edges(planted.edge_index, n, seed=0).train_edge_index()
    objective = SampledObjective(edges, n, torch.Generator().manual_seed(0))
    assert objective.rounds > 1  # a small graph: many rounds per batch
    z = torch.randn(n, 8)
    losses = [float(objective(Encoding(z=z, mu=z))["loss"]) for _ in range(objective.rounds + 2)]
    assert len(set(losses)) == len(losses)  # a new draw every call, across batches too


def test_auto_objective_rule():
    from graphae.training.objectives import resolve_objective

    assert resolve_objective("auto", 5_000, 5_000) == "dense"
    assert resolve_objective("auto", 7_624, 5_000) == "sampled"
    assert resolve_objective("auto", 19_717, 5_000, paper_graph=True) == "dense"
    assert resolve_objective("dense", 50_000, 5_000) == "dense"
    assert resolve_objective("sampled", 100, 5_000) == "sampled"
