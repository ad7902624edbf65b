"""Test −ELBO and seconds per epoch of the image VAE on Fashion-MNIST, per latent size.

Trains the reference setting of the README's comparison (784-500-250-z,
ReLU, Adagrad lr 0.01, batch 100, 20 epochs, BCE on pixel intensities) and
graphae's best documented setting at z = 2, 5, 10, 20, through the same code
path as ``graphae vae --latent-dim 2 5 10 20`` (each setting is one
comparison folder of run directories under ``--runs-dir``), then prints a
table against the bar: the reference within 2 nats of 261.9 (z = 2) and
246.1 (z = 20), the best setting at most 240 at z = 20.

    python benchmarks/vae_fashion_mnist.py --data-root ../shared/datasets --threads 2

Timings depend on the machine and on anything else running on it; the
thread count is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from graphae.vae import VAEConfig, load_images
from graphae.vae.pipeline import VAERunResult
from graphae.vae.sizes import train_sizes

#: name -> settings that differ from VAEConfig's defaults (the reference's).
SETTINGS = {
    "reference": {},
    "best": {"optimizer": "adam", "lr": 0.001, "lr_schedule": "cosine", "batch_size": 32},
}
#: (setting, latent size) -> (target test −ELBO, allowed excess) from the issue's bar.
BAR = {
    ("reference", 2): (261.9, 2.0),
    ("reference", 20): (246.1, 2.0),
    ("best", 20): (240.0, 0.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 5, 10, 20])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs-dir", default="runs/benchmarks")
    parser.add_argument(
        "--figure",
        default=None,
        help="copy the reference comparison figure here (docs/x.png; others: x_<setting>.png)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    load_images("fashion-mnist", args.data_root)  # fail early on missing data
    rows, started = [], time.perf_counter()
    for name in args.settings:
        config = VAEConfig(
            dataset="fashion-mnist",
            epochs=args.epochs,
            seed=args.seed,
            data_root=args.data_root,
            runs_dir=args.runs_dir,
            name=f"vae_fashion-mnist_{name}_{args.epochs}ep",
            quiet=True,
            **SETTINGS[name],
        )
        result = train_sizes(config, args.sizes, on_run=lambda run, n=name: _report(n, run))
        for run in result.runs:
            rows.append(_row(name, run))
        if args.figure and result.files:
            figure = Path(args.figure)
            if name != "reference":
                figure = figure.with_name(f"{figure.stem}_{name}{figure.suffix}")
            figure.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(result.files["figure"], figure)
    print()
    print(
        "| setting | z | test −ELBO | train −ELBO | s/epoch (train) | s/epoch (with test) "
        "| bar |\n|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['setting']} | {r['latent_dim']} | {r['test_neg_elbo']:.1f} | "
            f"{r['train_neg_elbo']:.1f} | {r['seconds_per_epoch']:.2f} | "
            f"{r['seconds_per_epoch_with_test']:.2f} | {r['bar']} |"
        )
    out = Path(args.runs_dir) / "vae_fashion_mnist_benchmark.json"
    info = {"threads": torch.get_num_threads(), "torch": torch.__version__, "rows": rows}
    out.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"\n{time.perf_counter() - started:.0f} s in all; rows saved to {out}")


def _report(setting: str, run: VAERunResult) -> None:
    m = run.metrics
    print(
        f"{setting} z={m['latent_dim']}: test −ELBO {m['test']['neg_elbo']:.2f}, "
        f"{m['seconds_per_epoch']:.2f} s/epoch ({run.run_dir})",
        flush=True,
    )


def _row(setting: str, run: VAERunResult) -> dict[str, object]:
    m = run.metrics
    test = m["test"]["neg_elbo"]
    bar = ""
    if (setting, m["latent_dim"]) in BAR:
        target, slack = BAR[setting, m["latent_dim"]]
        verdict = "yes" if test <= target + slack else "NO"
        bar = f"≤ {target + slack:.1f}: {verdict} ({test - target:+.1f} vs {target:.1f})"
    return {
        "setting": setting,
        "latent_dim": m["latent_dim"],
        "test_neg_elbo": test,
        "train_neg_elbo": m["train"]["neg_elbo"],
        "seconds_per_epoch": m["seconds_per_epoch"],
        "seconds_per_epoch_with_test": m["seconds_per_epoch_with_test"],
        "bar": bar,
        "run_dir": str(run.run_dir),
    }


if __name__ == "__main__":
    main()
