"""Training objectives: bind a loss from :mod:`graphae.losses` to a training graph.

An objective is called with the model's :class:`~graphae.nn.Encoding` and
returns the loss and its parts (``recon``, ``kl``) for logging.
"""

from __future__ import annotations

import torch

from graphae.losses import dense_loss_weights, dense_reconstruction_loss, kl_divergence
from graphae.nn.autoencoders import Encoding
from graphae.sparse import PairSet, SymmetricPairs, symmetric_pair_bce


def resolve_objective(objective: str, num_nodes: int, dense_max_nodes: int) -> str:
    """``"auto"`` becomes ``"dense"`` up to ``dense_max_nodes`` nodes, else ``"sampled"``."""
    if objective == "auto":
        return "dense" if num_nodes <= dense_max_nodes else "sampled"
    return objective


def _with_kl(recon: torch.Tensor, encoding: Encoding) -> dict[str, torch.Tensor]:
    parts = {"recon": recon}
    if encoding.kl is not None:  # the mean over nodes, computed with the sample
        parts["kl"] = encoding.kl / encoding.mu.shape[0]
    elif encoding.logstd is not None:
        parts["kl"] = kl_divergence(encoding.mu, encoding.logstd)
    parts["loss"] = sum(parts.values())  # type: ignore[assignment]
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

    def __call__(self, encoding: Encoding) -> dict[str, torch.Tensor]:
        """Loss parts for one full-batch step."""
        recon = dense_reconstruction_loss(encoding.z, self.positives, self.pos_weight, self.norm)
        return _with_kl(recon, encoding)


class SampledObjective:
    """Training edges against as many uniformly drawn non-edges, redrawn every call.

    ``mean softplus(−z_i·z_j)`` over the training edges plus ``mean
    softplus(z_i·z_j)`` over node pairs drawn uniformly among non-edges: as
    many pairs as undirected training edges, as in PyG's ``GAE.recon_loss``
    (the few draws that hit an edge or a self-pair are left out of the mean).
    Computed in one fused pass with :func:`graphae.sparse.symmetric_pair_bce`;
    equal in value and gradient to
    :func:`graphae.losses.sampled_reconstruction_loss` on the same pairs.

    Args:
        train_edge_index (Tensor): training edges, both directions, no self-loops.
        num_nodes (int): number of nodes N.
        generator (Generator, optional): source of randomness for the negatives.

    """

    name = "sampled"

    def __init__(
        self,
        train_edge_index: torch.Tensor,
        num_nodes: int,
        generator: torch.Generator | None = None,
    ) -> None:
        self.num_nodes = num_nodes
        self.generator = generator
        self.device = train_edge_index.device
        self.positives = SymmetricPairs.from_edge_index(train_edge_index, num_nodes)
        self.num_pairs = len(self.positives) // 2  # undirected training edges
        self.edges = PairSet(train_edge_index, num_nodes)
        entries = len(self.positives)
        self.positive_weight = torch.full((entries,), 1 / entries, device=self.device)

    def draw_negatives(self, count: int) -> tuple[SymmetricPairs, torch.Tensor, torch.Tensor]:
        """``count`` uniform node pairs, which entries are usable, and one entry per pair.

        See :meth:`graphae.sparse.SymmetricPairs.random`. An entry is usable
        when its pair is neither a training edge nor a self-pair (a fraction
        ``(E + N) / N²`` of draws, 0.16% on Cora); both entries of a pair agree.
        """
        pairs, first = SymmetricPairs.random(count, self.num_nodes, self.generator)
        pairs = pairs.to(self.device)
        row, col = pairs.row, pairs.col.long()
        usable = (row != col) & ~self.edges.contains(row, col)  # type: ignore[arg-type]
        return pairs, usable, first.to(self.device)

    def sample_negatives(self, count: int) -> torch.Tensor:
        """``[2, k]`` independent uniform non-edges, ordered pairs (k ≈ ``count``).

        Draws that are edges or self-pairs are dropped.
        """
        pairs, usable, first = self.draw_negatives(count)
        first = first[usable[first]]
        return torch.stack([pairs.row[first], pairs.col[first].long()])  # type: ignore[index]

    def __call__(self, encoding: Encoding) -> dict[str, torch.Tensor]:
        """Loss parts for one step with freshly drawn negatives."""
        z = encoding.z
        negatives, usable, _ = self.draw_negatives(self.num_pairs)
        # per-entry weights: each mean counts every entry (two per pair) once
        negative_weight = usable.to(z.dtype)
        negative_weight /= negative_weight.sum().clamp(min=1.0)
        weight = torch.cat([self.positive_weight.to(z.dtype), negative_weight])
        pairs = self.positives.stack(negatives)
        recon = symmetric_pair_bce(z, pairs, weight, positives=len(self.positives))
        return _with_kl(recon, encoding)


OBJECTIVES = {"dense": DenseObjective, "sampled": SampledObjective}
