"""Checkpoints that reload on their own: weights plus everything to rebuild the model."""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from graphae.artifacts.atomic import atomic_write
from graphae.artifacts.run_dir import CHECKPOINT_FILE
from graphae.config import TrainConfig
from graphae.errors import DataError
from graphae.nn.autoencoders import GAE
from graphae.nn.factory import build_from_config


def save_checkpoint(
    path: str | Path, model: GAE, config: TrainConfig, in_dim: int, **extra: Any
) -> None:
    """Save ``state_dict``, the full config and the input width (atomically).

    Raises:
        OutputError: the file cannot be written (the old file, if any, is kept).

    """
    state = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config.to_dict(),
        "in_dim": in_dim,
        **extra,
    }
    # through a Python file: torch.save(path) reports a full disk as a bare RuntimeError
    with atomic_write(path) as f:
        torch.save(state, f)


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> tuple[GAE, TrainConfig]:
    """Rebuild a model from a checkpoint file or a run directory.

    Args:
        path (str or Path): ``checkpoint.pt`` or the run directory holding it.
        map_location (str, optional): device for the weights. (default: ``"cpu"``)

    Returns:
        tuple: ``(model in eval mode, config)``.

    Raises:
        DataError: the file is missing, unreadable, or holds more than
            weights (see :func:`read_checkpoint`).

    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    state = read_checkpoint(path, map_location)
    config = TrainConfig.from_dict(state["config"])
    model = build_from_config(config, state["in_dim"])  # the same parts, decoders included
    model.load_state_dict(state["state_dict"])
    return model.eval(), config


#: A checkpoint refused by ``weights_only`` names the object it would have built.
_BLOCKED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def read_checkpoint(path: str | Path, map_location: str = "cpu") -> dict[str, Any]:
    """``torch.load(path, weights_only=True)``, with errors a user can read.

    ``weights_only`` unpickles tensors and plain containers only: a file
    whose unpickling would build other objects, or call functions (a pickle
    can run any code), is refused before anything runs.

    Raises:
        DataError: missing or unreadable file, not a checkpoint, or a file
            holding code/objects other than weights.

    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # plain pickle files (not torch.save) warn about their protocol before failing
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise DataError(f"{path}: no such checkpoint file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a checkpoint file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except pickle.UnpicklingError as exc:
        blocked = _BLOCKED_GLOBAL.search(str(exc))
        what = f" ({blocked.group(1)})" if blocked else ""
        if "Weights only load failed" not in str(exc):
            raise DataError(f"{path}: not a checkpoint (a corrupted or foreign file)") from None
        raise DataError(
            f"{path}: refused to load: it contains code/objects other than weights{what}; "
            "only open checkpoints you trust"
        ) from None
    except (RuntimeError, EOFError, KeyError, ValueError, zipfile.BadZipFile):
        raise DataError(f"{path}: not a readable checkpoint (corrupted or truncated?)") from None
    if not isinstance(state, dict) or not {"state_dict", "config", "in_dim"} <= set(state):
        raise DataError(f"{path}: not a graphae checkpoint (no state_dict, config and in_dim)")
    return state
