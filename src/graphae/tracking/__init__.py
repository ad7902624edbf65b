"""Experiment trackers sharing one small interface."""

from graphae.tracking.base import Tracker
from graphae.tracking.jsonl import JsonlTracker
from graphae.tracking.memory import MemoryTracker
from graphae.tracking.mlflow import MlflowTracker
from graphae.tracking.registry import TRACKER_NAMES, make_trackers
from graphae.tracking.tensorboard import TensorBoardTracker

__all__ = [
    "TRACKER_NAMES",
    "JsonlTracker",
    "MemoryTracker",
    "MlflowTracker",
    "TensorBoardTracker",
    "Tracker",
    "make_trackers",
]
