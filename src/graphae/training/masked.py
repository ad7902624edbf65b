"""Masked reconstruction through the model's decoder (MaskGAE's objective).

Li et al., "What's Behind the Mask: Understanding Masked Graph Modeling for
Graph Autoencoders" (KDD 2023), https://arxiv.org/abs/2205.10053. At epoch
``t`` a mask (:mod:`graphae.training.masking`) splits the training edges
into visible ``E_vis`` and masked ``E_mask``; the encoder sees only
``E_vis`` and the decoder ``f`` scores the masked edges against as many
uniformly drawn non-edges ``E_neg``:

.. math::
    \\mathcal{L} = \\frac{1}{|E_{mask}|} \\sum_{(u,v) \\in E_{mask}}
        \\mathrm{softplus}(-f(z_u, z_v))
      + \\frac{1}{|E_{neg}|} \\sum_{(u,v) \\in E_{neg}} \\mathrm{softplus}(f(z_u, z_v))
      + \\alpha\\, \\frac{1}{N} \\sum_u \\big(g(z_u) - d^{mask}_u\\big)^2

with ``g`` the degree decoder and ``d^mask_u`` node ``u``'s degree in the
masked edges (``α = 0``: no degree term), plus the KL term for a VGAE.
Without a mask every training edge is a target and the encoder sees them
all: the sampled objective through any decoder (e.g. GAE + MLP decoder).

Epoch ``t``'s mask and negatives come from generators seeded by ``(seed,
t)`` alone (:func:`~graphae.training.rng.epoch_generator`, streams ``MASKS``
and ``NEGATIVES``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from graphae.nn.autoencoders import GAE, Encoding
from graphae.sparse import PairSet
from graphae.training.masking import EdgeMask, PathMask, TrainingGraph
from graphae.training.objectives import _with_kl
from graphae.training.rng import MASKS, NEGATIVES, epoch_generator

Decode = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class MaskedObjective:
    """Masked edges (or all training edges) against as many uniform non-edges, via the decoder.

    The trainer calls :meth:`encode` (the encoder sees the epoch's visible
    edges) and then the objective with that encoding and the same epoch.

    Args:
        train_edge_index (Tensor): training edges, both directions, no self-loops.
        num_nodes (int): number of nodes N.
        decode (callable): ``(z, pairs[2, k]) -> logits``, the model's ``decode``.
        mask (EdgeMask or PathMask, optional): the mask; ``None``: no mask.
        degree_decoder (Module, optional): ``z -> [N]`` predicted degrees.
        degree_weight (float, optional): weight ``α`` of the degree loss. (default: ``0.0``)
        seed (int, optional): seeds every epoch's mask and negatives. (default: ``0``)
        edge_weight (Tensor, optional): weights of ``train_edge_index``'s
            entries, used in the masked graphs' ``Â``. (default: ``None``)

    """

    name = "masked"

    def __init__(
        self,
        train_edge_index: torch.Tensor,
        num_nodes: int,
        decode: Decode,
        mask: EdgeMask | PathMask | None = None,
        degree_decoder: nn.Module | None = None,
        degree_weight: float = 0.0,
        seed: int = 0,
        edge_weight: torch.Tensor | None = None,
    ) -> None:
        if degree_weight and degree_decoder is None:
            raise ValueError("a degree loss needs a degree decoder")
        self.num_nodes, self.seed = num_nodes, seed
        self.decode, self.mask = decode, mask
        self.degree_decoder, self.degree_weight = degree_decoder, degree_weight
        self.device = train_edge_index.device
        self.graph = TrainingGraph(train_edge_index, num_nodes, edge_weight)
        loops = torch.arange(num_nodes).repeat(2, 1)
        self.excluded = PairSet(torch.cat([train_edge_index.cpu(), loops], dim=1), num_nodes)
        self._targets: dict[int, torch.Tensor] = {}

    @classmethod
    def for_model(
        cls,
        model: GAE,
        train_edge_index: torch.Tensor,
        num_nodes: int,
        mask: EdgeMask | PathMask | None = None,
        degree_weight: float = 0.0,
        seed: int = 0,
        edge_weight: torch.Tensor | None = None,
    ) -> MaskedObjective:
        """The objective for ``model``: its ``decode`` and (``degree_weight``) degree decoder."""
        degree = getattr(model, "degree_decoder", None) if degree_weight else None
        return cls(
            train_edge_index,
            num_nodes,
            model.decode,
            mask,
            degree,
            degree_weight,
            seed,
            edge_weight,
        )

    def masked(self, epoch: int) -> torch.Tensor:
        """``[E]`` boolean: the edges masked at ``epoch`` (none without a mask)."""
        if self.mask is None:
            return torch.zeros(self.graph.num_edges, dtype=torch.bool)
        return self.mask(self.graph, epoch_generator(self.seed, epoch, MASKS))

    def encode(self, model: GAE, x: torch.Tensor | None, adj: torch.Tensor, epoch: int) -> Encoding:
        """The model's encoding of ``epoch``'s visible graph (``adj`` itself without a mask)."""
        if self.mask is None:
            self._targets[epoch] = self.graph.edges
            return model.encode(x, adj)
        masked = self.masked(epoch)
        self._targets[epoch] = self.graph.edges[:, masked]
        visible = self.graph.adjacency(~masked).to(adj.device)
        return model.encode(x, visible)

    def targets(self, epoch: int) -> torch.Tensor:
        """``[2, k]`` the positive pairs of ``epoch``: its masked edges (all without a mask)."""
        cached = self._targets.pop(epoch, None)
        if cached is not None:
            return cached
        return self.graph.edges if self.mask is None else self.graph.edges[:, self.masked(epoch)]

    def negatives(self, count: int, epoch: int) -> torch.Tensor:
        """``[2, k]`` uniform pairs of ``epoch`` (k ≈ count): edges and self-pairs left out."""
        generator = epoch_generator(self.seed, epoch, NEGATIVES)
        pairs = torch.randint(0, self.num_nodes, (2, count), generator=generator)
        return pairs[:, ~self.excluded.contains(pairs[0], pairs[1])]

    def __call__(self, encoding: Encoding, epoch: int) -> dict[str, torch.Tensor]:
        """Loss parts for ``epoch``: ``recon`` (+ ``degree``, ``kl``) and ``loss``."""
        positives = self.targets(epoch)
        negatives = self.negatives(positives.shape[1], epoch)
        z = encoding.z
        logits = self.decode(z, torch.cat([positives, negatives], dim=1).to(z.device))
        pos, neg = logits[: positives.shape[1]], logits[positives.shape[1] :]
        recon = F.softplus(-pos).mean() + F.softplus(neg).mean()
        parts = _with_kl(recon, encoding)
        if self.degree_weight:
            assert self.degree_decoder is not None
            target = self.graph.degrees(positives).to(z.device)
            parts["degree"] = F.mse_loss(self.degree_decoder(z), target)
            parts["loss"] = parts["loss"] + self.degree_weight * parts["degree"]
        return parts
