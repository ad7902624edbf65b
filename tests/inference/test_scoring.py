import pytest
import torch

from graphae.inference.scoring import pair_logits, top_partners
from graphae.nn.decoders import InnerProductDecoder


def brute_force(z, node, k, exclude, score):
    logits = score(z, node)
    logits[list(exclude)] = float("-inf")
    order = torch.argsort(logits, descending=True, stable=True)
    order = order[torch.isfinite(logits[order])][:k]
    return order, logits[order]


def inner(z, node):
    return z @ z[node]


def neg_distance(z, node):
    return -((z - z[node]) ** 2).sum(1)


class DistanceDecoder(torch.nn.Module):
    """Not an inner product: logit = -||z_u - z_v||²."""

    def forward(self, z, pairs):
        return -((z[pairs[0]] - z[pairs[1]]) ** 2).sum(1)


@pytest.fixture
def z():
    return torch.randn(300, 8, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("block_size", [None, 1, 7, 64, 299, 300, 10_000])
def test_inner_product_top_k_equals_brute_force(z, block_size):
    exclude = {5, 0, 17, 299, 100}
    got = top_partners(z, 5, 10, exclude=torch.tensor(sorted(exclude)), block_size=block_size)
    index, logit = brute_force(z, 5, 10, exclude, inner)
    assert torch.equal(got.index, index)
    torch.testing.assert_close(got.logit, logit)


@pytest.mark.parametrize("block_size", [None, 3, 50])
def test_generic_decoder_equals_fast_path_and_brute_force(z, block_size):
    exclude = torch.tensor([3, 4, 9])
    generic = top_partners(
        z, 3, 12, decode=InnerProductDecoder(), exclude=exclude, block_size=block_size
    )
    fast = top_partners(z, 3, 12, exclude=exclude, block_size=block_size)
    assert torch.equal(generic.index, fast.index)
    torch.testing.assert_close(generic.logit, fast.logit)

    other = top_partners(z, 3, 12, decode=DistanceDecoder(), exclude=exclude, block_size=block_size)
    index, logit = brute_force(z, 3, 12, {3, 4, 9}, neg_distance)
    assert torch.equal(other.index, index)
    torch.testing.assert_close(other.logit, logit)


def test_fewer_candidates_than_k(z):
    small = z[:6]
    got = top_partners(small, 0, 10, exclude=torch.tensor([0, 2]), block_size=4)
    assert sorted(got.index.tolist()) == [1, 3, 4, 5]
    assert (got.logit[:-1] >= got.logit[1:]).all()
    assert len(top_partners(small, 0, 3, exclude=torch.arange(6)).index) == 0


def test_no_exclusion_can_return_the_node_itself(z):
    got = top_partners(z, 1, 300)
    assert len(got.index) == 300 and sorted(got.index.tolist()) == list(range(300))


def test_equal_logits_do_not_depend_on_blocks():
    z = torch.ones(50, 4)
    a = top_partners(z, 0, 5, exclude=torch.tensor([0]), block_size=3)
    b = top_partners(z, 0, 5, exclude=torch.tensor([0]))
    assert len(a.index) == 5 and torch.equal(a.logit, b.logit)


def test_k_must_be_positive(z):
    with pytest.raises(ValueError):
        top_partners(z, 0, 0)


@pytest.mark.parametrize("block_size", [1, 5, 1000])
def test_pair_logits_in_blocks(z, block_size):
    pairs = torch.randint(0, 300, (2, 23), generator=torch.Generator().manual_seed(1))
    expected = (z[pairs[0]] * z[pairs[1]]).sum(1)
    torch.testing.assert_close(pair_logits(z, pairs, block_size=block_size), expected)
    torch.testing.assert_close(
        pair_logits(z, pairs, decode=DistanceDecoder(), block_size=block_size),
        DistanceDecoder()(z, pairs),
    )
    assert pair_logits(z, torch.empty(2, 0, dtype=torch.long)).shape == (0,)
