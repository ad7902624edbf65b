"""graphae's training epoch under two thread counts, alternating in blocks of epochs.

Two identical training loops (the example's model of ``pyg_example_speed.py``:
sampled objective, biased layers, features scaled to sum 1; a training step
and a validation scoring per epoch) run in one process, one with each thread
count, in alternating blocks of ``--block`` epochs, so that both see the same
quiet and busy moments of the machine. Printed: the median epoch time of each
count per group of blocks (time runs down the table), and overall.

    python benchmarks/thread_blocks.py --data-root ../shared/datasets
    python benchmarks/thread_blocks.py --model gae --threads 1 2 --blocks 100
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from graphae.data import gcn_adjacency, load_planetoid, prepare_features
from graphae.data.link_split import split_edges
from graphae.evaluation import link_metrics
from graphae.nn import build_model
from graphae.training.objectives import SampledObjective
from graphae.training.trainer import make_adam


def training_epoch(data: Any, model_name: str, seed: int = 0) -> Callable[[], None]:
    """One epoch of graphae's loop (the trainer's work, without its trackers)."""
    n = int(data.num_nodes)
    split = split_edges(data.edge_index, n, seed=seed)
    edges = split.train_edge_index()
    x = prepare_features(data.x, True, normalize=True)
    adj, val = gcn_adjacency(edges, n), split.pairs("val")
    torch.manual_seed(seed)
    model = build_model(model_name, x.shape[1], 32, 16, 0.0, True)
    objective = SampledObjective(edges, n, seed)
    optimizer = make_adam(model, 0.01)
    epochs = itertools.count(1)

    def epoch() -> None:
        optimizer.zero_grad(set_to_none=True)
        encoding = model.encode(x, adj)
        link_metrics(model.decode, encoding.mu.detach(), *val)
        parts = objective(encoding, next(epochs))
        parts["loss"].backward()
        optimizer.step()
        _ = {k: float(v.detach()) for k, v in parts.items()}  # as the trainer logs them

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="Cora")
    parser.add_argument("--model", choices=("gae", "vgae"), default="vgae")
    parser.add_argument("--threads", type=int, nargs=2, default=[1, 2])
    parser.add_argument("--blocks", type=int, default=200, help="blocks per thread count")
    parser.add_argument("--block", type=int, default=20, help="epochs per block")
    parser.add_argument("--groups", type=int, default=10, help="rows of the time table")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    data = load_planetoid(args.dataset, args.data_root)
    loops = {k: training_epoch(data, args.model) for k in args.threads}
    medians: dict[int, list[float]] = {k: [] for k in args.threads}
    before = torch.get_num_threads()
    try:
        for b in range(args.blocks):
            for k in args.threads if b % 2 == 0 else reversed(args.threads):
                torch.set_num_threads(k)
                times = []
                for _ in range(args.block):
                    start = time.perf_counter()
                    loops[k]()
                    times.append(time.perf_counter() - start)
                # the first epochs after a switch find the other loop's data in the caches
                medians[k].append(1000 * statistics.median(times[2:]))
    finally:
        torch.set_num_threads(before)
    a, b = args.threads
    print(f"{args.model.upper()} on {args.dataset}, median ms per epoch, blocks of {args.block}")
    print(f"| blocks | {a} thread(s) | {b} thread(s) |")
    print("|---|---|---|")
    size = max(1, args.blocks // args.groups)
    for g in range(0, args.blocks, size):
        row = [statistics.median(medians[k][g : g + size]) for k in args.threads]
        print(f"| {g + 1}–{min(g + size, args.blocks)} | {row[0]:.2f} | {row[1]:.2f} |")
    print(f"| all | {statistics.median(medians[a]):.2f} | {statistics.median(medians[b]):.2f} |")
    faster = sum(x < y for x, y in zip(medians[a], medians[b], strict=True))
    print(f"{a} thread(s) faster in {faster} of {args.blocks} paired blocks")


if __name__ == "__main__":
    main()
