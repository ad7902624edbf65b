import pytest
import torch
import torch.nn.functional as F

from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.nn.fused import gcn2, gcn2_heads
from graphae.nn.layers import GraphConv


def op_by_op(x, adj, conv1, conv2):
    """The two layers through autograd, one op at a time."""
    return conv2(F.relu(conv1(x, adj)), adj)


@pytest.mark.parametrize("features", ["sparse", "dense", "identity"])
@pytest.mark.parametrize("bias", [False, True])
def test_gcn2_gives_the_op_by_op_numbers_bit_for_bit(planted, features, bias):
    n = planted.num_nodes
    adj = gcn_adjacency(planted.edge_index, n)
    x = prepare_features(planted.x, features != "identity")
    if features == "sparse":
        x = x.to_sparse_csr()
    elif features == "dense":
        x = x.to_dense() if x.layout != torch.strided else x
    torch.manual_seed(0)
    conv1 = GraphConv(n if x is None else x.shape[1], 16, bias=bias)
    conv2 = GraphConv(16, 8, bias=bias)
    with torch.no_grad():  # non-zero biases, and some negative pre-activations
        for p in [*conv1.parameters(), *conv2.parameters()]:
            p.add_(0.1 * torch.randn_like(p))
    grad_out = torch.randn(n, 8)

    expected = op_by_op(x, adj, conv1, conv2)
    (expected * grad_out).sum().backward()
    expected_grads = [p.grad.clone() for p in [*conv1.parameters(), *conv2.parameters()]]
    for p in [*conv1.parameters(), *conv2.parameters()]:
        p.grad = None

    got = gcn2(x, adj, conv1.weight, conv1.bias, conv2.weight, conv2.bias)
    (got * grad_out).sum().backward()
    assert torch.equal(got, expected)
    for p, want in zip([*conv1.parameters(), *conv2.parameters()], expected_grads, strict=True):
        assert torch.equal(p.grad, want)


def test_gcn2_leaves_frozen_weights_without_gradient(planted):
    adj = gcn_adjacency(planted.edge_index, planted.num_nodes)
    x = prepare_features(planted.x)
    w0 = torch.randn(x.shape[1], 8)  # frozen
    w1 = torch.randn(8, 4, requires_grad=True)
    gcn2(x, adj, w0, None, w1).sum().backward()
    assert w0.grad is None and w1.grad is not None and w1.grad.abs().sum() > 0


def test_gcn2_with_a_dense_adjacency_equals_the_sparse_one(planted):
    adj = gcn_adjacency(planted.edge_index, planted.num_nodes)
    x = prepare_features(planted.x)
    torch.manual_seed(0)
    w0, w1 = torch.randn(x.shape[1], 8), torch.randn(8, 4)
    b0, b1 = torch.randn(8), torch.randn(4)
    torch.testing.assert_close(
        gcn2(x, adj.to_dense(), w0, b0, w1, b1), gcn2(x, adj, w0, b0, w1, b1)
    )


@pytest.mark.parametrize("bias", [False, True])
def test_gcn2_heads_give_the_op_by_op_heads_bit_for_bit(planted, bias):
    n = planted.num_nodes
    adj = gcn_adjacency(planted.edge_index, n)
    x = prepare_features(planted.x)
    torch.manual_seed(0)
    conv1 = GraphConv(x.shape[1], 16, bias=bias)
    heads = [GraphConv(16, 8, bias=bias), GraphConv(16, 8, bias=bias)]
    params = [*conv1.parameters(), *heads[0].parameters(), *heads[1].parameters()]
    with torch.no_grad():
        for p in params:
            p.add_(0.1 * torch.randn_like(p))
    g_mu, g_sigma = torch.randn(n, 8), torch.randn(n, 8)

    h = F.relu(conv1(x, adj))
    mu, logstd = heads[0](h, adj), heads[1](h, adj)
    ((mu * g_mu).sum() + (logstd * g_sigma).sum()).backward()
    expected = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None

    got_mu, got_logstd = gcn2_heads(
        x, adj, conv1.weight, conv1.bias, [c.weight for c in heads], [c.bias for c in heads]
    )
    assert got_mu.is_contiguous() and got_logstd.is_contiguous()
    ((got_mu * g_mu).sum() + (got_logstd * g_sigma).sum()).backward()
    # one product for both heads against two: same numbers to float rounding
    torch.testing.assert_close(got_mu, mu)
    torch.testing.assert_close(got_logstd, logstd)
    for p, want in zip(params, expected, strict=True):
        torch.testing.assert_close(p.grad, want)


def test_variational_encoder_equals_its_op_by_op_graph_bit_for_bit(planted):
    from graphae.nn.encoders import VariationalGCNEncoder
    from graphae.sparse import sparse_matmul

    adj = gcn_adjacency(planted.edge_index, planted.num_nodes)
    x = prepare_features(planted.x)
    torch.manual_seed(0)
    encoder = VariationalGCNEncoder(x.shape[1], 16, 8, bias=True)
    g = torch.randn(planted.num_nodes, 16)
    # the graph it replaces: shared product, column split, then a copy per head
    h = F.relu(encoder.conv1(x, adj))
    weight = torch.cat([encoder.conv_mu.weight, encoder.conv_logstd.weight], dim=1)
    out = sparse_matmul(adj, h @ weight) + torch.cat(
        [encoder.conv_mu.bias, encoder.conv_logstd.bias]
    )
    mu, logstd = (part.contiguous() for part in out.split(8, dim=1))
    (torch.cat([mu, logstd], 1) * g).sum().backward()
    expected = [p.grad.clone() for p in encoder.parameters()]
    encoder.zero_grad(set_to_none=True)
    got_mu, got_logstd = encoder(x, adj)
    (torch.cat([got_mu, got_logstd], 1) * g).sum().backward()
    assert torch.equal(got_mu, mu) and torch.equal(got_logstd, logstd)
    for p, want in zip(encoder.parameters(), expected, strict=True):
        assert torch.equal(p.grad, want)


def test_gcn2_heads_checks_its_arguments(planted):
    adj = gcn_adjacency(planted.edge_index, planted.num_nodes)
    w0, w1 = torch.randn(planted.num_nodes, 4), torch.randn(4, 2)
    with pytest.raises(ValueError, match="one bias"):
        gcn2_heads(None, adj, w0, None, [w1, w1], [None])
    with pytest.raises(ValueError, match="at least one head"):
        gcn2_heads(None, adj, w0, None, [], [])
