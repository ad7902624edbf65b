import pytest
import torch

from graphae.data.graph import to_csr
from graphae.sparse import MAX_BITSET_BITS, Pairs, PairSet, pair_logits, sparse_matmul


def _random_csr(n: int, m: int, nnz: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    index = torch.stack(
        [torch.randint(0, n, (nnz,), generator=g), torch.randint(0, m, (nnz,), generator=g)]
    )
    return to_csr(index, torch.rand(nnz, generator=g), (n, m))


def test_sparse_matmul_matches_dense_value_and_gradient():
    a = _random_csr(30, 20, 80)
    w = torch.randn(20, 5, requires_grad=True)
    out = sparse_matmul(a, w)
    (out**2).sum().backward()
    w2 = w.detach().clone().requires_grad_()
    ((a.to_dense() @ w2) ** 2).sum().backward()
    torch.testing.assert_close(out, a.to_dense() @ w.detach())
    torch.testing.assert_close(w.grad, w2.grad)


def test_sparse_matmul_transpose_is_cached_per_matrix():
    from graphae import sparse

    a = _random_csr(10, 10, 30)
    w = torch.randn(10, 2, requires_grad=True)
    sparse_matmul(a, w).sum().backward()
    assert id(a) in sparse._TRANSPOSES
    first = sparse._TRANSPOSES[id(a)][1]
    sparse_matmul(a, w).sum().backward()
    assert sparse._TRANSPOSES[id(a)][1] is first
    key = id(a)
    del a
    assert key not in sparse._TRANSPOSES  # released with the matrix


@pytest.mark.parametrize("kind", ["edge_index", "sorted_rows", "matched"])
def test_pair_logits_match_gather_and_dot(kind):
    n = 40
    g = torch.Generator().manual_seed(0)
    pairs_index = torch.randint(0, n, (2, 300), generator=g)
    if kind == "edge_index":
        pairs = Pairs.from_edge_index(pairs_index, n)
    elif kind == "matched":  # two sorted lists joined by a random bijection
        rows, cols = torch.sort(pairs_index, dim=1).values
        pairs = Pairs.matched(rows, cols, torch.randperm(300, generator=g), n)
    else:  # sorted rows, unsorted columns, duplicates
        order = torch.argsort(pairs_index[0], stable=True)
        pairs = Pairs.from_sorted_rows(pairs_index[0, order], pairs_index[1, order], n)
    i, j = pairs.edge_index()
    z = torch.randn(n, 6, requires_grad=True)
    weights = torch.randn(len(pairs))
    x = pair_logits(z, pairs)
    (x * weights).sum().backward()
    z2 = z.detach().clone().requires_grad_()
    x2 = (z2[i] * z2[j]).sum(-1)
    (x2 * weights).sum().backward()
    torch.testing.assert_close(x, x2)
    torch.testing.assert_close(z.grad, z2.grad)


def test_pairs_are_sorted_by_first_node():
    pairs = Pairs.from_edge_index(torch.tensor([[3, 0, 2, 0], [1, 2, 0, 1]]), 4)
    assert pairs.edge_index().tolist() == [[0, 0, 2, 3], [1, 2, 0, 1]]
    assert pairs.crow.tolist() == [0, 2, 2, 3, 4]


@pytest.mark.parametrize("bitset", [True, False])
def test_pair_set_membership(bitset, monkeypatch):
    if not bitset:
        monkeypatch.setattr("graphae.sparse.MAX_BITSET_BITS", 0)
    n = 100  # keys up to 9,999: many words, including bit 63 of some
    g = torch.Generator().manual_seed(0)
    members = torch.randint(0, n, (2, 500), generator=g)
    pair_set = PairSet(members, n)
    assert (pair_set.bits is not None) == bitset
    queries = torch.cat([members, torch.randint(0, n, (2, 2000), generator=g)], dim=1)
    truth = set((members[0] * n + members[1]).tolist())
    expected = [int(k) in truth for k in (queries[0] * n + queries[1])]
    assert pair_set.contains(queries[0], queries[1]).tolist() == expected
    assert MAX_BITSET_BITS >= 19_717**2  # PubMed uses the bitset


def test_bit_63_of_a_word():
    pair_set = PairSet(torch.tensor([[0], [63]]), 64)
    assert pair_set.contains(torch.tensor([0, 0, 1]), torch.tensor([63, 62, 63])).tolist() == [
        True,
        False,
        False,
    ]
