import pytest
import torch
import torch.nn.functional as F

from graphae.data.graph import to_csr
from graphae.sparse import (
    MAX_BITSET_BITS,
    PairRounds,
    PairSet,
    SymmetricPairs,
    compact_indices,
    sparse_matmul,
    spmm,
    symmetric_pair_bce,
)


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


def test_spmm_writes_the_product_without_reading_its_output():
    a = _random_csr(30, 20, 80)
    d = torch.randn(20, 5)
    torch.testing.assert_close(spmm(a, d), a.to_dense() @ d)
    # spmm relies on beta=0 ignoring whatever the new buffer holds: NaN stays out
    buffer = torch.full((30, 5), float("nan"))
    out = torch.addmm(buffer, a, d, beta=0, out=buffer)
    torch.testing.assert_close(out, a.to_dense() @ d)


def test_spmm_with_bias_is_the_product_plus_bias_to_the_last_bit():
    a = _random_csr(300, 200, 3000)
    d, bias = torch.randn(200, 32), torch.randn(32)
    # the fused encoder relies on it to give the numbers of the layer-by-layer graph
    assert torch.equal(spmm(a, d, bias), spmm(a, d) + bias)


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


def test_symmetric_matrix_is_its_own_transpose():
    from graphae import sparse

    half = _random_csr(12, 12, 30).to_dense()
    a = compact_indices((half + half.t()).to_sparse_csr())  # Â is symmetric
    w = torch.randn(12, 3, requires_grad=True)
    sparse_matmul(a, w).sum().backward()
    assert sparse.transpose(a) is a
    torch.testing.assert_close(w.grad, a.to_dense().t() @ torch.ones(12, 3))
    key = id(a)
    del a
    assert key not in sparse._TRANSPOSES  # no reference of its own keeps it alive
    b = _random_csr(12, 12, 30)  # not symmetric: a transposed copy
    torch.testing.assert_close(sparse.transpose(b).to_dense(), b.to_dense().t())


def _entries(pairs: SymmetricPairs) -> torch.Tensor:
    """``[2, 2K]`` (row, col) of every entry, rows taken from the CSR pointers."""
    counts = pairs.crow.diff().long()
    rows = torch.repeat_interleave(torch.arange(len(counts)), counts) % pairs.num_nodes
    return torch.stack([rows, pairs.col.long()])


@pytest.mark.parametrize("round_", [0, 2])
def test_random_pairs_store_both_orientations_of_each_pair(round_):
    n, count = 30, 500
    draws = PairRounds.draw(count, n, [torch.Generator().manual_seed(k) for k in range(3)])
    pairs, first = draws.pairs(round_), draws.first[round_]
    assert len(pairs) == 2 * count and first.shape == (count,)
    rows, cols = _entries(pairs)
    assert torch.equal(rows, pairs.row)  # sorted by first node, rows kept
    keys = sorted((rows * n + cols).tolist())
    assert keys == sorted((cols * n + rows).tolist())  # the pattern is symmetric
    # ``first`` names one entry of each pair: with its mirror they cover every entry
    mirrored = sorted(
        (rows[first] * n + cols[first]).tolist() + (cols[first] * n + rows[first]).tolist()
    )
    assert mirrored == keys


def test_pairs_from_edge_index_are_sorted_by_first_node():
    edges = torch.tensor([[3, 0, 2, 0, 1, 2], [1, 2, 0, 1, 3, 0]])
    pairs = SymmetricPairs.from_edge_index(edges, 4)
    assert _entries(pairs).tolist() == [[0, 0, 1, 2, 2, 3], [1, 2, 3, 0, 0, 1]]
    assert pairs.crow.tolist() == [0, 2, 3, 5, 6]


def test_symmetric_pair_bce_matches_the_direct_expression():
    n = 40
    g = torch.Generator().manual_seed(0)
    edges = torch.randint(0, n, (2, 100), generator=g)
    edges = torch.unique(torch.cat([edges, edges.flip(0)], dim=1), dim=1)  # both directions
    positives = SymmetricPairs.from_edge_index(edges, n)
    draws = PairRounds.draw(150, n, [g])  # duplicates and self-pairs included
    negatives, first = draws.pairs(), draws.first[0]
    pairs = positives.stack(negatives)
    # weights equal on the two entries of a pair: one weight per pair, spread to its entries
    pair_weight = torch.rand(150, generator=g)
    rows, cols = _entries(negatives)
    weight_of = {}
    for k, e in enumerate(first.tolist()):
        weight_of.setdefault((int(rows[e]), int(cols[e])), []).append(float(pair_weight[k]))
        weight_of.setdefault((int(cols[e]), int(rows[e])), []).append(float(pair_weight[k]))
    negative_weight = torch.empty(len(negatives))
    for e in range(len(negatives)):  # duplicates: hand out each pair's weight once per entry
        negative_weight[e] = weight_of[(int(rows[e]), int(cols[e]))].pop()
    weight = torch.cat([torch.full((len(positives),), 0.01), negative_weight])

    z = torch.randn(n, 6, requires_grad=True)
    loss = symmetric_pair_bce(z, pairs, weight, positives=len(positives))
    loss.backward()

    z2 = z.detach().clone().requires_grad_()
    i, j = torch.cat([_entries(positives), _entries(negatives)], dim=1)
    x = (z2[i] * z2[j]).sum(-1)
    target = torch.cat([torch.ones(len(positives)), torch.zeros(len(negatives))])
    direct = F.binary_cross_entropy_with_logits(x, target, weight=weight, reduction="sum")
    direct.backward()
    torch.testing.assert_close(loss, direct)
    torch.testing.assert_close(z.grad, z2.grad)


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
    square = pair_set.contains(queries[0].view(50, 50), queries[1].view(50, 50))
    assert square.view(-1).tolist() == expected  # any shape
    assert MAX_BITSET_BITS >= 19_717**2  # PubMed uses the bitset


def test_bit_63_of_a_word():
    pair_set = PairSet(torch.tensor([[0], [63]]), 64)
    assert pair_set.contains(torch.tensor([0, 0, 1]), torch.tensor([63, 62, 63])).tolist() == [
        True,
        False,
        False,
    ]


def test_a_pair_round_is_the_same_alone_or_batched():
    alone = PairRounds.draw(300, 40, [torch.Generator().manual_seed(9)])
    batched = PairRounds.draw(300, 40, [torch.Generator().manual_seed(k) for k in (1, 9, 2)])
    for name in ("row", "col", "crow", "first"):
        assert torch.equal(getattr(alone, name)[0], getattr(batched, name)[1])


def test_pair_rounds_are_independent_and_uniform():
    n, count, rounds = 5, 2000, 4
    draws = PairRounds.draw(count, n, [torch.Generator().manual_seed(k) for k in range(rounds)])
    assert not torch.equal(draws.col[0], draws.col[1])
    # over all rounds, first entries are uniform ordered pairs (self-pairs included)
    keys = torch.gather(draws.row * n + draws.col, 1, draws.first).view(-1)
    counts = torch.bincount(keys, minlength=n * n).float()
    expected = rounds * count / (n * n)
    assert (counts - expected).abs().max() < 5 * expected**0.5
