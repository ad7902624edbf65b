import torch

from graphae.data.link_split import split_edges
from graphae.losses import sampled_reconstruction_loss
from graphae.nn.autoencoders import Encoding
from graphae.training.objectives import DenseObjective, SampledObjective, resolve_objective
from graphae.training.rng import epoch_generator


def sample_negatives(objective: SampledObjective, count: int, epoch: int = 1) -> torch.Tensor:
    """``[2, k]`` of ``count`` uniform draws of ``epoch`` that are usable negatives."""
    draws, usable = objective.draw_negatives(count, [epoch])
    first = draws.first[0]
    first = first[usable[0, first]]
    return torch.stack([draws.row[0, first], draws.col[0, first]])


def test_sampled_negatives_are_non_edges_without_self_pairs(planted):
    n = planted.num_nodes
    split = split_edges(planted.edge_index, n, seed=0)
    edges = split.train_edge_index()
    objective = SampledObjective(edges, n, 0)
    neg = sample_negatives(objective, 5000)
    # 2,000 ordered edges + 200 self-pairs among 40,000 pairs: ~5.5% of draws are dropped
    assert 4500 < neg.shape[1] <= 5000
    assert (neg[0] != neg[1]).all()
    train = set((edges[0] * n + edges[1]).tolist())
    assert not train & set((neg[0] * n + neg[1]).tolist())
    assert neg.min() >= 0 and neg.max() < n


def test_sampled_negatives_are_seeded(planted):
    n, edges = planted.num_nodes, planted.edge_index
    a = sample_negatives(SampledObjective(edges, n, 1), 50)
    b = sample_negatives(SampledObjective(edges, n, 1), 50)
    assert torch.equal(a, b)


def test_sampled_negatives_are_uniform_over_non_edges():
    n = 6
    edges = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]])
    objective = SampledObjective(edges, n, 0)
    neg = sample_negatives(objective, 60_000)
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
    objective = SampledObjective(edges, n, 3)
    z = torch.randn(n, 8, requires_grad=True)
    loss = objective(Encoding(z=z, mu=z), 1)["loss"]
    (grad,) = torch.autograd.grad(loss, z)
    # epoch 1's negatives: as many pairs as undirected training edges, drawn from
    # the generator of (seed 3, epoch 1), draws that hit an edge left out
    twin = SampledObjective(edges, n, 3)
    draws, usable = twin.draw_negatives(edges.shape[1] // 2, [1])
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
        gae = objective(Encoding(z=z, mu=z), 1)
        assert set(gae) == {"loss", "recon"}
        vgae = objective(Encoding(z=z, mu=z, logstd=torch.zeros_like(z)), 1)
        assert set(vgae) == {"loss", "recon", "kl"}
        torch.testing.assert_close(vgae["loss"], vgae["recon"] + vgae["kl"])


def test_auto_objective():
    assert resolve_objective("auto", 1000, 25_000) == "dense"
    assert resolve_objective("auto", 30_000, 25_000) == "sampled"
    assert resolve_objective("sampled", 10, 25_000) == "sampled"


def test_each_call_draws_fresh_negatives_in_batches(planted):
    n = planted.num_nodes
    edges = split_edges(planted.edge_index, n, seed=0).train_edge_index()
    objective = SampledObjective(edges, n, 0)
    assert objective.rounds > 1  # a small graph: many rounds per batch
    z = torch.randn(n, 8)
    epochs = range(1, objective.rounds + 3)
    losses = [float(objective(Encoding(z=z, mu=z), t)["loss"]) for t in epochs]
    assert len(set(losses)) == len(losses)  # a new draw every epoch, across batches too


def test_auto_objective_rule():
    from graphae.training.objectives import resolve_objective

    assert resolve_objective("auto", 5_000, 5_000) == "dense"
    assert resolve_objective("auto", 7_624, 5_000) == "sampled"
    assert resolve_objective("auto", 19_717, 5_000, paper_graph=True) == "dense"
    assert resolve_objective("dense", 50_000, 5_000) == "dense"
    assert resolve_objective("sampled", 100, 5_000) == "sampled"


def _tiny_vgae_encoding(n: int = 5, d: int = 3):
    """A VGAE training-mode encoding of fixed ``(μ, log σ)``, with its noise ``ε``."""
    from graphae.nn.autoencoders import VGAE

    g = torch.Generator().manual_seed(0)
    mu = torch.randn(n, d, generator=g)
    logstd = 0.3 * torch.randn(n, d, generator=g)
    model = VGAE(encoder=lambda x, adj: (mu, logstd))
    torch.manual_seed(5)
    encoding = model.encode(None, None)
    torch.manual_seed(5)
    eps = torch.randn(n, d)
    return encoding, mu, logstd, eps


def test_vgae_training_loss_by_hand_kl_over_n_of_the_mean_over_nodes():
    # tkipf/gae: kl = (0.5 / N) · mean_i Σ_d (1 + 2 log σ − μ² − σ²), subtracted
    encoding, mu, logstd, eps = _tiny_vgae_encoding()
    n = mu.shape[0]
    torch.testing.assert_close(encoding.z, mu + eps * logstd.exp())
    per_node = -0.5 * (1 + 2 * logstd - mu**2 - logstd.exp() ** 2).sum(1)
    kl = per_node.mean() / n
    edges = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    # the dense objective: weighted BCE over all N² entries of A + I
    target = torch.eye(n)
    target[edges[0], edges[1]] = 1.0
    e = edges.shape[1]
    pos_weight, norm = (n * n - e) / e, n * n / (2.0 * (n * n - e))
    logits = encoding.z @ encoding.z.t()
    recon = norm * torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, pos_weight=torch.tensor(pos_weight)
    )
    parts = DenseObjective(edges, n)(encoding)
    torch.testing.assert_close(parts["kl"], kl)
    torch.testing.assert_close(parts["recon"], recon)
    torch.testing.assert_close(parts["loss"], recon + kl)
    # the sampled objective adds the same KL, and eval mode's (μ only) equals it too
    sampled = SampledObjective(edges, n, 0)(encoding, 1)
    torch.testing.assert_close(sampled["kl"], kl)
    evaluated = DenseObjective(edges, n)(Encoding(z=mu, mu=mu, logstd=logstd))
    torch.testing.assert_close(evaluated["kl"], kl)


def test_sampled_loss_by_hand_leaves_out_drawn_edges_and_self_pairs():
    # 6 nodes, all 15 pairs but {0,1}, {2,3}, {4,5} are edges: 5 of 6 random pairs
    # are an edge or a self-pair, and only the usable ones enter the negatives' mean
    from graphae.sparse import PairRounds

    n = 6
    non_edges = {(0, 1), (1, 0), (2, 3), (3, 2), (4, 5), (5, 4)}
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j and (i, j) not in non_edges]
    edges = torch.tensor(pairs).t()
    count = edges.shape[1] // 2  # as many negatives as undirected training edges
    objective = SampledObjective(edges, n, 4)
    z = torch.randn(n, 4, generator=torch.Generator().manual_seed(1))
    loss = objective(Encoding(z=z, mu=z), 1)["loss"]
    draws = PairRounds.draw(count, n, [epoch_generator(4, 1)])
    drawn = [(int(draws.row[0, k]), int(draws.col[0, k])) for k in draws.first[0]]
    usable = [(i, j) for i, j in drawn if (i, j) in non_edges]
    assert 0 < len(usable) < count // 2  # most draws are left out
    logit = lambda pairs: torch.stack([z[i] @ z[j] for i, j in pairs])  # noqa: E731
    softplus = torch.nn.functional.softplus
    by_hand = softplus(-logit(pairs)).mean() + softplus(logit(usable)).mean()
    torch.testing.assert_close(loss, by_hand)


def test_each_epochs_negatives_depend_only_on_seed_and_epoch(planted, monkeypatch):
    # batching epochs' draws (MAX_ROUNDS, MAX_BATCH_ENTRIES) or calling epochs out of
    # order (a resumed run) must not change any epoch's loss
    n = planted.num_nodes
    edges = split_edges(planted.edge_index, n, seed=0).train_edge_index()
    z = torch.randn(n, 8, generator=torch.Generator().manual_seed(2))

    def losses(epochs, seed=5):
        objective = SampledObjective(edges, n, seed)
        return {t: float(objective(Encoding(z=z, mu=z), t)["loss"]) for t in epochs}

    batched = losses(range(1, 41))
    assert SampledObjective(edges, n).rounds > 1
    monkeypatch.setattr(SampledObjective, "MAX_ROUNDS", 1)
    assert losses(range(1, 41)) == batched
    monkeypatch.setattr(SampledObjective, "MAX_ROUNDS", 7)
    monkeypatch.setattr(SampledObjective, "MAX_BATCH_ENTRIES", 1)
    assert losses([17, 3, 40, 1]) == {t: batched[t] for t in (17, 3, 40, 1)}
    assert losses([17], seed=6)[17] != batched[17]
