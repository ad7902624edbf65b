"""graphae: graph autoencoders (GAE, VGAE) for node embeddings and link prediction.

Kipf & Welling, "Variational Graph Auto-Encoders" (2016),
https://arxiv.org/abs/1611.07308.
"""

__version__ = "0.1.0"

from graphae.artifacts.checkpoint import load_checkpoint
from graphae.config import TrainConfig
from graphae.data.files import GraphFiles, load_graph
from graphae.errors import ConfigError, DataError, GraphaeError
from graphae.inference import Embedding, Ranking, TrainedRun, load_run, write_embeddings
from graphae.pipeline import RunResult, train

__all__ = [
    "ConfigError",
    "DataError",
    "Embedding",
    "GraphFiles",
    "GraphaeError",
    "Ranking",
    "RunResult",
    "TrainConfig",
    "TrainedRun",
    "__version__",
    "load_checkpoint",
    "load_graph",
    "load_run",
    "train",
    "write_embeddings",
]
