import pytest
import torch
import torch.nn.functional as F

from graphae.losses import (
    all_pairs_softplus,
    dense_loss_weights,
    dense_reconstruction_loss,
    kl_divergence,
    sampled_reconstruction_loss,
)
from graphae.training.objectives import DenseObjective


def reference_dense_loss(z, train_edge_index, n):
    """The tkipf/gae loss computed directly on the N x N matrices."""
    adj = torch.zeros(n, n, dtype=z.dtype)
    adj[train_edge_index[0], train_edge_index[1]] = 1.0
    labels = adj + torch.eye(n, dtype=z.dtype)
    e = adj.sum()
    pos_weight = (n * n - e) / e
    norm = n * n / (2 * (n * n - e))
    logits = z @ z.t()
    return norm * F.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight)


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_dense_loss_equals_direct_computation_value_and_gradient(planted, block, monkeypatch):
    monkeypatch.setattr("graphae.losses.BLOCK_ELEMENTS", block)
    n = planted.num_nodes
    torch.manual_seed(0)
    z1 = (0.3 * torch.randn(n, 8, dtype=torch.float64)).requires_grad_()
    z2 = z1.detach().clone().requires_grad_()
    objective = DenseObjective(planted.edge_index, n)
    ours = dense_reconstruction_loss(z1, objective.positives, objective.pos_weight, objective.norm)
    direct = reference_dense_loss(z2, planted.edge_index, n)
    torch.testing.assert_close(ours, direct)
    ours.backward()
    direct.backward()
    torch.testing.assert_close(z1.grad, z2.grad)


def test_all_pairs_softplus_block_size_does_not_matter():
    z = torch.randn(37, 5, dtype=torch.float64)
    expected = F.softplus(z @ z.t()).sum()
    for block in (1, 10, 37, 1000):
        torch.testing.assert_close(all_pairs_softplus(z, block), expected)


def test_dense_loss_weights():
    pos_weight, norm = dense_loss_weights(num_nodes=10, num_edges=20)
    assert pos_weight == pytest.approx(80 / 20) and norm == pytest.approx(100 / 160)


def test_kl_matches_reference_formula_and_vanishes_at_prior():
    mu, logstd = torch.randn(6, 3), 0.1 * torch.randn(6, 3)
    expected = -(0.5 / 6) * torch.mean(
        torch.sum(1 + 2 * logstd - mu**2 - torch.exp(logstd) ** 2, 1)
    )
    torch.testing.assert_close(kl_divergence(mu, logstd), expected)
    assert kl_divergence(torch.zeros(4, 2), torch.zeros(4, 2)).item() == 0.0
    assert kl_divergence(mu, logstd).item() > 0


def test_sampled_loss_prefers_correct_scores():
    z = torch.tensor([[2.0, 0.0], [2.0, 0.0], [-2.0, 0.0]])
    pos, neg = torch.tensor([[0], [1]]), torch.tensor([[0], [2]])
    good = sampled_reconstruction_loss(z, pos, neg)
    bad = sampled_reconstruction_loss(z, neg, pos)
    assert good < 0.1 < bad


def test_kl_gradient_matches_autograd_of_the_formula():
    mu = torch.randn(30, 4, dtype=torch.float64, requires_grad=True)
    logstd = (0.3 * torch.randn(30, 4, dtype=torch.float64)).requires_grad_()
    kl_divergence(mu, logstd).backward()
    m2, l2 = mu.detach().clone().requires_grad_(), logstd.detach().clone().requires_grad_()
    n = m2.shape[0]
    direct = -(0.5 / n) * (1 + 2 * l2 - m2.pow(2) - torch.exp(l2).pow(2)).sum(1).mean()
    direct.backward()
    torch.testing.assert_close(kl_divergence(mu, logstd), direct)
    torch.testing.assert_close(mu.grad, m2.grad)
    torch.testing.assert_close(logstd.grad, l2.grad)


def test_dense_loss_gradient_is_the_same_every_time(planted):
    # z[pairs] would accumulate its gradient with atomic adds on 2+ threads
    # (different last bits from call to call); same seed must give same numbers
    n = planted.num_nodes
    objective = DenseObjective(planted.edge_index, n)
    torch.manual_seed(0)
    z = torch.randn(n, 16, requires_grad=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        grads = []
        for _ in range(10):
            z.grad = None
            loss = dense_reconstruction_loss(z, objective.positives, 30.0, 0.5)
            loss.backward()
            grads.append(z.grad.clone())
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(g, grads[0]) for g in grads)
