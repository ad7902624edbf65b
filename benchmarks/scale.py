"""Scale: GAE epochs, embedding, scoring and peak memory on generated graphs up to citation2 size.

Each size runs in its own process (so the peak resident memory is that
size's): a social-like graph from :func:`graphae.data.social_graph` (~10
edges per node, 128 dense float32 features), then ``train(model="gae",
objective="sampled")`` for a few epochs with the default 85/5/10 split, then
a timed full-graph embedding and the scoring (logits + AUC/AP) of 100,000
held-out pairs. Printed per size: generation time, set-up (split, Â,
objective), seconds per epoch (with its validation), embed and score times,
peak RSS of the whole process and of training alone (the kernel's peak
counter is reset after generation), and the memory estimate of
:mod:`graphae.memory` for comparison.

Usage::

    .venv/bin/python benchmarks/scale.py                      # 100k, collab, 1M
    .venv/bin/python benchmarks/scale.py --sizes 2.9M --threads 2 --epochs 3

Sizes: ``100k`` (1M edges), ``collab`` (ogbl-collab's 235,868 nodes,
1,285,465 edges), ``1M`` (10M edges), ``2.9M`` (ogbl-citation2's 2,927,963
nodes, 30,387,995 edges), or ``NODES:EDGES``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SIZES = {
    "100k": (100_000, 1_000_000),
    "collab": (235_868, 1_285_465),
    "1M": (1_000_000, 10_000_000),
    "2.9M": (2_927_963, 30_387_995),
}
SCORED_PAIRS = 100_000


def _status(key: str) -> int:
    """A ``/proc/self/status`` memory line (``VmHWM``: peak RSS, ``VmRSS``) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (``VmHWM``) to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run_one(nodes: int, edges: int, features: int, epochs: int, threads: int) -> dict:
    """Everything for one size, in this process; returns the figures."""
    import torch

    torch.set_num_threads(threads)
    from graphae import TrainConfig, train
    from graphae.data import social_graph
    from graphae.data.graph import gcn_adjacency, prepare_features
    from graphae.evaluation.link_prediction import link_metrics
    from graphae.memory import estimate_run

    out: dict = {"nodes": nodes, "edges": edges, "features": features, "threads": threads}
    start = time.perf_counter()
    data = social_graph(nodes, edges, num_features=features, seed=0)
    out["generate_s"] = time.perf_counter() - start
    out["generate_peak"] = _status("VmHWM")
    out["peak_reset"] = _reset_peak()
    _progress(f"generated in {out['generate_s']:.1f} s, {out['generate_peak'] / 2**30:.2f} GiB")
    config = TrainConfig(model="gae", objective="sampled", epochs=epochs, max_memory="none")
    start = time.perf_counter()
    result = train(config, data=data, save=False, figures=False, quiet=True)
    out["train_call_s"] = time.perf_counter() - start
    metrics = result.metrics
    out["phases"] = metrics["phase_seconds"]
    out["epoch_s"] = metrics["train_seconds"] / epochs
    out["test_auc"] = metrics["test"]["auc"]
    out["train_peak"] = _status("VmHWM")
    peak = out["train_peak"] / 2**30
    _progress(f"trained: {out['phases']}, {out['epoch_s']:.1f} s/epoch, peak {peak:.2f} GiB")
    estimate = estimate_run(result.config, data, result.split, "sampled")
    out["estimate"] = estimate.peak
    out["estimate_stages"] = estimate.stages

    model, split = result.model, result.split
    adj = gcn_adjacency(split.train_edge_index(), nodes)
    x = prepare_features(data.x)
    start = time.perf_counter()
    z = model.embed(x, adj)
    out["embed_s"] = time.perf_counter() - start
    half = SCORED_PAIRS // 2
    pos, neg = split.test_pos[:, :half], split.test_neg[:, :half]
    start = time.perf_counter()
    scored = link_metrics(model.decode, z, pos, neg)
    out["score_s"] = time.perf_counter() - start
    out["scored_auc"] = scored["auc"]
    out["peak"] = _status("VmHWM")
    return out


def _progress(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _size(text: str) -> tuple[int, int]:
    if text in SIZES:
        return SIZES[text]
    nodes, _, edges = text.partition(":")
    return int(float(nodes)), int(float(edges))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,collab,1M", help="comma-separated sizes")
    parser.add_argument("--features", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child: NODES:EDGES
    args = parser.parse_args()
    if args.one:
        nodes, edges = _size(args.one)
        print(json.dumps(run_one(nodes, edges, args.features, args.epochs, args.threads)))
        return
    gib = 2**30
    print(
        f"GAE, sampled objective, {args.features} features, {args.epochs} epochs, "
        f"{args.threads} thread(s); times in s, memory in GiB"
    )
    header = (
        "| nodes | edges | generate | set-up | epoch | embed | score 100k | test AUC "
        "| peak RSS (training) | estimate |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1), flush=True)
    for name in args.sizes.split(","):
        nodes, edges = _size(name.strip())
        command = [sys.executable, __file__, "--one", f"{nodes}:{edges}"]
        command += ["--features", str(args.features), "--epochs", str(args.epochs)]
        command += ["--threads", str(args.threads)]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        # the child's progress and errors go straight to stderr
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, check=False)
        if done.returncode != 0:
            print(f"| {nodes:,} | {edges:,} | failed (exit {done.returncode}) |")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        setup = r["phases"].get("data", 0) + r["phases"].get("setup", 0)
        print(
            f"| {nodes:,} | {edges:,} | {r['generate_s']:.1f} | {setup:.1f} | "
            f"{r['epoch_s']:.1f} | {r['embed_s']:.2f} | {r['score_s']:.2f} | "
            f"{100 * r['test_auc']:.2f} | {r['peak'] / gib:.2f} ({r['train_peak'] / gib:.2f}) | "
            f"{r['estimate'] / gib:.2f} |",
            flush=True,
        )
        stages = ", ".join(f"{k} {v / gib:.2f}" for k, v in r["estimate_stages"].items())
        print(f"  estimate by stage (GiB): {stages}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
