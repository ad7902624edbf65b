"""Which snapshots a checkpoint ensemble should average (``--snapshots``, issue #17).

One MaskGAE run per seed (our protocol: each seed its own 85/5/10 split)
keeps every snapshot candidate: ``--snapshots E/S --snapshot-every S`` keeps
all E/S snapshots taken every S epochs, best validation first. Each
snapshot's test probabilities are read off the saved ensemble's parts, and
selection rules are scored on them afterwards, all on the same training:

* ``best K of every N``: the K best-validation snapshots among epochs N, 2N, ...
  (what ``--snapshots K --snapshot-every N`` keeps; N = E / 2K is the default);
* ``all of every N from F``: every N-th epoch from epoch F on, no selection;
* ``best epoch alone``: the single model (``--snapshots 1``).

Prints mean test AUC over the seeds, the mean gain over the best epoch alone
and the smallest gain of any seed (paired: the same runs). Chen, Lundberg and
Lee, "Checkpoint Ensembles: Ensemble Methods from a Single Training Process"
(2017), https://arxiv.org/abs/1710.03282.

    python benchmarks/snapshot_rules.py --datasets CiteSeer --seeds 10 --threads 1 \\
        --data-root ../shared/datasets
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence

import torch
from sklearn.metrics import roc_auc_score

from graphae import train
from graphae.config import TrainConfig
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.evaluation.link_prediction import link_scores
from graphae.pipeline import load_data


def snapshot_probabilities(
    dataset: str, seed: int, every: int, data_root: str | None
) -> tuple[dict[int, float], dict[int, torch.Tensor], torch.Tensor, float]:
    """Train once; every ``every``-th epoch's validation AUC and test probabilities.

    Returns:
        tuple: ``(val AUC by epoch, test probabilities by epoch, test labels,
        the best epoch's test AUC)``.

    """
    base = TrainConfig(model="maskgae", dataset=dataset, data_root=data_root, seed=seed)
    count = base.epochs // every
    result = train(
        base, snapshots=count, snapshot_every=every, save=False, quiet=True, figures=False
    )
    data = load_data(base)
    x = prepare_features(data.x, True)
    adj = gcn_adjacency(result.split.train_edge_index(), int(data.num_nodes))
    model = result.model
    model.eval()
    with torch.no_grad():
        z = model.embed(x, adj)
        parts = torch.split(z, model.decoder.widths, dim=1)  # type: ignore[union-attr]
        probs, labels = {}, None
        for snapshot, decoder, part in zip(
            result.metrics["snapshots"], model.decoder.members, parts, strict=True
        ):
            labels, logits = link_scores(decoder, part, *result.split.pairs("test"))
            probs[snapshot["epoch"]] = torch.sigmoid(logits)
    val = {s["epoch"]: s["val"]["auc"] for s in result.metrics["snapshots"]}
    assert labels is not None
    return val, probs, labels, result.metrics["best_epoch_test"]["auc"]


def rules(epochs: int) -> dict[str, tuple[int, int, int]]:
    """``name -> (K, N, from)``: K = 0 averages every candidate from epoch ``from`` on."""
    found: dict[str, tuple[int, int, int]] = {}
    for every in (10, 20, 25, 50, 100):
        for keep in (3, 5, 10, 20):
            if epochs // every >= keep:
                default = " (default)" if every == epochs // (2 * keep) else ""
                found[f"best {keep} of every {every}{default}"] = (keep, every, 0)
    for every, start in ((10, 100), (50, 50), (50, 250)):
        found[f"all of every {every} from {start}"] = (0, every, start)
    return found


def score(
    rule: tuple[int, int, int],
    val: dict[int, float],
    probs: dict[int, torch.Tensor],
    labels: torch.Tensor,
) -> float:
    """Test AUC (%) of the mean probability of the snapshots ``rule`` picks."""
    keep, every, start = rule
    candidates = [e for e in sorted(probs) if e % every == 0 and e >= start]
    if keep:
        candidates = sorted(candidates, key=lambda e: -val[e])[:keep]
    mean = torch.stack([probs[e] for e in candidates]).mean(0)
    return 100 * float(roc_auc_score(labels.numpy(), mean.numpy()))


def main(argv: Sequence[str] | None = None) -> None:
    """Score the rules over seeds and print one table per data set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["CiteSeer"])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default: 10)")
    parser.add_argument("--every", type=int, default=10, help="snapshot spacing (default: 10)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--data-root", default=None, help="default: $GRAPHAE_DATA")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for dataset in args.datasets:
        epochs = TrainConfig(model="maskgae", dataset=dataset).epochs
        table = {"best epoch alone": []} | {name: [] for name in rules(epochs)}
        for seed in range(args.seeds):
            val, probs, labels, alone = snapshot_probabilities(
                dataset, seed, args.every, args.data_root
            )
            table["best epoch alone"].append(100 * alone)
            for name, rule in rules(epochs).items():
                if rule[1] % args.every == 0:
                    table[name].append(score(rule, val, probs, labels))
        base = table["best epoch alone"]
        print(f"\n{dataset}, MaskGAE, {args.seeds} seeds, snapshots every {args.every} epochs\n")
        print("| rule | test AUC | gain | smallest gain |")
        print("|---|---|---|---|")
        for name, values in table.items():
            if values:
                gains = [v - b for v, b in zip(values, base, strict=True)]
                print(
                    f"| {name} | {statistics.mean(values):.2f} | "
                    f"{statistics.mean(gains):+.2f} | {min(gains):+.2f} |"
                )


if __name__ == "__main__":
    main()
