"""Experiment trackers sharing one small interface."""

from graphae.tracking.base import Tracker
from graphae.tracking.jsonl import JsonlTracker
from graphae.tracking.memory import MemoryTracker
from graphae.tracking.tensorboard import TensorBoardTracker

__all__ = ["JsonlTracker", "MemoryTracker", "TensorBoardTracker", "Tracker"]
