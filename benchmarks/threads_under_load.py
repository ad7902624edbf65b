"""The quick start by thread count and OpenMP wait policy, on a quiet machine and a busy one.

Runs ``graphae train --model vgae --dataset Cora --threads T`` (each in a new
process, as a user would) alternately for each setting, first alone, then
while ``--spinners`` other processes (default one) spin on the cores
(``while True: pass``, the "competing CPU load"), and prints the training
seconds the command reports, the wall time of the whole command and the test
AUC. Wait policies:

* ``passive``: graphae's default (``OMP_WAIT_POLICY=PASSIVE``: idle threads sleep);
* ``spin``: torch's default, OpenMP threads spin a while before sleeping
  (``GOMP_SPINCOUNT=300000``, libgomp's default, which graphae leaves alone);
* ``spin10k``, ``spin1k``: shorter spins (``GOMP_SPINCOUNT=10000`` / ``1000``).

::

    python benchmarks/threads_under_load.py --data-root ../shared/datasets
    python benchmarks/threads_under_load.py --data-root ../shared/datasets --repeats 5
    python benchmarks/threads_under_load.py --data-root ../shared/datasets --loads busy --spinners 3
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POLICIES = {
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin": {"GOMP_SPINCOUNT": "300000"},
    "spin10k": {"GOMP_SPINCOUNT": "10000"},
    "spin1k": {"GOMP_SPINCOUNT": "1000"},
}


def run_once(threads: int, policy: str, data_root: str, runs: Path) -> tuple[float, float, str]:
    """One quick-start run: (training seconds it reports, command wall seconds, test AUC)."""
    command = [sys.executable, "-m", "graphae", "train", "--model", "vgae", "--dataset", "Cora"]
    command += ["--data-root", data_root, "--runs-dir", str(runs), "--quiet", "--no-figures"]
    command += ["--threads", str(threads), "--name", f"t{threads}_{policy}_{time.time_ns()}"]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(POLICIES[policy])
    started = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    wall = time.perf_counter() - started
    seconds = float(re.search(r"seed \d+, ([0-9.]+) s\)", out).group(1))
    auc = re.search(r"test AUC ([0-9.]+)", out).group(1)
    return seconds, wall, auc


def main() -> None:
    """Run every (threads, policy) setting quiet and busy, interleaved, and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--policies", nargs="+", choices=sorted(POLICIES), default=["passive", "spin"]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spinners", type=int, default=1, help="busy processes in the busy phase")
    parser.add_argument("--loads", nargs="+", choices=["quiet", "busy"], default=["quiet", "busy"])
    args = parser.parse_args()
    settings = [(t, p) for t in args.threads for p in args.policies if t > 1 or p == "passive"]
    results: dict[tuple[str, int, str], list[tuple[float, float, str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for load in args.loads:
            spinners = []
            if load == "busy":
                spin = [sys.executable, "-c", "while True: pass"]
                spinners = [subprocess.Popen(spin) for _ in range(args.spinners)]
            try:
                for _ in range(args.repeats):
                    for threads, policy in settings:
                        result = run_once(threads, policy, args.data_root, Path(tmp) / "runs")
                        results.setdefault((load, threads, policy), []).append(result)
            finally:
                for spinner in spinners:
                    spinner.kill()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print("| machine | threads | wait | training s (median, range) | command wall s | test AUC |")
    print("|---|---|---|---|---|---|")
    for (load, threads, policy), rows in results.items():
        train = [r[0] for r in rows]
        wall = statistics.median(r[1] for r in rows)
        aucs = ", ".join(sorted({r[2] for r in rows}))
        print(
            f"| {load} | {threads} | {policy} | {statistics.median(train):.1f} "
            f"({min(train):.1f}–{max(train):.1f}) | {wall:.1f} | {aucs} |"
        )


if __name__ == "__main__":
    main()
