"""Clustering and classification probes of GAE, VGAE and MaskGAE embeddings.

Issue #17, item 3: beyond link prediction, how good are the embeddings? For
each model and data set this trains one run (``graphae train``'s settings,
the model's defaults, one seed) and probes its embeddings like
``graphae probe RUN`` does: k-means with k = the number of classes (ACC after
Hungarian matching, NMI, ARI) and a logistic regression on the Planetoid
public split (test accuracy). A run already finished with the same settings
in ``--runs-dir`` is reused, so an interrupted table picks up where it stopped
(column ``s``: seconds to train and probe; a reused run costs only its probe).

Anchors (Cora, k-means ACC / NMI / ARI): GAE .596 / .429 / .347 and ARGA
.640 / .449 / .352 (as reported by Pan et al., "Adversarially Regularized
Graph Autoencoder", IJCAI 2018).

    python benchmarks/probe_table.py --data-root ../shared/datasets --threads 1
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from graphae.artifacts.run_dir import finished_metrics
from graphae.config import TrainConfig
from graphae.evaluation.probes import probe_run
from graphae.pipeline import train

ANCHORS = (
    "Anchors, Cora k-means ACC / NMI / ARI: GAE .596 / .429 / .347, "
    "ARGA .640 / .449 / .352 (Pan et al., IJCAI 2018)."
)


def train_once(model: str, dataset: str, seed: int, runs_dir: Path, data_root: str | None) -> Path:
    """Train (or reuse) one run of ``model`` on ``dataset``; return its folder.

    Args:
        model (str): ``gae``, ``vgae`` or ``maskgae``.
        dataset (str): a Planetoid graph (Cora, CiteSeer, PubMed).
        seed (int): split and initial-weight seed.
        runs_dir (Path): parent folder of the run folders.
        data_root (str, optional): folder with ``Planetoid/<Name>/raw``.

    """
    name = f"{model}_{dataset.lower()}_seed{seed}"
    settings = {"model": model, "dataset": dataset, "seed": seed}
    if finished_metrics(runs_dir / name, settings) is None:
        if (runs_dir / name).exists():
            shutil.rmtree(runs_dir / name)  # an interrupted run: train it again
        config = TrainConfig(
            **settings,
            data_root=data_root,
            runs_dir=str(runs_dir),
            name=name,
            quiet=True,
            figures=False,
            checkpoint_every=0,
        )
        run_dir = train(config).run_dir
        assert run_dir is not None  # saved runs have a folder
        return run_dir
    return runs_dir / name


def probe_row(model: str, dataset: str, result: dict[str, Any], seconds: float) -> str:
    """One Markdown row: clustering ACC/NMI/ARI, classification accuracy and macro-F1."""
    clustering, classification = result["clustering"], result["classification"]
    values = [
        clustering["acc"],
        clustering["nmi"],
        clustering["ari"],
        classification["accuracy"],
        classification["macro_f1"],
    ]
    cells = " | ".join(f"{v:.3f}" for v in values)
    return f"| {dataset} | {model.upper()} | {cells} | {seconds:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["Cora", "CiteSeer", "PubMed"])
    parser.add_argument("--models", nargs="+", default=["gae", "vgae", "maskgae"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--data-root", default=None, help="folder with Planetoid/<Name>/raw")
    parser.add_argument("--runs-dir", default="runs/probes", help="where the runs are written")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    runs_dir = Path(args.runs_dir)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}")
    print(ANCHORS)
    print()
    print("| dataset | model | k-means ACC | NMI | ARI | logreg acc | macro-F1 | s |")
    print("|---|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        for model in args.models:
            tick = time.perf_counter()
            run = train_once(model, dataset, args.seed, runs_dir, args.data_root)
            result = probe_run(run)
            print(probe_row(model, dataset, result, time.perf_counter() - tick), flush=True)


if __name__ == "__main__":
    main()
