"""Training: objectives bound to a graph, and the loop."""

from graphae.training.objectives import (
    OBJECTIVES,
    DenseObjective,
    SampledObjective,
    resolve_objective,
)
from graphae.training.trainer import FitResult, fit

__all__ = [
    "OBJECTIVES",
    "DenseObjective",
    "FitResult",
    "SampledObjective",
    "fit",
    "resolve_objective",
]
