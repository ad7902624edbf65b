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
from graphae.presets import model_defaults

MODELS = ("gae", "vgae", "maskgae")
OBJECTIVES = ("auto", "dense", "sampled", "masked")
ENCODERS = ("gcn", "linear")
DECODERS = ("inner", "mlp")
NORMS = ("none", "batch", "layer")
ACTIVATIONS = ("relu", "elu")
MASKS = ("none", "edge", "directed", "path")
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

    model: str = "vgae"  # "gae", "vgae" or "maskgae"; None-valued model settings: its defaults
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
    # Model settings: None takes the model's default on the data set (graphae.presets)
    hidden_dim: int | None = None  # width of the inner GCN layers (gae/vgae 32, maskgae 128)
    latent_dim: int | None = None  # embedding size, the last layer's width (16; maskgae 128)
    epochs: int | None = None  # full-batch training steps (200; maskgae 500)
    lr: float | None = None  # Adam learning rate (0.01)
    dropout: float | None = None  # encoder dropout on layer inputs (0; maskgae 0.8, PubMed 0.2)
    bias: bool | None = None  # GCN layers with a bias (the paper's have none; maskgae's do)
    encoder: str | None = None  # "gcn" or "linear" (Salha et al. 2020: Z = Â X W)
    layers: int | None = None  # graph convolutions of the GCN encoder (2; maskgae 1)
    norm: str | None = None  # "none", "batch" or "layer" after each convolution (maskgae: batch)
    residual: bool | None = None  # residual connections between GCN layers of equal width
    activation: str | None = None  # "relu" or "elu" (maskgae) between GCN layers
    activate_output: bool | None = None  # norm + activation after the last layer (maskgae)
    propagate_before: int | None = None  # parameter-free Â steps on the inputs (SGC-style)
    propagate_after: int | None = None  # parameter-free Â steps on the embeddings
    decoder: str | None = None  # "inner" (z_u·z_v) or "mlp" (MLP on z_u ⊙ z_v, maskgae)
    decoder_hidden: int | None = None  # width of the MLP decoders' inner layers (64)
    decoder_layers: int | None = None  # linear maps of the MLP decoders (2)
    decoder_dropout: float | None = None  # dropout in the MLP decoders (0)
    degree_weight: float | None = None  # weight of the degree-decoder loss (maskgae 0.003)
    mask: str | None = None  # "none", "edge", "path", "directed" (maskgae): see training.masking
    mask_ratio: float | None = None  # share of edges (edge), directions, walk starts (path)
    walk_length: int | None = None  # steps of a path-mask walk (None: layers + 1)
    weight_decay: float | None = None  # Adam's L2 penalty (maskgae 5e-5)
    grad_clip: float | None = None  # clip the gradient norm to this, 0: never (maskgae 1)
    # members of a deep ensemble (Lakshminarayanan et al. 2017): K models, each with its own
    # seed, trained one after the other on the run's split; their edge probabilities averaged
    ensemble: int | None = None
    # a checkpoint ensemble (Chen et al. 2017): the K best-validation of the weights taken
    # every ``snapshot_every`` epochs of each model, their edge probabilities averaged
    snapshots: int | None = None
    snapshot_every: int | None = None  # None: epochs // (2 * snapshots), a multiple of eval_every
    # "dense" (paper), "sampled" (O(E)), "masked" (through the decoder; any mask, MLP decoder
    # or degree loss needs it), "auto" picks
    objective: str = "auto"
    # "auto" uses dense up to this many nodes (and always on Cora, CiteSeer, PubMed: the
    # paper's); sampled above, 8-38x faster per epoch at equal AUC on social-like graphs
    dense_max_nodes: int = 5_000
    # mini-batch training (graphae.training.minibatch): training edges per optimiser step,
    # each with a sampled negative and sampled neighbourhoods; 0: full-graph training
    batch_size: int = 0
    # neighbours sampled per node and hop with batch_size, from the pairs' nodes outward;
    # one value for every hop or one per hop (layers + propagate steps); -1: all
    fanout: list[int] = field(default_factory=lambda: [10])
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
        self.fanout = parse_fanout(self.fanout)
        self._unset = self._resolve_model_settings()
        for name in ("source_col", "target_col", "weight_col"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, str(value))
        self.validate()

    def _resolve_model_settings(self) -> frozenset[str]:
        """Fill unset (``None``) model settings with the model's defaults; return their names."""
        require_choice("model", self.model, MODELS)
        defaults = model_defaults(self.model, self.graph_name)
        unset = frozenset(name for name in defaults if getattr(self, name) is None)
        for name in unset:
            value = defaults[name]
            setattr(self, name, value.lower() if isinstance(value, str) else value)
        for name in ("encoder", "norm", "activation", "decoder", "mask"):
            setattr(self, name, str(getattr(self, name)).lower())
        if self.walk_length is None and isinstance(self.layers, int):
            self.walk_length = self.layers + 1
        counts = _counts(self.snapshots, self.epochs, self.eval_every)
        if self.snapshot_every is None and counts and self.snapshots > 1:
            # 2K evenly spaced candidates by default, each a validated epoch
            spacing = self.epochs // (2 * self.snapshots) // self.eval_every * self.eval_every
            self.snapshot_every = max(self.eval_every, spacing)
        return unset

    def with_overrides(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes``, the model's defaults taken again where none was given.

        Settings this config took from its model's defaults are taken again
        from the new model's (so ``model="maskgae"`` gets MaskGAE's widths).
        Keys this version does not know are ignored (as :meth:`from_dict`).
        """
        values = {k: v for k, v in self.to_dict().items() if k not in self._unset}
        return TrainConfig.from_dict({**values, **changes})

    @property
    def masked_objective(self) -> bool:
        """Whether the run trains with the masked objective (through the model's decoder)."""
        return (
            self.objective == "masked"
            or self.decoder != "inner"
            or self.mask != "none"
            or bool(self.degree_weight)
        )

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
        self._validate_parts()
        batch = self.batch_size
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 0:
            raise ConfigError(f"batch-size must be 0 (full graph) or more pairs, got {batch!r}")
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

    def _validate_parts(self) -> None:
        """The model-part settings (encoder, decoder, mask, optimiser extras)."""
        require_choice("encoder", self.encoder, ENCODERS)
        require_choice("norm", self.norm, NORMS)
        require_choice("activation", self.activation, ACTIVATIONS)
        require_choice("decoder", self.decoder, DECODERS)
        require_choice("mask", self.mask, MASKS)
        for name in ("layers", "decoder_hidden", "decoder_layers", "walk_length", "ensemble"):
            require_positive_int(name, getattr(self, name))
        require_positive_int("snapshots", self.snapshots)
        if self.snapshots > 1:
            self._validate_snapshots()
        for name in ("propagate_before", "propagate_after"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{flag(name)} must be a non-negative integer, got {value!r}")
        if not _finite(self.decoder_dropout) or not 0.0 <= self.decoder_dropout < 1.0:
            raise ConfigError(f"decoder-dropout must be in [0, 1), got {self.decoder_dropout!r}")
        for name in ("degree_weight", "weight_decay", "grad_clip"):
            value = getattr(self, name)
            if not _finite(value) or value < 0:
                raise ConfigError(f"{flag(name)} must be a non-negative number, got {value!r}")
        if not _finite(self.mask_ratio) or not 0.0 < self.mask_ratio <= 1.0:
            raise ConfigError(f"mask-ratio must be in (0, 1], got {self.mask_ratio!r}")
        if self.masked_objective and self.objective in ("dense", "sampled"):
            raise ConfigError(
                f"the {self.objective} objective scores z_u · z_v over all training edges; an "
                "MLP decoder, a mask or a degree loss train with --objective masked (or auto)"
            )

    def _validate_snapshots(self) -> None:
        """Enough validated epochs, ``snapshot_every`` apart, to choose the snapshots from."""
        every = self.snapshot_every
        require_positive_int("snapshot_every", every)
        if every % self.eval_every:
            raise ConfigError(
                f"snapshot-every ({every}) must be a multiple of eval-every ({self.eval_every}): "
                "snapshots are chosen by their validation score"
            )
        candidates = self.epochs // every
        if candidates < self.snapshots:
            raise ConfigError(
                f"--snapshots {self.snapshots} needs as many snapshots to choose from, but "
                f"{self.epochs} epochs with --snapshot-every {every} give {candidates}"
            )

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
        # parts other than the model's own: e.g. gae_mlpdec_..., vgae_edgemask_...
        own = model_defaults(self.model, self.graph_name)
        for key, tag in (
            ("encoder", "{}"),
            ("decoder", "{}dec"),
            ("mask", "{}mask"),
            ("ensemble", "ens{}"),
            ("snapshots", "snap{}"),
        ):
            if getattr(self, key) != own[key]:
                model += "_" + tag.format(getattr(self, key))
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


def parse_fanout(value: object) -> list[int]:
    """``--fanout`` as a list: ``"10,5"``, ``10`` or ``[10, 5]``; each ``-1`` (all) or >= 1."""
    items = str(value).split(",") if isinstance(value, (str, int)) else value
    try:
        fanout = [int(str(item).strip()) for item in items]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        fanout = []
    if not fanout or any(f == 0 or f < -1 for f in fanout):
        raise ConfigError(f"fanout must be numbers >= 1 or -1 (all), e.g. 10,10; got {value!r}")
    return fanout


def require_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def require_positive_int(name: str, value: object) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an ``int`` >= 1 (``bool`` is not)."""
    if not _counts(value):
        raise ConfigError(f"{flag(name)} must be a positive integer, got {value!r}")


def _counts(*values: object) -> bool:
    """Whether every value is an ``int`` >= 1 (``bool`` is not)."""
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
