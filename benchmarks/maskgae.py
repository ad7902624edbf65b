"""MaskGAE on our protocol, next to the MaskGAE paper's numbers (issue #17).

Li et al., "What's Behind the Mask: Understanding Masked Graph Modeling for
Graph Autoencoders" (KDD 2023). Each run is ``graphae train --model MODEL``
in its own subprocess with the model's documented defaults on the data set
(:mod:`graphae.presets`), on seed ``s`` = 0..N-1: its own 85/5/10 split,
model selection on validation, test scored once on the training graph.
Prints a Markdown table of mean ± std (in %) of test AUC / AP, Hits@50 and
MRR (OGB's definitions), the median seconds of training per run (wall and
CPU, ``train_seconds`` / ``train_cpu_seconds`` of ``metrics.json``) and the
paper's AUC / AP for path and edge masking beside ours; ``--out`` receives the
table and ``runs.json`` (every run's metrics).

    python benchmarks/maskgae.py --datasets CiteSeer --seeds 10 --threads 1 \\
        --data-root ../shared/datasets --out results/maskgae/table.md
    python benchmarks/maskgae.py --datasets Cora --seeds 3 --models maskgae gae   # quick look
    python benchmarks/maskgae.py --datasets CiteSeer --flags '--ensemble 3' --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from graphae.artifacts.atomic import atomic_write

#: MaskGAE (KDD 2023), test AUC / AP in %: (path masking, edge masking).
PAPER: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "Cora": ((96.45, 95.95), (96.42, 95.91)),
    "CiteSeer": ((97.87, 98.09), (98.02, 98.18)),
    "PubMed": ((98.84, 98.78), (98.75, 98.66)),
}

HEADER = (
    "| Dataset | Model | Test AUC | Test AP | Hits@50 | MRR | s/run wall | s/run CPU "
    "| MaskGAE path AUC / AP | MaskGAE edge AUC / AP |"
)
RULE = "|---|---|---|---|---|---|---|---|---|---|"


def mean_std(values: list[float]) -> str:
    """``mean ± std`` of fractions, in percent (std 0 for a single value).

    Args:
        values (list[float]): one metric per seed, in [0, 1].

    Returns:
        str: e.g. ``"97.61 ± 0.45"``.

    """
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.2f} ± {100 * std:.2f}"


def run_once(
    model: str,
    dataset: str,
    seed: int,
    threads: int,
    data_root: str | None,
    runs_dir: Path,
    flags: list[str],
) -> dict[str, Any]:
    """Train one model with ``graphae train`` in a subprocess and read its metrics.

    Args:
        model (str): ``maskgae``, ``gae`` or ``vgae``.
        dataset (str): a Planetoid graph.
        seed (int): the run's seed (split and initialisation).
        threads (int): torch threads of the run.
        data_root (str, optional): folder with ``Planetoid/<Name>/raw``.
        runs_dir (Path): parent of the run directory.
        flags (list[str]): extra ``graphae train`` options.

    Returns:
        dict: the run's ``metrics.json``.

    Raises:
        RuntimeError: the run failed (its last output lines in the message).

    """
    name = f"{model}_{dataset}_s{seed}"
    command = [
        sys.executable,
        "-m",
        "graphae",
        "train",
        "--model",
        model,
        "--dataset",
        dataset,
        "--seed",
        str(seed),
        "--threads",
        str(threads),
        "--quiet",
        "--no-figures",
        "--checkpoint-every",
        "0",
        "--runs-dir",
        str(runs_dir),
        "--name",
        name,
        *flags,
    ]
    if data_root:
        command += ["--data-root", data_root]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-5:])
        raise RuntimeError(f"{shlex.join(command)} failed ({done.returncode}):\n{tail}")
    return json.loads((runs_dir / name / "metrics.json").read_text())


def table_row(dataset: str, model: str, runs: list[dict[str, Any]]) -> str:
    """One Markdown row: our mean ± std over seeds beside the paper's numbers.

    Args:
        dataset (str): the graph.
        model (str): the model.
        runs (list[dict]): the seeds' ``metrics.json``.

    Returns:
        str: the row.

    """
    test = [run["test"] for run in runs]
    wall = statistics.median(run["train_seconds"] for run in runs)
    cpu = statistics.median(run.get("train_cpu_seconds", float("nan")) for run in runs)
    path, edge = PAPER.get(dataset, ((float("nan"),) * 2, (float("nan"),) * 2))
    return (
        f"| {dataset} | {model} | {mean_std([t['auc'] for t in test])} "
        f"| {mean_std([t['ap'] for t in test])} | {mean_std([t['hits@50'] for t in test])} "
        f"| {mean_std([t['mrr'] for t in test])} | {wall:.1f} | {cpu:.1f} "
        f"| {path[0]:.2f} / {path[1]:.2f} | {edge[0]:.2f} / {edge[1]:.2f} |"
    )


def member_rows(dataset: str, model: str, runs: list[dict[str, Any]]) -> list[str]:
    """Rows for the ensembles of the first k members, k = 1 .. K-1, of ``--ensemble K`` runs.

    With ``--snapshots``, first a row for member 0's best epoch alone (the
    single model without snapshots: ``best_epoch_test``, the same training).

    An ensemble's members 0..k are, number for number, the ensemble of k + 1
    with the same seed (``metrics.json``'s ``members``: ``test`` for member 0,
    ``ensemble_test`` after); its time is theirs. Hits@50 and MRR are not kept
    per member (``–``).
    """
    rows = []
    path, edge = PAPER.get(dataset, ((float("nan"),) * 2, (float("nan"),) * 2))
    if runs and "best_epoch_test" in runs[0]:  # --snapshots: member 0's best epoch alone
        scores = [run["best_epoch_test"] for run in runs]
        first = [run.get("members", [run])[0] for run in runs]
        wall = statistics.median(m["train_seconds"] for m in first)
        cpu = statistics.median(m["train_cpu_seconds"] for m in first)
        rows.append(
            f"| {dataset} | {model}, its best epoch alone (no snapshots, one member) | "
            f"{mean_std([s['auc'] for s in scores])} | {mean_std([s['ap'] for s in scores])} "
            f"| – | – | {wall:.1f} | {cpu:.1f} "
            f"| {path[0]:.2f} / {path[1]:.2f} | {edge[0]:.2f} / {edge[1]:.2f} |"
        )
    if not runs or "members" not in runs[0]:
        return rows
    for k in range(len(runs[0]["members"]) - 1):
        scores = [run["members"][k].get("ensemble_test", run["members"][k]["test"]) for run in runs]
        members = [run["members"][: k + 1] for run in runs]
        wall = statistics.median(sum(m["train_seconds"] for m in ms) for ms in members)
        cpu = statistics.median(sum(m["train_cpu_seconds"] for m in ms) for ms in members)
        rows.append(
            f"| {dataset} | {model}, first {k + 1} member(s) | "
            f"{mean_std([s['auc'] for s in scores])} | {mean_std([s['ap'] for s in scores])} "
            f"| – | – | {wall:.1f} | {cpu:.1f} "
            f"| {path[0]:.2f} / {path[1]:.2f} | {edge[0]:.2f} / {edge[1]:.2f} |"
        )
    return rows


def main() -> None:
    """Run the models on the data sets over seeds and print (and write) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["Cora", "CiteSeer", "PubMed"])
    parser.add_argument("--models", nargs="+", default=["maskgae"])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default: 10)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads a run (default: 1)")
    parser.add_argument("--data-root", default=None, help="default: $GRAPHAE_DATA")
    parser.add_argument(
        "--flags", default="", help="extra graphae train options, e.g. '--mask edge'"
    )
    parser.add_argument("--out", default=None, help="write the table here (and runs.json beside)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="seeds run at once, each in its own process (default: 1); the numbers do not "
        "change, the CPU seconds hardly (wall seconds grow on a busy machine)",
    )
    args = parser.parse_args()
    if args.seeds < 1 or args.threads < 1 or args.jobs < 1:
        parser.error("--seeds, --threads and --jobs must be at least 1")

    flags = shlex.split(args.flags)
    print(HEADER + "\n" + RULE, flush=True)
    rows: list[str] = []
    every: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="graphae_maskgae_") as tmp:
        for dataset in args.datasets:
            for model in args.models:

                def one(seed: int, model: str = model, dataset: str = dataset) -> dict[str, Any]:
                    return run_once(
                        model, dataset, seed, args.threads, args.data_root, Path(tmp), flags
                    )

                with ThreadPoolExecutor(args.jobs) as pool:  # each run is a subprocess
                    runs = list(pool.map(one, range(args.seeds)))
                every += runs
                count = len(runs[0].get("members", [])) or 1
                label = f"{model}, {count} members" if count > 1 else model
                for row in [*member_rows(dataset, model, runs), table_row(dataset, label, runs)]:
                    rows.append(row)
                    print(row, flush=True)
    footer = (
        f"\n{args.seeds} seeds (0..{args.seeds - 1}), each its own 85/5/10 split; "
        f"{args.threads} thread(s) a run, {args.jobs} run(s) at once; "
        f"extra flags: {args.flags or 'none'}"
    )
    print(footer)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(out, "w") as handle:
            handle.write("\n".join([HEADER, RULE, *rows]) + "\n" + footer + "\n")
        with atomic_write(out.with_name(out.stem + "_runs.json"), "w") as handle:
            json.dump(every, handle, indent=1)


if __name__ == "__main__":
    main()
