"""Mini-batch training over edge batches, for models that cannot train on the full graph.

Each epoch shuffles its targets, the undirected training edges, and walks
through them in batches of ``batch_size`` positives. A batch draws as many
uniform node pairs as negatives (those that are training edges or
self-pairs are left out, as in
:class:`~graphae.training.objectives.SampledObjective`), samples the
neighbourhoods of the pairs' endpoints (:class:`~graphae.data.sampling.NeighborSampler`),
encodes the endpoints over the sampled blocks (:mod:`graphae.nn.blocks`) and
takes one Adam step on

.. math::
    \\mathcal{L}_B = \\frac{\\sum_{(u,v) \\in B^+} w_{uv}\\, \\mathrm{softplus}(-s_{uv})}
        {\\sum_{B^+} w_{uv}}
        + \\frac{1}{|B^-|} \\sum_{(u,v) \\in B^-} \\mathrm{softplus}(s_{uv})
        + \\alpha\\, \\frac{1}{|V_B|} \\sum_{u \\in V_B} \\big(g(z_u) - d^{mask}_u\\big)^2
        \\; (+\\, \\mathrm{KL})

with ``s_uv`` the model's decoder (inner product or MLP), ``w_uv = 1``
without a mask, and the degree term only with a degree loss (``α > 0``).

Masked training (MaskGAE, Li et al., KDD 2023, https://arxiv.org/abs/2205.10053;
:class:`~graphae.training.masked.MaskedObjective`): epoch ``t`` draws the
full-graph objective's mask (the same draw, from ``(seed, t)``), the
neighbour sampler is rebuilt over that epoch's *visible* graph (its GCN
weights ``Â_vis``, as the full-graph masked encoder sees them; one
vectorised O(E) pass), and the batches walk through the masked targets,
each weighted by its masked directions ``w_uv`` (1 or 2 with MaskGAE's
directed mask) and met by ``Σ w_uv`` negatives. The degree decoder ``g``
regresses the masked degrees ``d^mask`` (the full-graph objective's
targets) of the batch's nodes ``V_B``, the endpoints of its pairs. With
fanout ``-1`` and one batch per epoch, the encoder's outputs are the
full-graph masked encoder's rows and the loss is the full-graph masked loss
but for the negatives' draw and for the degree term's nodes (``V_B``, not all N).

An epoch's mask, order and each batch's negatives and neighbourhoods come
from generators seeded by ``(seed, epoch)`` and ``(seed, epoch, batch)``
(:mod:`graphae.training.rng`): the numbers depend on the settings and the
seed only, and a resumed run continues as if never stopped. Validation and
test run the exact full-graph forward pass (no sampling).

Data-parallel (``torchrun``, :mod:`graphae.training.distributed`): every rank
draws the same global batch (positives and negatives); rank ``r`` of ``W``
takes its contiguous share ``P_r``, ``Q_r`` of both (:func:`~graphae.training.distributed.share`),
samples their neighbourhoods from its own stream ``(seed, epoch, batch,
r)``, runs its forward pass under its own random stream (dropout) and
backpropagates

.. math::
    \\mathcal{L}_r = W \\Big( \\frac{\\sum_{P_r} w\\, \\mathrm{softplus}(-s)}{\\sum_{B^+} w}
      + \\frac{\\sum_{Q_r} \\mathrm{softplus}(s)}{|B^-|} \\Big)
      + \\alpha\\, \\mathrm{mean}_{V_r} (g - d^{mask})^2 + \\mathrm{KL}_r;

the gradients (and logged parts) are averaged in one all-reduce, so every
rank takes the same Adam step, and at the end of each epoch the ranks'
buffers (batch norm's running statistics, computed on each rank's share)
are averaged. Given the encodings, the mean of the ``L_r`` is the batch's
reconstruction loss exactly; the neighbourhoods, the batch-norm statistics
(over each share's nodes) and the dropout masks differ from one process's,
so a ``torchrun`` run matches a one-process run in distribution, not bit for bit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from graphae.data.sampling import NeighborSampler, gather_rows
from graphae.errors import ConfigError
from graphae.nn.autoencoders import GAE
from graphae.nn.blocks import encode_blocks, encoder_hops
from graphae.sparse import PairSet
from graphae.training.distributed import DataParallel, rank_stream, share
from graphae.training.masked import MaskedObjective
from graphae.training.rng import NEGATIVES, NEIGHBOURS, SHUFFLE, batch_generator


def minibatch_objective(config: Any) -> str:
    """The objective a mini-batch run (``config.batch_size > 0``) records, or a one-line refusal.

    ``"sampled"`` (inner product, no mask) or ``"masked"`` (the model's
    decoder, e.g. MaskGAE's MLP, an edge mask, a degree loss); ``"auto"``'s
    dense choice becomes sampled.

    Raises:
        ConfigError: the dense objective.

    """
    if config.objective == "dense":
        raise ConfigError(
            "--objective dense scores all N² pairs each step; mini-batch training "
            "(--batch-size) samples negatives per batch: use --objective auto or sampled"
        )
    return "masked" if config.masked_objective else "sampled"


def resolve_fanouts(fanout: Sequence[int], hops: int) -> list[int]:
    """One fanout per sampled hop: a single value for every hop, or exactly ``hops`` values."""
    values = [int(f) for f in fanout]
    if len(values) == 1:
        return values * hops
    if len(values) != hops:
        raise ConfigError(
            f"--fanout gives {len(values)} values but the encoder makes {hops} hops "
            "(layers + propagate steps); give one value or one per hop"
        )
    return values


@dataclass(frozen=True)
class EpochTargets:
    """What an epoch reconstructs, and the graph its encoder passes sample from.

    Attributes:
        pairs: ``[2, k]`` the positives: the training edges, or the epoch's masked ones.
        weight: ``[k]`` how often each counts (MaskGAE's directed mask: its masked
            directions, 1 or 2); ``None``: once each.
        sampler: neighbour sampler over the graph the encoder sees (with a mask:
            the epoch's visible edges).
        degree: ``[N]`` the degree decoder's targets (degrees in the masked
            edges); ``None``: no degree loss.

    """

    pairs: torch.Tensor
    weight: torch.Tensor | None
    sampler: NeighborSampler
    degree: torch.Tensor | None

    def count(self, index: torch.Tensor | None = None) -> int:
        """The number of positive terms (``Σ w``) of the pairs ``index`` (default: all)."""
        if self.weight is None:
            return self.pairs.shape[1] if index is None else len(index)
        weight = self.weight if index is None else self.weight[index]
        return int(weight.sum())


class MinibatchStep:
    """One epoch of mini-batch training, for :func:`graphae.training.fit`'s ``epoch_step``.

    Args:
        model (GAE): the autoencoder (its encoder has a block forward pass).
        x (Tensor or None): node features (``None``: identity).
        adj (Tensor): the training graph's normalised adjacency ``Â`` (CSR).
        train_pairs (Tensor): ``[2, T]`` undirected training edges, one per edge.
        num_nodes (int): N.
        batch_size (int): positive pairs per optimiser step.
        fanouts (sequence of int): neighbours per node and hop, from the seeds
            outward; one value for every hop or one per hop (``-1``: all).
        seed (int, optional): seeds every epoch's order and batches. (default: ``0``)
        grad_clip (float, optional): clip the gradients' global norm (``0``: no). (default: ``0``)
        masked (MaskedObjective, optional): the full-graph masked objective
            whose mask (each epoch's draw, the visible graph's ``Â``) and
            degree loss the batches take; ``None``: no mask, no degree loss.
            (default: ``None``)
        ranks (DataParallel, optional): data-parallel training: this rank's
            share of every batch, gradients averaged. (default: ``None``)

    """

    def __init__(
        self,
        model: GAE,
        x: torch.Tensor | None,
        adj: torch.Tensor,
        train_pairs: torch.Tensor,
        num_nodes: int,
        *,
        batch_size: int,
        fanouts: Sequence[int],
        seed: int = 0,
        grad_clip: float = 0.0,
        masked: MaskedObjective | None = None,
        ranks: DataParallel | None = None,
    ) -> None:
        self.x, self.num_nodes = x, num_nodes
        self.batch_size, self.seed, self.grad_clip = batch_size, seed, grad_clip
        self.fanouts = resolve_fanouts(fanouts, encoder_hops(model.encoder))
        self.masked, self.ranks = masked, ranks
        self.degree_weight = masked.degree_weight if masked is not None else 0.0
        self.pairs = train_pairs.long().cpu()
        if masked is not None:  # its set: the training edges (both directions) and self-pairs
            self.excluded = masked.excluded
        else:
            loops = torch.arange(num_nodes).repeat(2, 1)
            both = torch.cat([self.pairs, self.pairs.flip(0), loops], dim=1)
            self.excluded = PairSet(both, num_nodes)
        self._fixed: EpochTargets | None = None
        if masked is None or masked.mask is None:  # the same targets and graph every epoch
            degree = None
            if self.degree_weight:  # every training edge is a target: the training degrees
                degree = torch.bincount(self.pairs.reshape(-1), minlength=num_nodes).float()
            self._fixed = EpochTargets(self.pairs, None, NeighborSampler(adj), degree)

    def targets(self, epoch: int) -> EpochTargets:
        """``epoch``'s targets and sampler: with a mask, its draw and the visible graph."""
        if self._fixed is not None:
            return self._fixed
        assert self.masked is not None
        draw = self.masked.draw(epoch)  # the full-graph objective's draw for this epoch
        visible = NeighborSampler(self.masked.graph.adjacency(~draw.hidden))
        degree = None
        if self.degree_weight:
            degree = torch.bincount(draw.ends, minlength=self.num_nodes).float()
        return EpochTargets(draw.targets, draw.weight, visible, degree)

    def order(self, count: int, epoch: int) -> list[torch.Tensor]:
        """Indices of ``count`` targets in batches of ``batch_size``, shuffled by ``epoch``."""
        order = torch.randperm(count, generator=batch_generator(self.seed, epoch, 0, SHUFFLE))
        return list(order.split(self.batch_size))

    def batches(self, epoch: int) -> list[torch.Tensor]:
        """The epoch's batches of positive pairs (``[2, ≤ batch_size]`` each), shuffled."""
        pairs = self.targets(epoch).pairs
        return [pairs[:, index] for index in self.order(pairs.shape[1], epoch)]

    def negatives(self, count: int, epoch: int, batch: int) -> torch.Tensor:
        """``[2, ≤ count]`` uniform node pairs that are neither training edges nor self-pairs."""
        generator = batch_generator(self.seed, epoch, batch, NEGATIVES)
        pairs = torch.randint(0, self.num_nodes, (2, count), generator=generator)
        return pairs[:, ~self.excluded.contains(pairs[0], pairs[1])]

    def __call__(
        self, model: GAE, optimizer: torch.optim.Optimizer, epoch: int
    ) -> dict[str, torch.Tensor]:
        """Train one epoch; return its loss parts, averaged over batches weighted by their size."""
        totals: dict[str, torch.Tensor] = {}
        targets = self.targets(epoch)
        total = targets.count()
        for batch, index in enumerate(self.order(targets.pairs.shape[1], epoch)):
            count = targets.count(index)
            negatives = self.negatives(count, epoch, batch)
            optimizer.zero_grad(set_to_none=True)
            parts = self.loss(model, targets, index, negatives, epoch, batch)
            if parts["loss"].requires_grad:  # a rank's empty share has nothing to backpropagate
                parts["loss"].backward()
            if self.ranks is not None:
                parts = self.ranks.average(model, parts)
            if self.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
            optimizer.step()
            for key, value in parts.items():
                totals[key] = totals.get(key, 0.0) + value.detach() * (count / total)
        if self.ranks is not None:  # batch norm's running statistics: each rank's own shares
            self.ranks.average_buffers(model)
        return totals

    def loss(
        self,
        model: GAE,
        targets: EpochTargets,
        index: torch.Tensor,
        negatives: torch.Tensor,
        epoch: int,
        batch: int,
    ) -> dict[str, torch.Tensor]:
        """Loss parts of the positives ``targets.pairs[:, index]`` and ``negatives`` (this rank's).

        ``recon`` (+ ``degree``, ``kl``) and ``loss``; see the module's docstring.
        """
        device = next(model.parameters()).device
        rank, world = (0, 1) if self.ranks is None else (self.ranks.rank, self.ranks.world_size)
        own_pos = index[share(len(index), rank, world)]
        own_negatives = negatives[:, share(negatives.shape[1], rank, world)]
        positives = targets.pairs[:, own_pos]
        count = positives.shape[1]
        pairs = torch.cat([positives, own_negatives], dim=1)
        if pairs.shape[1] == 0:  # this rank's share of a tiny last batch: nothing
            return self._zero_parts(model, device)
        seeds, local = torch.unique(pairs.view(-1), return_inverse=True)
        key = None if self.ranks is None else rank
        generator = batch_generator(self.seed, epoch, batch, NEIGHBOURS, rank=key)
        blocks = targets.sampler.sample(seeds, self.fanouts, generator)
        features = gather_rows(self.x, blocks[0].nodes, self.num_nodes).to(device)
        adjs = [block.adj.to(device) for block in blocks]
        stream = (
            contextlib.nullcontext()
            if self.ranks is None
            else rank_stream(self.seed, epoch, rank, device, batch=batch)
        )
        with stream:  # under torchrun: dropout and ε from the rank's own stream
            encoding = encode_blocks(model, features, adjs, self.num_nodes)
            logits = model.decode(encoding.z, local.view(2, -1).to(device))
            degrees = None
            if targets.degree is not None:
                degrees = model.degree_decoder(encoding.z)  # type: ignore[operator]
        pos_loss = F.softplus(-logits[:count])
        if targets.weight is None:
            pos_term = pos_loss.sum() / len(index)
        else:  # each target counted as often as it was masked
            weight = targets.weight.to(device)
            pos_term = (pos_loss * weight[own_pos]).sum() / weight[index].sum()
        recon = world * pos_term
        if negatives.shape[1]:
            recon = recon + world * F.softplus(logits[count:]).sum() / negatives.shape[1]
        parts = {"recon": recon}
        loss = recon
        if degrees is not None:
            assert targets.degree is not None
            parts["degree"] = F.mse_loss(degrees, targets.degree[seeds].to(device))
            loss = loss + self.degree_weight * parts["degree"]
        if encoding.kl is not None:
            parts["kl"] = encoding.kl
            loss = loss + encoding.kl
        parts["loss"] = loss
        return parts

    def _zero_parts(self, model: GAE, device: torch.device) -> dict[str, torch.Tensor]:
        """The loss parts of an empty share: zeros, with the keys of the other ranks' parts."""
        zero = torch.zeros((), device=device)
        parts = {"recon": zero}
        if self.degree_weight:
            parts["degree"] = zero
        if model.variational:
            parts["kl"] = zero
        parts["loss"] = zero
        return parts
