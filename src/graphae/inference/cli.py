"""The ``graphae embed`` and ``graphae predict`` commands: parse → call the API → print.

::

    graphae embed runs/RUN --out embeddings.csv        # .csv .tsv .npy .parquet
    graphae embed runs/RUN --edges new.csv --features new_features.csv --out new.csv
    graphae predict runs/RUN --node alice --top 10
    graphae predict runs/RUN --pairs pairs.csv --out scores.csv
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from graphae.config import FEATURE_FORMATS
from graphae.errors import ConfigError
from graphae.inference.export import EMBEDDING_FORMATS, TABLE_FORMATS

if TYPE_CHECKING:
    from graphae.inference.run import Ranking, TrainedRun

#: Pair scores printed before "... N pairs in all".
SHOWN_PAIRS = 20
#: ``embed`` options that only mean something with ``--edges``.
READING_FLAGS = (
    "features",
    "feature_ids",
    "features_format",
    "delimiter",
    "header",
    "source_col",
    "target_col",
    "weight_col",
)


def add_inference_parsers(commands: Any) -> None:
    """Add ``embed`` and ``predict`` to the ``graphae`` sub-commands."""
    embed = commands.add_parser(
        "embed",
        help="write the node embeddings of a trained run, or of a new graph through its model",
        description="Write one row per node: its id, then z0..z{d-1} (μ for VGAE). Without "
        "--edges, the trained graph's embeddings; with --edges (and --features), the "
        "trained encoder applied to that graph (the run must have been trained with "
        "features). Reading options default to those the run was trained with.",
    )
    embed.add_argument("run", help="a run folder written by graphae train")
    embed.add_argument(
        "--out", required=True, help=f"output file: {', '.join(EMBEDDING_FORMATS)} (by extension)"
    )
    embed.add_argument("--force", action="store_true", help="overwrite existing output")
    embed.add_argument("--edges", help="embed this graph instead of the trained one")
    embed.add_argument("--features", help="node features of --edges' graph")
    embed.add_argument("--labels", help="accepted and ignored (so train's options can be reused)")
    embed.add_argument("--feature-ids", help="node ids of the rows of a .npy/.npz feature file")
    embed.add_argument("--features-format", choices=FEATURE_FORMATS, default=None)
    _reading_options(embed)
    embed.add_argument("--source-col", help="edge-list source column (number from 0, or name)")
    embed.add_argument("--target-col", help="edge-list target column")
    embed.add_argument("--weight-col", help="edge-weight column ('none': unweighted)")
    embed.add_argument("--device", default="cpu", help="torch device for the encoder")
    embed.set_defaults(handler=run_embed)

    predict = commands.add_parser(
        "predict",
        help="most likely new neighbours of a node, or scores of given node pairs",
        description="Score node pairs with a trained run's decoder: σ(z_u · z_v) for the "
        "inner product. --node ranks all other nodes in blocks (known neighbours left "
        "out unless --include-known); --pairs scores the pairs of a two-column file.",
    )
    predict.add_argument("run", help="a run folder written by graphae train")
    which = predict.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--node", action="append", metavar="ID", help="node id to rank partners for (repeatable)"
    )
    which.add_argument("--pairs", help="file of node-id pairs (two columns)")
    predict.add_argument("--top", type=int, default=None, help="partners per node (default: 10)")
    predict.add_argument(
        "--include-known", action="store_true", help="rank known neighbours too (marked)"
    )
    predict.add_argument("--out", help=f"also write the results: {', '.join(TABLE_FORMATS)}")
    predict.add_argument("--force", action="store_true", help="overwrite existing output")
    _reading_options(predict)
    predict.add_argument("--block-size", type=int, default=None, help=argparse.SUPPRESS)
    predict.set_defaults(handler=run_predict)


def _reading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delimiter", help="',', tab, ';', whitespace (default: detected)")
    parser.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether files start with a header row (default: detected)",
    )


def run_embed(args: argparse.Namespace) -> None:
    """Handler of ``graphae embed``."""
    from graphae.data.files import describe_report, load_graph
    from graphae.inference import check_output, load_run, write_embeddings
    from graphae.pipeline import check_device

    check_output(args.out, force=args.force)
    check_device(args.device)
    run = load_run(args.run, device=args.device)
    if args.edges is None:
        for flag in READING_FLAGS:
            if getattr(args, flag) is not None:
                raise ConfigError(f"--{flag.replace('_', '-')} needs --edges")
        ids, z = run.embed()
        what = f"the trained graph of {run.path}"
    else:
        run.require_features()  # before reading any file
        files = run.graph_files(
            args.edges,
            args.features,
            feature_ids=args.feature_ids,
            delimiter=args.delimiter,
            header=args.header,
            source_col=args.source_col,
            target_col=args.target_col,
            weight_col=args.weight_col,
            features_format=args.features_format,
        )
        data = load_graph(files)
        ids, z = run.embed(data)
        for line in describe_report(data.report, files):
            print(line, file=sys.stderr)
        what = f"{args.edges} through the model of {run.path}"
    written = write_embeddings(args.out, ids, z, force=args.force)
    print(f"wrote {len(ids):,} embeddings ({z.shape[1]}-d) of {what} to {written[0]}")
    for extra in written[1:]:
        print(f"  node ids in {extra}")


def run_predict(args: argparse.Namespace) -> None:
    """Handler of ``graphae predict``."""
    from graphae.inference import check_output, load_run

    if args.pairs is not None and (args.top is not None or args.include_known):
        raise ConfigError("--top and --include-known apply to --node, not --pairs")
    top = 10 if args.top is None else args.top
    if top < 1:
        raise ConfigError(f"--top must be a positive integer, got {top}")
    if args.block_size is not None and args.block_size < 1:
        raise ConfigError(f"--block-size must be a positive integer, got {args.block_size}")
    if args.out is not None:
        check_output(args.out, force=args.force, formats=TABLE_FORMATS)
    run = load_run(args.run)
    if args.pairs is not None:
        _predict_pairs(run, args)
    else:
        _predict_nodes(run, args, top)


def _predict_nodes(run: TrainedRun, args: argparse.Namespace, top: int) -> None:
    from graphae.inference import write_rankings

    for node in dict.fromkeys(args.node):
        run.index_of(node)  # every id checked before any work
    rankings = [
        run.top_k(node, top, include_known=args.include_known, block_size=args.block_size)
        for node in dict.fromkeys(args.node)
    ]
    for i, ranking in enumerate(rankings):
        if i:
            print()
        _print_ranking(ranking, args.include_known)
    if args.out is not None:
        path = write_rankings(args.out, rankings, force=args.force)
        print(f"wrote {path}", file=sys.stderr)


def _print_ranking(ranking: Ranking, include_known: bool) -> None:
    left_out = "itself" if include_known else f"itself and {ranking.excluded:,} known neighbours"
    print(f"top {len(ranking)} partners of {ranking.node} (leaving out {left_out}):")
    width = max([len("id"), *(len(i) for i in ranking.ids)])
    print(f"{'rank':>4}  {'id':<{width}}  {'score':>8}  {'logit':>8}")
    rows = zip(ranking.ids, ranking.scores, ranking.logits, ranking.known, strict=True)
    for rank, (node, score, logit, known) in enumerate(rows, start=1):
        mark = "  (known neighbour)" if known else ""
        print(f"{rank:>4}  {node:<{width}}  {score:8.6f}  {logit:8.3f}{mark}")
    if len(ranking) == 0:
        print("  (no candidates left)")


def _predict_pairs(run: TrainedRun, args: argparse.Namespace) -> None:
    from graphae.inference import read_pairs, write_scores
    from graphae.inference.run import NODES_FILE

    nodes_file = run.path / NODES_FILE
    pairs = read_pairs(
        args.pairs,
        run.node_ids,
        delimiter=args.delimiter,
        header=args.header,
        ids_file=nodes_file if nodes_file.is_file() else None,
    )
    scores = run.pair_scores(pairs.index)
    shown = range(min(len(pairs), SHOWN_PAIRS))
    source = max([len("source"), *(len(pairs.sources[i]) for i in shown)])
    target = max([len("target"), *(len(pairs.targets[i]) for i in shown)])
    print(f"{'source':<{source}}  {'target':<{target}}  score")
    for i in shown:
        print(f"{pairs.sources[i]:<{source}}  {pairs.targets[i]:<{target}}  {scores[i]:.6f}")
    if len(pairs) > SHOWN_PAIRS:
        hint = "" if args.out else "; --out FILE writes them all"
        print(f"... {len(pairs):,} pairs in all{hint}")
    if args.out is not None:
        path = write_scores(args.out, pairs.sources, pairs.targets, scores, force=args.force)
        print(f"wrote {len(pairs):,} scores to {path}", file=sys.stderr)
