"""Reproductions of published tables: specs as YAML, a resumable runner, tables."""

from graphae.reproduction.reproduce import Reproduction, reproduce
from graphae.reproduction.runner import CellRun, run_reproduction
from graphae.reproduction.spec import ReproductionSpec, available_specs, load_spec, validate
from graphae.reproduction.table import summarize, to_markdown, write_tables

__all__ = [
    "CellRun",
    "Reproduction",
    "ReproductionSpec",
    "available_specs",
    "load_spec",
    "reproduce",
    "run_reproduction",
    "summarize",
    "to_markdown",
    "validate",
    "write_tables",
]
