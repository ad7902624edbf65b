"""What resume checkpoints cost: file size, seconds per write, training time with and without.

Trains the quick start (VGAE on Cora, 200 epochs) with ``checkpoint_every``
0 (none), 100 (the default), 10 and 1, alternating the settings over
``--repeats`` rounds, and prints the median training time, the size of
``resume.pt`` and the median time to write one (timed around
:func:`graphae.training.checkpointing.save_train_state`).

    GRAPHAE_DATA=/path/to/datasets python benchmarks/resume_cost.py --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import graphae.pipeline as pipeline
from graphae.artifacts.run_dir import RESUME_FILE
from graphae.training import checkpointing


def main() -> None:
    """Print one line per ``checkpoint_every`` setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="Cora")
    parser.add_argument("--model", default="vgae")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--every", type=int, nargs="+", default=[0, 100, 10, 1])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    writes: list[float] = []
    sizes: list[int] = []

    def timed_save(path: Path, state: checkpointing.TrainState) -> None:
        start = time.perf_counter()
        checkpointing.save_train_state(path, state)
        writes.append(time.perf_counter() - start)
        sizes.append(Path(path).stat().st_size)

    pipeline.save_train_state = timed_save  # type: ignore[assignment]
    data = pipeline.load_data(pipeline.TrainConfig(dataset=args.dataset))
    seconds: dict[int, list[float]] = {every: [] for every in args.every}
    write_ms: dict[int, list[float]] = {every: [] for every in args.every}
    size: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as runs:
        for _ in range(args.repeats):
            for every in args.every:
                writes.clear()
                result = pipeline.train(
                    model=args.model,
                    dataset=args.dataset,
                    data=data,
                    epochs=args.epochs,
                    checkpoint_every=every,
                    runs_dir=runs,
                    figures=False,
                    quiet=True,
                )
                seconds[every].append(result.metrics["train_seconds"])
                write_ms[every].extend(1000 * w for w in writes)
                if writes:
                    size[every] = sizes[-1]
                assert result.run_dir is not None and not (result.run_dir / RESUME_FILE).exists()
    print(
        f"{args.model} on {args.dataset}, {args.epochs} epochs, {args.threads} thread(s), "
        f"median of {args.repeats}; torch {torch.__version__}"
    )
    base = statistics.median(seconds[args.every[0]])
    for every in args.every:
        train_s = statistics.median(seconds[every])
        per_write = f"{statistics.median(write_ms[every]):.2f} ms" if write_ms[every] else "-"
        mb = f"{size[every] / 1e6:.2f} MB" if every in size else "-"
        spent = sum(write_ms[every]) / args.repeats / 1000  # writing, per run
        print(
            f"checkpoint_every={every:>4}: train {train_s:6.2f} s ({train_s - base:+.2f} s), "
            f"{len(write_ms[every]) // args.repeats:>3} writes of {mb}, {per_write} each, "
            f"{spent:.3f} s per run ({100 * spent / train_s:.2f}%)"
        )


if __name__ == "__main__":
    main()
