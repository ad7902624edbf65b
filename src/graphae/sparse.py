"""Sparse kernels the training step is made of, with hand-written backward passes.

Profiling one GAE epoch on Cora (one core, torch 2.13) showed torch's generic
autograd spending most of the step on bookkeeping rather than arithmetic:

* the backward of ``csr @ dense`` re-derives ``csrᵀ`` (a sort and a CSR
  conversion) on every call: ~1.1 ms for Cora's features against ~0.1 ms for
  the product itself; :func:`sparse_matmul` caches the transpose;
* ``(z[i] * z[j]).sum(-1)`` over 18k pairs, the binary cross-entropy on it
  and their backward (``index_put`` with accumulation) took ~1.3 ms plus ~20
  small kernels; :func:`symmetric_pair_bce` computes logits, loss and
  gradient in one pass each way: ``torch.sparse.sampled_addmm`` on the pairs'
  CSR pattern, then one sparse product (each pair is stored in both
  orientations, which makes the gradient matrix symmetric);
* rejecting sampled pairs that are edges with ``searchsorted`` took ~0.6 ms
  per step; :class:`PairSet` is a bitset lookup, ~0.02 ms;
* sorting the sampled pairs (for the CSR pattern) took ~1 ms;
  :class:`PairRounds` draws them already grouped by node.

Each is tested against the plain torch expression it replaces (values and
gradients).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

#: Largest ``N²`` (bits) for which :class:`PairSet` keeps a bitset (256 MB);
#: above it, membership falls back to binary search in sorted keys.
MAX_BITSET_BITS = 1 << 31


def csr(
    crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape: int | tuple[int, int]
) -> torch.Tensor:
    """A sparse CSR tensor from its arrays (no invariant checks, no warning); ``n``: ``n x n``."""
    size = (shape, shape) if isinstance(shape, int) else tuple(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "CSR support is in beta"
        return torch.sparse_csr_tensor(crow, col, values, size, check_invariants=False)


def compact_indices(a: torch.Tensor) -> torch.Tensor:
    """The CSR matrix ``a`` with int32 indices when its sizes allow it."""
    if a.crow_indices().dtype == torch.int32 or max(*a.shape, a.values().numel()) >= 2**31:
        return a
    return csr(a.crow_indices().int(), a.col_indices().int(), a.values(), tuple(a.shape))


#: ``id(sparse matrix) -> (weak reference to it, its transpose as CSR)``; ``None``
#: for a symmetric matrix (a strong reference to itself would keep it alive).
_TRANSPOSES: dict[int, tuple[weakref.ref[torch.Tensor], torch.Tensor | None]] = {}


def transpose(a: torch.Tensor) -> torch.Tensor:
    """``aᵀ`` as sparse CSR, computed once per matrix and kept while the matrix lives.

    A symmetric ``a`` (``Â``) is its own transpose: then no copy is made and
    the backward pass reads ``a`` itself (one matrix less in memory; no
    measurable change in epoch time on Cora: −0.008 ms, median over 200
    paired blocks of epochs).
    """
    key = id(a)
    cached = _TRANSPOSES.get(key)
    if cached is not None and cached[0]() is a:
        return a if cached[1] is None else cached[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a_t = compact_indices(a.t().to_sparse_csr())
    symmetric = _same_csr(a_t, a)
    ref = weakref.ref(a, lambda _, key=key: _TRANSPOSES.pop(key, None))
    _TRANSPOSES[key] = (ref, None if symmetric else a_t)
    return a if symmetric else a_t


def _same_csr(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two CSR matrices have the same shape, pattern and values."""
    return (
        a.shape == b.shape
        and a.layout == b.layout == torch.sparse_csr
        and a.crow_indices().dtype == b.crow_indices().dtype
        and torch.equal(a.crow_indices(), b.crow_indices())
        and torch.equal(a.col_indices(), b.col_indices())
        and torch.equal(a.values(), b.values())
    )


def spmm(a: torch.Tensor, dense: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``a @ dense`` (``+ bias`` on each row) for sparse CSR ``a``, straight into a new tensor.

    ``a @ dense`` zero-fills a tensor and copies it into the result before
    MKL overwrites it (``addmm(zeros, a, dense)``); with the result as its own
    ``out`` and ``beta=0`` neither pass happens (Cora's ``Â @ H``, 32 columns:
    42 → 29 µs). MKL does not read the output when ``beta=0`` (tested with a
    NaN-filled buffer). With a ``bias``, ``addmm(bias rows, a, dense)``: MKL
    adds its finished product to the bias, the same numbers as ``a @ dense +
    bias`` (tested) without a second pass over the result (42 against 53 µs).
    """
    if bias is not None:
        return torch.addmm(bias.expand(a.shape[0], dense.shape[1]), a, dense)
    out = torch.empty(a.shape[0], dense.shape[1], dtype=dense.dtype, device=dense.device)
    return torch.addmm(out, a, dense, beta=0, out=out)


class _SparseMatmul(torch.autograd.Function):
    """``A @ H`` for a constant sparse ``A``; ``∂/∂H = Aᵀ @ grad`` with a cached ``Aᵀ``."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.a = a
        return spmm(a, dense)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:  # type: ignore[override]
        return None, spmm(transpose(ctx.a), grad.contiguous())


def sparse_matmul(a: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``a @ dense`` for an ``a`` that needs no gradient (features, ``Â``).

    Sparse CSR ``a`` gets the cached-transpose backward; a dense one is a
    plain product.
    """
    if a.layout == torch.strided or a.requires_grad:
        return a @ dense
    if not dense.requires_grad:
        return spmm(a, dense)
    return _SparseMatmul.apply(a, dense)


@dataclass(frozen=True)
class SymmetricPairs:
    """Unordered node pairs ``{i, j}``, each stored as both ``(i, j)`` and ``(j, i)``.

    The entries form a CSR pattern sorted by first node. Several pair sets
    can be stacked (:meth:`stack`): the pattern then has ``blocks`` copies of
    the ``N`` node rows (row ``b·N + i`` is node ``i`` of set ``b``), so that a
    loss over positives and negatives is one sampled product forward and one
    sparse product backward (:func:`symmetric_pair_bce`).

    Attributes:
        crow: ``blocks·N + 1`` row pointers (int32, as torch's CPU kernels take them).
        col: second node of each entry (int32).
        num_nodes: N.
        blocks: number of stacked pair sets.
        row: first node of each entry (int64) where it is at hand
            (:meth:`from_edge_index`, :meth:`PairRounds.pairs`); ``None``
            otherwise.

    """

    crow: torch.Tensor
    col: torch.Tensor
    num_nodes: int
    blocks: int = 1
    row: torch.Tensor | None = None

    @classmethod
    def from_edge_index(cls, edge_index: torch.Tensor, num_nodes: int) -> SymmetricPairs:
        """The pairs of an undirected edge list that holds both directions of every edge."""
        row, col = edge_index
        order = torch.argsort(row * num_nodes + col)
        row, col = row[order], col[order]
        return cls(_crow(row, num_nodes), col.int(), num_nodes, row=row)

    def __len__(self) -> int:
        """Number of entries (twice the number of pairs)."""
        return int(self.col.numel())

    def stack(self, other: SymmetricPairs) -> SymmetricPairs:
        """These pair sets followed by ``other``'s, as one pattern (entries in that order)."""
        crow = torch.cat([self.crow, other.crow[1:] + len(self)])
        col = torch.cat([self.col, other.col])
        return SymmetricPairs(crow, col, self.num_nodes, self.blocks + other.blocks)

    def matrix(self, values: torch.Tensor) -> torch.Tensor:
        """The sparse CSR ``blocks·N x N`` matrix with ``values`` at the entries."""
        return csr(self.crow, self.col, values, (self.blocks * self.num_nodes, self.num_nodes))


@dataclass(frozen=True)
class PairRounds:
    """``rounds`` independent sets of ``count`` uniform node pairs, drawn as one batch.

    Each pair ``{i, j}`` of independent uniform nodes is stored as both
    entries ``(i, j)`` and ``(j, i)``, grouped by first node, ready to be a
    :class:`SymmetricPairs` pattern. Drawing a few rounds at once (a training
    run uses one per epoch) shares the ~20 small kernels of a draw between
    them.

    Attributes:
        row: ``rounds x 2·count`` first node of each entry (int64), sorted
            within each round.
        col: ``rounds x 2·count`` second node of each entry (int64).
        crow: ``rounds x (N + 1)`` row pointers of each round (int32).
        first: ``rounds x count``: for each pair, the index (within its
            round) of one of its two entries, in draw order.
        num_nodes: N.

    """

    row: torch.Tensor
    col: torch.Tensor
    crow: torch.Tensor
    first: torch.Tensor
    num_nodes: int

    @classmethod
    def draw(
        cls,
        count: int,
        num_nodes: int,
        generators: Sequence[torch.Generator | None] = (None,),
    ) -> PairRounds:
        """Draw one round per generator, on the generators' device.

        Round ``r``'s random numbers come from ``generators[r]`` alone, so a
        round is the same whether it is drawn alone or batched with others.
        On a GPU the draw stays there: no host round trip.
        Per round, the ``2·count`` endpoints are drawn and counting-sorted (a
        bincount: no sort, which for 18k integers takes ~1 ms on the CPU, a
        whole Cora epoch), then paired by a uniformly random perfect matching
        of the sorted slots. Given the multiset of endpoints every matching is
        equally likely for i.i.d. draws too, so each round has the
        distribution of ``count`` independent pairs of independent uniform
        nodes, and rounds are independent.
        """
        rounds = len(generators)
        device = generators[0].device if generators[0] is not None else torch.device("cpu")
        n, slots = num_nodes, 2 * count
        ends = torch.stack(
            [torch.randint(0, n, (slots,), generator=g, device=device) for g in generators]
        )
        offsets = torch.arange(0, rounds * n, n, device=device).unsqueeze(1)
        ends += offsets  # one bin range per round: bin r·n + i is node i of round r
        counts = torch.bincount(ends.view(-1), minlength=rounds * n)
        # round r's entries are its bins' nodes, each repeated by its count: `slots` of them
        # (output_size: no device-to-host sync on a GPU)
        row = torch.repeat_interleave(counts, output_size=rounds * slots)
        row = row.view(rounds, slots) - offsets
        couples = [torch.randperm(slots, generator=g, device=device) for g in generators]
        couples = torch.stack(couples).view(rounds, count, 2)
        start = torch.arange(0, rounds * slots, slots, device=device).view(rounds, 1)
        first, second = couples[:, :, 0] + start, couples[:, :, 1] + start
        # scatter_ and index_select: ~2x faster than index_put_ and advanced indexing
        # here (first and second together hold every slot once)
        first, second = first.view(-1), second.view(-1)
        partner = torch.empty(rounds * slots, dtype=torch.long, device=device)
        partner.scatter_(0, first, second).scatter_(0, second, first)
        col = row.view(-1).index_select(0, partner).view(rounds, slots)
        crow = torch.zeros(rounds, n + 1, dtype=torch.int32, device=device)
        torch.cumsum(counts.view(rounds, n), 1, out=crow[:, 1:])
        return cls(row, col, crow, couples[:, :, 0], n)

    def pairs(self, round_: int = 0) -> SymmetricPairs:
        """One round as a :class:`SymmetricPairs` pattern (with ``row``)."""
        crow, col, row = self.crow[round_], self.col[round_], self.row[round_]
        return SymmetricPairs(crow, col.int(), self.num_nodes, row=row)


def _crow(sorted_rows: torch.Tensor, num_nodes: int) -> torch.Tensor:
    counts = torch.bincount(sorted_rows, minlength=num_nodes)
    crow = torch.zeros(num_nodes + 1, dtype=torch.int32, device=sorted_rows.device)
    torch.cumsum(counts, 0, out=crow[1:])
    return crow


class _SymmetricPairBCE(torch.autograd.Function):
    """``L = Σ_e w_e (softplus(x_e) − t_e x_e)``, ``x_e = z_i · z_j``; ``∂L/∂Z = 2 G Z``.

    ``G`` is the sparse matrix of ``∂L/∂x_e = w_e (σ(x_e) − t_e)``, computed in
    the forward pass. With both entries of every pair present and equal
    weights on them, ``G`` is symmetric, so ``G Z + Gᵀ Z = 2 G Z``: one sparse
    product per set of pairs.

    ``G`` is the sampled product's own output, its logits overwritten by
    their gradients once the loss is taken (no second sparse tensor); the
    stacked ``Z`` is a concatenation, not ``repeat`` (a slower copy); the
    blocks' products are added as slices. The same numbers as before these
    changes, bit for bit.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, z: torch.Tensor, pairs: SymmetricPairs, weight: torch.Tensor, positives: int
    ) -> torch.Tensor:
        stacked = torch.cat([z] * pairs.blocks) if pairs.blocks > 1 else z
        # the pattern's values are multiplied by beta = 0: any finite values do
        pattern = pairs.matrix(weight)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            logits = torch.sparse.sampled_addmm(pattern, stacked, z.t(), beta=0.0)
        x = logits.values()
        loss = (weight * F.softplus(x)).sum() - (weight[:positives] * x[:positives]).sum()
        grad = torch.sigmoid_(x).mul_(weight)  # x is not needed any more
        grad[:positives] -= weight[:positives]
        ctx.save_for_backward(z)
        ctx.grad_matrix, ctx.blocks = logits, pairs.blocks
        return loss

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        (z,) = ctx.saved_tensors
        gz = spmm(ctx.grad_matrix, z)
        n = z.shape[0]
        if ctx.blocks > 1:
            total = gz[:n] + gz[n : 2 * n]
            for block in range(2, ctx.blocks):
                total += gz[block * n : (block + 1) * n]
            gz = total
        return gz.mul_(2 * grad_out), None, None, None


def symmetric_pair_bce(
    z: torch.Tensor, pairs: SymmetricPairs, weight: torch.Tensor, positives: int
) -> torch.Tensor:
    """Weighted binary cross-entropy of inner-product logits over symmetric pairs.

    .. math::
        L = \\sum_e w_e \\big(\\log(1 + e^{x_e}) - t_e\\, x_e\\big), \\qquad
        x_e = z_{i_e} \\cdot z_{j_e}

    with target ``t_e = 1`` for the first ``positives`` entries and 0 for the
    rest. Equal in value and gradient to the same sum over ``(z[i] * z[j]).sum(-1)``
    (tested), as one fused pass each way: the logits by
    ``torch.sparse.sampled_addmm`` on the pairs' pattern, the gradient by one
    sparse product.

    Args:
        z (Tensor): ``N x d`` embeddings.
        pairs (SymmetricPairs): the entries (both orientations of each pair).
        weight (Tensor): one weight per entry; the two entries of a pair must
            have the same weight (a pair counts ``2 w``).
        positives (int): number of leading entries with target 1.

    """
    return _SymmetricPairBCE.apply(z, pairs, weight, positives)


class PairSet:
    """Membership test for ordered node pairs (e.g. "is ``(i, j)`` a training edge?").

    A bitset over the ``N²`` ordered pairs when it fits in
    :data:`MAX_BITSET_BITS` (48 MB for PubMed), else sorted keys and
    binary search.

    Args:
        edge_index (Tensor): ``[2, K]`` pairs in the set (add both directions
            for an undirected graph).
        num_nodes (int): N.

    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int) -> None:
        self.num_nodes = num_nodes
        keys = edge_index[0] * num_nodes + edge_index[1]
        self.bits: torch.Tensor | None = None
        self.keys: torch.Tensor | None = None
        if num_nodes * num_nodes <= MAX_BITSET_BITS:
            words = torch.zeros((num_nodes * num_nodes + 63) // 64, dtype=torch.long)
            keys = torch.unique(keys.cpu())
            masks = torch.bitwise_left_shift(torch.ones_like(keys), keys & 63)
            # keys are unique, so the bits added into a word are distinct: the sum is
            # their OR (two's complement makes bit 63, the sign bit, work the same)
            words.index_add_(0, keys >> 6, masks)
            self.bits = words.to(edge_index.device)
        else:
            self.keys = torch.unique(keys)

    def contains(self, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """Boolean mask: which ``(row[k], col[k])`` are in the set (any shape)."""
        keys = row * self.num_nodes + col
        if self.bits is not None:
            words = self.bits.index_select(0, (keys >> 6).view(-1)).view(keys.shape)
            return torch.bitwise_right_shift(words, keys & 63) & 1 == 1
        assert self.keys is not None
        pos = torch.searchsorted(self.keys, keys.view(-1)).clamp_(max=len(self.keys) - 1)
        return (self.keys[pos] == keys.view(-1)).view(keys.shape)
