"""Training objectives: bind a loss from :mod:`graphae.losses` to a training graph.

An objective is called with the model's :class:`~graphae.nn.Encoding` and the
epoch (from 1) and returns the loss and its parts (``recon``, ``kl``) for
logging. What an epoch draws (negatives) depends only on the seed and the
epoch (:mod:`graphae.training.rng`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from graphae.losses import dense_loss_weights, dense_reconstruction_loss, kl_divergence
from graphae.nn.autoencoders import Encoding
from graphae.sparse import PairRounds, PairSet, SymmetricPairs, symmetric_pair_bce
from graphae.training.distributed import shard_entries, share
from graphae.training.rng import NEGATIVES, epoch_generator


def resolve_objective(
    objective: str, num_nodes: int, dense_max_nodes: int, paper_graph: bool = False
) -> str:
    """The objective ``"auto"`` stands for on a graph.

    ``"dense"`` for the paper's own graphs (``paper_graph``: Cora, CiteSeer,
    PubMed, whose published numbers come from it) and for any graph of up to
    ``dense_max_nodes`` nodes, ``"sampled"`` above. The dense loss costs
    O(N²) per epoch, the sampled one O(E): on social-like graphs of 2,000 to
    22,470 nodes the sampled objective was 8–38x faster per epoch at equal
    test AUC, while on Cora and CiteSeer with features the dense one scored
    0.9–2.3 points higher (``benchmarks/objective_choice.py``, 5 seeds).
    """
    if objective == "auto":
        return "dense" if paper_graph or num_nodes <= dense_max_nodes else "sampled"
    return objective


def _with_kl(recon: torch.Tensor, encoding: Encoding) -> dict[str, torch.Tensor]:
    parts = {"recon": recon}
    if encoding.kl is not None:  # the mean over nodes, computed with the sample
        parts["kl"] = encoding.kl / encoding.mu.shape[0]
    elif encoding.logstd is not None:
        parts["kl"] = kl_divergence(encoding.mu, encoding.logstd)
    # recon + kl, not sum(): that would start from 0 and add one more autograd node
    parts["loss"] = recon + parts["kl"] if "kl" in parts else recon
    return parts


class DenseObjective:
    """The paper's objective: weighted BCE over all ``N²`` pairs (+ KL for VGAE).

    Args:
        train_edge_index (Tensor): training edges, both directions, no self-loops.
        num_nodes (int): number of nodes N.

    """

    name = "dense"

    def __init__(self, train_edge_index: torch.Tensor, num_nodes: int) -> None:
        loops = torch.arange(num_nodes, device=train_edge_index.device).repeat(2, 1)
        self.positives = torch.cat([train_edge_index, loops], dim=1)
        self.pos_weight, self.norm = dense_loss_weights(num_nodes, train_edge_index.shape[1])

    def __call__(self, encoding: Encoding, epoch: int = 0) -> dict[str, torch.Tensor]:
        """Loss parts for one full-batch step (the same at every epoch)."""
        recon = dense_reconstruction_loss(encoding.z, self.positives, self.pos_weight, self.norm)
        return _with_kl(recon, encoding)


class SampledObjective:
    """Training edges against as many uniformly drawn non-edges, redrawn every epoch.

    ``mean softplus(−z_i·z_j)`` over the training edges plus ``mean
    softplus(z_i·z_j)`` over node pairs drawn uniformly among non-edges: as
    many pairs as undirected training edges, as in PyG's ``GAE.recon_loss``
    (the few draws that hit an edge or a self-pair are left out of the mean).
    Computed in one fused pass with :func:`graphae.sparse.symmetric_pair_bce`;
    equal in value and gradient to
    :func:`graphae.losses.sampled_reconstruction_loss` on the same pairs.

    Epoch ``t``'s negatives come from a generator seeded by ``(seed, t)``
    alone (:func:`~graphae.training.rng.epoch_generator`): the same pairs
    whichever epochs are drawn together, and after a resumed run. The
    negatives of up to :attr:`MAX_ROUNDS` consecutive epochs (and
    :attr:`MAX_BATCH_ENTRIES` entries) are drawn in one batch
    (:class:`~graphae.sparse.PairRounds`), which only shares the work.

    Args:
        train_edge_index (Tensor): training edges, both directions, no self-loops.
        num_nodes (int): number of nodes N.
        seed (int, optional): seeds every epoch's negatives. (default: ``0``)

    """

    name = "sampled"
    #: data-parallel training: ``(rank, world size)``, and each call computes that rank's
    #: share of the loss (:func:`graphae.training.distributed.shard_entries`); ``None``: all
    shard: tuple[int, int] | None = None
    #: data-parallel training: ``(mine, total)`` -> the ``total`` items of which each rank
    #: holds its share ``mine``, in rank order (an all-gather); with it, each rank tests
    #: only its share of the drawn pairs against the training edges
    gather_over_ranks: Callable[[torch.Tensor, int], torch.Tensor] | None = None
    MAX_ROUNDS = 32
    #: a draw costs ~30 small kernels whatever its size, so the more epochs share
    #: one the better, up to this many entries (~12 MB of arrays)
    MAX_BATCH_ENTRIES = 1 << 20

    def __init__(self, train_edge_index: torch.Tensor, num_nodes: int, seed: int = 0) -> None:
        self.num_nodes = num_nodes
        self.seed = seed
        self.device = train_edge_index.device
        self.positives = SymmetricPairs.from_edge_index(train_edge_index, num_nodes)
        self.num_pairs = len(self.positives) // 2  # undirected training edges
        loops = torch.arange(num_nodes, device=self.device).repeat(2, 1)
        self.excluded = PairSet(torch.cat([train_edge_index, loops], dim=1), num_nodes)
        entries = len(self.positives)
        self.positive_weight = torch.full((entries,), 1 / entries, device=self.device)
        self._batch: dict[int, tuple[SymmetricPairs, torch.Tensor]] = {}

    @property
    def rounds(self) -> int:
        """How many epochs' negatives are drawn in one batch."""
        per_round = len(self.positives) + 2 * self.num_pairs
        return max(1, min(self.MAX_ROUNDS, self.MAX_BATCH_ENTRIES // per_round))

    def draw_negatives(
        self, count: int, epochs: list[int] | range
    ) -> tuple[PairRounds, torch.Tensor]:
        """``count`` uniform node pairs for each of ``epochs``, and which entries are usable.

        An entry is usable when its pair is neither a training edge nor a
        self-pair (a fraction ``(E + N) / N²`` of draws, 0.16% on Cora); both
        entries of a pair agree. Data-parallel (:attr:`gather_over_ranks`),
        each rank tests ``1 / W`` of the entries and the answers are
        gathered: the same flags, for about half the cost of a draw at 1M
        edges spread over the ranks.
        """
        device = self.device  # drawn where the model trains (a GPU's own random stream)
        generators = [epoch_generator(self.seed, epoch, NEGATIVES, device) for epoch in epochs]
        draws = PairRounds.draw(count, self.num_nodes, generators)
        if self.shard is None or self.gather_over_ranks is None:
            return draws, ~self.excluded.contains(draws.row, draws.col)
        total = draws.row.numel()
        own = share(total, *self.shard)
        mine = ~self.excluded.contains(draws.row.view(-1)[own], draws.col.view(-1)[own])
        return draws, self.gather_over_ranks(mine, total).view(draws.row.shape)

    def _draw_batch(self, start: int) -> None:
        """Draw the negatives of epochs ``start, start + 1, ...``, stacked after the positives."""
        epochs = range(start, start + self.rounds)
        rounds, positives = len(epochs), self.positives
        draws, usable = self.draw_negatives(self.num_pairs, epochs)
        # per-entry weights: each mean counts every entry (two per pair) once
        negative_weight = usable.float()
        negative_weight /= negative_weight.sum(1, keepdim=True).clamp(min=1.0)
        size = len(positives)
        crow = torch.cat([positives.crow.expand(rounds, -1), draws.crow[:, 1:] + size], dim=1)
        col = torch.cat([positives.col.expand(rounds, -1), draws.col.int()], dim=1)
        weight = torch.cat([self.positive_weight.expand(rounds, -1), negative_weight], dim=1)
        self._batch = {
            epoch: (SymmetricPairs(crow[r], col[r], self.num_nodes, blocks=2), weight[r])
            for r, epoch in enumerate(epochs)
        }

    def __call__(self, encoding: Encoding, epoch: int) -> dict[str, torch.Tensor]:
        """Loss parts for ``epoch`` with that epoch's negatives."""
        if epoch not in self._batch:
            self._draw_batch(epoch)
        pairs, weight = self._batch.pop(epoch)
        positives = len(self.positives)
        if self.shard is not None:  # every rank drew the same pairs; it takes its share
            pairs, weight, positives = shard_entries(pairs, weight, positives, *self.shard)
        z = encoding.z
        recon = symmetric_pair_bce(z, pairs, weight.to(z.dtype), positives)
        return _with_kl(recon, encoding)


OBJECTIVES = {"dense": DenseObjective, "sampled": SampledObjective}
