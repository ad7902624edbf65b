"""What a run leaves on disk: run directories, JSON files, checkpoints (all written atomically)."""

from graphae.artifacts.atomic import OutputError, atomic_path, atomic_write
from graphae.artifacts.checkpoint import load_checkpoint, save_checkpoint
from graphae.artifacts.run_dir import create_run_dir, is_complete, read_json, write_json

__all__ = [
    "OutputError",
    "atomic_path",
    "atomic_write",
    "create_run_dir",
    "is_complete",
    "load_checkpoint",
    "read_json",
    "save_checkpoint",
    "write_json",
]
