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
masked edges (``α = 0``: no degree term), plus the KL term for a VGAE. With
MaskGAE's directed mask (:class:`~graphae.training.masking.DirectedEdgeMask`)
each target counts once per masked direction and the negatives are as many
as the masked directions, MaskGAE's loss on its masked ``edge_index`` entries.
Without a mask every training edge is a target and the encoder sees them
all: the sampled objective through any decoder (e.g. GAE + MLP decoder).

Epoch ``t``'s mask and negatives come from generators seeded by ``(seed,
t)`` alone (:func:`~graphae.training.rng.epoch_generator`, streams ``MASKS``
and ``NEGATIVES``).

Data-parallel (``torchrun``, :mod:`graphae.training.distributed`): every
rank draws the same mask and negatives and encodes the same masked graph;
rank ``r`` of ``W`` decodes its contiguous share ``P_r`` of the targets and
``Q_r`` of the negatives and regresses the degrees of its share ``V_r`` of
the nodes, each sum divided by the full count and scaled by ``W``:

.. math::
    \\mathcal{L}_r = W \\Big( \\frac{\\sum_{P_r} w\\, \\mathrm{softplus}(-f)}{\\sum w}
      + \\frac{\\sum_{Q_r} \\mathrm{softplus}(f)}{|E_{neg}|}
      + \\alpha\\, \\frac{\\sum_{V_r} (g(z_u) - d^{mask}_u)^2}{N} \\Big)
      + \\mathcal{L}_{KL},

so that the mean of the ranks' losses, and of their gradients, is the
single-process ``L`` and its gradient (float rounding aside).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from graphae.nn.autoencoders import GAE, Encoding
from graphae.sparse import PairSet
from graphae.training.distributed import rank_stream, share
from graphae.training.masking import Mask, MaskDraw, TrainingGraph
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
        mask (EdgeMask, DirectedEdgeMask or PathMask, optional): the mask;
            ``None``: no mask.
        degree_decoder (Module, optional): ``z -> [N]`` predicted degrees.
        degree_weight (float, optional): weight ``α`` of the degree loss. (default: ``0.0``)
        seed (int, optional): seeds every epoch's mask and negatives. (default: ``0``)
        edge_weight (Tensor, optional): weights of ``train_edge_index``'s
            entries, used in the masked graphs' ``Â``. (default: ``None``)

    """

    name = "masked"
    #: data-parallel training: ``(rank, world size)``, and each call computes that rank's
    #: share of the loss (:meth:`share_loss`); ``None``: all of it
    shard: tuple[int, int] | None = None

    def __init__(
        self,
        train_edge_index: torch.Tensor,
        num_nodes: int,
        decode: Decode,
        mask: Mask | None = None,
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
        self.graph = TrainingGraph(train_edge_index, num_nodes, edge_weight)
        loops = torch.arange(num_nodes).repeat(2, 1)
        self.excluded = PairSet(torch.cat([train_edge_index.cpu(), loops], dim=1), num_nodes)
        self._draws: dict[int, MaskDraw] = {}

    @classmethod
    def for_model(
        cls,
        model: GAE,
        train_edge_index: torch.Tensor,
        num_nodes: int,
        mask: Mask | None = None,
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

    def draw(self, epoch: int) -> MaskDraw:
        """``epoch``'s mask: hidden edges and targets (without a mask: none hidden, all targets)."""
        if self.mask is None:
            hidden = torch.zeros(self.graph.num_edges, dtype=torch.bool)
            edges = self.graph.edges
            return MaskDraw(hidden, edges, None, edges.reshape(-1))
        return self.mask.draw(self.graph, epoch_generator(self.seed, epoch, MASKS))

    def encode(self, model: GAE, x: torch.Tensor | None, adj: torch.Tensor, epoch: int) -> Encoding:
        """The model's encoding of ``epoch``'s visible graph (``adj`` itself without a mask)."""
        draw = self._draws[epoch] = self.draw(epoch)
        if self.mask is None:
            return model.encode(x, adj)
        return model.encode(x, self.graph.adjacency(~draw.hidden).to(adj.device))

    def negatives(self, count: int, epoch: int) -> torch.Tensor:
        """``[2, k]`` uniform pairs of ``epoch`` (k ≈ count): edges and self-pairs left out."""
        generator = epoch_generator(self.seed, epoch, NEGATIVES)
        pairs = torch.randint(0, self.num_nodes, (2, count), generator=generator)
        return pairs[:, ~self.excluded.contains(pairs[0], pairs[1])]

    def __call__(self, encoding: Encoding, epoch: int) -> dict[str, torch.Tensor]:
        """Loss parts for ``epoch``: ``recon`` (+ ``degree``, ``kl``) and ``loss``."""
        draw = self._draws.pop(epoch, None) or self.draw(epoch)
        positives, weight = draw.targets, draw.weight
        count = positives.shape[1] if weight is None else int(weight.sum())
        negatives = self.negatives(count, epoch)
        if self.shard is not None:
            return self.share_loss(encoding, draw, negatives, epoch)
        z = encoding.z
        logits = self.decode(z, torch.cat([positives, negatives], dim=1).to(z.device))
        pos, neg = logits[: positives.shape[1]], logits[positives.shape[1] :]
        pos_loss = F.softplus(-pos)
        if weight is None:
            pos_term = pos_loss.mean()
        else:  # each target counted as often as it was masked
            weight = weight.to(z.device)
            pos_term = (pos_loss * weight).sum() / weight.sum()
        parts = _with_kl(pos_term + F.softplus(neg).mean(), encoding)
        if self.degree_weight:
            assert self.degree_decoder is not None
            target = torch.bincount(draw.ends, minlength=self.num_nodes).float().to(z.device)
            parts["degree"] = F.mse_loss(self.degree_decoder(z), target)
            parts["loss"] = parts["loss"] + self.degree_weight * parts["degree"]
        return parts

    def share_loss(
        self, encoding: Encoding, draw: MaskDraw, negatives: torch.Tensor, epoch: int
    ) -> dict[str, torch.Tensor]:
        """The loss parts of this rank's share ``L_r`` (see the module's docstring).

        The decoders' dropout draws from the rank's own stream
        (:func:`~graphae.training.distributed.rank_stream`), which leaves
        torch's global generator as it was.
        """
        assert self.shard is not None
        rank, world_size = self.shard
        z = encoding.z
        positives, weight = draw.targets, draw.weight
        own_targets = share(positives.shape[1], rank, world_size)
        own_negatives = share(negatives.shape[1], rank, world_size)
        own_nodes = share(self.num_nodes, rank, world_size)
        pairs = torch.cat([positives[:, own_targets], negatives[:, own_negatives]], dim=1)
        degrees = None
        with rank_stream(self.seed, epoch, rank, z.device):
            logits = self.decode(z, pairs.to(z.device))
            if self.degree_weight:
                assert self.degree_decoder is not None
                degrees = self.degree_decoder(z[own_nodes])
        count = own_targets.stop - own_targets.start
        pos_loss = F.softplus(-logits[:count])
        if weight is None:
            pos_term = pos_loss.sum() / positives.shape[1]
        else:  # each target counted as often as it was masked
            own_weight = weight[own_targets].to(z.device)
            pos_term = (pos_loss * own_weight).sum() / weight.sum().to(z.device)
        neg_term = F.softplus(logits[count:]).sum() / negatives.shape[1]
        parts = _with_kl(world_size * (pos_term + neg_term), encoding)
        if degrees is not None:
            target = torch.bincount(draw.ends, minlength=self.num_nodes)[own_nodes]
            error = (degrees - target.float().to(z.device)).square().sum()
            parts["degree"] = world_size * error / self.num_nodes
            parts["loss"] = parts["loss"] + self.degree_weight * parts["degree"]
        return parts
