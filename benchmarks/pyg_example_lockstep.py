"""graphae's model and PyG's example trained in lockstep: same start, same negatives.

Checks that graphae computes what PyTorch Geometric's ``examples/autoencoder.py``
computes, and shows where their reported test AUCs differ. Per seed, the
example (:class:`pyg_example_speed.PygExample`) is built; graphae's model
(``build_model`` with biases, features scaled as the example's) starts from a
copy of the example's initial weights, and every epoch it takes one Adam step
on the very node pairs the example's ``recon_loss`` drew as negatives that
epoch (graphae's fused loss, ``symmetric_pair_bce``). Printed at a few epochs:

* ``PyG``: the example's test AUC as it reports it (scikit-learn, with its
  encoder run on ``test_data.edge_index``: training + validation edges);
* ``PyG on train graph``: the example's weights, encoder run on the training
  edges only, scored with graphae's metric;
* ``graphae``: graphae's weights scored the way ``graphae train`` scores
  them (training edges), and with ``--test-graph train+val``;
* ``max |dz|``: the largest difference between the two models' embeddings
  (training graph), which grows only through float rounding.

For VGAE each side draws its own noise ``ε``, so the two models drift apart
as two seeds would; the lockstep is exact for GAE.

    python benchmarks/pyg_example_lockstep.py --data-root ../shared/datasets
    python benchmarks/pyg_example_lockstep.py --dataset CiteSeer --model vgae --seeds 0 1 2
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
import torch_geometric.nn.models.autoencoder as pyg_autoencoder
from pyg_example_speed import PygExample

from graphae.data import gcn_adjacency, load_planetoid, prepare_features
from graphae.evaluation import link_metrics
from graphae.nn import build_model
from graphae.sparse import SymmetricPairs, symmetric_pair_bce
from graphae.training.trainer import make_adam


def copy_example_weights(example: PygExample, model: torch.nn.Module, variational: bool) -> None:
    """Give graphae's encoder the example's ``GCNConv`` weights (stored transposed) and biases."""
    theirs = example.model.encoder
    heads = ["conv1", "conv_mu", "conv_logstd"] if variational else ["conv1", "conv2"]
    with torch.no_grad():
        for name in heads:
            ours, conv = getattr(model.encoder, name), getattr(theirs, name)
            ours.weight.copy_(conv.lin.weight.t())
            ours.bias.copy_(conv.bias)


def run_seed(data: Any, variational: bool, seed: int, epochs: int, report: set[int]) -> None:
    example = PygExample(data, variational, seed)
    split = example.split()
    n = int(data.num_nodes)
    train_edges = split.train_edge_index()
    adj = gcn_adjacency(train_edges, n)
    adj_val = gcn_adjacency(split.train_val_edge_index(), n)
    x = prepare_features(data.x, True, normalize=True)
    model = build_model("vgae" if variational else "gae", x.shape[1], 32, 16, 0.0, True)
    copy_example_weights(example, model, variational)
    optimizer = make_adam(model, 0.01)
    positives = SymmetricPairs.from_edge_index(train_edges, n)
    positive_weight = torch.full((len(positives),), 1 / len(positives))
    test = split.pairs("test")
    train = example.train_data

    drawn: list[torch.Tensor] = []
    sample = pyg_autoencoder.negative_sampling

    def recording(*args: Any, **kwargs: Any) -> torch.Tensor:
        drawn.append(sample(*args, **kwargs))
        return drawn[-1]

    pyg_autoencoder.negative_sampling = recording
    try:
        for epoch in range(1, epochs + 1):
            example.epoch()  # its train() draws this epoch's negatives, then its test()
            negatives = drawn.pop()
            pairs = SymmetricPairs.from_edge_index(torch.cat([negatives, negatives.flip(0)], 1), n)
            weight = torch.cat([positive_weight, torch.full((len(pairs),), 1 / len(pairs))])
            optimizer.zero_grad()
            encoding = model.encode(x, adj)
            loss = symmetric_pair_bce(encoding.z, positives.stack(pairs), weight, len(positives))
            if encoding.kl is not None:
                loss = loss + encoding.kl / n  # the example's (1 / N) * kl_loss()
            loss.backward()
            optimizer.step()
            if epoch in report:
                example.model.eval()
                with torch.no_grad():
                    theirs = example.model.encode(train.x, train.edge_index)
                ours = model.embed(x, adj)
                aucs = [
                    link_metrics(model.decode, z, *test)["auc"]
                    for z in (theirs, ours, model.embed(x, adj_val))
                ]
                row = " | ".join(f"{100 * a:.2f}" for a in [example.auc, *aucs])
                drift = (theirs - ours).abs().max()
                print(f"| {seed} | {epoch} | {row} | {drift:.4f} |", flush=True)
    finally:
        pyg_autoencoder.negative_sampling = sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="Cora")
    parser.add_argument("--model", choices=("gae", "vgae"), default="gae")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=400, help="the example's default")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    data = load_planetoid(args.dataset, args.data_root)
    report = {1, 100, 200, args.epochs}
    print(f"{args.model.upper()} on {args.dataset}, test AUC (%)")
    print(
        "| seed | epoch | PyG | PyG on train graph | graphae (train graph) "
        "| graphae (train+val graph) | max abs dz |"
    )
    print("|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        run_seed(data, args.model == "vgae", seed, args.epochs, report)


if __name__ == "__main__":
    main()
