"""Data-parallel training: time per epoch, test AUC and peak RSS per process, by rank count.

Trains the same generated graph with the sampled objective in one process
and under ``torchrun --nproc-per-node N`` (gloo, one thread per rank) and
prints a table. Each rank holds the whole graph and runs the encoder, so
memory per process stays about that of one process, and only the pair work
of the loss (its forward and backward) is divided between ranks.

    python benchmarks/distributed.py --nodes 100000 --edges 1000000 --ranks 1 2

Numbers on a machine with fewer free cores than ranks measure contention,
not scaling; the CPU time per epoch of rank 0 shows the work a rank does.

``--parts`` times instead, in this process, the pieces of one epoch that
every rank repeats (the negative draw, with the masked objective also the
mask and the masked graph's ``Â``; the encoder pass) against the piece
divided between ranks (the loss's forward and backward) and the optimiser
step, for the sampled objective (GAE) and the masked one (MaskGAE's
settings), and the share of a rank's epoch the repeated draw takes with
``W`` ranks (the loss time and the sampled draw's membership test, which
the ranks divide, divided by ``W``):

    python benchmarks/distributed.py --parts --nodes 100000 --edges 1000000 --epochs 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: runs a command and prints the largest peak RSS (KiB) among its descendants
MEASURE = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def run(ranks: int, graph: str, epochs: int, folder: Path) -> dict[str, float]:
    """Train once with ``ranks`` processes; time per epoch, test AUC, peak RSS."""
    name = f"ranks{ranks}"
    launcher = [sys.executable]
    if ranks > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}"]
    command = [
        *launcher,
        *("-m", "graphae", "train", "--dataset", graph, "--objective", "sampled"),
        *("--model", "gae", "--epochs", str(epochs), "--eval-every", str(epochs)),
        *("--threads", "1", "--quiet", "--no-figures", "--runs-dir", str(folder), "--name", name),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    metrics = json.loads((folder / name / "metrics.json").read_text())
    return {
        "epoch_s": metrics["train_seconds"] / epochs,
        "cpu_s": metrics["train_cpu_seconds"] / epochs,  # rank 0's process
        "auc": metrics["test"]["auc"],
        "rss_gib": int(done.stdout.split()[-1]) / 2**20,
    }


def epoch_parts(graph: str, objective: str, epochs: int) -> dict[str, float]:
    """Seconds per epoch of each piece of a training step (median over ``epochs``).

    ``draw``: what every rank repeats before the loss (the sampled
    objective's negatives stacked after the edges; the masked objective's
    mask, its ``Â`` and its negatives); ``encode``: the encoder's forward
    pass (repeated too); ``loss``: the loss's forward and the whole backward
    pass; ``step``: Adam. Only the decoder's part of ``loss`` divides between
    ranks (the encoder's backward is repeated), so ``loss / W`` undercounts
    a rank's epoch and the draw shares printed are upper bounds.
    """
    import torch

    from graphae.config import TrainConfig
    from graphae.data.graph import gcn_adjacency, prepare_features
    from graphae.nn.factory import build_from_config
    from graphae.pipeline import make_split, synthetic_graph
    from graphae.training.masked import MaskedObjective
    from graphae.training.masking import make_mask
    from graphae.training.objectives import SampledObjective
    from graphae.training.trainer import make_adam

    torch.set_num_threads(1)
    model_name = "maskgae" if objective == "masked" else "gae"
    config = TrainConfig(dataset=graph, model=model_name, objective=objective, seed=0)
    data = synthetic_graph(graph, 0)
    split = make_split(config, data)
    n = int(data.num_nodes)
    edges = split.train_edge_index()
    adj = gcn_adjacency(edges, n)
    x = prepare_features(data.x, True, config.normalize_features)
    torch.manual_seed(0)
    model = build_from_config(config, x.shape[1])
    optimizer = make_adam(model, config.lr, config.weight_decay)
    model.train()
    times: dict[str, list[float]] = {"draw": [], "encode": [], "loss": [], "step": []}
    tests: list[float] = []  # the sampled draw's membership test, which ranks divide
    if objective == "masked":
        mask = make_mask(config.mask, config.mask_ratio, config.walk_length)
        masked = MaskedObjective.for_model(model, edges, n, mask, config.degree_weight, 0)
        masked.shard = (0, 1)  # one rank's share, all of it: the loss takes drawn negatives
    else:
        sampled = SampledObjective(edges, n, seed=0)
        sampled.MAX_ROUNDS = 1  # one epoch's draw at a time, timed on its own
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad(set_to_none=True)
        laps = [time.perf_counter()]
        if objective == "masked":
            drawn = masked.draw(epoch)
            count = drawn.targets.shape[1] if drawn.weight is None else int(drawn.weight.sum())
            masked_adj = masked.graph.adjacency(~drawn.hidden)
            negatives = masked.negatives(count, epoch)
            laps.append(time.perf_counter())
            encoding = model.encode(x, masked_adj)
            laps.append(time.perf_counter())
            masked.share_loss(encoding, drawn, negatives, epoch)["loss"].backward()
        else:
            sampled._draw_batch(epoch)  # what the call below would do first
            laps.append(time.perf_counter())
            encoding = model.encode(x, adj)
            laps.append(time.perf_counter())
            sampled(encoding, epoch)["loss"].backward()
        laps.append(time.perf_counter())
        optimizer.step()
        laps.append(time.perf_counter())
        for name, begin, finish in zip(times, laps[:-1], laps[1:], strict=True):
            times[name].append(finish - begin)
        if objective == "sampled":  # the membership test alone, outside the epoch's laps
            draws = sampled.draw_negatives(sampled.num_pairs, [epoch])[0]
            begin = time.perf_counter()
            sampled.excluded.contains(draws.row, draws.col)
            tests.append(time.perf_counter() - begin)
    warm = slice(1, None) if epochs > 1 else slice(None)  # the first epoch warms caches up
    times["test"] = tests or [0.0] * epochs  # the masked objective has none
    return {name: sorted(values[warm])[len(values[warm]) // 2] for name, values in times.items()}


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--parts", action="store_true", help="time the pieces of an epoch")
    parser.add_argument("--objectives", nargs="+", default=["sampled", "masked"])
    args = parser.parse_args()
    graph = f"synthetic:nodes={args.nodes},edges={args.edges},features={args.features}"
    if args.parts:
        print(f"{graph}, 1 thread, median of {args.epochs} epochs (the first left out)")
        print(
            "| objective | draw s | of which membership test s | encode s | loss+backward s "
            "| step s | repeated draw's share W=1/2/4 |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for objective in args.objectives:
            t = epoch_parts(graph, objective, args.epochs)
            shares = []
            for world in (1, 2, 4):
                repeated = t["draw"] - t["test"] + t["test"] / world  # the test is divided
                epoch = repeated + t["encode"] + t["loss"] / world + t["step"]
                shares.append(f"{100 * repeated / epoch:.1f}%")
            print(
                f"| {objective} | {t['draw']:.3f} | {t['test']:.3f} | {t['encode']:.3f} | "
                f"{t['loss']:.3f} | "
                f"{t['step']:.3f} | {' / '.join(shares)} |"
            )
        return
    print(f"{graph}, GAE, sampled objective, {args.epochs} epochs, 1 thread per rank")
    print("| ranks | s / epoch | CPU s / epoch, rank 0 | test AUC | peak RSS per process (GiB) |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for ranks in args.ranks:
            row = run(ranks, graph, args.epochs, Path(folder))
            print(
                f"| {ranks} | {row['epoch_s']:.3f} | {row['cpu_s']:.3f} | {row['auc']:.4f} | "
                f"{row['rss_gib']:.2f} |"
            )


if __name__ == "__main__":
    main()
