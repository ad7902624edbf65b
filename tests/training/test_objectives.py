import torch

from graphae.data.link_split import split_edges
from graphae.nn.autoencoders import Encoding
from graphae.training.objectives import DenseObjective, SampledObjective, resolve_objective


def test_sampled_negatives_are_non_edges_without_self_pairs(planted):
    n = planted.num_nodes
    split = split_edges(planted.edge_index, n, seed=0)
    edges = split.train_edge_index()
    objective = SampledObjective(edges, n, torch.Generator().manual_seed(0))
    neg = objective.sample_negatives(5000)
    assert neg.shape == (2, 5000)
    assert (neg[0] != neg[1]).all()
    train = set((edges[0] * n + edges[1]).tolist())
    assert not train & set((neg[0] * n + neg[1]).tolist())
    assert neg.min() >= 0 and neg.max() < n


def test_sampled_negatives_are_seeded(planted):
    n, edges = planted.num_nodes, planted.edge_index
    a = SampledObjective(edges, n, torch.Generator().manual_seed(1)).sample_negatives(50)
    b = SampledObjective(edges, n, torch.Generator().manual_seed(1)).sample_negatives(50)
    assert torch.equal(a, b)


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
