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
SPLITS = ("edge", "inductive")
FEATURE_FORMATS = ("auto", "dense", "long", "npy")
DEFAULT_DATASET = "Cora"


#: Settings that say where things go, what is shown or saved, not what is trained.
OUTPUT_SETTINGS = frozenset(
    {"data_root", "runs_dir", "name", "quiet", "figures", "extra", "checkpoint_every"}
    | {"max_memory"}
)


@dataclass
class TrainConfig:
    """Every setting of a link-prediction run (serialised to ``config.json``)."""

    model: str = "vgae"  # "gae" or "vgae"
    # a Planetoid graph (Cora, CiteSeer, PubMed); with ``edges`` or ``train(data=...)``, the
    # graph's name. None: Cora, or the graph's own name (the edge file's, ``data.name``)
    dataset: str | None = None
    edges: str | None = None  # your own graph: an edge list (CSV, TSV, SNAP text; .gz too)
    features_file: str | None = None  # node features for ``edges`` (CSV/TSV, long, .npy/.npz)
    labels_file: str | None = None  # node labels for ``edges`` (id, class): plots, Projector
    feature_ids: str | None = None  # node ids of the rows of a .npy/.npz feature file
    features_format: str = "auto"  # "dense", "long" (id,feature,value), "npy"; auto: detected
    delimiter: str | None = None  # edge-list delimiter; None: detected (tab, comma, ;, blanks)
    header: bool | None = None  # whether the files have a header row; None: detected
    source_col: str = "0"  # edge-list column of the source ids: number (from 0) or name
    target_col: str = "1"  # edge-list column of the target ids
    weight_col: str | None = None  # edge-list column of positive weights (GCN normalisation)
    features: bool = True  # False: identity features (the paper's GAE*/VGAE*)
    normalize_features: bool = False  # rows scaled to sum 1 (PyG's NormalizeFeatures)
    hidden_dim: int = 32  # width of the first GCN layer
    latent_dim: int = 16  # embedding size (the second GCN layer)
    epochs: int = 200  # full-batch training steps
    lr: float = 0.01  # Adam learning rate
    dropout: float = 0.0  # dropout on layer inputs (the paper uses none)
    bias: bool = False  # GCN layers with a bias (PyG's GCNConv default; the paper has none)
    objective: str = "auto"  # "dense" (paper), "sampled" (O(E)), "auto" picks
    # "auto" uses dense up to this many nodes (and always on Cora, CiteSeer, PubMed: the
    # paper's); sampled above, 8-38x faster per epoch at equal AUC on social-like graphs
    dense_max_nodes: int = 5_000
    val_fraction: float = 0.05  # share of undirected edges held out for validation
    test_fraction: float = 0.10  # share of undirected edges held out for test
    # "edge": held-out edges (transductive, the paper's); "inductive": held-out *nodes* with
    # all their edges (val/test fractions are then shares of nodes), scored from features
    split: str = "edge"
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
    # refuse a run whose memory estimate (graphae.memory) exceeds this, e.g. "16G";
    # None: the device's total memory; "none": no check
    max_memory: str | int | None = None
    quiet: bool = False  # no progress bar
    figures: bool = True  # PNGs in the run directory and TensorBoard images
    checkpoint_every: int = 100  # epochs between resume checkpoints (resume.pt); 0: none
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes kept with the run

    def __post_init__(self) -> None:
        """Normalise names and reject invalid values with a readable message."""
        self.model = str(self.model).lower()
        self.objective = str(self.objective).lower()
        self.select_metric = str(self.select_metric).lower()
        self.test_graph = str(self.test_graph).lower()
        self.split = str(self.split).lower()
        self.features_format = str(self.features_format).lower()
        for name in ("source_col", "target_col", "weight_col"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, str(value))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid setting."""
        require_choice("model", self.model, MODELS)
        require_choice("objective", self.objective, OBJECTIVES)
        require_choice("select-metric", self.select_metric, SELECT_METRICS)
        require_choice("test-graph", self.test_graph, TEST_GRAPHS)
        require_choice("split", self.split, SPLITS)
        require_choice("features-format", self.features_format, FEATURE_FORMATS)
        if self.edges is None:
            for name in ("features_file", "labels_file"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"--{flag(name).removesuffix('-file')} needs --edges")
        if self.split == "inductive" and not self.features:
            raise ConfigError(
                "an inductive split needs node features: held-out nodes are embedded from "
                "their features (identity features give unseen nodes nothing to encode)"
            )
        for name in ("hidden_dim", "latent_dim", "epochs", "eval_every", "dense_max_nodes"):
            require_positive_int(name, getattr(self, name))
        every = self.checkpoint_every
        if not isinstance(every, int) or isinstance(every, bool) or every < 0:
            raise ConfigError(f"checkpoint-every must be 0 (none) or more epochs, got {every!r}")
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
        if self.max_memory is not None and str(self.max_memory).lower() not in ("none", "off"):
            from graphae.memory import parse_size

            parse_size(self.max_memory)

    @property
    def graph_name(self) -> str:
        """The graph's name: ``dataset``, else the edge file's name, else Cora."""
        if self.dataset:
            return self.dataset
        if self.edges:
            from graphae.data.files import graph_name

            return graph_name(self.edges)
        return DEFAULT_DATASET

    @property
    def run_name(self) -> str:
        """The run's folder name: given, or e.g. ``vgae_cora_16d_200ep`` (``gae_nofeat_...``)."""
        if self.name:
            return self.name
        model = self.model if self.features else f"{self.model}_nofeat"
        split = "_inductive" if self.split == "inductive" else ""
        graph = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.graph_name.lower())
        return f"{model}_{graph}_{self.latent_dim}d_{self.epochs}ep{split}"

    def result_settings(self) -> dict[str, Any]:
        """The settings that shape the numbers (not where files go or what is drawn)."""
        settings = {k: v for k, v in self.to_dict().items() if k not in OUTPUT_SETTINGS}
        settings["dataset"] = self.graph_name  # what a finished run records
        return settings

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
