"""Link-prediction quality of GAE/VGAE over seeds, next to Kipf & Welling (2016).

Paper defaults (GCN 32-16, Adam 0.01, 200 epochs, dense objective, 85/5/10
split); test AUC/AP scored once on the best-validation weights. Prints a
Markdown table of mean ± std (in %) and writes it, with every run, to --out.

    python benchmarks/link_prediction.py --data-root ../shared/datasets
    python benchmarks/link_prediction.py --datasets Cora --models gae --seeds 3   # quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from graphae import TrainConfig, train
from graphae.data import load_planetoid

#: Table 1 of the paper, test AUC / AP in %.
PAPER = {
    ("gae", "Cora"): (91.0, 92.0),
    ("vgae", "Cora"): (91.4, 92.6),
    ("gae", "CiteSeer"): (89.5, 89.9),
    ("vgae", "CiteSeer"): (90.8, 92.0),
    ("gae", "PubMed"): (96.4, 96.5),
    ("vgae", "PubMed"): (94.4, 94.7),
}


def mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * std:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["Cora", "CiteSeer", "PubMed"])
    parser.add_argument("--models", nargs="+", default=["gae", "vgae"])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--objective", default="auto")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out", default="results/link_prediction")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, runs = [], []
    header = "| Dataset | Model | Objective | Test AUC | Test AP | Paper AUC / AP | s/run |"
    print(header + "\n|---|---|---|---|---|---|---|", flush=True)
    for dataset in args.datasets:
        data = load_planetoid(dataset, args.data_root)
        for model in args.models:
            aucs, aps, seconds, objective = [], [], [], ""
            for seed in range(args.seeds):
                config = TrainConfig(
                    model=model,
                    dataset=dataset,
                    epochs=args.epochs,
                    objective=args.objective,
                    seed=seed,
                    quiet=True,
                )
                start = time.perf_counter()
                result = train(config, data=data, save=False)
                seconds.append(time.perf_counter() - start)
                objective = result.objective
                aucs.append(result.metrics["test"]["auc"])
                aps.append(result.metrics["test"]["ap"])
                runs.append({k: v for k, v in result.metrics.items()})
            paper = PAPER.get((model, dataset), (float("nan"), float("nan")))
            row = (
                f"| {dataset} | {model.upper()} | {objective} | {mean_std(aucs)} | "
                f"{mean_std(aps)} | {paper[0]:.1f} / {paper[1]:.1f} | "
                f"{statistics.mean(seconds):.1f} |"
            )
            rows.append(row)
            print(row, flush=True)
            (out / "runs.json").write_text(json.dumps(runs, indent=1))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    footer = f"\n{args.seeds} seeds, {args.epochs} epochs; peak RSS {peak_mib:.0f} MiB"
    print(footer)
    table = "\n".join([header, "|---|---|---|---|---|---|---|", *rows]) + "\n" + footer + "\n"
    (out / "table.md").write_text(table)


if __name__ == "__main__":
    main()
