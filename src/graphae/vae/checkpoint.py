"""VAE checkpoints that reload on their own: weights, the run's settings and the image size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from graphae.artifacts.atomic import atomic_write
from graphae.artifacts.run_dir import CHECKPOINT_FILE
from graphae.errors import DataError
from graphae.vae.config import VAEConfig
from graphae.vae.model import VAE


def save_vae(path: str | Path, model: VAE, config: VAEConfig, **extra: Any) -> None:
    """Save ``state_dict``, the full config and the image shape (atomically).

    Raises:
        OutputError: the file cannot be written (the old file, if any, is kept).

    """
    state = {
        "kind": "vae",
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config.to_dict(),
        "image_shape": list(model.image_shape),
        **extra,
    }
    with atomic_write(path) as f:  # a Python file: a full disk is an OSError, not RuntimeError
        torch.save(state, f)


def load_vae(path: str | Path, map_location: str = "cpu") -> tuple[VAE, VAEConfig]:
    """Rebuild a VAE from a checkpoint file or a run directory.

    Args:
        path (str or Path): ``checkpoint.pt`` or the run directory holding it.
        map_location (str, optional): device for the weights. (default: ``"cpu"``)

    Returns:
        tuple: ``(model in eval mode, config)``.

    Raises:
        DataError: no checkpoint there, or it is not a VAE checkpoint.

    """
    path = Path(path)
    file = path / CHECKPOINT_FILE if path.is_dir() else path
    if not file.is_file():
        runs = sorted(p.parent.name for p in path.glob(f"*/{CHECKPOINT_FILE}"))
        hint = f" (runs inside it: {', '.join(runs)})" if runs else ""
        raise DataError(f"{path}: no {CHECKPOINT_FILE}; pass a finished VAE run directory{hint}")
    try:
        state = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise DataError(f"{file}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("kind") != "vae":
        raise DataError(f"{file}: not a VAE checkpoint (a graph autoencoder's?)")
    config = VAEConfig.from_dict(state["config"])
    model = VAE(state["image_shape"], config.latent_dim, config.hidden)
    model.load_state_dict(state["state_dict"])
    return model.to(map_location).eval(), config
