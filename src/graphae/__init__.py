"""graphae: graph autoencoders (GAE, VGAE) for node embeddings and link prediction.

Kipf & Welling, "Variational Graph Auto-Encoders" (2016),
https://arxiv.org/abs/1611.07308.
"""

__version__ = "0.1.0"

from graphae.artifacts.checkpoint import load_checkpoint
from graphae.config import TrainConfig
from graphae.errors import ConfigError, DataError, GraphaeError
from graphae.pipeline import RunResult, train

__all__ = [
    "ConfigError",
    "DataError",
    "GraphaeError",
    "RunResult",
    "TrainConfig",
    "__version__",
    "load_checkpoint",
    "train",
]
