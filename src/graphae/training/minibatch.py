"""Mini-batch training over edge batches, for models that cannot train on the full graph.

Each epoch shuffles the undirected training edges and walks through them in
batches of ``batch_size`` positives. A batch draws as many uniform node pairs
as negatives (those that are training edges or self-pairs are left out, as in
:class:`~graphae.training.objectives.SampledObjective`), samples the
neighbourhoods of the pairs' endpoints (:class:`~graphae.data.sampling.NeighborSampler`),
encodes the endpoints over the sampled blocks (:mod:`graphae.nn.blocks`) and
takes one Adam step on

.. math::
    \\mathcal{L}_B = \\frac{1}{|B^+|} \\sum_{(u,v) \\in B^+} \\mathrm{softplus}(-s_{uv})
        + \\frac{1}{|B^-|} \\sum_{(u,v) \\in B^-} \\mathrm{softplus}(s_{uv})
        \\; (+\\, \\mathrm{KL})

with ``s_uv`` the model's decoder (inner product or MLP). An epoch's order
and each batch's negatives and neighbourhoods come from generators seeded by
``(seed, epoch, batch)`` (:func:`graphae.training.rng.batch_generator`): the
numbers depend on the settings and the seed only, and a resumed run
continues as if never stopped. Validation and test run the exact full-graph
forward pass (no sampling).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from graphae.data.sampling import NeighborSampler, gather_rows
from graphae.errors import ConfigError
from graphae.nn.autoencoders import GAE
from graphae.nn.blocks import encode_blocks, encoder_hops
from graphae.sparse import PairSet
from graphae.training.rng import NEGATIVES, NEIGHBOURS, SHUFFLE, batch_generator


def minibatch_objective(config: Any, distributed: bool = False) -> str:
    """The objective a mini-batch run (``config.batch_size > 0``) records, or a one-line refusal.

    ``"sampled"`` (inner product) or ``"masked"`` (the model's decoder, e.g.
    MaskGAE's MLP, without a mask); ``"auto"``'s dense choice becomes sampled.

    Raises:
        ConfigError: the dense objective, an edge mask, a degree loss, or torchrun.

    """
    if distributed:
        raise ConfigError(
            "mini-batch training (--batch-size) does not run under torchrun yet; use one process"
        )
    if config.objective == "dense":
        raise ConfigError(
            "--objective dense scores all N² pairs each step; mini-batch training "
            "(--batch-size) samples negatives per batch: use --objective auto or sampled"
        )
    if config.mask != "none" or config.degree_weight:
        raise ConfigError(
            "mini-batch training (--batch-size) has no edge mask or degree loss yet; "
            "use --mask none --degree-weight 0, or --batch-size 0"
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
    ) -> None:
        self.x, self.num_nodes = x, num_nodes
        self.batch_size, self.seed, self.grad_clip = batch_size, seed, grad_clip
        self.fanouts = resolve_fanouts(fanouts, encoder_hops(model.encoder))
        self.sampler = NeighborSampler(adj)
        self.pairs = train_pairs.long().cpu()
        loops = torch.arange(num_nodes).repeat(2, 1)
        both = torch.cat([self.pairs, self.pairs.flip(0), loops], dim=1)
        self.excluded = PairSet(both, num_nodes)

    def batches(self, epoch: int) -> list[torch.Tensor]:
        """The epoch's batches of positive pairs (``[2, ≤ batch_size]`` each), shuffled."""
        count = self.pairs.shape[1]
        order = torch.randperm(count, generator=batch_generator(self.seed, epoch, 0, SHUFFLE))
        return [self.pairs[:, index] for index in order.split(self.batch_size)]

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
        batches = self.batches(epoch)
        for batch, positives in enumerate(batches):
            parts = self.step(model, optimizer, positives, epoch, batch)
            share = positives.shape[1] / self.pairs.shape[1]
            for key, value in parts.items():
                totals[key] = totals.get(key, 0.0) + value.detach() * share
        return totals

    def step(
        self,
        model: GAE,
        optimizer: torch.optim.Optimizer,
        positives: torch.Tensor,
        epoch: int,
        batch: int,
    ) -> dict[str, torch.Tensor]:
        """One optimiser step on a batch of positives and its negatives."""
        device = next(model.parameters()).device
        negatives = self.negatives(positives.shape[1], epoch, batch)
        pairs = torch.cat([positives, negatives], dim=1)
        seeds, local = torch.unique(pairs.view(-1), return_inverse=True)
        generator = batch_generator(self.seed, epoch, batch, NEIGHBOURS)
        blocks = self.sampler.sample(seeds, self.fanouts, generator)
        features = gather_rows(self.x, blocks[0].nodes, self.num_nodes).to(device)
        optimizer.zero_grad(set_to_none=True)
        adjs = [block.adj.to(device) for block in blocks]
        encoding = encode_blocks(model, features, adjs, self.num_nodes)
        logits = model.decode(encoding.z, local.view(2, -1).to(device))
        count = positives.shape[1]
        recon = F.softplus(-logits[:count]).mean()
        if logits.shape[0] > count:
            recon = recon + F.softplus(logits[count:]).mean()
        parts = {"recon": recon}
        if encoding.kl is not None:
            parts["kl"] = encoding.kl
        parts["loss"] = recon + parts["kl"] if "kl" in parts else recon
        parts["loss"].backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
        optimizer.step()
        return parts
