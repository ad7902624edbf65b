"""Settings of an image-VAE run: one dataclass, one comment per field.

Defaults follow Kingma & Welling, "Auto-Encoding Variational Bayes" (2014),
https://arxiv.org/abs/1312.6114, and the reference tutorial the README
compares with: an MLP 784-500-250-z and back with ReLU, Adagrad with
learning rate 0.01, minibatches of 100, pixel intensities as Bernoulli targets.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from graphae.config import flag, require_choice, require_positive_int
from graphae.errors import ConfigError
from graphae.vae.data import canonical_dataset
from graphae.vae.train import DEFAULT_LR, LR_SCHEDULES, OPTIMIZERS

#: Fields that say where files go or what is shown, not what is computed.
OUTPUT_SETTINGS = frozenset({"data_root", "runs_dir", "name", "quiet"})


@dataclass
class VAEConfig:
    """Every setting of one VAE run (serialised to ``config.json`` and the checkpoint)."""

    dataset: str = "digits"  # digits (scikit-learn, offline), mnist or fashion-mnist
    latent_dim: int = 2  # size of z; 2 also draws the latent manifold and codes
    hidden: tuple[int, ...] = (500, 250)  # encoder widths; the decoder mirrors them
    epochs: int = 20  # passes over the training set
    batch_size: int = 100  # images per minibatch
    optimizer: str = "adagrad"  # "adagrad" (paper, reference) or "adam"
    lr: float | None = None  # None: 0.01 for Adagrad, 0.001 for Adam (resolved on creation)
    lr_schedule: str = "constant"  # "constant" or "cosine" (to lr/100 at the last epoch)
    kl_warmup: int = 0  # epochs over which the KL weight rises linearly to 1 (0: none)
    seed: int = 0  # seeds the weights, the shuffling and the sampling noise
    train_size: int | None = None  # use only the first N training images (None: all)
    test_size: int | None = None  # use only the first N test images (None: all)
    data_root: str | None = None  # None: $GRAPHAE_DATA, else the user cache dir
    runs_dir: str = "runs"  # parent folder of run directories
    name: str | None = None  # run name; None: e.g. vae_fashion-mnist_2d_20ep
    device: str = "cpu"  # torch device, e.g. "cuda"
    quiet: bool = False  # no progress bar

    def __post_init__(self) -> None:
        """Normalise names, resolve the default learning rate, validate."""
        self.dataset = canonical_dataset(str(self.dataset))
        self.optimizer = str(self.optimizer).lower()
        self.lr_schedule = str(self.lr_schedule).lower()
        self.hidden = tuple(self.hidden)
        if self.optimizer in DEFAULT_LR and self.lr is None:
            self.lr = DEFAULT_LR[self.optimizer]
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid setting."""
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_choice("lr-schedule", self.lr_schedule, LR_SCHEDULES)
        for name in ("latent_dim", "epochs", "batch_size"):
            require_positive_int(name, getattr(self, name))
        for name in ("train_size", "test_size"):
            if getattr(self, name) is not None:
                require_positive_int(name, getattr(self, name))
        for width in self.hidden:
            require_positive_int("hidden", width)
        for name in ("kl_warmup", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{flag(name)} must be a non-negative integer, got {value!r}")
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        if self.name is not None and (
            not self.name or "/" in self.name or self.name in {".", ".."}
        ):
            raise ConfigError(f"name must be a plain folder name, got {self.name!r}")

    @property
    def run_name(self) -> str:
        """The run's folder name: given, or e.g. ``vae_fashion-mnist_2d_20ep``."""
        return self.name or f"vae_{self.dataset}_{self.latent_dim}d_{self.epochs}ep"

    def result_settings(self) -> dict[str, Any]:
        """The settings that shape the numbers (not where files go or what is shown)."""
        return {k: v for k, v in self.to_dict().items() if k not in OUTPUT_SETTINGS}

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view of every field (``hidden`` as a list)."""
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> VAEConfig:
        """Build from a dict, ignoring keys this version does not know."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
