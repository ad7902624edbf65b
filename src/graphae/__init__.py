"""graphae: graph autoencoders (GAE, VGAE) for node embeddings and link prediction.

Kipf & Welling, "Variational Graph Auto-Encoders" (2016),
https://arxiv.org/abs/1611.07308.
"""

import os
import sys

__version__ = "0.1.0"

# Threads that wait for work sleep instead of spinning (OpenMP's passive wait), unless
# the user chose (OMP_WAIT_POLICY or GOMP_SPINCOUNT set). On a busy 2-core machine,
# torch's two spinning threads made the quick start 5-13x slower than one thread; with
# sleeping waiters two threads were as fast or faster, same results
# (benchmarks/threads_under_load.py). OpenMP reads it when it starts, i.e. only if graphae
# is imported before torch, as the CLI does.
if "torch" not in sys.modules and not {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & set(os.environ):
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

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
