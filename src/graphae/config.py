"""Run configuration: one dataclass, one comment per field.

Defaults are the settings of Kipf & Welling, "Variational Graph Auto-Encoders"
(2016), https://arxiv.org/abs/1611.07308, and of their reference code
(tkipf/gae): GCN 32 -> 16, Adam lr 0.01, 200 epochs, no dropout, 85/5/10 split.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from graphae.errors import ConfigError

MODELS = ("gae", "vgae")
OBJECTIVES = ("auto", "dense", "sampled")
SELECT_METRICS = ("auc", "ap")
TEST_GRAPHS = ("train", "train+val")


#: Settings that say where things go or what is shown, not what is trained.
OUTPUT_SETTINGS = frozenset({"data_root", "runs_dir", "name", "quiet", "figures", "extra"})


@dataclass
class TrainConfig:
    """Every setting of a link-prediction run (serialised to ``config.json``)."""

    model: str = "vgae"  # "gae" or "vgae"
    dataset: str = "Cora"  # a Planetoid graph: Cora, CiteSeer, PubMed
    features: bool = True  # False: identity features (the paper's GAE*/VGAE*)
    normalize_features: bool = False  # rows scaled to sum 1 (PyG's NormalizeFeatures)
    hidden_dim: int = 32  # width of the first GCN layer
    latent_dim: int = 16  # embedding size (the second GCN layer)
    epochs: int = 200  # full-batch training steps
    lr: float = 0.01  # Adam learning rate
    dropout: float = 0.0  # dropout on layer inputs (the paper uses none)
    bias: bool = False  # GCN layers with a bias (PyG's GCNConv default; the paper has none)
    objective: str = "auto"  # "dense" (paper), "sampled" (O(E)), "auto" picks
    dense_max_nodes: int = 25_000  # "auto" uses dense up to this many nodes
    val_fraction: float = 0.05  # share of undirected edges held out for validation
    test_fraction: float = 0.10  # share of undirected edges held out for test
    seed: int = 0  # seeds the split, the initial weights and the sampling
    eval_every: int = 1  # validate every this many epochs (and at the last one)
    select_metric: str = "auc"  # validation metric that picks the kept weights
    # graph the encoder sees when the test pairs are scored: the training edges (the
    # paper's), or training + validation edges (PyG's RandomLinkSplit and examples)
    test_graph: str = "train"
    data_root: str | None = None  # None: $GRAPHAE_DATA, else the user cache dir
    runs_dir: str = "runs"  # parent folder of run directories
    name: str | None = None  # run name; None: derived, e.g. vgae_cora_16d_200ep
    device: str = "cpu"  # torch device, e.g. "cuda"
    quiet: bool = False  # no progress bar
    figures: bool = True  # PNGs in the run directory and TensorBoard images
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes kept with the run

    def __post_init__(self) -> None:
        """Normalise names and reject invalid values with a readable message."""
        self.model = str(self.model).lower()
        self.objective = str(self.objective).lower()
        self.select_metric = str(self.select_metric).lower()
        self.test_graph = str(self.test_graph).lower()
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid setting."""
        require_choice("model", self.model, MODELS)
        require_choice("objective", self.objective, OBJECTIVES)
        require_choice("select-metric", self.select_metric, SELECT_METRICS)
        require_choice("test-graph", self.test_graph, TEST_GRAPHS)
        for name in ("hidden_dim", "latent_dim", "epochs", "eval_every", "dense_max_nodes"):
            require_positive_int(name, getattr(self, name))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not _finite(self.lr) or self.lr <= 0:
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        if not _finite(self.dropout) or not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not _finite(value) or not 0.0 < value < 1.0:
                raise ConfigError(f"{flag(name)} must be in (0, 1), got {value!r}")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ConfigError(
                "val-fraction + test-fraction must leave training edges, got "
                f"{self.val_fraction} + {self.test_fraction}"
            )
        if self.name is not None and (
            not self.name or "/" in self.name or self.name in {".", ".."}
        ):
            raise ConfigError(f"name must be a plain folder name, got {self.name!r}")

    @property
    def run_name(self) -> str:
        """The run's folder name: given, or e.g. ``vgae_cora_16d_200ep`` (``gae_nofeat_...``)."""
        if self.name:
            return self.name
        model = self.model if self.features else f"{self.model}_nofeat"
        return f"{model}_{self.dataset.lower()}_{self.latent_dim}d_{self.epochs}ep"

    def result_settings(self) -> dict[str, Any]:
        """The settings that shape the numbers (not where files go or what is drawn)."""
        return {k: v for k, v in self.to_dict().items() if k not in OUTPUT_SETTINGS}

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, ignoring keys this version does not know."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def flag(name: str) -> str:
    """The command-line spelling of a setting (``lr_schedule`` -> ``lr-schedule``)."""
    return name.replace("_", "-")


def require_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def require_positive_int(name: str, value: object) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an ``int`` >= 1 (``bool`` is not)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{flag(name)} must be a positive integer, got {value!r}")


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
