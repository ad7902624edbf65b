"""A finished training run, reloaded to embed graphs and score node pairs.

>>> run = load_run("runs/gae_mygraph_16d_200ep")  # doctest: +SKIP
>>> run.top_k("alice", k=5)  # doctest: +SKIP
Ranking(node='alice', ids=['carol', ...], scores=array([0.98, ...]), ...)

A run folder (written by :func:`graphae.train`) holds the model
(``checkpoint.pt``), the embeddings of its graph (``embeddings.npy``, ``μ``
for VGAE, from the best-validation weights), the node ids (``nodes.txt``;
runs without one have ids ``0..N-1``), the link split whose positives are
all the graph's edges (``split.npz``) and the settings (``config.json``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch_geometric.data import Data

from graphae.artifacts.checkpoint import load_checkpoint
from graphae.artifacts.run_dir import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    EMBEDDINGS_FILE,
    METRICS_FILE,
    SPLIT_FILE,
    read_json,
)
from graphae.config import TrainConfig
from graphae.data.files import GraphFiles, NodeIds, canonical_id
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.errors import ConfigError, DataError
from graphae.inference.features import align_features
from graphae.inference.scoring import Decode, pair_logits, top_partners
from graphae.nn.autoencoders import GAE
from graphae.nn.decoders import InnerProductDecoder

NODES_FILE = "nodes.txt"  # graphae.artifacts.run_dir.NODES_FILE once every run writes it
#: The positives of ``split.npz``: together, every edge of the trained graph.
KNOWN_SETS = ("train_pos", "val_pos", "test_pos")
#: How ``graphae train --edges`` read its files: defaults for reading a new graph.
READ_SETTINGS = (
    "delimiter",
    "header",
    "source_col",
    "target_col",
    "weight_col",
    "features_format",
)


class Embedding(NamedTuple):
    """Node embeddings with their ids: ``ids, z = run.embed()``.

    Attributes:
        ids: node ids, ``ids[i]`` the id of row ``i``.
        z: ``N x d`` float32 embeddings (``μ`` for VGAE).

    """

    ids: list[str]
    z: torch.Tensor


@dataclass
class Ranking:
    """The most likely new partners of one node, best first.

    Attributes:
        node: the node's id.
        ids: the partners' ids.
        scores: ``σ(logit)``, the decoder's probability of an edge.
        logits: the decoder's logits (``z_u · z_v`` for the inner product).
        known: whether each partner is already a neighbour (only with
            ``include_known``).
        excluded: how many known neighbours were left out.

    """

    node: str
    ids: list[str]
    scores: np.ndarray
    logits: np.ndarray
    known: np.ndarray
    excluded: int

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        """``(id, score)`` pairs, best first."""
        return iter(zip(self.ids, self.scores.tolist(), strict=True))


class TrainedRun:
    """A finished run: model, embeddings, ids and known edges (see :func:`load_run`).

    Attributes:
        path: the run folder.
        model: the trained GAE/VGAE in eval mode.
        config: the run's settings.
        info: the whole ``config.json`` (settings, graph description, counts).
        node_ids: the ids of the trained graph's nodes, in index order.
        embeddings: ``N x d`` float32 embeddings of the trained graph, on
            the device the run was loaded to, like the model.

    """

    def __init__(
        self,
        path: Path,
        model: GAE,
        config: TrainConfig,
        info: dict[str, Any],
        node_ids: NodeIds,
        embeddings: torch.Tensor,
    ) -> None:
        self.path = path
        self.model = model
        self.config = config
        self.info = info
        self.node_ids = node_ids
        self.embeddings = embeddings
        self._known: np.ndarray | None = None
        self._lookups = 0

    def __repr__(self) -> str:
        n, d = self.embeddings.shape
        return f"TrainedRun({str(self.path)!r}, {self.config.model}, {n:,} nodes, {d}-d)"

    # ------------------------------------------------------------- description

    @property
    def settings(self) -> dict[str, Any]:
        """The saved settings as written (keys newer or older than this version included)."""
        return dict(self.info.get("config", {}))

    @property
    def num_features(self) -> int:
        """Input features per node (0 for a featureless run)."""
        graph = self.info.get("graph") or {}
        return int(graph.get("num_features", self.info.get("num_features", 0)))

    @property
    def feature_names(self) -> list[str] | None:
        """Names of the trained features (a feature file's header), if known."""
        names = (self.info.get("graph") or {}).get("feature_names")
        return list(names) if names else None

    @property
    def featureless(self) -> bool:
        """Whether the model was trained on identity features (GAE*/VGAE*)."""
        return not self.config.features or self.num_features == 0

    @property
    def decode(self) -> Decode | None:
        """``model.decode``, or ``None`` for the inner product (scored as a product)."""
        decoder = getattr(self.model, "decoder", None)
        return None if type(decoder) is InnerProductDecoder else self.model.decode

    # ------------------------------------------------------------------- ids

    def index_of(self, node: object) -> int:
        """Index of a node id; :class:`DataError` naming an unknown id.

        The first id is found by a scan (10 ms for a million ids); later
        ones through the id -> index map, built once (0.5 s for a million).
        """
        key = canonical_id(node)
        self._lookups += 1
        index = (
            self.node_ids.index().get(key, -1) if self._lookups > 1 else _find(self.node_ids, key)
        )
        if index < 0:
            raise DataError(
                f"unknown node {str(node)!r}: not a node of the trained graph "
                f"({len(self.node_ids):,} nodes; {self._where_ids()})"
            )
        return index

    def _where_ids(self) -> str:
        if (self.path / NODES_FILE).is_file():
            return f"their ids are listed in {self.path / NODES_FILE}"
        return f"this run has no {NODES_FILE}: its ids are 0..{len(self.node_ids) - 1}"

    def known_edges(self) -> np.ndarray:
        """``[2, E]`` all edges of the trained graph (train, val and test positives).

        Read straight from ``split.npz`` (the arrays :meth:`LinkSplit.save`
        writes): :meth:`LinkSplit.load` also re-checks the whole split, 10x
        slower (3.5 s for 5M edges).
        """
        if self._known is None:
            path = self.path / SPLIT_FILE
            try:
                with np.load(path, allow_pickle=False) as f:
                    parts = [f[name] for name in KNOWN_SETS]
            except (OSError, ValueError, KeyError) as exc:
                raise DataError(f"{path}: cannot read the graph's edges ({exc})") from None
            self._known = np.concatenate(parts, axis=1).astype(np.int64, copy=False)
        return self._known

    def neighbours(self, index: int) -> np.ndarray:
        """Sorted indices of the known neighbours of node ``index``."""
        edges = self.known_edges()
        found = np.concatenate([edges[1][edges[0] == index], edges[0][edges[1] == index]])
        return np.unique(found)

    # ------------------------------------------------------------------ embed

    def embed(self, data: Data | None = None) -> Embedding:
        """Embeddings of the trained graph, or of another graph through the trained encoder.

        Without ``data``: the saved embeddings of the trained graph (those the
        run was evaluated with). With ``data`` (e.g. from
        ``load_graph(run.graph_files("new.csv", "new_features.csv"))``): its
        features are checked against the trained ones (same width; columns
        reordered by name when both have names), prepared like the training
        features, and encoded with the graph's own normalised adjacency
        ``Â = D^{-1/2}(A + I)D^{-1/2}`` (edge weights included).

        Args:
            data (Data, optional): a graph with features ``x``; encoded on
                the run's device (:func:`load_run`'s ``device``).

        Raises:
            ConfigError: the run is featureless (identity features give each
                training node its own weight row; an unseen node has none).
            DataError: the graph has no features or other features than the model's.

        """
        if data is None:
            return Embedding(self.node_ids.ids, self.embeddings)
        self.require_features()
        num_nodes = int(data.num_nodes)
        x = align_features(data, self.num_features, self.feature_names)
        x = prepare_features(x, True, self.config.normalize_features)
        weight = getattr(data, "edge_weight", None)
        adj = gcn_adjacency(data.edge_index, num_nodes, edge_weight=weight)
        device = self.embeddings.device
        z = self.model.embed(x.to(device), adj.to(device))
        ids = getattr(data, "node_ids", None) or NodeIds.range(num_nodes).ids
        return Embedding(list(ids), z)

    def require_features(self) -> None:
        """Raise :class:`ConfigError` unless the model can embed nodes it has not seen.

        A featureless model (identity features) learned one weight row per
        training node; a new node has no input to encode.
        """
        if self.featureless:
            raise ConfigError(
                f"{self.path} was trained without node features (identity features), so it "
                "cannot embed another graph: each training node has its own learned weight "
                "row and a node the model has never seen has no input to encode; retrain "
                "with a feature file (graphae train --edges ... --features ...)"
            )

    def graph_files(self, edges: str, features: str | None = None, **options: Any) -> GraphFiles:
        """Where a new graph is and how to read it, defaulting to how training read its files.

        Args:
            edges (str): the new edge list.
            features (str, optional): its node features.
            **options: :class:`GraphFiles` fields (``delimiter``, ``header``,
                ``source_col``, ...) replacing the run's; ``None`` keeps the run's,
                ``weight_col="none"`` reads the edges unweighted.

        """
        saved = self.settings
        values = {k: saved[k] for k in READ_SETTINGS if saved.get(k) is not None}
        values.update({k: v for k, v in options.items() if v is not None})
        if str(values.get("weight_col", "")).lower() in ("", "none"):
            values["weight_col"] = None
        return GraphFiles(edges=edges, features=features, **values)

    # ------------------------------------------------------------------ score

    def top_k(
        self,
        node: object,
        k: int = 10,
        *,
        include_known: bool = False,
        block_size: int | None = None,
    ) -> Ranking:
        """The ``k`` most likely new partners of ``node`` by the trained decoder.

        Candidates are every other node, scored ``σ(decode(z_u, z_v))``
        (``σ(z_u · z_v)`` for the inner-product decoder) in blocks, so memory
        is ``O(block · d)`` whatever the graph's size.

        Args:
            node: the node's id.
            k (int, optional): how many partners. (default: ``10``)
            include_known (bool, optional): rank known neighbours too (else
                they are left out). The node itself never is. (default: ``False``)
            block_size (int, optional): candidates per block (see
                :func:`~graphae.inference.scoring.top_partners`).

        Raises:
            ConfigError: ``k`` is not a positive integer.
            DataError: unknown node id.

        """
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ConfigError(f"top must be a positive integer, got {k!r}")
        u = self.index_of(node)
        neighbours = self.neighbours(u)
        skip = np.array([u]) if include_known else np.append(neighbours, u)
        best = top_partners(
            self.embeddings,
            u,
            k,
            decode=self.decode,
            exclude=torch.from_numpy(skip),
            block_size=block_size,
        )
        index = best.index.cpu().numpy()
        logits = best.logit.cpu().double()
        return Ranking(
            node=self.node_ids.ids[u],
            ids=[self.node_ids.ids[i] for i in index],
            scores=torch.sigmoid(logits).numpy(),
            logits=logits.numpy(),
            known=np.isin(index, neighbours),
            excluded=0 if include_known else len(neighbours),
        )

    def score_pairs(self, sources: Sequence[object], targets: Sequence[object]) -> np.ndarray:
        """``σ(decode(z_s, z_t))`` for each pair of node ids (``σ(z_s · z_t)`` for inner product).

        Raises:
            DataError: an unknown id (the first one named).

        """
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} sources but {len(targets)} targets")
        src = self.node_ids.lookup([str(s) for s in sources])
        dst = self.node_ids.lookup([str(t) for t in targets])
        pairs = torch.from_numpy(np.stack([src, dst]))
        return self.pair_scores(pairs)

    def pair_scores(self, pairs: torch.Tensor) -> np.ndarray:
        """``σ(logit)`` of ``[2, k]`` node-index pairs, decoded in blocks."""
        logits = pair_logits(self.embeddings, pairs, decode=self.decode)
        return torch.sigmoid(logits.double()).cpu().numpy()


def load_run(path: str | Path, *, device: str = "cpu") -> TrainedRun:
    """Reload a finished training run.

    Args:
        path (str or Path): the run folder (or its ``checkpoint.pt``).
        device (str, optional): where the model and embeddings go. (default: ``"cpu"``)

    Returns:
        TrainedRun: model, embeddings, ids and settings.

    Raises:
        DataError: not a finished run folder, a missing or unreadable file,
            files that disagree, or a checkpoint holding more than weights
            (refused unopened: only open checkpoints you trust).

    """
    run_dir = _run_folder(Path(path))
    model, config = load_checkpoint(run_dir / CHECKPOINT_FILE)
    try:
        info = read_json(run_dir / CONFIG_FILE)
    except (OSError, ValueError) as exc:
        raise DataError(f"{run_dir / CONFIG_FILE}: cannot read ({exc})") from None
    embeddings = _load_embeddings(run_dir / EMBEDDINGS_FILE)
    num_nodes = embeddings.shape[0]
    nodes_file = run_dir / NODES_FILE
    node_ids = NodeIds.load(nodes_file) if nodes_file.is_file() else NodeIds.range(num_nodes)
    if len(node_ids) != num_nodes:
        raise DataError(
            f"{nodes_file}: {len(node_ids):,} ids for the {num_nodes:,} rows of {EMBEDDINGS_FILE}"
        )
    return TrainedRun(run_dir, model.to(device), config, info, node_ids, embeddings.to(device))


def _find(node_ids: NodeIds, key: str) -> int:
    try:
        return node_ids.ids.index(key)
    except ValueError:
        return -1


def _run_folder(path: Path) -> Path:
    if path.name == CHECKPOINT_FILE and path.is_file():
        path = path.parent
    if not path.exists():
        raise DataError(f"{path}: no such run folder")
    if not path.is_dir():
        raise DataError(f"{path}: not a run folder (give the folder graphae train wrote)")
    if not (path / METRICS_FILE).is_file():
        raise DataError(
            f"{path}: not a finished run (no {METRICS_FILE}); give a folder that "
            "graphae train completed, e.g. runs/<name>"
        )
    if not (path / CHECKPOINT_FILE).is_file():
        raise DataError(
            f"{path}: no {CHECKPOINT_FILE}, so no model to apply (baseline runs such as "
            "spectral or deepwalk save only embeddings)"
        )
    return path


def _load_embeddings(path: Path) -> torch.Tensor:
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: missing (the run folder is incomplete)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable NumPy array ({exc})") from None
    if z.ndim != 2:
        raise DataError(f"{path}: expected an N x d matrix, got shape {z.shape}")
    return torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))
