"""Sparse kernels the training step is made of, with hand-written backward passes.

Profiling one GAE epoch on Cora (one core, torch 2.13) showed torch's generic
autograd spending most of the step on bookkeeping rather than arithmetic:

* the backward of ``csr @ dense`` re-derives ``csrᵀ`` (a sort and a CSR
  conversion) on every call: ~1.1 ms for Cora's features against ~0.1 ms for
  the product itself; :func:`sparse_matmul` caches the transpose;
* ``(z[i] * z[j]).sum(-1)`` over 18k pairs and its backward (``index_put``
  with accumulation) took ~1.3 ms; :func:`pair_logits` computes the same
  ``z_i · z_j`` with ``torch.sparse.sampled_addmm`` on a row-sorted pattern and
  its gradient with two sparse products, ~0.3 ms;
* rejecting sampled pairs that are edges with ``searchsorted`` took ~0.6 ms
  per step; :class:`PairSet` is a bitset lookup, ~0.02 ms;
* sorting the sampled pairs (for the CSR patterns) took ~1 ms;
  :meth:`Pairs.matched` builds both orders from counting sorts.

Each is tested against the plain torch expression it replaces (values and
gradients).
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import torch

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
    if a.crow_indices().dtype == torch.int32 or max(*a.shape, a._nnz()) >= 2**31:
        return a
    return csr(a.crow_indices().int(), a.col_indices().int(), a.values(), tuple(a.shape))


#: ``id(sparse matrix) -> (weak reference to it, its transpose as CSR)``.
_TRANSPOSES: dict[int, tuple[weakref.ref[torch.Tensor], torch.Tensor]] = {}


def _transpose(a: torch.Tensor) -> torch.Tensor:
    """``aᵀ`` as sparse CSR, computed once per matrix and kept while the matrix lives."""
    key = id(a)
    cached = _TRANSPOSES.get(key)
    if cached is not None and cached[0]() is a:
        return cached[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a_t = compact_indices(a.t().to_sparse_csr())
    _TRANSPOSES[key] = (weakref.ref(a, lambda _, key=key: _TRANSPOSES.pop(key, None)), a_t)
    return a_t


class _SparseMatmul(torch.autograd.Function):
    """``A @ H`` for a constant sparse ``A``; ``∂/∂H = Aᵀ @ grad`` with a cached ``Aᵀ``."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.a = a
        return a @ dense

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:  # type: ignore[override]
        return None, _transpose(ctx.a) @ grad.contiguous()


def sparse_matmul(a: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``a @ dense`` for an ``a`` that needs no gradient (features, ``Â``).

    Sparse CSR ``a`` gets the cached-transpose backward; a dense one is a
    plain product.
    """
    if a.layout == torch.strided or a.requires_grad or not dense.requires_grad:
        return a @ dense
    return _SparseMatmul.apply(a, dense)


@dataclass(frozen=True)
class Pairs:
    """Node pairs ``(i_k, j_k)`` sorted by ``i``, stored as a CSR pattern.

    Attributes:
        crow: ``N + 1`` row pointers (int32, as torch's CPU kernels take them).
        col: ``K`` second nodes ``j_k`` (int32).
        row: ``K`` first nodes ``i_k`` (non-decreasing).
        num_nodes: N.
        transpose: ``(crowᵀ, colᵀ, perm)``: the transposed pattern, with
            ``perm`` mapping its entries to ours, so that the backward pass
            is two CSR products (a scatter with ``index_add_`` measured 3.2 ms
            for PubMed's 75k pairs, the sort 0.7 ms plus the product 0.5 ms).

    """

    crow: torch.Tensor
    col: torch.Tensor
    row: torch.Tensor
    num_nodes: int
    transpose: tuple[torch.Tensor, torch.Tensor, torch.Tensor]

    @classmethod
    def from_edge_index(cls, edge_index: torch.Tensor, num_nodes: int) -> Pairs:
        """Pairs from ``[2, K]`` node indices in any order."""
        row, col = edge_index
        order = torch.argsort(row * num_nodes + col)
        return cls.from_sorted_rows(row[order], col[order], num_nodes)

    @classmethod
    def from_sorted_rows(cls, row: torch.Tensor, col: torch.Tensor, num_nodes: int) -> Pairs:
        """Pairs whose ``row`` is already non-decreasing."""
        perm = torch.sort(col, stable=True).indices
        transpose = (_crow(col[perm], num_nodes), row[perm].int(), perm)
        return cls(_crow(row, num_nodes), col.int(), row, num_nodes, transpose)

    @classmethod
    def matched(
        cls, rows: torch.Tensor, cols: torch.Tensor, match: torch.Tensor, num_nodes: int
    ) -> Pairs:
        """Pairs ``(rows[k], cols[match[k]])`` from two sorted node lists and a bijection.

        Both orders come without a sort: by first node it is ``k``'s order, by
        second node the order of ``cols``. (torch's CPU sort of 18k integers
        takes ~1 ms, a whole Cora epoch's budget.)
        """
        inverse = torch.empty_like(match).scatter_(0, match, torch.arange(len(match)))
        transpose = (_crow(cols, num_nodes), rows[inverse].int(), inverse)
        return cls(_crow(rows, num_nodes), cols[match].int(), rows, num_nodes, transpose)

    def __len__(self) -> int:
        return int(self.col.numel())

    def edge_index(self) -> torch.Tensor:
        """The pairs as ``[2, K]``, in their stored order."""
        return torch.stack([self.row, self.col.long()])

    def matrix(self, values: torch.Tensor) -> torch.Tensor:
        """The sparse CSR ``N x N`` matrix ``M`` with ``values`` at the pairs."""
        return csr(self.crow, self.col, values, self.num_nodes)

    def transposed_matrix(self, values: torch.Tensor) -> torch.Tensor:
        """``Mᵀ`` as sparse CSR, for the same ``values``."""
        crow_t, col_t, perm = self.transpose
        return csr(crow_t, col_t, values[perm], self.num_nodes)


def _crow(sorted_rows: torch.Tensor, num_nodes: int) -> torch.Tensor:
    counts = torch.bincount(sorted_rows, minlength=num_nodes)
    crow = torch.zeros(num_nodes + 1, dtype=torch.int32, device=sorted_rows.device)
    torch.cumsum(counts, 0, out=crow[1:])
    return crow


class _PairLogits(torch.autograd.Function):
    """``x_k = z_{i_k} · z_{j_k}``; ``∂L/∂Z = G Z + Gᵀ Z`` with ``G`` the sparse ``∂L/∂x``."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, pairs: Pairs) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(z)
        ctx.pairs = pairs
        pattern = pairs.matrix(torch.ones(len(pairs), dtype=z.dtype, device=z.device))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse.sampled_addmm(pattern, z, z.t(), beta=0.0).values()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (z,) = ctx.saved_tensors
        pairs: Pairs = ctx.pairs
        grad = grad.contiguous()
        return pairs.matrix(grad) @ z + pairs.transposed_matrix(grad) @ z, None


def pair_logits(z: torch.Tensor, pairs: Pairs) -> torch.Tensor:
    """Inner products ``z_i · z_j`` of the pairs, in their stored order.

    Equal (values and gradient) to ``(z[i] * z[j]).sum(-1)``, computed as a
    sampled dense-dense product on the pairs' CSR pattern.
    """
    return _PairLogits.apply(z, pairs)


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
        """Boolean mask: which ``(row[k], col[k])`` are in the set."""
        keys = row * self.num_nodes + col
        if self.bits is not None:
            words = self.bits.index_select(0, keys >> 6)
            return torch.bitwise_right_shift(words, keys & 63) & 1 == 1
        assert self.keys is not None
        pos = torch.searchsorted(self.keys, keys).clamp_(max=len(self.keys) - 1)
        return self.keys[pos] == keys
