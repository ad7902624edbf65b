"""graphae's ``--model maskgae`` against MaskGAE's training loop rebuilt from PyG parts.

The PyG side re-implements the link-prediction loop of MaskGAE's reference
code (Li et al., "What's Behind the Mask", KDD 2023; EdisonLeeeee/MaskGAE,
``train_linkpred.py``) with PyTorch Geometric's layers and utilities:

* encoder: dropout on the input, ``GCNConv(F, 128)`` with bias, ``BatchNorm1d``, ELU;
* edge decoder: an MLP on ``z_u ⊙ z_v`` (128 -> 64 -> 1, ReLU, dropout 0.2);
* degree decoder: an MLP on ``z`` (128 -> 64 -> 1, ReLU), MSE to each node's
  degree among the masked edges, weight 0.003;
* each epoch: 70% of the directed training edges masked by independent coin
  flips, the rest made undirected (``to_undirected``) for the encoder, the
  masked edges against as many uniform random node pairs (BCE), Adam 0.01
  with weight decay 5e-5, gradient norm clipped to 1; 500 epochs (one step
  each: every masked edge fits one of MaskGAE's 2^16-edge batches here);
* validation AUC every epoch, the best weights kept, test scored once.

Both sides train on the same split (graphae's ``split_edges`` of the seed,
85/5/10) with the same thread count, alternately, and are scored the same
way (test pairs against the training graph). Printed per data set: mean ±
std of test AUC / AP and the median seconds per run of each side.

    python benchmarks/maskgae_vs_pyg.py --data-root ../shared/datasets --datasets Cora --seeds 3
    python benchmarks/maskgae_vs_pyg.py --data-root ../shared/datasets --datasets CiteSeer --seeds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import degree, to_undirected

from graphae import train
from graphae.data.link_split import LinkSplit, split_edges
from graphae.data.planetoid import load_planetoid


class Encoder(nn.Module):
    """MaskGAE's one-layer GCN encoder: dropout, GCNConv, batch norm, ELU."""

    def __init__(self, in_dim: int, dim: int = 128, dropout: float = 0.8) -> None:
        super().__init__()
        self.conv, self.norm, self.dropout = GCNConv(in_dim, dim), nn.BatchNorm1d(dim), dropout

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Node embeddings of the graph ``edge_index``."""
        x = F.dropout(x, self.dropout, self.training)
        return F.elu(self.norm(self.conv(x, edge_index)))


class Mlp(nn.Module):
    """MaskGAE's decoders: Linear -> ReLU -> Linear, dropout before each hidden layer."""

    def __init__(self, dim: int = 128, hidden: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden, self.out, self.dropout = nn.Linear(dim, hidden), nn.Linear(hidden, 1), dropout

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """One output per row of ``h``."""
        h = F.relu(self.hidden(F.dropout(h, self.dropout, self.training)))
        return self.out(h).squeeze(-1)


def _scores(decoder: Mlp, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    return decoder(z[pairs[0]] * z[pairs[1]])


@torch.no_grad()
def _evaluate(
    encoder: Encoder,
    decoder: Mlp,
    x: torch.Tensor,
    graph: torch.Tensor,
    pos: torch.Tensor,
    neg: torch.Tensor,
) -> tuple[float, float]:
    encoder.eval()
    decoder.eval()
    z = encoder(x, graph)
    scores = torch.cat([_scores(decoder, z, pos), _scores(decoder, z, neg)]).sigmoid()
    labels = torch.cat([torch.ones(pos.shape[1]), torch.zeros(neg.shape[1])])
    return roc_auc_score(labels, scores), average_precision_score(labels, scores)


def pyg_maskgae(x: torch.Tensor, split: LinkSplit, seed: int, epochs: int) -> dict[str, float]:
    """One run of MaskGAE's loop on ``split``: test AUC / AP and seconds."""
    started = time.perf_counter()
    torch.manual_seed(seed)
    n = split.num_nodes
    train_edges = split.train_edge_index()  # both directions
    encoder, decoder, degree_decoder = Encoder(x.shape[1]), Mlp(dropout=0.2), Mlp()
    params = [*encoder.parameters(), *decoder.parameters(), *degree_decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=0.01, weight_decay=5e-5)
    val, test = split.pairs("val"), split.pairs("test")
    best, best_state = -1.0, None
    for _ in range(epochs):
        encoder.train()
        decoder.train()
        degree_decoder.train()
        masked = torch.bernoulli(torch.full((train_edges.shape[1],), 0.7)).bool()
        remaining = to_undirected(train_edges[:, ~masked], num_nodes=n)
        targets = train_edges[:, masked]
        negatives = torch.randint(0, n, targets.shape)
        optimizer.zero_grad()
        z = encoder(x, remaining)
        pos, neg = _scores(decoder, z, targets), _scores(decoder, z, negatives)
        loss = F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos))
        loss = loss + F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg))
        deg = degree(targets[1], n).float()
        loss = loss + 0.003 * F.mse_loss(F.relu(degree_decoder(z)), deg)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        auc, _ = _evaluate(encoder, decoder, x, train_edges, *val)
        if auc > best:
            best = auc
            best_state = [
                {k: v.clone() for k, v in m.state_dict().items()} for m in (encoder, decoder)
            ]
    encoder.load_state_dict(best_state[0])
    decoder.load_state_dict(best_state[1])
    auc, ap = _evaluate(encoder, decoder, x, train_edges, *test)
    return {"auc": auc, "ap": ap, "seconds": time.perf_counter() - started}


def graphae_maskgae(data: Data, split: LinkSplit, seed: int, epochs: int) -> dict[str, float]:
    """One ``graphae.train(model="maskgae")`` run on ``split``."""
    started = time.perf_counter()
    result = train(
        model="maskgae", dataset=data.name, data=data, split=split, seed=seed, epochs=epochs,
        save=False, quiet=True, figures=False, checkpoint_every=0,
    )  # fmt: skip
    test = result.metrics["test"]
    return {"auc": test["auc"], "ap": test["ap"], "seconds": time.perf_counter() - started}


def _summary(rows: list[dict[str, float]]) -> str:
    auc = [100 * r["auc"] for r in rows]
    ap = [100 * r["ap"] for r in rows]
    spread = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0  # noqa: E731
    seconds = statistics.median(r["seconds"] for r in rows)
    return (
        f"{statistics.mean(auc):.2f} ± {spread(auc):.2f} | {statistics.mean(ap):.2f} ± "
        f"{spread(ap):.2f} | {seconds:.1f}"
    )


def main() -> None:
    """Run both sides on every seed of every data set and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--datasets", nargs="+", default=["Cora"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.epochs} epochs, {args.threads} thread(s), seeds 0..{args.seeds - 1}")
    print("| data set | side | test AUC | test AP | s/run (median) |")
    print("|---|---|---|---|---|")
    for name in args.datasets:
        data = load_planetoid(name, args.data_root)
        results: dict[str, list[dict[str, float]]] = {"graphae": [], "PyG loop": []}
        for seed in range(args.seeds):
            split = split_edges(data.edge_index, int(data.num_nodes), seed=seed)
            results["graphae"].append(graphae_maskgae(data, split, seed, args.epochs))
            results["PyG loop"].append(pyg_maskgae(data.x, split, seed, args.epochs))
        for side, rows in results.items():
            print(f"| {name} | {side} | {_summary(rows)} |", flush=True)


if __name__ == "__main__":
    main()
