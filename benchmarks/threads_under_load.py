"""The quick start with 1 and 2 torch threads, on a quiet machine and beside a busy process.

Runs ``graphae train --model vgae --dataset Cora --threads T`` (each in a new
process, as a user would) alternately for each thread count, first alone, then
while one other process spins on a core (a ``while True: pass`` loop, the
"competing CPU load"), and prints the training seconds the command reports,
the wall time of the whole command and the test AUC::

    python benchmarks/threads_under_load.py --data-root ../shared/datasets
    python benchmarks/threads_under_load.py --data-root ../shared/datasets --threads 1 2 --repeats 5
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(threads: int, data_root: str, runs: Path) -> tuple[float, float, str]:
    command = [sys.executable, "-m", "graphae", "train", "--model", "vgae", "--dataset", "Cora"]
    command += ["--data-root", data_root, "--runs-dir", str(runs), "--quiet", "--no-figures"]
    command += ["--threads", str(threads)]
    started = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    seconds = float(re.search(r"seed \d+, ([0-9.]+) s\)", out).group(1))
    auc = re.search(r"test AUC ([0-9.]+)", out).group(1)
    return seconds, wall, auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[tuple[str, int], list[tuple[float, float, str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for load in ("quiet", "busy"):
            spinner = None
            if load == "busy":
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                for _ in range(args.repeats):
                    for threads in args.threads:
                        result = run_once(threads, args.data_root, Path(tmp) / "runs")
                        results.setdefault((load, threads), []).append(result)
            finally:
                if spinner is not None:
                    spinner.kill()
    print("| machine | threads | training s (median, range) | command wall s (median) | test AUC |")
    print("|---|---|---|---|---|")
    for (load, threads), rows in results.items():
        train = [r[0] for r in rows]
        wall = statistics.median(r[1] for r in rows)
        aucs = ", ".join(sorted({r[2] for r in rows}))
        print(
            f"| {load} | {threads} | {statistics.median(train):.1f} ({min(train):.1f}–"
            f"{max(train):.1f}) | {wall:.1f} | {aucs} |"
        )


if __name__ == "__main__":
    main()
