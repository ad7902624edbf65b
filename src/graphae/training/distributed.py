"""Data-parallel training over ``torch.distributed``: ``torchrun -m graphae train ...``.

Each process (rank) holds the whole graph and runs the full-graph encoder:
the same weights, the same input and the same random draws (seeded alike)
give every rank the same ``Z``. The sampled objective's entries, the
training edges and the epoch's negatives (drawn in full on every rank from
``(seed, epoch)`` alone, :mod:`graphae.training.rng`), are split between the
``W`` ranks (:func:`shard_entries`); rank ``r`` computes the loss ``L_r`` of
its share and backpropagates ``W · L_r`` (plus the KL term, replicated), and
the gradients are averaged in one all-reduce (:meth:`DataParallel.average`):

.. math::
    \\frac{1}{W} \\sum_r \\nabla (W L_r + L_{KL}) = \\nabla \\Big(\\sum_r L_r + L_{KL}\\Big)
    = \\nabla L,

the single-process gradient up to float rounding. Every rank then takes the
same Adam step on the same gradient and keeps identical parameters (hashed
and compared at the end, :meth:`DataParallel.summary`).

The masked objective (MaskGAE, :class:`~graphae.training.masked.MaskedObjective`)
is split the same way: every rank draws epoch ``t``'s mask and negatives
from ``(seed, t)``, encodes the same masked graph (so batch norm sees the
same batch everywhere), and decodes its contiguous share of the masked
targets and of the negatives (:func:`share`), scaled by ``W``; the degree
decoder's loss is split over the nodes the same way, so it counts once in
the average. Dropout in the encoder draws from torch's global generator,
seeded alike and advanced alike on every rank; a decoder's dropout, whose
draws would depend on the size of a rank's share, draws from a stream of
``(seed, t, rank)`` and leaves the global generator as it found it
(:func:`rank_stream`). The ranks' random states are compared at the end too.

A stopped run resumes under ``torchrun`` with as many ranks
(:func:`check_world_size`): rank 0 wrote ``resume.pt``, every rank reads it
(:meth:`DataParallel.prepare_resume`, :meth:`DataParallel.check_checkpoint`)
and continues as an uninterrupted run would.

What scales with the number of ranks: the decoder and loss (sampled
products over edges and negatives, their backward), i.e. the per-epoch pair
work, and the test of the drawn negatives against the training edges (each
rank tests ``1 / W`` of them, and one all-gather shares the answers,
:meth:`DataParallel.gather`; half of a draw's cost at 1M edges). What does
not yet: the graph, the features, the draw's random numbers and the encoder
pass are replicated on every rank, and validation and test scoring run on
each. Mini-batch training (``--batch-size``, :mod:`graphae.training.minibatch`)
divides each batch instead, its encoder pass included: every rank draws
the same batch and encodes and decodes its share, and the ranks' batch-norm
statistics are averaged each epoch (:meth:`DataParallel.average_buffers`).

This is what ``DistributedDataParallel`` does (broadcast the initial
weights, all-reduce averaged gradients), written out because the trainer
calls :meth:`~graphae.nn.GAE.encode`, not ``forward``, which DDP's hooks
need; one flat all-reduce per step also carries the logged loss parts.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from graphae.config import TrainConfig
from graphae.errors import ConfigError, DataError, TrainingError
from graphae.sparse import SymmetricPairs
from graphae.tracking.base import Tracker
from graphae.training.checkpointing import resume_command
from graphae.training.rng import RANK_DECODING, epoch_seed

BACKENDS = ("gloo", "nccl")

#: what ``torchrun`` sets in each worker's environment (``LOCAL_RANK`` too)
LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE")


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (``RANK`` and ``WORLD_SIZE`` set)."""
    return all(name in os.environ for name in LAUNCH_VARIABLES)


def default_backend(device: str) -> str:
    """``"nccl"`` for a CUDA device, ``"gloo"`` otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


@dataclass(frozen=True)
class DataParallel:
    """Where this process stands among the ranks of a data-parallel run.

    Attributes:
        rank: this process's rank, ``0 .. world_size - 1`` (0 writes and prints).
        world_size: number of processes ``W``.
        local_rank: rank on this machine (picks the GPU).
        backend: ``"gloo"`` or ``"nccl"``.

    """

    rank: int
    world_size: int
    local_rank: int = 0
    backend: str = "gloo"

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes the run folder, the logs and the report."""
        return self.rank == 0

    def prepare(
        self, config: TrainConfig, objective: str, save: bool, trackers: Sequence[Tracker]
    ) -> tuple[TrainConfig, bool, Sequence[Tracker]]:
        """The settings of this rank's share of :func:`graphae.pipeline.train`.

        Rank 0 keeps ``save`` and ``trackers``; the others save nothing, log
        nothing and show no progress bar. ``--device cuda`` becomes this
        machine's ``cuda:LOCAL_RANK``.

        Raises:
            ConfigError: the dense objective (its ``N²`` pairs are not split
                between ranks; ``--objective sampled`` and ``masked`` are).

        """
        if objective == "dense":
            chosen = (
                " (--objective auto chose it for this graph)" if config.objective == "auto" else ""
            )
            raise ConfigError(
                f"the {objective} objective{chosen} does not run data-parallel: its N² "
                "pairs are not split between ranks; pass --objective sampled"
            )
        device = torch.device(config.device)
        if device.type == "cuda" and device.index is None:
            config = replace(config, device=f"cuda:{self.local_rank}")
        if self.is_main:
            return config, save, trackers
        return replace(config, quiet=True), False, ()

    def prepare_resume(
        self, config: TrainConfig, objective: str, trackers: Sequence[Tracker]
    ) -> tuple[TrainConfig, bool, Sequence[Tracker]]:
        """:meth:`prepare` for a stopped run resumed under ``torchrun``.

        Every rank reads the run folder (``config.json``, the split,
        ``resume.pt``: a folder all ranks can read); rank 0 alone writes to
        it again. The stopped run recorded rank 0's GPU (``cuda:0``); each
        rank takes its own.
        """
        if torch.device(config.device).type == "cuda":
            config = replace(config, device="cuda")
        return self.prepare(config, objective, True, trackers)

    def check_checkpoint(self, epoch: int) -> None:
        """Check that every rank read a checkpoint of the same ``epoch``.

        Raises:
            DataError: they read different ones (a run folder that is not
                shared, or rewritten meanwhile).

        """
        if not self.agree(torch.tensor([epoch], dtype=torch.float64)):
            raise DataError(
                "the ranks read resume checkpoints of different epochs: give every rank "
                "the same run folder (a shared file system)"
            )

    def shard(self, objective: Any) -> None:
        """Make the sampled or masked ``objective`` compute this rank's share of its loss.

        Checks first that every rank built the same training pairs (the
        same graph, split and seed); sharding assumes it.

        Raises:
            DataError: the ranks hold different graphs or splits.

        """
        positives = getattr(objective, "positives", None)
        if isinstance(positives, SymmetricPairs):  # sampled
            count, total = len(positives), int(positives.col.long().sum())
        else:  # masked: the training graph's undirected edges
            edges = objective.graph.edges
            count, total = edges.shape[1], int(edges.long().sum())
        self.check_same_training(objective.num_nodes, count, total, objective.seed)
        objective.shard = (self.rank, self.world_size)
        if hasattr(objective, "gather_over_ranks"):  # sampled: each rank tests 1/W of a draw
            objective.gather_over_ranks = self.gather

    def check_same_training(self, num_nodes: int, count: int, total: int, seed: int) -> None:
        """Check that the ranks hold the same nodes, training pairs (count, id sum) and seed.

        Raises:
            DataError: the ranks hold different graphs, splits or seeds.

        """
        facts = torch.tensor([num_nodes, count, total, seed], dtype=torch.float64)
        if not self.agree(facts):
            raise DataError(
                "the ranks loaded different graphs, splits or seeds: give every rank the "
                "same files and settings"
            )

    def average_buffers(self, model: torch.nn.Module) -> None:
        """Make the ranks' buffers equal: floating-point ones averaged, counters their maximum.

        Mini-batch training normalises each rank's share of a batch on its
        own, so batch norm's running statistics drift apart; being running
        means (linear in the batch statistics), their average over ranks is
        what one running mean of the ranks' batch statistics would be. Two
        all-reduces at most (floats, integers).
        """
        buffers = list(model.buffers())
        for floating, op in ((True, dist.ReduceOp.SUM), (False, dist.ReduceOp.MAX)):
            chosen = [b for b in buffers if b.is_floating_point() == floating and b.numel()]
            if not chosen:
                continue
            dtype = torch.float64 if floating else torch.int64
            flat = torch.cat([b.detach().reshape(-1).to(self.device, dtype) for b in chosen])
            dist.all_reduce(flat, op=op)
            if floating:
                flat /= self.world_size
            offset = 0
            with torch.no_grad():
                for buffer in chosen:
                    part = flat[offset : offset + buffer.numel()]
                    buffer.copy_(part.view_as(buffer).to(buffer.device, buffer.dtype))
                    offset += buffer.numel()

    def gather(self, values: torch.Tensor, total: int) -> torch.Tensor:
        """The ``total`` items of which each rank holds its :func:`share` ``values``, in rank order.

        One all-gather (shares padded to the largest); on ``values``' device and dtype.
        """
        shares = [share(total, rank, self.world_size) for rank in range(self.world_size)]
        width = max(s.stop - s.start for s in shares)
        dtype = torch.uint8 if values.dtype == torch.bool else values.dtype  # gloo: no bool
        padded = torch.zeros(width, dtype=dtype, device=self.device)
        padded[: values.numel()] = values.reshape(-1).to(self.device, dtype)
        parts = [torch.empty_like(padded) for _ in shares]
        dist.all_gather(parts, padded)
        pieces = [part[: s.stop - s.start] for part, s in zip(parts, shares, strict=True)]
        return torch.cat(pieces).to(values.device, values.dtype)

    def agree(self, values: torch.Tensor) -> bool:
        """Whether every rank passed the same ``values`` (a small float64 tensor)."""
        values = values.to(self.device)
        low, high = values.clone(), values.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        return bool(torch.equal(low, high))

    @property
    def device(self) -> torch.device:
        """Where collectives take their tensors: this rank's GPU for NCCL, else the CPU."""
        return (
            torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")
        )

    def replicate(self, model: torch.nn.Module) -> None:
        """Give every rank rank 0's parameters and buffers (as DDP does at the start)."""
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def average(
        self, model: torch.nn.Module, parts: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Average the gradients and the loss parts over ranks, in one all-reduce.

        Called after ``backward()`` and before the optimiser's step. Returns
        the averaged loss parts: with each rank's share scaled by ``W``
        (:func:`shard_entries`), the full loss of the step.
        """
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            return parts
        dtype = params[0].dtype
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        values = [v.detach().reshape(1).to(dtype) for v in parts.values()]
        flat = torch.cat([g.reshape(-1).to(dtype) for g in grads] + values)
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for param, grad in zip(params, grads, strict=True):
            averaged = flat[offset : offset + grad.numel()].view_as(param)
            offset += grad.numel()
            if param.grad is None:
                param.grad = averaged.to(param.dtype).clone()
            else:
                param.grad.copy_(averaged)
        return {name: flat[offset + i] for i, name in enumerate(parts)}

    def summary(self, model: torch.nn.Module) -> dict[str, Any]:
        """The ranks and the SHA-256 of each rank's parameters (``metrics.json["distributed"]``).

        Hashes the bytes of ``model``'s ``state_dict`` (buffers too: batch
        norm's running statistics) on every rank and gathers the digests
        (rank order); compares torch's global random state as well, which
        the next dropout masks come from.

        Raises:
            TrainingError: the ranks' parameters or random states differ
                (which is a bug).

        """
        digest = hashlib.sha256()
        for name, tensor in model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        device = next(model.parameters()).device
        random = hashlib.sha256(torch.get_rng_state().numpy().tobytes())
        if device.type == "cuda":
            random.update(torch.cuda.get_rng_state(device).numpy().tobytes())
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, (digest.hexdigest(), random.hexdigest()))
        digests = [parameters for parameters, _ in gathered]
        if len(set(gathered)) != 1:
            what = "parameters" if len(set(digests)) != 1 else "random states"
            short = ", ".join(d[:12] for d in digests)
            raise TrainingError(
                f"the ranks ended with different {what} ({short}); this is a bug in "
                "graphae's data-parallel training, please report it"
            )
        return {
            "world_size": self.world_size,
            "backend": self.backend,
            "parameters_sha256": digests,
        }


def current() -> DataParallel | None:
    """The :class:`DataParallel` of this process when a process group is up, else ``None``."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return DataParallel(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        backend=str(dist.get_backend()),
    )


@contextmanager
def process_group(backend: str | None, device: str) -> Iterator[DataParallel | None]:
    """Join the ranks ``torchrun`` started (``env://``), and leave at the end.

    Outside ``torchrun`` (no ``RANK``/``WORLD_SIZE``) nothing happens and
    ``None`` is yielded: a single-process run.

    Args:
        backend (str, optional): ``"gloo"`` or ``"nccl"``. (default: NCCL
            for a CUDA ``device``, gloo otherwise)
        device (str): the run's torch device.

    Raises:
        ConfigError: NCCL without CUDA, or an unknown backend.

    """
    if not launched() or (dist.is_available() and dist.is_initialized()):
        yield current()
        return
    backend = backend or default_backend(device)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "nccl":
        if not torch.cuda.is_available() or torch.device(device).type != "cuda":
            raise ConfigError("--backend nccl needs --device cuda (and CUDA); on CPUs use gloo")
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    try:
        yield current()
    finally:
        dist.destroy_process_group()


def check_world_size(run_dir: str | Path, world_size: int, ranks: DataParallel | None) -> None:
    """Refuse to resume a run of ``world_size`` processes with another number of them.

    The ranks' shares, and so the order of the float sums, depend on the
    number of processes: a run continues with the number it started with,
    and then ends with the numbers of an uninterrupted run.

    Raises:
        ConfigError: the number of processes differs (the message gives the command).

    """
    now = ranks.world_size if ranks is not None else 1
    if now != world_size:
        started = "in one process" if world_size == 1 else f"on {world_size} torchrun processes"
        raise ConfigError(
            f"{run_dir} started {started}, not {now}; resume it with: "
            + resume_command(run_dir, world_size)
        )


def share(count: int, rank: int, world_size: int) -> slice:
    """Rank ``rank``'s contiguous share of ``count`` items (``count / W``, give or take one)."""
    return slice(count * rank // world_size, count * (rank + 1) // world_size)


@contextmanager
def rank_stream(
    seed: int, epoch: int, rank: int, device: torch.device, batch: int | None = None
) -> Iterator[None]:
    """Draw torch's global random numbers from a stream of ``(seed, epoch, rank)`` for a while.

    A rank's share of the decoding (its pairs' dropout masks) draws from
    this stream; afterwards the global generator (the CPU's, and
    ``device``'s on CUDA) is back where it was, so that every rank's next
    encoder pass draws the same dropout masks whatever the sizes of the
    shares. ``batch``: mini-batch training's stream of ``(seed, epoch,
    rank, batch)``, where a rank's whole forward pass on its share draws.
    """
    cuda = device.type == "cuda"
    index = 0
    if cuda:
        index = device.index if device.index is not None else torch.cuda.current_device()
    with torch.random.fork_rng(devices=[index] if cuda else [], device_type="cuda"):
        key = (rank,) if batch is None else (rank, batch)
        seed = epoch_seed(seed, epoch, RANK_DECODING, *key)
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def shard_entries(
    pairs: SymmetricPairs, weight: torch.Tensor, positives: int, rank: int, world_size: int
) -> tuple[SymmetricPairs, torch.Tensor, int]:
    """Rank ``rank``'s share of a loss over ``pairs``: a contiguous run of pattern rows.

    The rows (nodes, block by block) are cut where the entries divide most
    evenly into ``world_size`` parts, so each rank has about ``len(pairs) /
    W`` entries. Its pattern keeps all rows (the others empty) and its
    weights are scaled by ``W``, so that the mean over ranks of
    :func:`~graphae.sparse.symmetric_pair_bce` on the shares is the loss on
    all ``pairs``.

    A share holds whole rows, not whole pairs: the two entries of a pair
    ``{i, j}`` can fall to different ranks, and a rank's sparse gradient
    ``2 G_r Z`` is then not its own loss's gradient ``(G_r + G_rᵀ) Z``; but
    the shares' ``G_r`` add up to the symmetric ``G`` of all pairs, so the
    gradients summed over ranks (and backpropagated through the encoder,
    which is linear in them) are exactly those of the full loss.

    Args:
        pairs (SymmetricPairs): all entries, both orientations of every pair.
        weight (Tensor): one weight per entry.
        positives (int): number of leading entries with target 1.
        rank (int): this rank.
        world_size (int): number of ranks ``W``.

    Returns:
        tuple: this rank's ``(pairs, weight × W, positives)``.

    """
    crow = pairs.crow
    total = len(pairs)
    targets = torch.tensor(
        [total * rank // world_size, total * (rank + 1) // world_size],
        dtype=crow.dtype,
        device=crow.device,
    )
    start, stop = crow[torch.searchsorted(crow, targets)].tolist()  # first row boundary at or after
    shard = SymmetricPairs(
        crow.clamp(start, stop) - start, pairs.col[start:stop], pairs.num_nodes, pairs.blocks
    )
    share = min(max(positives - start, 0), stop - start)
    return shard, weight[start:stop] * world_size, share
