"""Your own graph at scale: CSV in, trained run, top-k partners and embeddings out.

For each size, a social-like graph (:func:`graphae.data.social_graph`: planted
communities, heavy-tailed degrees, a few isolated nodes) is written as a CSV
edge list with string ids (``u17``), then timed through what a user runs:

* ``load``: reading the CSV into a graph (:func:`graphae.data.files.load_graph`:
  parse, map ids, symmetrise, deduplicate), what ``graphae train --edges`` does
  before training;
* ``train``: ``graphae train`` (featureless GAE, the sampled objective,
  ``--epochs`` epochs), seconds per epoch and the whole command;
* ``load run``: :func:`graphae.inference.load_run` of the run folder;
* ``top 10``: ``predict --node ID --top 10`` after loading (median over 20
  random nodes), ranking every node in blocks;
* ``embed csv`` / ``embed npy``: ``graphae embed RUN --out`` of every node.

Peak resident memory of the process is printed at the end. The bar of issue
15: a 100k-node / 1M-edge CSV loads in ≤ 30 s, top 10 answers in ≤ 1 s after
loading, embeddings of 1M nodes are written in ≤ 30 s::

    python benchmarks/own_graph.py                       # 100k/1M and 1M/3M, ~5 min
    python benchmarks/own_graph.py --sizes 100000:1000000 --epochs 20
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from graphae import TrainConfig, train
from graphae.data import social_graph
from graphae.data.files import GraphFiles, load_graph
from graphae.inference import load_run, write_embeddings


def write_csv(path: Path, edge_index: torch.Tensor) -> None:
    src, dst = edge_index
    keep = src < dst
    pairs = np.stack([src[keep].numpy(), dst[keep].numpy()], axis=1)
    np.savetxt(path, pairs, fmt="u%d", delimiter=",", header="source,target", comments="")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def bench(nodes: int, edges: int, epochs: int, folder: Path) -> dict[str, float]:
    started = time.perf_counter()
    graph = social_graph(nodes, edges, isolated_fraction=0.01, seed=0)
    csv = folder / f"social_{nodes}.csv"
    write_csv(csv, graph.edge_index)
    prep = time.perf_counter() - started
    del graph

    t = time.perf_counter()
    data = load_graph(GraphFiles(str(csv)))
    load = time.perf_counter() - t

    config = TrainConfig(
        model="gae",
        epochs=epochs,
        objective="sampled",
        quiet=True,
        runs_dir=str(folder / "runs"),
        edges=str(csv),
    )
    t = time.perf_counter()
    result = train(config, data=data)
    train_total = time.perf_counter() - t
    per_epoch = result.metrics["train_seconds"] / epochs
    auc = result.metrics["test"]["auc"]
    run_dir = result.run_dir
    del data, result

    t = time.perf_counter()
    run = load_run(run_dir)
    load_run_s = time.perf_counter() - t
    rng = np.random.default_rng(0)
    ids = [run.node_ids.ids[i] for i in rng.choice(len(run.node_ids), 21, replace=False)]
    run.top_k(ids[0], k=10)  # warm-up
    times = []
    for node in ids[1:]:
        t = time.perf_counter()
        run.top_k(node, k=10)
        times.append(time.perf_counter() - t)
    node_ids, z = run.embed()
    out = {}
    for ext in ("csv", "npy"):
        t = time.perf_counter()
        write_embeddings(folder / f"embeddings.{ext}", node_ids, z, force=True)
        out[ext] = time.perf_counter() - t
    return {
        "nodes": nodes,
        "edges": edges,
        "generate+write": prep,
        "load": load,
        "epoch": per_epoch,
        "train": train_total,
        "auc": auc,
        "load run": load_run_s,
        "top10": statistics.median(times),
        "embed csv": out["csv"],
        "embed npy": out["npy"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["100000:1000000", "1000000:3000000"], help="NODES:EDGES"
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            nodes, edges = (int(v) for v in size.split(":"))
            rows.append(bench(nodes, edges, args.epochs, Path(tmp)))
            print(f"done {size}: {rows[-1]}", flush=True)
    print(f"\ntorch threads: {torch.get_num_threads()}, epochs: {args.epochs}")
    print(
        "| nodes | edges | load CSV s | train s/epoch | train s (all) | test AUC | load run s "
        "| top 10 s | embed .csv s | embed .npy s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['nodes']:,} | {r['edges']:,} | {r['load']:.1f} | {r['epoch']:.2f} "
            f"| {r['train']:.1f} | {100 * r['auc']:.1f} | {r['load run']:.2f} "
            f"| {r['top10']:.3f} | {r['embed csv']:.1f} | {r['embed npy']:.2f} |"
        )
    print(f"peak RSS of the process: {peak_rss_gib():.1f} GiB")


if __name__ == "__main__":
    main()
