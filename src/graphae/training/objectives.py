"""Training objectives: bind a loss from :mod:`graphae.losses` to a training graph.

An objective is called with the model's :class:`~graphae.nn.Encoding` and
returns the loss and its parts (``recon``, ``kl``) for logging.
"""

from __future__ import annotations

import torch

from graphae.losses import (
    dense_loss_weights,
    dense_reconstruction_loss,
    kl_divergence,
    sampled_reconstruction_loss,
)
from graphae.nn.autoencoders import Encoding


def resolve_objective(objective: str, num_nodes: int, dense_max_nodes: int) -> str:
    """``"auto"`` becomes ``"dense"`` up to ``dense_max_nodes`` nodes, else ``"sampled"``."""
    if objective == "auto":
        return "dense" if num_nodes <= dense_max_nodes else "sampled"
    return objective


def _with_kl(recon: torch.Tensor, encoding: Encoding) -> dict[str, torch.Tensor]:
    parts = {"recon": recon}
    if encoding.logstd is not None:
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
        self.positives = train_edge_index
        self.num_nodes = num_nodes
        self.generator = generator
        row, col = train_edge_index
        keys = torch.minimum(row, col) * num_nodes + torch.maximum(row, col)
        self.edge_keys = torch.unique(keys)  # sorted, for searchsorted

    def sample_negatives(self, count: int) -> torch.Tensor:
        """``[2, count]`` node pairs, uniform over non-edges of the training graph."""
        n, device = self.num_nodes, self.edge_keys.device
        found: list[torch.Tensor] = []
        missing = count
        while missing > 0:
            draw = int(missing * 1.1) + 8
            pairs = torch.randint(0, n, (2, draw), generator=self.generator).to(device)
            keys = torch.minimum(pairs[0], pairs[1]) * n + torch.maximum(pairs[0], pairs[1])
            pos = torch.searchsorted(self.edge_keys, keys).clamp_(max=len(self.edge_keys) - 1)
            ok = (pairs[0] != pairs[1]) & (self.edge_keys[pos] != keys)
            pairs = pairs[:, ok][:, :missing]
            found.append(pairs)
            missing -= pairs.shape[1]
        return torch.cat(found, dim=1)

    def __call__(self, encoding: Encoding) -> dict[str, torch.Tensor]:
        """Loss parts for one step with freshly drawn negatives."""
        negatives = self.sample_negatives(self.positives.shape[1])
        recon = sampled_reconstruction_loss(encoding.z, self.positives, negatives)
        return _with_kl(recon, encoding)


OBJECTIVES = {"dense": DenseObjective, "sampled": SampledObjective}
