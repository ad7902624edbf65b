import torch

from graphae.data.graph import gcn_adjacency, prepare_features


def test_gcn_adjacency_matches_formula():
    edges = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    a = torch.zeros(4, 4)
    a[edges[0], edges[1]] = 1
    a_tilde = a + torch.eye(4)
    d = a_tilde.sum(1).pow(-0.5)
    expected = d[:, None] * a_tilde * d[None, :]
    got = gcn_adjacency(edges, 4)
    assert got.layout == torch.sparse_csr
    torch.testing.assert_close(got.to_dense(), expected)


def test_isolated_node_keeps_its_self_loop():
    got = gcn_adjacency(torch.tensor([[0], [1]]).repeat(1, 1), 3).to_dense()
    assert got[2, 2] == 1.0


def test_prepare_features_layouts():
    sparse_x = torch.zeros(10, 50)
    sparse_x[0, 3] = 1.0
    dense_x = torch.randn(10, 5)
    assert prepare_features(sparse_x).layout == torch.sparse_csr
    torch.testing.assert_close(prepare_features(sparse_x).to_dense(), sparse_x)
    assert prepare_features(dense_x).layout == torch.strided
    assert prepare_features(dense_x, use_features=False) is None
