"""Wall time of ``graphae train`` from process start to results written, and where it goes.

Runs the command line as a user does (a fresh Python process per run, the
installed ``graphae`` entry point), measures its wall time, and splits it
with the run's own ``metrics.json["phase_seconds"]`` (data, setup, train,
test, pictures, save) and the cost of starting Python and importing the
pipeline (measured in separate processes). Median over ``--repeats`` runs.

    python benchmarks/end_to_end.py --data-root ../shared/datasets
    python benchmarks/end_to_end.py --data-root ../shared/datasets -- --model gae --no-figures
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(command: list[str], env: dict[str, str]) -> float:
    """Seconds for ``command`` to run to completion."""
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("train_args", nargs="*", help="extra arguments for graphae train")
    args = parser.parse_args()

    graphae = str(Path(sys.executable).with_name("graphae"))
    env = dict(os.environ)
    if args.data_root:
        env["GRAPHAE_DATA"] = args.data_root
    runs = tempfile.mkdtemp(prefix="graphae-e2e-")
    base = [graphae, "train", "--model", "vgae", "--dataset", "Cora", "--quiet"]
    command = [*base, "--runs-dir", runs, *args.train_args]
    try:
        wall(command, env)  # warm the data cache and the OS file cache
        walls, phases = [], []
        for i in range(args.repeats):
            walls.append(wall([*command, "--name", f"run{i}"], env))
            metrics = json.loads((Path(runs) / f"run{i}" / "metrics.json").read_text())
            phases.append({**metrics["phase_seconds"], "in_pipeline": metrics["total_seconds"]})
        python = statistics.median(wall([sys.executable, "-c", "pass"], env) for _ in range(5))
        imports = statistics.median(
            wall([sys.executable, "-c", "import graphae.cli, graphae.pipeline"], env)
            for _ in range(5)
        )
    finally:
        shutil.rmtree(runs, ignore_errors=True)

    total = statistics.median(walls)
    median = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
    rows = [
        ("Python start", python),
        ("imports (torch, PyG, graphae)", imports - python),
        *((f"run: {k}", v) for k, v in median.items() if k != "in_pipeline"),
    ]
    rows.append(
        ("exit, argument parsing, TensorBoard close", total - imports - median["in_pipeline"])
    )
    shown = [*base[1:], "--runs-dir", "TMP", *args.train_args]
    print(f"`graphae {' '.join(shown)}`: median of {args.repeats} runs")
    print("| phase | seconds | share |")
    print("|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {100 * seconds / total:.0f}% |")
    print(f"| **total (process start to results written)** | **{total:.2f}** | 100% |")


if __name__ == "__main__":
    main()
