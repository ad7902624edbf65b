"""What a run leaves on disk: run directories, JSON files, checkpoints."""

from graphae.artifacts.checkpoint import load_checkpoint, save_checkpoint
from graphae.artifacts.run_dir import create_run_dir, is_complete, read_json, write_json

__all__ = [
    "create_run_dir",
    "is_complete",
    "load_checkpoint",
    "read_json",
    "save_checkpoint",
    "write_json",
]
