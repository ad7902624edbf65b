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


def test_prepare_features_normalizes_rows_like_pyg():
    x = torch.zeros(4, 30)
    x[0, [1, 2]] = 1.0
    x[2, [0, 5, 9, 12]] = 3.0  # row 1 and 3 stay empty
    got = prepare_features(x, normalize=True)
    assert got.layout == torch.sparse_csr  # still sparse
    torch.testing.assert_close(got.to_dense().sum(1), torch.tensor([1.0, 0.0, 1.0, 0.0]))
    torch.testing.assert_close(got.to_dense()[2, 5], torch.tensor(0.25))
    torch.testing.assert_close(
        prepare_features(x), x.to_sparse_csr().to_dense(), check_layout=False
    )
