"""Per-epoch random streams: what an epoch draws depends only on the seed and the epoch.

A training run draws fresh randomness every epoch (the sampled objective's
negatives, edge masks). Drawing it from one long-lived generator ties each
epoch's draw to everything drawn before it, so a performance knob that
changes how many epochs are drawn at once, or a run resumed half way, would
change the numbers. Instead every epoch gets its own generator, seeded from
``(seed, stream, epoch)`` through numpy's :class:`~numpy.random.SeedSequence`
(well-mixed seeds for nearby inputs).
"""

from __future__ import annotations

import numpy as np
import torch

#: stream ids: independent streams for the different uses within one run
NEGATIVES = 1
MASKS = 2
SHUFFLE = 3  # mini-batch training: the order of the training edges in an epoch
NEIGHBOURS = 4  # mini-batch training: the sampled neighbourhoods of a batch
RANK_DECODING = 5  # data-parallel: torch's stream while a rank decodes its share, per rank
MEMBERS = 6  # deep ensembles: the seeds of members 1, 2, ... (member 0 keeps the run's)


def epoch_seed(seed: int, epoch: int, stream: int = NEGATIVES, *key: int) -> int:
    """A 63-bit seed determined by ``(seed, stream, epoch)`` (and ``key``, e.g. a rank) alone."""
    sequence = np.random.SeedSequence([int(seed), int(stream), int(epoch), *map(int, key)])
    state = sequence.generate_state(1, np.uint64)
    return int(state[0]) >> 1  # below 2**63: a valid torch seed on every platform


def member_seed(seed: int, member: int) -> int:
    """The seed of ensemble member ``member`` of a run seeded ``seed``.

    Member 0 is the run's own seed, so a one-member ensemble is the single
    model; the others come from the stream ``MEMBERS`` (below 2**63).
    """
    return int(seed) if member == 0 else epoch_seed(seed, member, MEMBERS)


def epoch_generator(
    seed: int, epoch: int, stream: int = NEGATIVES, device: str | torch.device = "cpu"
) -> torch.Generator:
    """A fresh :class:`torch.Generator` on ``device`` seeded with :func:`epoch_seed`."""
    return torch.Generator(device=device).manual_seed(epoch_seed(seed, epoch, stream))


def batch_generator(
    seed: int,
    epoch: int,
    batch: int,
    stream: int,
    device: str | torch.device = "cpu",
    rank: int | None = None,
) -> torch.Generator:
    """A fresh generator for one batch of an epoch, seeded by ``(seed, stream, epoch, batch)``.

    Mini-batch training (:mod:`graphae.training.minibatch`) draws each batch's
    negatives and neighbourhoods from their own generator, so a batch's draw
    depends on nothing drawn before it. ``rank``: a data-parallel rank's own
    stream (``(seed, stream, epoch, batch, rank)``), e.g. for the
    neighbourhoods of its share of the batch.
    """
    key = (batch,) if rank is None else (batch, rank)
    return torch.Generator(device=device).manual_seed(epoch_seed(seed, epoch, stream, *key))
