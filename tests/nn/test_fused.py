import pytest
import torch
import torch.nn.functional as F

from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.nn.fused import gcn2
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
