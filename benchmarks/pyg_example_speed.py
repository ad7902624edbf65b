"""graphae vs PyTorch Geometric's ``examples/autoencoder.py``, timed side by side.

The PyG side is a faithful re-implementation of the example (PyG 2.x):
``NormalizeFeatures`` + ``RandomLinkSplit(0.05, 0.1)``, ``GAE``/``VGAE`` with
``GCNConv`` encoders (32 -> 16), Adam 0.01, and per epoch the example's
``train()`` (encode, ``recon_loss`` with PyG's negative sampling, KL / N for
VGAE, backward, step) followed by ``test(test_data)`` (encode again, score the
test pairs with scikit-learn's AUC and AP).

The graphae side is ``graphae.train`` as a user runs it, set up as the
example's model: the same input (features scaled to sum 1 per node,
``--normalize-features``), layers (GCN 32 -> 16 with a bias, ``--bias``),
optimiser and epochs, the same kind of loss (training edges against as many
freshly drawn non-edges, ``--objective sampled``), and per epoch a training
step followed by scoring held-out pairs (validation AUC/AP, used to keep the
best weights), with TensorBoard and ``history.jsonl`` logging every epoch.
The last column is graphae's default, the paper's model (raw features, no
bias), trained on the same split, for reference.
An epoch's time is the interval between two consecutive epochs' log calls.

Both run in this one process, alternating, on the same seeds and threads
(the example seeds nothing; here torch and Python's ``random``, which PyG's
negative sampling uses, are seeded so that its numbers repeat), and on the
same split: the example's ``RandomLinkSplit`` is handed to ``graphae.train``
(``split=``), so that the test AUCs compare the methods on identical pairs.
Printed per data set and model: median ms/epoch of each, their ratio, the
test AUC of each (mean ± standard deviation over seeds; PyG: the example's
last-epoch test AUC; graphae: test AUC on the best-validation weights, scored
once), and their difference seed by seed (both trained on the seed's split:
mean ± standard error), which tells a real gap from seed-to-seed noise.

    python benchmarks/pyg_example_speed.py --data-root ../shared/datasets
    python benchmarks/pyg_example_speed.py --datasets Cora CiteSeer --seeds 20
    python benchmarks/pyg_example_speed.py --datasets Cora --models gae --seeds 1 --epochs 50
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from graphae import TrainConfig, train
from graphae.data import LinkSplit, load_planetoid
from graphae.tracking import Tracker

#: graphae settings giving the example's model: its input scaling and biased layers
EXAMPLE_MODEL = {"normalize_features": True, "bias": True}


class EpochClock(Tracker):
    """Timestamps of the per-epoch ``log_metrics`` calls (one per epoch)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def start_run(self, run_dir: Path | None) -> None:
        """Start the clock."""
        self.stamps = [time.perf_counter()]

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """An epoch ended."""
        if "train/loss" in metrics:  # not the final test/* line
            self.stamps.append(time.perf_counter())

    def epoch_seconds(self) -> list[float]:
        """Durations between consecutive epochs."""
        return [b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False)]


def pyg_example(
    data: Any, variational: bool, epochs: int, seed: int, bias: bool = True
) -> tuple[list[float], float, LinkSplit]:
    """The example's script body; returns (seconds per epoch, last test AUC, its split).

    ``bias=False`` gives its ``GCNConv`` layers no bias, as in the paper's GAE.
    """
    import functools

    import torch_geometric.transforms as T
    from torch_geometric.nn import GAE, VGAE
    from torch_geometric.nn import GCNConv as _GCNConv

    GCNConv = functools.partial(_GCNConv, bias=bias)

    class GCNEncoder(torch.nn.Module):
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.conv1 = GCNConv(in_channels, 2 * out_channels)
            self.conv2 = GCNConv(2 * out_channels, out_channels)

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
            x = self.conv1(x, edge_index).relu()
            return self.conv2(x, edge_index)

    class VariationalGCNEncoder(torch.nn.Module):
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.conv1 = GCNConv(in_channels, 2 * out_channels)
            self.conv_mu = GCNConv(2 * out_channels, out_channels)
            self.conv_logstd = GCNConv(2 * out_channels, out_channels)

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, ...]:
            x = self.conv1(x, edge_index).relu()
            return self.conv_mu(x, edge_index), self.conv_logstd(x, edge_index)

    torch.manual_seed(seed)
    random.seed(seed)  # PyG's negative_sampling draws with Python's random module
    transform = T.Compose(
        [
            T.NormalizeFeatures(),
            T.RandomLinkSplit(
                num_val=0.05,
                num_test=0.1,
                is_undirected=True,
                split_labels=True,
                add_negative_train_samples=False,
            ),
        ]
    )
    train_data, val_data, test_data = transform(data.clone())
    in_channels, out_channels = data.num_features, 16
    encoder = (VariationalGCNEncoder if variational else GCNEncoder)(in_channels, out_channels)
    model = (VGAE if variational else GAE)(encoder)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def train_step() -> float:
        model.train()
        optimizer.zero_grad()
        z = model.encode(train_data.x, train_data.edge_index)
        loss = model.recon_loss(z, train_data.pos_edge_label_index)
        if variational:
            loss = loss + (1 / train_data.num_nodes) * model.kl_loss()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    @torch.no_grad()
    def test(data: Any) -> tuple[float, float]:
        model.eval()
        z = model.encode(data.x, data.edge_index)
        return model.test(z, data.pos_edge_label_index, data.neg_edge_label_index)

    seconds, auc = [], 0.0
    for _ in range(epochs):
        start = time.perf_counter()
        train_step()
        auc, _ = test(test_data)
        seconds.append(time.perf_counter() - start)
    return seconds, float(auc), _as_link_split(train_data, val_data, test_data)


def _as_link_split(train_data: Any, val_data: Any, test_data: Any) -> LinkSplit:
    """The example's split as graphae's (each pair once, smaller node first)."""

    def pairs(data: Any, kind: str) -> torch.Tensor:
        return torch.sort(getattr(data, f"{kind}_edge_label_index"), dim=0).values

    return LinkSplit(
        num_nodes=int(train_data.num_nodes),
        train_pos=pairs(train_data, "pos"),
        val_pos=pairs(val_data, "pos"),
        val_neg=pairs(val_data, "neg"),
        test_pos=pairs(test_data, "pos"),
        test_neg=pairs(test_data, "neg"),
    )


def graphae_run(
    data: Any,
    model: str,
    epochs: int,
    seed: int,
    runs_dir: str,
    split: LinkSplit | None = None,
    **settings: Any,
) -> tuple[list[float], float]:
    """``graphae.train`` with a run directory; returns (seconds per epoch, test AUC)."""
    clock = EpochClock()
    config = TrainConfig(
        model=model,
        dataset=data.name,
        epochs=epochs,
        seed=seed,
        objective="sampled",
        runs_dir=runs_dir,
        quiet=True,
        **settings,
    )
    result = train(config, data=data, split=split, trackers=[clock])
    return clock.epoch_seconds(), result.metrics["test"]["auc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["Cora", "CiteSeer", "PubMed"])
    parser.add_argument("--models", nargs="+", default=["gae", "vgae"])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--epochs", type=int, default=400, help="the example's default")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument(
        "--pyg-no-bias", action="store_true", help="GCNConv without bias in the example"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    runs_dir = tempfile.mkdtemp(prefix="graphae-speed-")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.epochs} epochs, "
        f"seeds 0..{args.seeds - 1}"
    )
    print(
        "| data set | model | PyG example ms/epoch | graphae ms/epoch | ratio "
        "| PyG test AUC | graphae test AUC | graphae − PyG | graphae, paper's model |"
    )
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    try:
        for name in args.datasets:
            # PyG's Planetoid data set (through graphae's loader, which finds the
            # files and copies read-only roots): the example's input, and ours
            data = load_planetoid(name, args.data_root)
            for model in args.models:
                pyg_ms, our_ms, pyg_auc, our_auc, paper_auc = [], [], [], [], []
                for seed in range(args.seeds):
                    gc.collect()  # each timed run starts without the last one's garbage
                    seconds, auc, split = pyg_example(
                        data, model == "vgae", args.epochs, seed, bias=not args.pyg_no_bias
                    )
                    pyg_ms.append(1000 * statistics.median(seconds))
                    pyg_auc.append(auc)
                    gc.collect()
                    seconds, auc = graphae_run(
                        data, model, args.epochs, seed, runs_dir, split, **EXAMPLE_MODEL
                    )
                    our_ms.append(1000 * statistics.median(seconds))
                    our_auc.append(auc)
                    _, auc = graphae_run(data, model, args.epochs, seed, runs_dir, split)
                    paper_auc.append(auc)
                pyg, ours = statistics.median(pyg_ms), statistics.median(our_ms)
                print(
                    f"| {name} | {model.upper()} | {pyg:.2f} | {ours:.2f} | {pyg / ours:.1f}x "
                    f"| {_pct(pyg_auc)} | {_pct(our_auc)} | {_paired(our_auc, pyg_auc)} "
                    f"| {_pct(paper_auc)} |",
                    flush=True,
                )
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)


def _pct(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * std:.1f}"


def _paired(ours: list[float], theirs: list[float]) -> str:
    """Mean per-seed AUC difference (same split) ± its standard error, in points."""
    diffs = [a - b for a, b in zip(ours, theirs, strict=True)]
    sem = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0
    return f"{100 * statistics.mean(diffs):+.1f} ± {100 * sem:.1f}"


if __name__ == "__main__":
    main()
