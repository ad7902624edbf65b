"""Dense vs sampled objective: time per epoch and test AUC, to choose what ``auto`` picks.

``objective="auto"`` trains with the paper's dense objective (all N² pairs)
up to ``dense_max_nodes`` nodes. This trains GAE/VGAE with ``objective="dense"``
and ``objective="sampled"`` on the same graph, split and seeds (default 200
epochs) and prints, per graph and model: nodes, undirected edges E, N²/E,
the median epoch time of each objective (median over seeds of each run's
median epoch, validation included), their ratio, and the test AUC of each
(mean ± std over seeds, best-validation weights).

Graphs: social-like graphs from :func:`graphae.data.social_graph`
(``--sizes NODES:EDGES ...``; featureless, ``features=False``, unless
``--social-features WORDS`` gives them bag-of-words community features); the
defaults include the sizes of LastFM Asia (7,624 / 27,806) and a Facebook
page graph (22,470 / 171,002); with ``--data-root`` also Planetoid graphs
(``--planetoid``, with their features as in the paper's GAE/VGAE rows, or
``--planetoid-featureless`` for its GAE*/VGAE* rows).

Runs of the two objectives alternate (dense first on even seeds, sampled
first on odd ones) so that both share the machine's busy spells; one
thread by default, as two OpenMP threads on a shared 2-core machine stall
at every barrier when another process takes a core (the dense objective,
hundreds of small parallel kernels per epoch, took 3-6x longer).

    # the tables of the report (~30 min on a shared 2-core VM, one thread)
    python benchmarks/objective_choice.py --threads 1 --seeds 2 --large-seeds 1 \\
        --sizes 2000:4000 2000:15000 5000:10000 5000:37500 7624:27806 10000:20000 \\
        10000:75000 --data-root ../shared/datasets --planetoid Cora CiteSeer
    python benchmarks/objective_choice.py --threads 1 --seeds 1 --models gae --sizes 22470:171002
    python benchmarks/objective_choice.py --threads 1 --seeds 2 --sizes \\
        --data-root ../shared/datasets --planetoid Cora CiteSeer --planetoid-featureless
    python benchmarks/objective_choice.py --threads 1 --seeds 5 --sizes \\
        --data-root ../shared/datasets --planetoid Cora CiteSeer
    python benchmarks/objective_choice.py --threads 1 --seeds 2 --sizes 2000:4000 5000:37500 \\
        --social-features 1000
    # quick look (~1 min)
    python benchmarks/objective_choice.py --sizes 2000:4000 --seeds 1 --epochs 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch_geometric.data import Data

import graphae
from graphae import TrainConfig
from graphae.data import load_planetoid, social_graph
from graphae.tracking.base import Tracker

DEFAULT_SIZES = [
    "2000:4000",
    "2000:15000",
    "5000:10000",
    "5000:37500",
    "7624:27806",  # LastFM Asia
    "10000:20000",
    "10000:75000",
    "20000:40000",
    "22470:171002",  # Facebook page-page
]


class EpochClock(Tracker):
    """Records the time of every per-epoch ``log_metrics`` call (one per epoch)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def start_run(self, run_dir: object) -> None:
        """Start timing (the first epoch is measured from here)."""
        self.stamps = [time.perf_counter()]

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Stamp the end of an epoch (the final test metrics have no ``train/`` entries)."""
        if any(key.startswith("train/") for key in metrics):
            self.stamps.append(time.perf_counter())

    def epoch_ms(self) -> list[float]:
        """Milliseconds between consecutive epochs."""
        return [1000 * (b - a) for a, b in zip(self.stamps, self.stamps[1:], strict=False)]


@dataclass
class Graph:
    """A graph to compare on, with whether its features are used."""

    label: str
    data: Data
    features: bool

    @property
    def num_nodes(self) -> int:
        """Number of nodes N."""
        return int(self.data.num_nodes)

    @property
    def num_edges(self) -> int:
        """Undirected edges E (``edge_index`` holds both directions)."""
        return int(self.data.edge_index.shape[1]) // 2


@dataclass
class Cell:
    """The runs of one graph, model and objective."""

    epoch_ms: list[float] = field(default_factory=list)  # median epoch of each run
    mean_ms: list[float] = field(default_factory=list)  # train_seconds / epochs of each run
    auc: list[float] = field(default_factory=list)


def parse_size(spec: str) -> tuple[int, int]:
    """``"NODES:EDGES"`` -> ``(nodes, edges)``."""
    nodes, _, edges = spec.partition(":")
    return int(nodes), int(edges)


def load_graphs(args: argparse.Namespace) -> list[Graph]:
    """The social-like graphs of ``--sizes``, then the Planetoid graphs of ``--planetoid``."""
    graphs = []
    for spec in args.sizes:
        nodes, edges = parse_size(spec)
        words = args.social_features
        data = social_graph(
            nodes, edges, num_features=words, sparse_features=True, seed=args.graph_seed
        )
        label = f"social {nodes // 1000}k/{2 * edges / nodes:.1f}" + (
            f" +{words}w" if words else ""
        )
        graphs.append(Graph(label, data, words > 0))
    if args.data_root:
        for name in args.planetoid:
            data = load_planetoid(name, args.data_root)
            graphs.append(Graph(name, data, not args.planetoid_featureless))
    return graphs


def run(graph: Graph, model: str, objective: str, seed: int, epochs: int) -> dict[str, Any]:
    """One training run: its median and mean epoch (ms) and test AUC."""
    clock = EpochClock()
    config = TrainConfig(
        model=model,
        dataset=graph.label,
        features=graph.features,
        objective=objective,
        epochs=epochs,
        seed=seed,
        quiet=True,
        figures=False,
    )
    result = graphae.train(config, data=graph.data, trackers=[clock], save=False)
    return {
        "graph": graph.label,
        "model": model,
        "objective": result.objective,
        "seed": seed,
        "median_ms": statistics.median(clock.epoch_ms()),
        "mean_ms": 1000 * result.metrics["train_seconds"] / epochs,
        "auc": result.metrics["test"]["auc"],
    }


def mean_std(values: list[float], scale: float = 100.0) -> str:
    """``mean ± std`` (``mean`` alone for one value), scaled (AUC in %)."""
    mean = scale * statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {scale * statistics.stdev(values):.1f}"


def table_row(graph: Graph, model: str, dense: Cell, sampled: Cell) -> str:
    """One markdown row of the table."""
    n, e = graph.num_nodes, graph.num_edges
    dense_ms, sampled_ms = statistics.median(dense.epoch_ms), statistics.median(sampled.epoch_ms)
    label = model.upper() + ("" if graph.features else "*")
    cells = [
        graph.label,
        f"{n:,}",
        f"{e:,}",
        f"{n * n / e:,.0f}",
        label,
        str(len(dense.auc)),
        f"{dense_ms:.1f}",
        f"{sampled_ms:.1f}",
        f"{dense_ms / sampled_ms:.1f}x",
        mean_std(dense.auc),
        mean_std(sampled.auc),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| graph | nodes | edges | N²/E | model | seeds | dense ms/epoch | sampled ms/epoch"
    " | dense/sampled | dense test AUC | sampled test AUC |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=DEFAULT_SIZES, help="NODES:EDGES")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..k-1 per graph")
    parser.add_argument("--large-seeds", type=int, default=None, help="seeds for large graphs")
    parser.add_argument("--large-nodes", type=int, default=6000, help="'large': more nodes")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--models", nargs="+", default=["gae", "vgae"])
    parser.add_argument("--data-root", default=None, help="adds the --planetoid graphs")
    parser.add_argument("--planetoid", nargs="*", default=["Cora", "CiteSeer", "PubMed"])
    parser.add_argument(
        "--planetoid-featureless", action="store_true", help="identity features (GAE*, VGAE*)"
    )
    parser.add_argument("--graph-seed", type=int, default=0, help="seed of the social graphs")
    parser.add_argument(
        "--social-features", type=int, default=0, help="bag-of-words width (0: featureless)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default)")
    parser.add_argument("--json", default=None, help="also write every run's numbers here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.epochs} epochs")

    graphs = load_graphs(args)
    warm = Graph("warm-up", social_graph(500, 1500, seed=1), False)
    for objective in ("dense", "sampled"):  # first-call costs stay out of the table
        run(warm, args.models[0], objective, seed=0, epochs=3)

    records, rows = [], []
    for graph in graphs:
        large = graph.num_nodes > args.large_nodes and args.large_seeds is not None
        seeds = args.large_seeds if large else args.seeds
        for model in args.models:
            cells = {"dense": Cell(), "sampled": Cell()}
            for seed in range(seeds):
                order = ("dense", "sampled") if seed % 2 == 0 else ("sampled", "dense")
                for objective in order:
                    record = run(graph, model, objective, seed, args.epochs)
                    records.append(record)
                    cell = cells[objective]
                    cell.epoch_ms.append(record["median_ms"])
                    cell.mean_ms.append(record["mean_ms"])
                    cell.auc.append(record["auc"])
                    print(json.dumps(record), file=sys.stderr, flush=True)
            rows.append(table_row(graph, model, cells["dense"], cells["sampled"]))
            print(rows[-1], flush=True)
    print("\n" + HEADER + "\n" + "\n".join(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
