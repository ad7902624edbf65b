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
The test pairs are scored as the example scores them, by the encoder run on
the training and validation edges (``RandomLinkSplit``'s ``test_data``;
``--test-graph train+val``).
The last column is graphae's default, the paper's model (raw features, no
bias), trained on the same split and scored the same way, for reference.
An epoch's time is the interval between two consecutive epochs' log calls.

Both run in this one process on the same seeds and threads, interleaved:
50 epochs of graphae, 50 of the example, and so on (:class:`Interleave`),
so that both go through the same slow and fast moments of the machine; each
keeps its own random state (the example seeds nothing; here torch and
Python's ``random``, which PyG's negative sampling uses, are seeded so that
its numbers repeat, and its state is swapped in around its epochs), so both
compute exactly what they compute alone. Both train on the same split: the
example's ``RandomLinkSplit`` is handed to ``graphae.train`` (``split=``),
so that the test AUCs compare the methods on identical pairs.
Printed per data set and model: median ms/epoch of each, their ratio, the
test AUC of each (mean ± standard deviation over seeds; PyG: the example's
last-epoch test AUC; graphae: test AUC on the best-validation weights, scored
once), and their difference seed by seed (both trained on the seed's split:
mean ± standard error), which tells a real gap from seed-to-seed noise.
Then a second table with the mean epoch of each (every epoch counted:
graphae draws the negatives of many epochs at once, so one epoch in 32 on
Cora is slower, which the median does not see and the mean does).

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

#: graphae settings giving the example's model and protocol: its input scaling, biased
#: layers, and test pairs scored on training + validation edges (``test_data.edge_index``)
EXAMPLE_MODEL = {"normalize_features": True, "bias": True, "test_graph": "train+val"}


class PygExample:
    """The example's script body, one epoch per :meth:`epoch` call.

    The constructor runs the script up to its training loop (seeding, the
    transform and split, the model and optimiser); each :meth:`epoch` is one
    pass of the loop: the example's ``train()`` then ``test(test_data)``.
    ``bias=False`` gives its ``GCNConv`` layers no bias, as in the paper's GAE.

    Torch's global random state is swapped in and out around every epoch, so
    the example draws the same numbers (and graphae, running between its
    epochs, the same as alone) as if each ran by itself.
    """

    def __init__(self, data: Any, variational: bool, seed: int, bias: bool = True) -> None:
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

            def forward(
                self, x: torch.Tensor, edge_index: torch.Tensor
            ) -> tuple[torch.Tensor, ...]:
                x = self.conv1(x, edge_index).relu()
                return self.conv_mu(x, edge_index), self.conv_logstd(x, edge_index)

        outer = torch.get_rng_state()
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
        self.train_data, self.val_data, self.test_data = transform(data.clone())
        in_channels, out_channels = data.num_features, 16
        encoder = (VariationalGCNEncoder if variational else GCNEncoder)(in_channels, out_channels)
        self.model = (VGAE if variational else GAE)(encoder)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.01)
        self.variational = variational
        self.rng_state = torch.get_rng_state()
        torch.set_rng_state(outer)
        self.seconds: list[float] = []
        self.auc = float("nan")

    def train_step(self) -> float:
        """The example's ``train()``."""
        model, train_data = self.model, self.train_data
        model.train()
        self.optimizer.zero_grad()
        z = model.encode(train_data.x, train_data.edge_index)
        loss = model.recon_loss(z, train_data.pos_edge_label_index)
        if self.variational:
            loss = loss + (1 / train_data.num_nodes) * model.kl_loss()
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    @torch.no_grad()
    def test(self, data: Any) -> tuple[float, float]:
        """The example's ``test()``: AUC and AP with scikit-learn."""
        self.model.eval()
        z = self.model.encode(data.x, data.edge_index)
        return self.model.test(z, data.pos_edge_label_index, data.neg_edge_label_index)

    def epoch(self) -> None:
        """One pass of the example's loop, timed; keeps the test AUC."""
        outer = torch.get_rng_state()
        torch.set_rng_state(self.rng_state)
        start = time.perf_counter()
        self.train_step()
        auc, _ = self.test(self.test_data)
        self.seconds.append(time.perf_counter() - start)
        self.auc = float(auc)
        self.rng_state = torch.get_rng_state()
        torch.set_rng_state(outer)

    def split(self) -> LinkSplit:
        """The example's split as graphae's (each pair once, smaller node first)."""
        return _as_link_split(self.train_data, self.val_data, self.test_data)


class Interleave(Tracker):
    """Times graphae's epochs and runs the example's in between, in blocks.

    After every ``block`` epochs of graphae, ``block`` epochs of the example
    run (:meth:`finish` runs what is left of them). graphae's trainer logs
    once per epoch; an epoch's time is the interval between two consecutive
    log calls, less any of the example's epochs run in between. On a shared
    VM the machine's speed drifts by up to 1.5-2x over seconds; alternating
    about every second puts both through the same drifts. Blocks rather than
    single epochs, because each evicts the other's data from the caches:
    graphae's first few epochs after a block run up to 3x slower (they are
    counted); with blocks of 10 its median epoch measured ~10% slower than
    alone, with blocks of 50 as alone (Cora GAE, 5 seeds each).
    """

    def __init__(self, example: PygExample | None = None, block: int = 50) -> None:
        self.example, self.block = example, block
        self.seconds: list[float] = []
        self._resumed = 0.0

    def start_run(self, run_dir: Path | None) -> None:
        """Start the clock."""
        self._resumed = time.perf_counter()

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """An epoch of graphae ended: note its time; after a block, run the example's."""
        if "train/loss" not in metrics:  # the final test/* line
            return
        self.seconds.append(time.perf_counter() - self._resumed)
        if self.example is not None and len(self.seconds) % self.block == 0:
            for _ in range(self.block):
                self.example.epoch()
        self._resumed = time.perf_counter()

    def finish(self, epochs: int) -> None:
        """Run the example up to ``epochs`` epochs."""
        while self.example is not None and len(self.example.seconds) < epochs:
            self.example.epoch()


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
    example: PygExample | None = None,
    **settings: Any,
) -> tuple[list[float], float]:
    """``graphae.train`` with a run directory; returns (seconds per epoch, test AUC).

    With ``example``, its epochs run interleaved with graphae's (see
    :class:`Interleave`; not timed as graphae's).
    """
    clock = Interleave(example)
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
    clock.finish(epochs)
    return clock.seconds, result.metrics["test"]["auc"]


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
    means: list[str] = []
    try:
        for name in args.datasets:
            # PyG's Planetoid data set (through graphae's loader, which finds the
            # files and copies read-only roots): the example's input, and ours
            data = load_planetoid(name, args.data_root)
            for model in args.models:
                pyg_ms, our_ms, pyg_auc, our_auc, paper_auc = [], [], [], [], []
                pyg_mean, our_mean = [], []
                for seed in range(args.seeds):
                    example = PygExample(data, model == "vgae", seed, bias=not args.pyg_no_bias)
                    split = example.split()
                    gc.collect()  # each timed run starts without the last one's garbage
                    seconds, auc = graphae_run(
                        data, model, args.epochs, seed, runs_dir, split, example, **EXAMPLE_MODEL
                    )
                    pyg_ms.append(1000 * statistics.median(example.seconds))
                    pyg_mean.append(1000 * statistics.mean(example.seconds))
                    pyg_auc.append(example.auc)
                    our_ms.append(1000 * statistics.median(seconds))
                    our_mean.append(1000 * statistics.mean(seconds))
                    our_auc.append(auc)
                    _, auc = graphae_run(
                        data,
                        model,
                        args.epochs,
                        seed,
                        runs_dir,
                        split,
                        test_graph=EXAMPLE_MODEL["test_graph"],
                    )
                    paper_auc.append(auc)
                pyg, ours = statistics.median(pyg_ms), statistics.median(our_ms)
                print(
                    f"| {name} | {model.upper()} | {pyg:.2f} | {ours:.2f} | {pyg / ours:.1f}x "
                    f"| {_pct(pyg_auc)} | {_pct(our_auc)} | {_paired(our_auc, pyg_auc)} "
                    f"| {_pct(paper_auc)} |",
                    flush=True,
                )
                pyg, ours = statistics.mean(pyg_mean), statistics.mean(our_mean)
                means.append(
                    f"| {name} | {model.upper()} | {pyg:.2f} | {ours:.2f} | {pyg / ours:.1f}x |"
                )
        # the mean counts every epoch: graphae's first and its negative draws (one epoch
        # in 32 on Cora draws the next 32 epochs' negatives), the example's slow ones
        print("\nMean epoch (mean over seeds of each run's mean epoch):")
        print("| data set | model | PyG example ms/epoch | graphae ms/epoch | ratio |")
        print("|---|---|---|---|---|")
        print("\n".join(means), flush=True)
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
