"""How much memory a training run will take, stage by stage, before it starts.

``graphae train`` prints :meth:`MemoryEstimate.line` before training (for
runs estimated at 1 GiB or more, or whenever ``--max-memory`` is given) and
refuses a run whose estimated peak exceeds ``--max-memory``
(:func:`check_memory`). The estimate counts the bytes of what this
implementation keeps alive while it trains (the sizes below), plus the
interpreter and its libraries; ``benchmarks/scale.py`` compares it with the
measured peak resident memory.

With ``N`` nodes, ``E`` undirected edges in the graph, ``T`` undirected
training edges, ``P`` validation + test pairs, ``F`` features, ``H`` hidden
and ``D`` latent widths (``k = 2`` heads for VGAE, else 1), in bytes:

.. math::
    \\text{graph} &= 32E + 16P + 64T + 20N
        \\quad (\\texttt{edge\\_index}, \\text{split}, \\hat{A}\\text{ as int32 CSR})\\\\
    \\text{features} &= 4NF \\text{ (dense) or } 8\\,\\mathrm{nnz} + 4N \\text{ (CSR)}\\\\
    \\text{parameters} &= (2 + S) \\cdot 4\\,\\#\\theta \\quad (\\text{weights, the best copy,
        } S \\text{ snapshots with --snapshots } S > 1)\\\\
    \\text{optimiser} &= 3 \\cdot 4\\,\\#\\theta \\quad (\\text{gradients, Adam's two moments})\\\\
    \\text{activations} &= 4N(3(L - 1)H + 4kD)\\\\
    \\text{objective} &= 48T + 12N + 160\\,T_r \\text{ (sampled) or } 32T + 16N \\text{ (dense)}

with ``L`` graph convolutions (2, Kipf & Welling's), and ``T_r`` the number
of negatives drawn per batch of epochs (``T`` for large graphs: one epoch per
batch). The evaluation buffers (scores of the validation or test pairs,
decoded in chunks, :data:`graphae.evaluation.link_prediction.CHUNK_PAIRS`)
add ``40 P``. Everything else (the interpreter, torch, PyG) is
:data:`RUNTIME_BYTES`.

Mini-batch training (``--batch-size B``, :mod:`graphae.training.minibatch`)
keeps the same graph, features, parameters and optimiser, plus the
sampler's copy of ``Â`` (``16T + 20N``); its activations are bounded by the
batch instead of N (:func:`estimate_minibatch`): the ``n_0 ≤ 4B`` endpoints
of a batch's pairs and ``n_h ≤ n_{h-1}(1 + f_h)`` nodes after hop ``h``
(fanout ``f_h``, at most N), ``16 w n_{h-1}`` bytes for the layer of width
``w`` on that hop (with gradients), ``12`` per sampled edge, and ``64`` per
edge of the largest frontier while it is sampled; with an edge mask or a
degree loss (masked mini-batches) the masked objective's indexed training
graph and each epoch's draw, visible ``Â`` and rebuilt sampler add about
``100T + 40N`` at their peak (stage ``graph``; measured: 156 MiB over the
unmasked step at 200,000 nodes and 1.7M training edges);
evaluation runs the exact full-graph pass under ``no_grad``,
``12 N max(H, kD)`` (stage ``inference``).

Sizes are parsed by :func:`parse_size`: ``16G``, ``512M``, ``1.5GiB``,
``2e9`` (bytes); ``K``/``M``/``G``/``T`` are powers of 1024.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from graphae.errors import ConfigError

if TYPE_CHECKING:
    from torch_geometric.data import Data

    from graphae.data.link_split import LinkSplit

#: Resident memory of the interpreter with torch, PyG and graphae imported, and
#: what the allocator holds beside live tensors (measured: 0.37 GiB after the
#: imports, 0.45–0.5 GiB more than the tensors in small runs).
RUNTIME_BYTES = 500 * 2**20
#: ``graphae train`` prints its estimate from this size on (or whenever ``--max-memory``
#: is given): below it the line would only lengthen the output of small runs.
REPORT_FROM_BYTES = 2**30
#: Bytes per negative pair of one batch of sampled negatives: the draw's int64
#: arrays, the membership test, the stacked pattern, weights and logits (fitted
#: to the measured peak at 1M nodes / 10M edges, ``benchmarks/scale.py``).
SAMPLED_BYTES_PER_NEGATIVE = 160
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
STAGES = (
    "runtime",
    "graph",
    "features",
    "parameters",
    "optimiser",
    "activations",
    "objective",
    "evaluation",
)
#: the stages of a mini-batch run: per-batch activations, and full-graph inference apart
MINIBATCH_STAGES = (*STAGES[:6], "inference", *STAGES[6:])


def parse_size(text: str | int | float) -> int:
    """Bytes from ``"16G"``, ``"512M"``, ``"1.5GiB"``, ``"64GB"`` or a plain number.

    ``K``, ``M``, ``G`` and ``T`` (with or without ``B`` or ``iB``) are
    powers of 1024, as ``free -g`` counts them.

    Raises:
        ConfigError: not a positive size.

    """
    if isinstance(text, bool):
        raise ConfigError(f"max-memory must be a size such as 16G, got {text!r}")
    if isinstance(text, (int, float)):
        number, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.I)
        if match is None:
            raise ConfigError(f"max-memory must be a size such as 16G or 512M, got {text!r}")
        number, unit = float(match.group(1)), match.group(2).upper()
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"max-memory must be a positive size, got {text!r}")
    return int(number * _UNITS[unit])


def format_size(size: float) -> str:
    """``"9.8 GiB"``, ``"512 MiB"``: the size in the largest binary unit below it."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return (
                f"{size / scale:.1f} {unit}" if size < 100 * scale else f"{size / scale:.0f} {unit}"
            )
    return f"{int(size)} B"


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes each stage of a training run keeps alive, and their sum.

    Attributes:
        stages: bytes per stage (:data:`STAGES`), in that order.
        device: the torch device the run trains on.

    """

    stages: dict[str, int]
    device: str = "cpu"
    minibatch: bool = False  # the estimate of mini-batch training (--batch-size)
    objective: str = "sampled"  # the training objective it assumes

    @property
    def peak(self) -> int:
        """Estimated peak: every stage alive at once."""
        return sum(self.stages.values())

    def line(self) -> str:
        """One line for the terminal, e.g. ``memory estimate: 9.8 GiB (graph 2.1 GiB, ...)``."""
        parts = ", ".join(f"{k} {format_size(v)}" for k, v in self.stages.items() if v)
        return f"memory estimate: {format_size(self.peak)} peak on {self.device} ({parts})"


def shows_estimate(estimate: MemoryEstimate, max_memory: str | int | None) -> bool:
    """Whether ``graphae train`` prints it: from :data:`REPORT_FROM_BYTES`, or on request."""
    return max_memory is not None or estimate.peak >= REPORT_FROM_BYTES


def estimate_memory(
    num_nodes: int,
    num_edges: int,
    num_features: int,
    *,
    train_edges: int | None = None,
    eval_pairs: int | None = None,
    feature_nnz: int | None = None,
    parameters: int,
    hidden_dim: int = 32,
    latent_dim: int = 16,
    variational: bool = False,
    layers: int = 2,
    objective: str = "sampled",
    negatives_per_batch: int | None = None,
    device: str = "cpu",
) -> MemoryEstimate:
    """Estimate the memory of training on a graph (see the module doc for the formulas).

    Args:
        num_nodes (int): N.
        num_edges (int): undirected edges of the graph (E).
        num_features (int): feature width F (0: identity features).
        train_edges (int, optional): undirected training edges T. (default:
            85% of E, the default split)
        eval_pairs (int, optional): validation + test pairs, positives and
            negatives. (default: 30% of E, the default split)
        feature_nnz (int, optional): stored entries of sparse features;
            ``None``: dense features.
        parameters (int): number of trainable parameters.
        hidden_dim (int, optional): hidden width H. (default: ``32``)
        latent_dim (int, optional): latent width D. (default: ``16``)
        variational (bool, optional): VGAE (two latent heads). (default: ``False``)
        layers (int, optional): graph convolutions of the encoder. (default: ``2``)
        objective (str, optional): ``"sampled"`` or ``"dense"``. (default: ``"sampled"``)
        negatives_per_batch (int, optional): negative pairs drawn at once
            (epochs per batch times ``T``). (default: ``T``)
        device (str, optional): the training device, for the report. (default: ``"cpu"``)

    Returns:
        MemoryEstimate: bytes per stage.

    """
    n, e = int(num_nodes), int(num_edges)
    t = int(train_edges if train_edges is not None else 0.85 * e)
    p = int(eval_pairs if eval_pairs is not None else 0.30 * e)
    heads = 2 if variational else 1
    if num_features <= 0:
        features = 0
    elif feature_nnz is not None:
        features = 8 * int(feature_nnz) + 4 * n
    else:
        features = 4 * n * int(num_features)
    if objective == "dense":
        objective_bytes = 32 * t + 16 * n
    else:
        batch = int(negatives_per_batch if negatives_per_batch is not None else t)
        objective_bytes = 48 * t + 12 * n + SAMPLED_BYTES_PER_NEGATIVE * batch
    stages = {
        "runtime": RUNTIME_BYTES,
        "graph": 32 * e + 16 * p + 64 * t + 20 * n,
        "features": features,
        "parameters": 2 * 4 * int(parameters),
        "optimiser": 3 * 4 * int(parameters),
        "activations": 4 * n * (3 * max(1, layers - 1) * hidden_dim + 4 * heads * latent_dim),
        "objective": objective_bytes,
        "evaluation": 40 * p,
    }
    return MemoryEstimate(stages=stages, device=device, objective=objective)


def estimate_minibatch(
    num_nodes: int,
    num_edges: int,
    num_features: int,
    *,
    batch_size: int,
    fanouts: list[int],
    train_edges: int | None = None,
    eval_pairs: int | None = None,
    feature_nnz: int | None = None,
    parameters: int,
    hidden_dim: int = 32,
    latent_dim: int = 16,
    variational: bool = False,
    masked: bool = False,
    device: str = "cpu",
) -> MemoryEstimate:
    """Estimate the memory of mini-batch training (see the module doc).

    Args:
        num_nodes (int): N.
        num_edges (int): undirected edges of the graph (E).
        num_features (int): feature width F (0: identity features).
        batch_size (int): positive pairs per step B.
        fanouts (list of int): neighbours per node and hop, from the seeds
            outward, one per hop (``-1``: all).
        train_edges (int, optional): undirected training edges T. (default: 85% of E)
        eval_pairs (int, optional): validation + test pairs. (default: 30% of E)
        feature_nnz (int, optional): stored entries of sparse features; ``None``: dense.
        parameters (int): number of trainable parameters.
        hidden_dim (int, optional): hidden width H. (default: ``32``)
        latent_dim (int, optional): latent width D. (default: ``16``)
        variational (bool, optional): VGAE (two latent heads). (default: ``False``)
        masked (bool, optional): an edge mask or a degree loss: the masked
            objective's graph and each epoch's draw. (default: ``False``)
        device (str, optional): the training device, for the report. (default: ``"cpu"``)

    """
    full = estimate_memory(
        num_nodes,
        num_edges,
        num_features,
        train_edges=train_edges,
        eval_pairs=eval_pairs,
        feature_nnz=feature_nnz,
        parameters=parameters,
        hidden_dim=hidden_dim,
        latent_dim=latent_dim,
        variational=variational,
        layers=len(fanouts),
        device=device,
    ).stages
    n, e = int(num_nodes), int(num_edges)
    t = int(train_edges if train_edges is not None else 0.85 * e)
    heads = 2 if variational else 1
    width = max(hidden_dim, heads * latent_dim)
    mean_degree = 2 * t / max(n, 1)
    nodes = min(n, 4 * int(batch_size))  # the endpoints of B positive and B negative pairs
    batch = listing = 0
    for fanout in fanouts:
        listed = min(2 * t, int(nodes * mean_degree))  # every edge of the frontier, listed
        kept = listed if fanout < 0 else min(listed, nodes * fanout)
        grown = min(n, nodes + kept)
        listing = max(listing, 64 * listed)  # the listing's arrays, one hop at a time
        # the block (CSR), and the layer on its destinations: aggregate, output and
        # activation (dense inputs are aggregated before W), with their gradients
        batch += 12 * (kept + nodes) + 16 * width * nodes
        nodes = grown
    batch += listing
    if num_features <= 0 or feature_nnz is not None:  # one-hot or sparse rows: X W on sources
        batch += 4 * width * nodes
    if num_features > 0:
        per_row = 8 * int(feature_nnz) / max(n, 1) if feature_nnz is not None else 4 * num_features
        batch += int(2 * nodes * per_row)  # the input rows, and dropout's copy
    keys = n * n // 8 if n * n <= 1 << 31 else 8 * (2 * t + n)  # PairSet
    stages = {
        **{k: full[k] for k in STAGES[:5]},
        "activations": batch,
        "inference": 12 * n * width,
        "objective": keys + 64 * int(batch_size),
        "evaluation": full["evaluation"],
    }
    stages["graph"] += 16 * t + 20 * n  # the sampler's Â without its diagonal
    if masked:  # TrainingGraph, the epoch's draw, Â_vis and its sampler, at their peak
        stages["graph"] += 100 * t + 40 * n
    return MemoryEstimate(stages=stages, device=device, minibatch=True)


def estimate_run(config: Any, data: Data, split: LinkSplit, objective: str) -> MemoryEstimate:
    """:func:`estimate_memory` of training ``config``'s model on ``data`` with ``split``.

    Args:
        config (TrainConfig): the run's settings (model, widths, features, device).
        data (Data): the graph.
        split (LinkSplit): the split it trains and scores on.
        objective (str): the objective that will run (``"dense"`` or ``"sampled"``).

    """
    snapshots = getattr(config, "snapshots", None) or 1
    if snapshots > 1:  # one model trains; its snapshots are more copies of its weights
        estimate = estimate_run(config.with_overrides(snapshots=1), data, split, objective)
        estimate.stages["parameters"] += snapshots * estimate.stages["parameters"] // 2
        return estimate
    from graphae.nn.factory import build_from_config
    from graphae.training.objectives import SampledObjective

    num_nodes = int(data.num_nodes)
    x = getattr(data, "x", None) if config.features else None
    nnz = None
    if x is not None and x.layout != torch.strided:
        nnz = int((x if x.layout == torch.sparse_csr else x.coalesce()).values().numel())
    width = int(x.shape[1]) if x is not None else 0
    train_edges = int(split.train_pos.shape[1])
    counts = split.counts()
    eval_pairs = sum(counts[s] for s in ("val_pos", "val_neg", "test_pos", "test_neg"))
    per_round = 4 * train_edges  # positive and negative entries, two per pair
    max_rounds = getattr(SampledObjective, "MAX_ROUNDS", 1)
    rounds = max(1, min(max_rounds, getattr(SampledObjective, "MAX_BATCH_ENTRIES", 0) // per_round))
    parameters = count_parameters(lambda: build_from_config(config, width or num_nodes))
    if getattr(config, "batch_size", 0):
        from graphae.nn.blocks import encoder_hops
        from graphae.training.minibatch import resolve_fanouts

        with torch.device("meta"):
            hops = encoder_hops(build_from_config(config, width or num_nodes).encoder)
        return estimate_minibatch(
            num_nodes,
            int(data.edge_index.shape[1]) // 2,
            width,
            batch_size=config.batch_size,
            fanouts=resolve_fanouts(config.fanout, hops),
            train_edges=train_edges,
            eval_pairs=eval_pairs,
            feature_nnz=nnz,
            parameters=parameters,
            hidden_dim=config.hidden_dim,
            latent_dim=config.latent_dim,
            variational=config.model == "vgae",
            masked=config.mask != "none" or bool(config.degree_weight),
            device=config.device,
        )
    return estimate_memory(
        num_nodes,
        int(data.edge_index.shape[1]) // 2,
        width,
        train_edges=train_edges,
        eval_pairs=eval_pairs,
        feature_nnz=nnz,
        parameters=parameters,
        hidden_dim=config.hidden_dim,
        latent_dim=config.latent_dim,
        variational=config.model == "vgae",
        layers=int(getattr(config, "layers", None) or 2),
        objective=objective,
        negatives_per_batch=rounds * train_edges,
        device=config.device,
    )


def count_parameters(build: object) -> int:
    """Parameters of the model ``build()`` returns, built on the ``meta`` device (no memory)."""
    with torch.device("meta"):
        model = build()  # type: ignore[operator]
    return sum(p.numel() for p in model.parameters())  # type: ignore[attr-defined]


def device_memory(device: str) -> int | None:
    """Total memory of ``device``: the machine's RAM, or the GPU's; ``None``: unknown."""
    parsed = torch.device(device)
    if parsed.type == "cuda" and torch.cuda.is_available():
        index = parsed.index if parsed.index is not None else torch.cuda.current_device()
        return int(torch.cuda.get_device_properties(index).total_memory)
    if parsed.type == "cpu":
        return _meminfo("MemTotal")
    return None


def available_memory() -> int | None:
    """Memory the CPU can still hand out now (``MemAvailable``); ``None``: unknown."""
    return _meminfo("MemAvailable")


def _meminfo(key: str) -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else None


def check_memory(estimate: MemoryEstimate, max_memory: str | int | None) -> None:
    """Raise :class:`ConfigError` (one line) when the estimate exceeds the limit.

    Args:
        estimate (MemoryEstimate): the run's estimate.
        max_memory (str or int, optional): the limit (``"16G"``); ``None``:
            the device's total memory (the run cannot fit above it);
            ``"none"``: no check.

    """
    if isinstance(max_memory, str) and max_memory.strip().lower() in ("none", "off"):
        return
    if max_memory is None:
        limit, what = device_memory(estimate.device), f"the {estimate.device} memory"
        if limit is None:
            return
    else:
        limit, what = parse_size(max_memory), "--max-memory"
    if estimate.peak <= limit:
        return
    largest = max(estimate.stages, key=estimate.stages.__getitem__)
    if estimate.minibatch:
        remedies = "a smaller --batch-size or --fanout, fewer --hidden-dim/--latent-dim"
    else:
        sampled = ", --objective sampled" if estimate.objective == "dense" else ""
        remedies = (
            f"fewer --hidden-dim/--latent-dim{sampled}, mini-batch training "
            "(--batch-size, e.g. 4096)"
        )
    raise ConfigError(
        f"this run needs about {format_size(estimate.peak)} but {what} is "
        f"{format_size(limit)} (largest part: {largest} "
        f"{format_size(estimate.stages[largest])}); use a machine with more memory, "
        f"{remedies}, or raise --max-memory"
    )
