"""Non-neural link-prediction baselines of Kipf & Welling (2016), Table 1: SC and DW.

Each maps a training graph to an ``N x d`` embedding ``Z``; pairs are scored
like the autoencoders, ``σ(z_i · z_j)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from graphae.baselines.deepwalk import deepwalk_embedding, random_walks
from graphae.baselines.spectral import spectral_embedding

#: Baseline name (as in Table 1, lower case) -> embedding function.
BASELINES: dict[str, Callable[..., torch.Tensor]] = {
    "sc": spectral_embedding,
    "dw": deepwalk_embedding,
}

__all__ = ["BASELINES", "deepwalk_embedding", "random_walks", "spectral_embedding"]
