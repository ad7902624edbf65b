"""Data-parallel training: time per epoch, test AUC and peak RSS per process, by rank count.

Trains the same generated graph with the sampled objective in one process
and under ``torchrun --nproc-per-node N`` (gloo, one thread per rank) and
prints a table. Each rank holds the whole graph and runs the encoder, so
memory per process stays about that of one process, and only the pair work
of the loss (its forward and backward) is divided between ranks.

    python benchmarks/distributed.py --nodes 100000 --edges 1000000 --ranks 1 2

Numbers on a machine with fewer free cores than ranks measure contention,
not scaling.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: runs a command and prints the largest peak RSS (KiB) among its descendants
MEASURE = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def run(ranks: int, graph: str, epochs: int, folder: Path) -> dict[str, float]:
    """Train once with ``ranks`` processes; time per epoch, test AUC, peak RSS."""
    name = f"ranks{ranks}"
    launcher = [sys.executable]
    if ranks > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}"]
    command = [
        *launcher,
        *("-m", "graphae", "train", "--dataset", graph, "--objective", "sampled"),
        *("--model", "gae", "--epochs", str(epochs), "--eval-every", str(epochs)),
        *("--threads", "1", "--quiet", "--no-figures", "--runs-dir", str(folder), "--name", name),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    metrics = json.loads((folder / name / "metrics.json").read_text())
    return {
        "epoch_s": metrics["train_seconds"] / epochs,
        "auc": metrics["test"]["auc"],
        "rss_gib": int(done.stdout.split()[-1]) / 2**20,
    }


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    graph = f"synthetic:nodes={args.nodes},edges={args.edges},features={args.features}"
    print(f"{graph}, GAE, sampled objective, {args.epochs} epochs, 1 thread per rank")
    print("| ranks | s / epoch | test AUC | peak RSS of the largest process (GiB) |")
    print("|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for ranks in args.ranks:
            row = run(ranks, graph, args.epochs, Path(folder))
            print(f"| {ranks} | {row['epoch_s']:.3f} | {row['auc']:.4f} | {row['rss_gib']:.2f} |")


if __name__ == "__main__":
    main()
