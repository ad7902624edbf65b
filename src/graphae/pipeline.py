"""The one place that wires the parts together.

config -> data/split -> model -> training -> evaluation -> tracking/artifacts.

>>> from graphae import TrainConfig, train
>>> result = train(TrainConfig(model="gae", dataset="Cora", epochs=200))  # doctest: +SKIP
>>> result.metrics["test"]  # doctest: +SKIP
{'auc': 0.91..., 'ap': 0.92..., 'hits@20': ..., 'hits@50': ..., 'hits@100': ..., 'mrr': ...}
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from graphae.artifacts.atomic import atomic_path
from graphae.artifacts.checkpoint import save_checkpoint
from graphae.artifacts.run_dir import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    EMBEDDINGS_FILE,
    METRICS_FILE,
    NODES_FILE,
    RESUME_FILE,
    SPLIT_FILE,
    create_run_dir,
    versions,
    write_json,
    write_npy,
)
from graphae.config import TrainConfig
from graphae.data.files import GraphFiles, NodeIds, load_graph
from graphae.data.graph import check_graph, gcn_adjacency, pair_weights, prepare_features
from graphae.data.link_split import LinkSplit, split_edges, split_nodes
from graphae.data.ogb import is_ogb_name, load_ogb, official_metrics
from graphae.data.planetoid import PLANETOID, load_planetoid
from graphae.data.synthetic import social_graph
from graphae.errors import ConfigError, DataError
from graphae.evaluation.link_prediction import link_metrics, link_scores
from graphae.evaluation.ranking import ranking_report
from graphae.memory import check_memory, estimate_run, shows_estimate
from graphae.nn.autoencoders import GAE
from graphae.nn.decoders import InnerProductDecoder
from graphae.nn.ensemble import MeanProbabilityDecoder, assemble_ensemble
from graphae.nn.factory import build_from_config
from graphae.tracking.base import Tracker
from graphae.tracking.jsonl import JsonlTracker
from graphae.tracking.tensorboard import TensorBoardTracker
from graphae.training import distributed
from graphae.training.checkpointing import (
    TrainState,
    check_resumable,
    clear_logs,
    discard_train_state,
    keeps_run,
    load_train_state,
    mark_kept,
    restart_trackers,
    save_train_state,
)
from graphae.training.masked import MaskedObjective
from graphae.training.masking import make_mask
from graphae.training.minibatch import MinibatchStep, minibatch_objective
from graphae.training.objectives import DenseObjective, SampledObjective, resolve_objective
from graphae.training.rng import member_seed
from graphae.training.trainer import fit, show_progress


@dataclass
class RunResult:
    """Outcome of :func:`train`.

    Attributes:
        config: the settings of the run.
        objective: the objective that ran (``"dense"`` or ``"sampled"``).
        metrics: what ``metrics.json`` holds (``metrics["test"]["auc"]``, ...;
            ``metrics["test"]`` also has ``hits@20/50/100`` and ``mrr``, see
            :mod:`graphae.evaluation.ranking`).
        model: the model with its best-validation weights, in eval mode.
        embeddings: ``N x d`` node embeddings from those weights (``μ`` for VGAE).
        split: the link split used.
        run_dir: the run directory (``None`` when not saved).

    """

    config: TrainConfig
    objective: str
    metrics: dict[str, Any]
    model: GAE
    embeddings: torch.Tensor
    split: LinkSplit
    run_dir: Path | None


def train(
    config: TrainConfig | None = None,
    *,
    data: Data | None = None,
    split: LinkSplit | None = None,
    trackers: Sequence[Tracker] = (),
    save: bool = True,
    **overrides: Any,
) -> RunResult:
    """Train a GAE/VGAE for link prediction and score the test split once.

    Args:
        config (TrainConfig, optional): settings; keyword ``overrides`` are
            applied on top (``train(model="gae", epochs=50)`` works too).
        data (Data, optional): a graph with ``x``/``edge_index``; default:
            load ``config.dataset``.
        split (LinkSplit, optional): a precomputed split (to compare methods
            on identical splits); default: :func:`split_edges` with the seed.
        trackers (sequence, optional): extra trackers (TensorBoard and
            ``history.jsonl`` are added when ``save``).
        save (bool, optional): write a run directory. (default: ``True``)
        **overrides: :class:`TrainConfig` fields replacing those of ``config``.

    Returns:
        RunResult: metrics, model, embeddings, split and run directory.

    Raises:
        ConfigError: invalid settings (before anything is written).
        DataError: data set unknown, unavailable or invalid (out-of-range ids,
            non-finite features), or too small to split (before anything is written).
        TrainingError: the loss or validation scores stopped being finite.

    """
    config = (config or TrainConfig()).with_overrides(**overrides)
    check_device(config.device)
    started = time.perf_counter()
    if data is None:
        data = load_data(config)
    check_graph(data)
    config = resolve_graph_settings(config, data)
    num_nodes = int(data.num_nodes)
    if split is None:
        split = make_split(config, data)
    elif split.num_nodes != num_nodes:
        raise ConfigError(f"the split is for {split.num_nodes} nodes but the graph has {num_nodes}")
    paper_graph = config.dataset in PLANETOID.values() and not config.edges
    objective_name = resolve_objective(
        config.objective, num_nodes, config.dense_max_nodes, paper_graph
    )
    if config.masked_objective:  # an MLP decoder, a mask or a degree loss
        objective_name = "masked"
    if config.batch_size:  # mini-batch training: negatives and neighbourhoods sampled per batch
        objective_name = minibatch_objective(config)
    ranks = distributed.current()  # under torchrun: rank 0 alone saves, logs and shows progress
    if ranks is not None:
        config, save, trackers = ranks.prepare(config, objective_name, save, trackers)
    # an ensemble's members train one after the other: one member's memory
    member = config.with_overrides(ensemble=1) if config.ensemble > 1 else config
    estimate = estimate_run(member, data, split, objective_name)
    check_memory(estimate, config.max_memory)  # before anything is written
    if not config.quiet and shows_estimate(estimate, config.max_memory):
        print(estimate.line())
    clock = _PhaseClock(started)
    clock.lap("data")

    with run_directory(config.runs_dir, config.run_name, save, trackers) as (run_dir, tracks):
        return _run(config, data, split, objective_name, run_dir, tracks, clock)


#: Settings a resumed run may change: none of them changes the numbers.
RESUME_OVERRIDES = frozenset({"checkpoint_every", "quiet", "figures", "data_root"})


def resume(
    run_dir: str | Path,
    *,
    data: Data | None = None,
    trackers: Sequence[Tracker] = (),
    **overrides: Any,
) -> RunResult:
    """Continue a stopped run from its last resume checkpoint to its last epoch.

    The settings come from the run's ``config.json``, the split from its
    ``split.npz``, the state after the checkpointed epoch from ``resume.pt``
    (:mod:`graphae.training.checkpointing`). ``metrics.json`` ends with the
    same numbers as an uninterrupted run of the same settings and seed
    (timings aside, plus ``resumed_from_epoch``).

    Args:
        run_dir (str or Path): the run folder, e.g. ``runs/vgae_cora_16d_200ep``.
        data (Data, optional): the graph, for a run trained on a graph passed
            to :func:`train` as ``data``; default: loaded as the config says.
        trackers (sequence, optional): extra trackers; they receive the
            history up to the checkpoint, then the remaining epochs.
        **overrides: settings of :data:`RESUME_OVERRIDES`.

    Returns:
        RunResult: as :func:`train`.

    Raises:
        ConfigError: no such folder, a finished run, no resume checkpoint,
            another setting changed, or another number of ``torchrun``
            processes than the run started with.
        DataError: an unreadable checkpoint, or not the graph the run trained on.
        TrainingError: the loss or validation scores stopped being finite.

    """
    started = time.perf_counter()
    run_dir = Path(run_dir)
    info = check_resumable(run_dir)
    changed = sorted(set(overrides) - RESUME_OVERRIDES)
    if changed:
        raise ConfigError(f"a resumed run keeps its settings; cannot change {', '.join(changed)}")
    ranks = distributed.current()  # under torchrun: every rank reads, rank 0 writes
    distributed.check_world_size(run_dir, int(info.get("world_size", 1)), ranks)
    config = replace(TrainConfig.from_dict(info["config"]), **overrides)
    save = True
    if ranks is not None:
        config, save, trackers = ranks.prepare_resume(config, info["objective"], trackers)
    check_device(config.device)
    if data is None:
        data = load_data(config)
    check_graph(data)
    width = data.x.shape[1] if config.features and data.x is not None else 0
    now, then = graph_info(data, width), info.get("graph", {})
    keys = ("nodes", "undirected_edges", "num_features")
    if [now[k] for k in keys] != [then.get(k) for k in keys]:
        described = "{} nodes, {} edges, {} features"
        raise DataError(
            f"{config.graph_name} now has {described.format(*(now[k] for k in keys))}, but "
            f"{run_dir} trained on {described.format(*(then.get(k) for k in keys))}"
        )
    split = LinkSplit.load(run_dir / SPLIT_FILE)
    state = load_train_state(run_dir / RESUME_FILE, config.device)
    if ranks is not None:
        ranks.check_checkpoint(state.epoch)
    clock = _PhaseClock(started)
    clock.lap("data")
    existing = run_dir if save else None  # the other ranks write nothing
    if existing is not None:
        clear_logs(existing)
    with run_directory(run_dir.parent, run_dir.name, save, trackers, existing) as (folder, tracks):
        return _run(config, data, split, info["objective"], folder, tracks, clock, state)


def load_data(config: TrainConfig) -> Data:
    """The graph a config names: the user's files (``edges``) or a Planetoid data set."""
    if config.edges:
        return load_graph(graph_files(config), name=config.dataset)
    if config.graph_name.lower().startswith("synthetic"):
        return synthetic_graph(config.graph_name, config.seed)
    if is_ogb_name(config.graph_name):  # with its official split (data.official_split)
        return load_ogb(config.graph_name, config.data_root)
    return load_planetoid(config.graph_name, config.data_root)


#: ``--dataset synthetic:KEY=VALUE,...`` keys and the :func:`social_graph` arguments they set.
SYNTHETIC_KEYS = {
    "nodes": "num_nodes",
    "edges": "num_edges",
    "features": "num_features",
    "communities": "num_communities",
    "mixing": "mixing",
    "isolated": "isolated_fraction",
}


def synthetic_graph(spec: str, seed: int = 0) -> Data:
    """A generated social-like graph named by ``spec``, e.g. ``synthetic:nodes=1000,edges=5000``.

    Keys: ``nodes``, ``edges`` (required), ``features`` (0: featureless),
    ``communities``, ``mixing``, ``isolated`` (a fraction of nodes); see
    :func:`graphae.data.social_graph`. The graph is drawn from ``seed``.
    """
    _, _, body = spec.partition(":")
    kwargs: dict[str, Any] = {"seed": seed}
    try:
        for item in filter(None, body.split(",")):
            key, _, value = item.partition("=")
            if key.strip().lower() not in SYNTHETIC_KEYS:
                raise ValueError(f"unknown key {key.strip()!r}")
            name = SYNTHETIC_KEYS[key.strip().lower()]
            number = float(value)
            kwargs[name] = number if name in ("mixing", "isolated_fraction") else int(number)
        if "num_nodes" not in kwargs or "num_edges" not in kwargs:
            raise ValueError("nodes= and edges= are needed")
        data = social_graph(**kwargs)
    except ValueError as exc:
        keys = ", ".join(SYNTHETIC_KEYS)
        raise ConfigError(
            f"bad synthetic graph {spec!r} ({exc}); write e.g. "
            f"synthetic:nodes=100000,edges=1000000,features=32 (keys: {keys})"
        ) from None
    data.name = spec
    return data


def graph_files(config: TrainConfig) -> GraphFiles:
    """The file settings of ``config`` (``graphae train --edges ...``)."""
    if not config.edges:
        raise ConfigError("no edge list given (--edges)")
    return GraphFiles(
        edges=config.edges,
        features=config.features_file,
        labels=config.labels_file,
        feature_ids=config.feature_ids,
        delimiter=config.delimiter,
        header=config.header,
        source_col=config.source_col,
        target_col=config.target_col,
        weight_col=config.weight_col,
        features_format=config.features_format,
    )


def resolve_graph_settings(config: TrainConfig, data: Data) -> TrainConfig:
    """``config`` with the graph's real name and whether features were used.

    A run's name and records describe the graph it trained on: the data
    set's or edge file's name (``data.name``, else ``"graph"``), and
    ``features=False`` when the graph has no features (identity features).
    """
    name = config.dataset or _data_name(data)
    features = config.features and getattr(data, "x", None) is not None
    if config.split == "inductive" and not features:
        raise ConfigError(
            "an inductive split needs node features (--features FILE): held-out nodes are "
            "embedded from their features, and identity features give unseen nodes nothing"
        )
    # settings left to the model's defaults follow the graph's name (per-dataset defaults)
    return config.with_overrides(dataset=name, features=features)


def _data_name(data: Data) -> str:
    name = getattr(data, "name", None)
    return name if isinstance(name, str) and name else "graph"


def make_split(config: TrainConfig, data: Data) -> LinkSplit:
    """The edge split (``split="edge"``) or node-inductive split the config asks for.

    A graph that comes with its published split (``data.official_split``, OGB)
    is split that way.
    """
    official = getattr(data, "official_split", None)
    if official is not None:
        if config.split == "inductive":
            raise ConfigError(f"{config.graph_name} comes with its official edge split only")
        return official
    num_nodes = int(data.num_nodes)
    args = (data.edge_index, num_nodes, config.val_fraction, config.test_fraction, config.seed)
    try:
        if config.split == "inductive":
            return split_nodes(*args)
        return split_edges(*args)
    except ValueError as exc:
        raise DataError(f"cannot split {config.graph_name}: {exc}") from None


class _PhaseClock:
    """Seconds spent in each phase of a run (``metrics.json["phase_seconds"]``)."""

    def __init__(self, started: float) -> None:
        self.started = self.last = started
        self.phases: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = round(self.phases.get(phase, 0.0) + now - self.last, 4)
        self.last = now

    def total(self) -> float:
        return round(time.perf_counter() - self.started, 3)


@contextmanager
def run_directory(
    parent: str | Path,
    name: str,
    save: bool,
    trackers: Sequence[Tracker],
    existing: Path | None = None,
) -> Iterator[tuple[Path | None, list[Tracker]]]:
    """Create a unique run folder with TensorBoard and JSONL trackers; clean up on failure.

    Yields ``(run_dir or None, trackers)``. If the body raises (or is
    interrupted: Ctrl-C, SIGTERM in the ``graphae`` command), or a tracker
    fails to finish, every tracker is ended unsuccessfully and the folder
    removed, so no incomplete run looks finished. A folder with a resume
    checkpoint is kept instead, resumable (``resume.pt``, no ``metrics.json``),
    unless training diverged; the exception then names it
    (:func:`~graphae.training.checkpointing.kept_run`). ``existing``: a
    resumed run's folder, used instead of a new one.

    Raises:
        OutputError: ``parent`` cannot be written (before anything is created).

    """
    run_dir = existing or (create_run_dir(parent, name) if save else None)
    all_trackers = [*trackers, *([TensorBoardTracker(), JsonlTracker()] if save else [])]
    try:
        yield run_dir, all_trackers
        # last added, first ended: the folder's own files (TensorBoard events,
        # history.jsonl) are complete before a tracker uploads it (MLflow)
        for tracker in reversed(all_trackers):
            tracker.end_run(success=True)
    except BaseException as exc:
        for tracker in all_trackers:
            with contextlib.suppress(Exception):  # the first error is the one to report
                tracker.end_run(success=False)
        if run_dir is not None and keeps_run(run_dir, exc):
            mark_kept(exc, run_dir)
        elif run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def check_device(device: str) -> None:
    """Raise :class:`ConfigError` for an unknown or unavailable torch device."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        message = f"device {device!r} is not a torch device (e.g. cpu, cuda, cuda:1)"
        raise ConfigError(message) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use cpu")


def _masked_objective(
    config: TrainConfig, model: GAE, data: Data, train_edges: torch.Tensor
) -> MaskedObjective:
    """The run's masked objective: its mask, degree loss and seed, on the training edges."""
    mask = make_mask(config.mask, config.mask_ratio, config.walk_length)
    weights = pair_weights(data, train_edges)
    return MaskedObjective.for_model(
        model, train_edges, int(data.num_nodes), mask, config.degree_weight, config.seed, weights
    )


@dataclass
class _Member:
    """One trained ensemble member (or the single model): what scoring and resuming need."""

    seed: int
    best_epoch: int
    best_val: dict[str, float]
    last_val: dict[str, float]
    best_state: dict[str, torch.Tensor]
    last_state: dict[str, torch.Tensor]
    history: list[dict[str, float]]
    seconds: float
    cpu_seconds: float
    # with --snapshots K: its K best-validation snapshots, best first ({"epoch", "val", "state"})
    snapshots: list[dict[str, Any]] = field(default_factory=list)

    def best_states(self, count: int) -> list[dict[str, torch.Tensor]]:
        """The weights its ``count`` components score with: its snapshots, or its best epoch's."""
        return [s["state"] for s in self.snapshots] if count > 1 else [self.best_state]

    def snapshot_records(self) -> list[dict[str, Any]]:
        """Its snapshots' epochs and validation scores, best first (``metrics.json``)."""
        return [{"epoch": s["epoch"], "val": s["val"]} for s in self.snapshots]

    def record(self) -> dict[str, Any]:
        """Plain values for a resume checkpoint."""
        return dict(vars(self))


class _Prefixed(Tracker):
    """Passes metrics on with a prefix (``member1/val/auc``); the run's own tracker starts them."""

    def __init__(self, tracker: Tracker, prefix: str) -> None:
        self.tracker, self.prefix = tracker, prefix

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Forward ``metrics`` with prefixed tags."""
        self.tracker.log_metrics({self.prefix + k: v for k, v in metrics.items()}, step=step)


def _member_prefix(member: int) -> str:
    """Tags of member ``k``'s curves: the run's own for member 0, ``member{k}/...`` after."""
    return f"member{member}/" if member else ""


def _member_trackers(trackers: Sequence[Tracker], member: int) -> list[Tracker]:
    prefix = _member_prefix(member)
    return [_Prefixed(t, prefix) for t in trackers] if prefix else list(trackers)


def _logged_history(
    finished: Sequence[dict[str, Any]], history: Sequence[dict[str, float]], member: int
) -> list[dict[str, float]]:
    """The rows the trackers received before a checkpoint, finished members first."""
    rows: list[dict[str, float]] = []
    for k, part in [*enumerate(record["history"] for record in finished), (member, history)]:
        prefix = _member_prefix(k)
        rows.extend(
            {"epoch": r["epoch"]} | {prefix + t: v for t, v in r.items() if t != "epoch"}
            for r in part
        )
    return rows


def _run(
    config: TrainConfig,
    data: Data,
    split: LinkSplit,
    objective_name: str,
    run_dir: Path | None,
    trackers: Sequence[Tracker],
    clock: _PhaseClock,
    resume_from: TrainState | None = None,
) -> RunResult:
    device = torch.device(config.device)
    num_nodes = int(data.num_nodes)
    train_edges = split.train_edge_index().to(device)
    adj = gcn_adjacency(train_edges, num_nodes, pair_weights(data, train_edges))
    x = prepare_features(data.x, config.features, config.normalize_features)
    x = x.to(device) if x is not None else None
    in_dim = x.shape[1] if x is not None else num_nodes
    ranks = distributed.current()
    if config.batch_size:
        minibatch_objective(config)  # a resume checks too

    run_info = {
        "config": config.to_dict(),
        "run_name": run_dir.name if run_dir else config.run_name,
        "objective": objective_name,
        "num_nodes": num_nodes,
        "num_features": in_dim if x is not None else 0,
        "split_counts": split.counts(),
        "split": split.kind,
        "held_out_nodes": split.node_counts(),
        "cold_test_pairs": split.cold_test_pairs(),
        "graph": graph_info(data, in_dim if x is not None else 0),
        "torch_threads": torch.get_num_threads(),  # may change the last bits of results
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),  # graphae's default: PASSIVE
        "world_size": ranks.world_size if ranks is not None else 1,  # torchrun processes
        "versions": versions(),
    }
    # hyperparameters for TensorBoard's HParams table; where files live is not one
    params = config.result_settings()
    params["objective"] = objective_name
    finished: list[dict[str, Any]] = []
    first = 0
    if resume_from is None:
        _start(run_dir, trackers, run_info, params, split, data)
    else:  # config.json, split and node ids are the stopped run's; its logs are replayed
        finished, first = list(resume_from.finished), resume_from.member
        logged = _logged_history(finished, resume_from.history, first)
        restart_trackers(trackers, run_dir, params, logged)
    resume_file = run_dir / RESUME_FILE if run_dir is not None else None

    val_pairs = tuple(p.to(device) for p in split.pairs("val"))
    test_pairs = tuple(p.to(device) for p in split.pairs("test"))
    clock.lap("setup")
    members = [_Member(**record) for record in finished]
    models: list[GAE] = []  # the members trained here (not those finished before a resume)
    for k in range(first, config.ensemble):
        member_config = config.with_overrides(
            seed=member_seed(config.seed, k), ensemble=1, snapshots=1
        )
        model, objective, step = _build_member(
            member_config, objective_name, in_dim, data, split, train_edges, x, adj, device
        )
        checkpoint = None
        if resume_file is not None:
            done = [member.record() for member in members]
            checkpoint = partial(_save_member_state, resume_file, k, done)
        fitted = fit(
            model,
            x,
            adj,
            objective,
            val_pairs,  # type: ignore[arg-type]
            epochs=config.epochs,
            lr=config.lr,
            weight_decay=config.weight_decay,
            grad_clip=config.grad_clip,
            eval_every=config.eval_every,
            select_metric=config.select_metric,
            trackers=_member_trackers(trackers, k),
            progress=show_progress(config.quiet),
            sync=ranks.average if ranks is not None else None,
            checkpoint_every=config.checkpoint_every,
            checkpoint=checkpoint,
            resume_from=resume_from if k == first else None,
            epoch_step=step,
            snapshots=config.snapshots,
            snapshot_every=config.snapshot_every or 1,
        )
        members.append(
            _Member(
                seed=member_config.seed,
                best_epoch=fitted.best_epoch,
                best_val=fitted.best_val,
                last_val=fitted.last_val,
                best_state=fitted.best_state,
                last_state={n: t.detach().clone() for n, t in model.state_dict().items()},
                history=fitted.history,
                seconds=fitted.seconds,
                cpu_seconds=fitted.cpu_seconds,
                snapshots=fitted.snapshots,
            )
        )
        models.append(model)
    scorer, trained = _scorer(config, in_dim, members, models)
    trained("last")
    # every rank's trained weights, hashed and compared (a TrainingError if they differ)
    replicas = ranks.summary(scorer) if ranks is not None else None
    clock.lap("train")
    test_adj = adj
    if config.test_graph == "train+val":  # validation edges are known by test time
        known = split.train_val_edge_index().to(device)
        test_adj = gcn_adjacency(known, num_nodes, pair_weights(data, known))

    def validation(z_test: torch.Tensor, single: dict[str, float]) -> dict[str, float]:
        """A single model's from its training; an ensemble's scored here, on ``adj``."""
        if len(members) * config.snapshots == 1:
            return single
        z = z_test if test_adj is adj else scorer.embed(x, adj)
        return link_metrics(scorer.decode, z, *val_pairs)

    scorer.eval()  # an MLP decoder scores without dropout
    last_embeddings = scorer.embed(x, test_adj)
    test_last = link_metrics(scorer.decode, last_embeddings, *test_pairs)
    last_val = validation(last_embeddings, members[0].last_val)
    trained("best")
    scorer.eval()
    embeddings = scorer.embed(x, test_adj)
    test = link_metrics(scorer.decode, embeddings, *test_pairs)
    test_scores = link_scores(scorer.decode, embeddings, *test_pairs)
    test.update(_ranking(test_scores))  # Hits@K and MRR: test split, kept weights only
    test.update(official_metrics(data, scorer.decode, embeddings))  # OGB's evaluator, if OGB
    best_val = validation(embeddings, members[0].best_val)

    _log_final(trackers, test, best_val, config.epochs, test_last)
    clock.lap("test")
    metrics = {
        "model": config.model,
        "dataset": config.dataset,
        "features": config.features,
        "objective": objective_name,
        "seed": config.seed,
        "epochs": config.epochs,
        "best_epoch": members[0].best_epoch,
        "val": best_val,
        "test": test,
        "test_graph": config.test_graph,
        "split": run_info["split"],
        "cold_test_pairs": run_info["cold_test_pairs"],
        "val_last": last_val,
        "test_last": test_last,
        # wall time of the training loops and their process CPU time (every member's)
        "train_seconds": round(sum(member.seconds for member in members), 3),
        "train_cpu_seconds": round(sum(member.cpu_seconds for member in members), 3),
        "total_seconds": clock.total(),
        "phase_seconds": clock.phases,
    }
    if config.snapshots > 1:  # member 0's snapshots, and what its best epoch alone scores
        metrics["snapshots"] = members[0].snapshot_records()
        metrics["best_epoch_test"] = _best_epoch_test(
            config, in_dim, members[0], x, test_adj, test_pairs
        )
    if len(members) > 1:
        metrics["members"] = _member_metrics(
            scorer, members, embeddings, test_pairs, config.snapshots
        )
    if replicas is not None:
        metrics["distributed"] = replicas
    if resume_from is not None:
        metrics["resumed_from_epoch"] = resume_from.epoch
        if config.ensemble > 1:
            metrics["resumed_from_member"] = resume_from.member
    label = config.model.upper() + ("" if config.features else "*")
    if config.ensemble > 1:
        label += f" ensemble of {config.ensemble}"
    if config.snapshots > 1:
        label += f", {config.snapshots} snapshots"
    _report_pictures(
        run_dir,
        trackers,
        data,
        split,
        embeddings,
        test_scores,
        title=f"{label} on {config.dataset}, {config.latent_dim}-d, {config.epochs} epochs, "
        f"seed {config.seed}",
        step=config.epochs,
        figures=config.figures,
        history=members[0].history,
        best_epoch=members[0].best_epoch,
    )
    clock.lap("pictures")
    if run_dir is not None:
        save_checkpoint(run_dir / CHECKPOINT_FILE, scorer, config, in_dim, objective=objective_name)
        write_npy(run_dir / EMBEDDINGS_FILE, embeddings.cpu().numpy())
        clock.lap("save")
        metrics["total_seconds"] = clock.total()
        write_json(run_dir / METRICS_FILE, metrics)  # last: marks the run complete
        discard_train_state(run_dir)
    return RunResult(
        config=config,
        objective=objective_name,
        metrics=metrics,
        model=scorer,
        embeddings=embeddings,
        split=split,
        run_dir=run_dir,
    )


def _build_member(
    config: TrainConfig,
    objective_name: str,
    in_dim: int,
    data: Data,
    split: LinkSplit,
    train_edges: torch.Tensor,
    x: torch.Tensor | None,
    adj: torch.Tensor,
    device: torch.device,
) -> tuple[GAE, Any, MinibatchStep | None]:
    """A model seeded by ``config.seed``, its full-graph objective and (mini-batch) its step.

    Under torchrun, rank 0's initial weights are copied to every rank and the
    objective (or the step) takes this rank's share of the pairs.
    """
    num_nodes = int(data.num_nodes)
    torch.manual_seed(config.seed)
    model = build_from_config(config, in_dim).to(device)
    step = None
    objective: Any = None
    ranks = distributed.current()
    if config.batch_size:  # the step trains an epoch in batches; no full-graph objective
        masked = None  # an edge mask or a degree loss: the full-graph objective's draws
        if config.mask != "none" or config.degree_weight:
            masked = _masked_objective(config, model, data, train_edges)
        step = MinibatchStep(
            model,
            x,
            adj,
            split.train_pos,
            num_nodes,
            batch_size=config.batch_size,
            fanouts=config.fanout,
            seed=config.seed,
            grad_clip=config.grad_clip,
            masked=masked,
            ranks=ranks,
        )
    elif objective_name == "dense":
        objective = DenseObjective(train_edges, num_nodes)
    elif objective_name == "masked":
        objective = _masked_objective(config, model, data, train_edges)
    else:
        objective = SampledObjective(train_edges, num_nodes, config.seed)
    if ranks is not None:  # data parallel: rank 0's weights on all, this rank's share of pairs
        ranks.replicate(model)
        if step is None:
            ranks.shard(objective)
        else:  # mini-batch: the step takes this rank's share of each batch
            pairs = split.train_pos
            ranks.check_same_training(num_nodes, pairs.shape[1], int(pairs.sum()), config.seed)
    return model, objective, step


def _save_member_state(
    path: Path, member: int, finished: list[dict[str, Any]], state: TrainState
) -> None:
    """Write member ``member``'s training state with the members finished before it."""
    save_train_state(path, replace(state, member=member, finished=finished))


def _scorer(
    config: TrainConfig, in_dim: int, members: Sequence[_Member], models: Sequence[GAE]
) -> tuple[GAE, Callable[[str], None]]:
    """The model that scores (the single model, or the ensemble) and its weight loader.

    ``models`` are the members trained in this process, the last ones of
    ``members``; the earlier ones (finished before a resume) are rebuilt.
    With ``--snapshots K`` every member is K models in a row, its snapshots.
    The loader puts every member's ``"best"`` (its snapshots) or ``"last"``
    weights in place.
    """
    count = config.snapshots
    device = torch.device(config.device)
    one = config.with_overrides(ensemble=1, snapshots=1)
    trained = list(models) if count == 1 else []  # with snapshots every part is built anew
    with torch.random.fork_rng(devices=[]):  # building draws initial weights: leave torch's stream
        built = [
            build_from_config(one, in_dim).to(device)
            for _ in range(len(members) * count - len(trained))
        ]
    every = [*built, *trained]

    def load(which: str) -> None:
        states = [
            state
            for member in members
            for state in (
                member.best_states(count) if which == "best" else [member.last_state] * count
            )
        ]
        for model, state in zip(every, states, strict=True):
            model.load_state_dict(state)

    if len(every) == 1:
        return every[0], load
    return assemble_ensemble(every, [config.latent_dim] * len(every)), load


def _best_epoch_test(
    config: TrainConfig,
    in_dim: int,
    member: _Member,
    x: torch.Tensor | None,
    adj: torch.Tensor,
    test_pairs: tuple[torch.Tensor, ...],
) -> dict[str, float]:
    """Test AUC/AP of ``member``'s best epoch alone (what ``--snapshots 1`` would score)."""
    with torch.random.fork_rng(devices=[]):
        model = build_from_config(config.with_overrides(ensemble=1, snapshots=1), in_dim)
    model = model.to(torch.device(config.device))
    model.load_state_dict(member.best_state)
    model.eval()
    return link_metrics(model.decode, model.embed(x, adj), *test_pairs)


def _member_metrics(
    scorer: GAE,
    members: Sequence[_Member],
    embeddings: torch.Tensor,
    test_pairs: tuple[torch.Tensor, ...],
    snapshots: int = 1,
) -> list[dict[str, Any]]:
    """Each member's seed, kept epoch, time, validation and test AUC/AP (its kept weights).

    ``embeddings`` are the ensemble's (the members' side by side) on the test
    graph. ``ensemble_test`` of member ``k``: the test AUC/AP of the ensemble
    of members ``0..k``, what an ensemble of ``k + 1`` with the same seed scores.
    With ``snapshots`` K > 1 a member is its K snapshots (their ensemble's
    test AUC/AP, their epochs under ``snapshots``; ``val`` stays its best
    epoch's).
    """
    decoders = scorer.decoder.members  # type: ignore[union-attr]
    widths = scorer.decoder.widths  # type: ignore[union-attr]

    rows = []
    start = 0
    for k, member in enumerate(members):
        stop = start + snapshots
        if snapshots == 1:
            decoder: torch.nn.Module = decoders[k]
        else:
            decoder = MeanProbabilityDecoder(decoders[start:stop], widths[start:stop])
        z = embeddings[:, sum(widths[:start]) : sum(widths[:stop])]
        row = {
            "seed": member.seed,
            "best_epoch": member.best_epoch,
            "train_seconds": round(member.seconds, 3),
            "train_cpu_seconds": round(member.cpu_seconds, 3),
            "val": member.best_val,
            "test": link_metrics(decoder, z, *test_pairs),
        }
        if snapshots > 1:
            row["snapshots"] = member.snapshot_records()
        if k:  # members 0..k: the first `stop` components
            prefix = MeanProbabilityDecoder(decoders[:stop], widths[:stop])
            columns = embeddings[:, : sum(widths[:stop])]
            row["ensemble_test"] = link_metrics(prefix, columns, *test_pairs)
        rows.append(row)
        start = stop
    return rows


def _start(
    run_dir: Path | None,
    trackers: Sequence[Tracker],
    run_info: dict[str, Any],
    params: dict[str, Any],
    split: LinkSplit,
    data: Data,
) -> None:
    """Write ``config.json``, the split and the node ids (atomically), and start the trackers."""
    if run_dir is not None:
        write_json(run_dir / CONFIG_FILE, run_info)
        with atomic_path(run_dir / SPLIT_FILE) as tmp:  # tmp ends in .npz, as numpy wants
            split.save(tmp)
        node_ids = getattr(data, "node_ids", None)
        ids = NodeIds(node_ids) if node_ids is not None else NodeIds.range(int(data.num_nodes))
        with atomic_path(run_dir / NODES_FILE) as tmp:
            ids.save(tmp)
    for tracker in trackers:
        tracker.start_run(run_dir)
        tracker.log_params(params)


def graph_info(data: Data, num_features: int) -> dict[str, Any]:
    """What ``config.json["graph"]`` says about the graph: size, features, classes, loading."""
    y = getattr(data, "y", None)
    return {
        "name": getattr(data, "name", None),
        "nodes": int(data.num_nodes),
        "undirected_edges": int(data.edge_index.shape[1]) // 2,
        "weighted": getattr(data, "edge_weight", None) is not None,
        "num_features": num_features,
        "feature_names": getattr(data, "feature_names", None),
        "labelled": y is not None,
        "class_names": getattr(data, "class_names", None),
        "loading": getattr(data, "report", None),
    }


def _ranking(test_scores: tuple[torch.Tensor, torch.Tensor]) -> dict[str, float]:
    """Hits@20/50/100 and MRR of the test positives against the test negatives.

    ``test_scores`` is :func:`link_scores`' ``(labels, logits)``, positives first.
    """
    labels, logits = test_scores
    num_pos = int(labels.sum())
    return ranking_report(logits[:num_pos], logits[num_pos:])


def _log_final(
    trackers: Sequence[Tracker],
    test: dict[str, float],
    val: dict[str, float],
    step: int,
    test_last: dict[str, float] | None = None,
) -> None:
    final = {"test/auc": test["auc"], "test/ap": test["ap"]}
    final.update({f"test/{k}": v for k, v in test.items() if k.startswith("hits@") or k == "mrr"})
    if test_last is not None:
        final.update({"test/last_auc": test_last["auc"], "test/last_ap": test_last["ap"]})
    final.update({"val/best_auc": val["auc"], "val/best_ap": val["ap"]})
    for tracker in trackers:
        tracker.log_metrics(final, step=step)


#: Largest graph whose embeddings go to TensorBoard's Projector (its files are text).
PROJECTOR_MAX_NODES = 200_000

#: PNG files of a run directory (also TensorBoard images ``figures/<name>``).
LATENT_PNG, ROC_PNG, CURVES_PNG = "latent.png", "roc.png", "curves.png"


def _report_pictures(
    run_dir: Path | None,
    trackers: Sequence[Tracker],
    data: Data,
    split: LinkSplit,
    z: torch.Tensor,
    test_scores: tuple[torch.Tensor, torch.Tensor],
    *,
    title: str,
    step: int,
    figures: bool = True,
    history: Sequence[dict[str, float]] | None = None,
    best_epoch: int | None = None,
) -> None:
    """Projector embeddings, the test PR curve and (``figures``) the run's pictures.

    The Projector gets the embeddings with each node's class (when the graph
    has labels) and its degree in the training graph as metadata. The PNGs
    (latent space, test ROC, training curves when there is a history) go to
    the run directory and to the trackers as figures.
    """
    if run_dir is None and not trackers:
        return
    z_np = z.detach().cpu().numpy()
    labels, logits = (t.detach().cpu().numpy() for t in test_scores)
    num_nodes = int(data.num_nodes)
    y = getattr(data, "y", None)
    classes = y.cpu().numpy() if y is not None and y.numel() == num_nodes else None
    degree = np.bincount(split.train_pos[0].cpu().numpy(), minlength=num_nodes)
    degree += np.bincount(split.train_pos[1].cpu().numpy(), minlength=num_nodes)
    class_names = getattr(data, "class_names", None)
    metadata: dict[str, Any] = {}
    node_ids = getattr(data, "node_ids", None)
    if node_ids is not None:
        metadata["id"] = node_ids
    if classes is not None:
        names = np.asarray([*(class_names or []), ""], dtype=object)
        metadata["class"] = names[classes] if class_names else classes
    metadata["train_degree"] = degree
    for tracker in trackers:
        tracker.log_pr_curve("test/pr_curve", labels, 1.0 / (1.0 + np.exp(-logits)), step)
        if num_nodes <= PROJECTOR_MAX_NODES:  # its text files grow with N; beyond, left out
            tracker.log_embedding("embeddings", z_np, metadata, step)
    if not figures:
        return
    from graphae import figures as fig

    pictures = {
        LATENT_PNG: fig.latent_figure(z_np, classes, title, class_names),
        ROC_PNG: fig.roc_figure(labels, logits, title),
    }
    if history:
        pictures[CURVES_PNG] = fig.training_curves_figure(history, best_epoch, title)
    for file_name, picture in pictures.items():
        if run_dir is not None:
            fig.save_figure(picture, run_dir / file_name)
        for tracker in trackers:
            tracker.log_figure(f"figures/{Path(file_name).stem}", picture, step)


@dataclass
class EmbeddingResult:
    """Outcome of :func:`evaluate_embedding` (a non-trainable baseline)."""

    method: str
    metrics: dict[str, Any]
    embeddings: torch.Tensor
    run_dir: Path | None


def evaluate_embedding(
    method: str,
    embed: Callable[[torch.Tensor, int], torch.Tensor],
    data: Data,
    split: LinkSplit,
    *,
    settings: dict[str, Any] | None = None,
    dataset: str = "",
    runs_dir: str | Path = "runs",
    name: str | None = None,
    save: bool = True,
    trackers: Sequence[Tracker] = (),
) -> EmbeddingResult:
    """Embed the training graph with any method and score it like the autoencoders.

    The embedding sees only ``split.train_edge_index()``; pairs are scored by
    ``σ(z_i · z_j)`` (:class:`~graphae.nn.InnerProductDecoder`) on the
    validation and test splits. Writes a run directory like :func:`train`
    (config, split, embeddings, metrics, TensorBoard events), without a checkpoint.

    Args:
        method (str): name of the method, e.g. ``"sc"``.
        embed (callable): ``(train_edge_index, num_nodes) -> N x d`` embeddings.
        data (Data): the graph (for its node count).
        split (LinkSplit): the edge split.
        settings (dict, optional): the method's settings, recorded with the run.
        dataset (str, optional): data set name, recorded with the run.
        runs_dir (str or Path, optional): parent of the run folder. (default: ``"runs"``)
        name (str, optional): run folder name. (default: ``<method>_<dataset>_seed<k>``)
        save (bool, optional): write a run directory. (default: ``True``)
        trackers (sequence, optional): extra trackers.

    """
    settings = dict(settings or {})
    seed = split.seed if split.seed is not None else 0
    name = name or f"{method}_{dataset.lower() or 'graph'}_seed{seed}"
    started, cpu_started = time.perf_counter(), time.process_time()
    with run_directory(runs_dir, name, save, trackers) as (run_dir, tracks):
        num_nodes = int(data.num_nodes)
        run_info = {
            "method": method,
            "dataset": dataset,
            "settings": settings,
            "seed": seed,
            "num_nodes": num_nodes,
            "split_counts": split.counts(),
            "versions": versions(),
        }
        # the HParams columns graph and VAE runs share: model, latent_dim, seed
        params = {"model": method, "dataset": dataset, "seed": seed, **settings}
        if "dim" in settings:
            params["latent_dim"] = params.pop("dim")
        _start(run_dir, tracks, run_info, params, split, data)
        z = embed(split.train_edge_index(), num_nodes).float()
        embed_seconds = time.perf_counter() - started
        embed_cpu_seconds = time.process_time() - cpu_started
        decode = InnerProductDecoder()
        val = link_metrics(decode, z, *split.pairs("val"))
        test = link_metrics(decode, z, *split.pairs("test"))
        decoded = link_scores(decode, z, *split.pairs("test"))
        test.update(_ranking(decoded))  # Hits@K and MRR: test split only
        _log_final(tracks, test, val, step=0)
        title = f"{method.upper()} on {dataset or 'graph'}, {z.shape[1]}-d, seed {seed}"
        _report_pictures(run_dir, tracks, data, split, z, decoded, title=title, step=0)
        metrics = {
            "model": method,
            "dataset": dataset,
            "seed": seed,
            "val": val,
            "test": test,
            "train_seconds": round(embed_seconds, 3),  # wall time of the embedding
            "train_cpu_seconds": round(embed_cpu_seconds, 3),  # its process CPU time
            "total_seconds": round(time.perf_counter() - started, 3),
        }
        if run_dir is not None:
            write_npy(run_dir / EMBEDDINGS_FILE, z.cpu().numpy())
            write_json(run_dir / METRICS_FILE, metrics)
        return EmbeddingResult(method=method, metrics=metrics, embeddings=z, run_dir=run_dir)
