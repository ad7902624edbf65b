"""Checkpoints that reload on their own: weights plus everything to rebuild the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from graphae.artifacts.run_dir import CHECKPOINT_FILE
from graphae.config import TrainConfig
from graphae.nn.autoencoders import GAE
from graphae.nn.factory import build_model


def save_checkpoint(
    path: str | Path, model: GAE, config: TrainConfig, in_dim: int, **extra: Any
) -> None:
    """Save ``state_dict``, the full config and the input width."""
    torch.save(
        {
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "config": config.to_dict(),
            "in_dim": in_dim,
            **extra,
        },
        path,
    )


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> tuple[GAE, TrainConfig]:
    """Rebuild a model from a checkpoint file or a run directory.

    Args:
        path (str or Path): ``checkpoint.pt`` or the run directory holding it.
        map_location (str, optional): device for the weights. (default: ``"cpu"``)

    Returns:
        tuple: ``(model in eval mode, config)``.

    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    state = torch.load(path, map_location=map_location, weights_only=True)
    config = TrainConfig.from_dict(state["config"])
    model = build_model(
        config.model,
        state["in_dim"],
        config.hidden_dim,
        config.latent_dim,
        config.dropout,
        config.bias,
    )
    model.load_state_dict(state["state_dict"])
    return model.eval(), config
