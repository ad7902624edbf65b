"""Test edges that touch a node left without training edges, and their effect.

How the graph-only baselines score with and without those pairs.

A method that sees only the training graph (SC, DW, GAE*/VGAE*) has nothing to
go on for a node whose every edge was held out; this explains most of the gap
between such methods on sparse graphs such as CiteSeer.

    python benchmarks/isolated_test_pairs.py --data-root ../shared/datasets
"""

from __future__ import annotations

import argparse
from functools import partial

import torch

from graphae.baselines import deepwalk_embedding, spectral_embedding
from graphae.data import load_planetoid, split_edges
from graphae.evaluation import roc_auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["Cora", "CiteSeer", "PubMed"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    print(
        "| Dataset | test positives touching an edgeless node | SC AUC all / rest "
        "| DW AUC all / rest |\n|---|---|---|---|"
    )
    for name in args.datasets:
        data = load_planetoid(name, args.data_root)
        split = split_edges(data.edge_index, data.num_nodes, seed=args.seed)
        train = split.train_edge_index()
        degree = torch.bincount(train[0], minlength=data.num_nodes)
        pos, neg = split.pairs("test")
        touches = (degree[pos[0]] == 0) | (degree[pos[1]] == 0)
        cells = []
        for embed in (spectral_embedding, partial(deepwalk_embedding, workers=1)):
            z = embed(train, data.num_nodes, seed=args.seed)
            s_pos, s_neg = (z[pos[0]] * z[pos[1]]).sum(-1), (z[neg[0]] * z[neg[1]]).sum(-1)
            rest = roc_auc(s_pos[~touches], s_neg)
            cells.append(f"{100 * roc_auc(s_pos, s_neg):.1f} / {100 * rest:.1f}")
        share = 100 * touches.float().mean()
        print(f"| {name} | {share:.0f}% | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
