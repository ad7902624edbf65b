"""Mini-batch against full-graph training: accuracy and time on Cora, memory on a big graph.

Two parts, each printing a table:

* ``cora``: GAE (Kipf & Welling's 2-layer GCN, 32 -> 16), a MaskGAE-style
  model (2-layer GCN 128 -> 128 with batch norm, MLP decoder, no mask) and
  MaskGAE with its defaults (directed mask 0.7, degree loss 0.003, 500
  epochs unless ``--epochs``) on Cora, full-graph (GAE: with the paper's
  dense and the sampled objective) against ``--batch-size`` mini-batches, a
  few seeds: test AUC (mean ± std) and training seconds (``--models``
  picks the models).
* ``scale``: a generated graph (``--dataset synthetic:nodes=...,edges=...,
  features=...``) with a wide encoder (3 layers x 256). The full-graph run
  is refused by ``--max-memory`` (its one-line message is printed); the same
  model trains in mini-batches under the same limit (Adam's learning rate
  ``--lr``, 0.001: the many steps of an epoch at the default 0.01 left the
  wide model near chance in a trial). Each run is a separate
  ``graphae train`` process (so its peak RSS is its own): seconds per epoch,
  peak RSS, the memory estimates and test AUC.

Usage::

    .venv/bin/python benchmarks/minibatch.py cora --data-root ../shared/datasets --seeds 3
    .venv/bin/python benchmarks/minibatch.py scale --nodes 200000 --edges 600000
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cora(
    data_root: str | None,
    seeds: int,
    epochs: int | None,
    batch_size: int,
    threads: int,
    chosen: tuple[str, ...] = ("gae", "maskgae-style", "maskgae"),
) -> None:
    """Full-graph and mini-batch runs on Cora; one row per setting.

    ``epochs``: ``None``: 200, MaskGAE's default 500 for ``maskgae``.
    """
    import torch

    torch.set_num_threads(threads)
    from graphae import train

    models = {  # --models key -> (row label, settings)
        "gae": ("GAE", {"model": "gae", "epochs": epochs or 200}),
        "maskgae-style": (
            "MaskGAE-style (2x128, BN, MLP dec.)",
            {"model": "maskgae", "mask": "none", "degree_weight": 0.0, "layers": 2},
        ),
        "maskgae": ("MaskGAE (defaults: directed mask 0.7, degree 0.003)", {"model": "maskgae"}),
    }
    models["maskgae-style"][1]["epochs"] = epochs or 200
    if epochs:
        models["maskgae"][1]["epochs"] = epochs
    ways = {
        "full graph": {},
        "full graph, --objective sampled": {"objective": "sampled"},
        f"mini-batch {batch_size}, fanout 10": {"batch_size": batch_size, "fanout": [10]},
    }
    print(f"Cora, seeds 0..{seeds - 1}, {threads} thread(s)")
    print("| model | epochs | training | objective | test AUC | train s |")
    print("|---|---|---|---|---|---|")
    for key in chosen:
        label, model = models[key]
        for way, settings in ways.items():
            if model["model"] == "maskgae" and "objective" in settings:
                continue  # the MLP decoder trains with the masked objective only
            aucs, seconds, objective, ran = [], [], "", 0
            for seed in range(seeds):
                result = train(
                    dataset="Cora",
                    data_root=data_root,
                    seed=seed,
                    save=False,
                    quiet=True,
                    **model,
                    **settings,
                )
                aucs.append(100 * result.metrics["test"]["auc"])
                seconds.append(result.metrics["train_seconds"])
                objective, ran = result.objective, result.metrics["epochs"]
            spread = statistics.stdev(aucs) if len(aucs) > 1 else 0.0
            print(
                f"| {label} | {ran} | {way} | {objective} | "
                f"{statistics.mean(aucs):.2f} ± {spread:.2f} "
                f"| {statistics.mean(seconds):.1f} |",
                flush=True,
            )


def scale(args: argparse.Namespace) -> None:
    """The full-graph refusal, then the mini-batch run, each in its own process."""
    graph = f"synthetic:nodes={args.nodes},edges={args.edges},features={args.features}"
    common = ["--dataset", graph, "--model", "gae", "--objective", "sampled", "--layers", "3"]
    common += ["--hidden-dim", str(args.width), "--latent-dim", str(args.width)]
    common += ["--epochs", str(args.epochs), "--max-memory", args.max_memory]
    common += ["--lr", str(args.lr), "--no-figures", "--threads", str(args.threads)]
    mini = ["--batch-size", str(args.batch_size), "--fanout", args.fanout]
    print(f"{graph}, GAE with 3 x {args.width} GCN layers, --max-memory {args.max_memory}")
    with tempfile.TemporaryDirectory() as runs:
        for name, extra in (("full", []), ("minibatch", mini)):
            argv = ["train", *common, *extra, "--runs-dir", runs, "--name", name]
            figures = _child(argv)
            print(f"\n## {name}: graphae {' '.join(argv[:-4])}")
            for line in figures["output"]:
                print("  " + line)
            if figures["code"] == 0:
                metrics = json.loads((Path(runs) / name / "metrics.json").read_text())
                per_epoch = metrics["train_seconds"] / args.epochs
                print(
                    f"  -> {per_epoch:.1f} s/epoch (with validation), peak RSS "
                    f"{figures['peak'] / 2**30:.2f} GiB, test AUC "
                    f"{100 * metrics['test']['auc']:.2f}, wall {figures['seconds']:.0f} s"
                )
            else:
                print(f"  -> refused (exit {figures['code']}) in {figures['seconds']:.1f} s")


def _child(argv: list[str]) -> dict:
    """``graphae ARGV`` in a fresh process: exit code, output lines, peak RSS, seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "graphae", *argv], capture_output=True, text=True, check=False
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # the largest child's
    output = (done.stdout + done.stderr).splitlines()
    lines = [line for line in output if line.strip() and not line.lstrip().startswith("view:")]
    return {
        "code": done.returncode,
        "output": lines[-12:],
        "peak": peak,
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    """Parse the arguments and run the chosen part."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("cora", "scale"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-root", default=None, help="cora: folder with Planetoid/Cora/raw")
    parser.add_argument("--seeds", type=int, default=3, help="cora: seeds 0..SEEDS-1")
    parser.add_argument(
        "--epochs", type=int, default=None, help="(cora: 200, MaskGAE's 500; scale: 1)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["gae", "maskgae-style", "maskgae"],
        choices=("gae", "maskgae-style", "maskgae"),
        help="cora: the models to run",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="(cora: 1024, scale: 4096)")
    parser.add_argument("--nodes", type=int, default=200_000, help="scale: nodes")
    parser.add_argument("--edges", type=int, default=600_000, help="scale: undirected edges")
    parser.add_argument("--features", type=int, default=16, help="scale: feature width")
    parser.add_argument("--width", type=int, default=256, help="scale: width of each layer")
    parser.add_argument("--fanout", default="2,2,2", help="scale: neighbours per hop")
    parser.add_argument("--max-memory", default="2.3G", help="scale: the limit of both runs")
    parser.add_argument("--lr", type=float, default=0.001, help="scale: Adam's learning rate")
    args = parser.parse_args()
    if args.part == "cora":
        cora(
            args.data_root,
            args.seeds,
            args.epochs,
            args.batch_size or 1024,
            args.threads,
            tuple(args.models),
        )
    else:
        args.epochs = args.epochs or 1
        args.batch_size = args.batch_size or 4096
        scale(args)


if __name__ == "__main__":
    main()
