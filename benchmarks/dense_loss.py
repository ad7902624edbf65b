"""Time and peak memory of one training step with the paper's dense objective.

graphae computes the full-adjacency weighted cross-entropy exactly without
N x N tensors (see graphae/losses.py). This prints, per data set, the median
time of a full training step (encode + loss + backward + Adam) and the peak
resident memory of the process.

    python benchmarks/dense_loss.py --data-root ../shared/datasets
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch

from graphae.data import gcn_adjacency, load_planetoid, prepare_features, split_edges
from graphae.nn import build_model
from graphae.training import DenseObjective
from graphae.training.trainer import make_adam


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["Cora", "CiteSeer", "PubMed"])
    parser.add_argument("--model", default="vgae")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| Dataset | N | ms/step (median) | peak RSS MiB |\n|---|---|---|---|")
    for name in args.datasets:
        data = load_planetoid(name, args.data_root)
        split = split_edges(data.edge_index, data.num_nodes, seed=0)
        edges = split.train_edge_index()
        adj = gcn_adjacency(edges, data.num_nodes)
        x = prepare_features(data.x)
        torch.manual_seed(0)
        model = build_model(args.model, x.shape[1])
        objective = DenseObjective(edges, data.num_nodes)
        optimizer = make_adam(model, lr=0.01)
        times = []
        for _ in range(args.steps + 1):
            start = time.perf_counter()
            optimizer.zero_grad()
            objective(model.encode(x, adj))["loss"].backward()
            optimizer.step()
            times.append(time.perf_counter() - start)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        median = 1000 * statistics.median(times[1:])
        print(f"| {name} | {data.num_nodes} | {median:.0f} | {peak:.0f} |", flush=True)


if __name__ == "__main__":
    main()
