"""Command line: parse -> config -> call the API. Nothing else lives here.

Every failure a user or the machine causes prints one line on stderr,
``graphae: error: ...`` (no traceback), and leaves nothing half-written: a
failed or stopped run's folder is removed, and every file is written to a
temporary name and renamed into place when complete. Exit codes:

* ``0``: success.
* ``1``: the machine failed a write that should have worked: the disk is full
  (``ENOSPC``, ``EDQUOT``), an I/O error (``EIO``), ...
  (``graphae: error: cannot write <path>: No space left on device``).
* ``2``: something the user can fix: a bad option or setting, an unreadable
  input file, or an output path that cannot be written: permission denied,
  a read-only file system, a missing folder, a file where a folder is
  expected (``graphae: error: cannot write <path>: Not a directory``).
* ``130``: interrupted by Ctrl-C (SIGINT); ``143``: stopped by SIGTERM (what
  ``timeout`` and job schedulers send). The unfinished run directory is
  removed in both cases, unless it has a resume checkpoint
  (``--checkpoint-every``): then it is kept, and the line says how to resume
  it (``graphae train --resume RUN``); so is a run stopped by an error other
  than a diverging loss.

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from graphae.analysis.compare import METRICS
from graphae.artifacts.atomic import USER_FIXABLE_ERRNOS, exit_code
from graphae.config import (
    ACTIVATIONS,
    DECODERS,
    ENCODERS,
    FEATURE_FORMATS,
    MASKS,
    MODELS,
    NORMS,
    OBJECTIVES,
    SELECT_METRICS,
    SPLITS,
    TEST_GRAPHS,
    TrainConfig,
)
from graphae.errors import ConfigError, GraphaeError
from graphae.evaluation.probe_cli import add_probe_parser
from graphae.inference.cli import add_inference_parsers
from graphae.tracking.registry import TRACKER_OPTIONS, add_tracker_options, trackers_from_args
from graphae.vae.cli import add_vae_parser

if TYPE_CHECKING:
    from graphae.pipeline import RunResult
    from graphae.tracking.base import Tracker

EXIT_USAGE = 2
#: The settings of a run (``TrainConfig``'s fields), as argparse names them.
TRAIN_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig))
#: Exit codes of an interrupted command: 128 + the signal's number, as shells report them.
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where it would mislead.

    A flag (``--quiet``, ``--no-figures``) takes no value, so its
    ``(default: True)`` reads as if it were on; a ``None`` default means
    "see the text", which says what happens then.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.nargs == 0 or action.default is None:
            return action.help or ""
        return super()._get_help_string(action) or ""


class _Options(Protocol):
    """An argument parser or one of its argument groups."""

    def add_argument(self, *flags: str, **kwargs: Any) -> argparse.Action: ...


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        """Print ``graphae: error: ...`` and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``graphae`` argument parser."""
    parser = _Parser(prog="graphae", description="Graph autoencoders for link prediction.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    defaults = TrainConfig()

    train = commands.add_parser(
        "train",
        help="train a graph autoencoder (GAE, VGAE, MaskGAE) on a data set or your own graph "
        "and report link-prediction AUC/AP",
        description="Train a graph autoencoder and score held-out links; each model's "
        "defaults are its paper's (graphae.presets).",
        formatter_class=_HelpFormatter,
    )
    train.add_argument("--model", choices=MODELS, default=defaults.model)
    train.add_argument(
        "--dataset",
        default=None,
        help="Cora, CiteSeer or PubMed (default: Cora); with --edges, the graph's name "
        "(default: the edge file's name)",
    )
    _add_own_graph_options(train, feature_flags=("--features", "--features-file"))
    train.add_argument(
        "--no-features",
        dest="features",
        action="store_false",
        help="identity features (the paper's GAE*/VGAE*)",
    )
    train.add_argument(
        "--normalize-features",
        action="store_true",
        help="scale each node's features to sum 1 (PyG's NormalizeFeatures; the paper "
        "uses them as given)",
    )
    _add_model_settings(train)
    _add_protocol_settings(train)
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument(
        "--data-root", default=None, help="folder with Planetoid/<Name>/raw (else $GRAPHAE_DATA)"
    )
    train.add_argument("--runs-dir", default=defaults.runs_dir, help="parent of run directories")
    train.add_argument("--name", default=None, help="run name (default: e.g. vgae_cora_16d_200ep)")
    train.add_argument("--device", default=defaults.device)
    train.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="refuse to start when the memory estimate (printed before training) exceeds "
        "SIZE, e.g. 16G or 512M; 'none': no check (default: the device's total memory)",
    )
    train.add_argument(
        "--backend",
        choices=("gloo", "nccl"),
        default=None,
        help="torch.distributed backend when started by torchrun (default: nccl for "
        "--device cuda, gloo otherwise); a single process ignores it",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--no-figures",
        dest="figures",
        action="store_false",
        help="no PNGs (latent space, ROC, curves) in the run directory and TensorBoard",
    )
    train.add_argument(
        "--checkpoint-every",
        type=int,
        default=defaults.checkpoint_every,
        metavar="N",
        help="write a resume checkpoint (resume.pt) every N epochs; 0: none",
    )
    train.add_argument(
        "--resume",
        metavar="RUN",
        default=None,
        help="continue a stopped run folder from its last checkpoint, with the settings of its "
        "config.json (only " + ", ".join(RESUME_OPTIONS[1:]) + " may be given with it)",
    )
    add_tracker_options(train)
    train.set_defaults(handler=_train)

    repro = commands.add_parser(
        "reproduce",
        help="reproduce a published table (e.g. kipf2016), ours beside the paper's",
        description="Run every cell of a paper's table and write Markdown, CSV and JSON "
        "with our mean ± std next to the reported numbers. Finished runs are skipped.",
    )
    repro.add_argument("name", nargs="?", help="bundled spec (see --list) or a YAML file")
    repro.add_argument("--list", action="store_true", help="list bundled reproductions")
    repro.add_argument("--datasets", nargs="+", help="subset of the spec's datasets")
    repro.add_argument("--methods", nargs="+", help="subset of the spec's methods, e.g. GAE VGAE")
    repro.add_argument("--runs", type=int, help="seeds 0..RUNS-1 (default: the spec's)")
    repro.add_argument("--epochs", type=int, help="override the autoencoders' epochs")
    repro.add_argument("--out", help="output folder (default: runs/reproduce/<name>)")
    repro.add_argument("--data-root", default=None, help="folder with Planetoid/<Name>/raw")
    add_tracker_options(repro)
    repro.set_defaults(handler=_reproduce)

    compare = commands.add_parser(
        "compare",
        help="table of runs (seeds grouped, best first) and a PNG of their val-AUC curves",
        description="Compare run directories: a folder of runs, globs, or several paths.",
        formatter_class=_HelpFormatter,
    )
    compare.add_argument("paths", nargs="+", help="run folders, folders of runs, or globs")
    compare.add_argument("--sort", default="test_auc", choices=METRICS, help="sort by")
    compare.add_argument("--format", default="md", choices=("md", "csv", "json"))
    compare.add_argument("--no-group", action="store_true", help="one row per run, not per setting")
    compare.add_argument(
        "--plot", default=None, help="PNG path (default: compare.png in the folder compared)"
    )
    compare.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    compare.set_defaults(handler=_compare)

    sweep = commands.add_parser(
        "sweep",
        help="train every combination of list-valued settings (finished ones are skipped)",
        description="Cartesian product of the given values: any setting of graphae train "
        "takes one or more values (a flag applies to every run). Each combination is a run "
        "directory named by what differs, e.g. gae_citeseer_2d_100ep_seed0 or "
        "maskgae_cora_128d_500ep_dropout0.5.",
        formatter_class=_HelpFormatter,
    )
    # settings not given are each model's own (graphae.presets), or train's defaults
    sweep.add_argument("--model", nargs="+", choices=MODELS, default=[defaults.model])
    sweep.add_argument(
        "--dataset",
        nargs="+",
        default=argparse.SUPPRESS,
        help="data sets, as for train (default: Cora); with --edges, the graph's name",
    )
    _add_own_graph_options(sweep, feature_flags=("--features-file",))
    sweep.add_argument(
        "--features", nargs="+", choices=("on", "off"), default=["on"], help="off: GAE*/VGAE*"
    )
    _setting(
        sweep,
        True,
        "--normalize-features",
        action="store_true",
        help="scale each node's features to sum 1, in every run",
    )
    _add_model_settings(sweep, many=True)
    _add_protocol_settings(sweep, many=True)
    sweep.add_argument("--seeds", type=int, default=1, help="seeds 0..SEEDS-1")
    sweep.add_argument("--data-root", default=None)
    sweep.add_argument("--runs-dir", default=defaults.runs_dir)
    sweep.add_argument("--sweep-name", default="sweep", help="summary file <runs-dir>/<name>.json")
    sweep.add_argument("--device", default=defaults.device)
    sweep.add_argument("--max-memory", metavar="SIZE", help="as for train, for every run")
    sweep.add_argument(
        "--checkpoint-every",
        type=int,
        default=defaults.checkpoint_every,
        metavar="N",
        help="resume checkpoints every N epochs (0: none); a sweep run again resumes a "
        "stopped run from its last one",
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bars")
    sweep.add_argument(
        "--no-figures",
        dest="figures",
        action="store_false",
        help="write no PNGs (without it, each run writes latent.png, roc.png and curves.png)",
    )
    add_tracker_options(sweep)
    sweep.set_defaults(handler=_sweep)

    add_vae_parser(commands)  # graphae vae [...] and graphae vae sample RUN
    add_inference_parsers(commands)  # graphae embed RUN, graphae predict RUN
    add_probe_parser(commands)  # graphae probe RUN [RUN ...]
    for command in commands.choices.values():
        command.add_argument(
            "--threads",
            type=int,
            default=None,
            help="CPU threads for torch (default: torch's, one per core; idle threads sleep "
            "rather than spin, OMP_WAIT_POLICY=PASSIVE, unless you set it). The count may "
            "change the last bits of results",
        )
    return parser


def _setting(parser: _Options, many: bool, *flags: str, **kwargs: Any) -> None:
    """Add a setting: one value (``train``), or with ``many`` (``sweep``) one or more.

    With ``many``, an option that takes a value takes a list (each value is
    swept over) and an option left out keeps the run's default.
    """
    if many:
        kwargs["default"] = argparse.SUPPRESS
        if kwargs.get("action") is None:
            kwargs["nargs"] = "+"
    parser.add_argument(*flags, **kwargs)


def _add_own_graph_options(parser: argparse.ArgumentParser, feature_flags: tuple[str, ...]) -> None:
    """``--edges`` and how to read the user's files (``train``, and ``sweep`` over one graph)."""
    own = parser.add_argument_group("your own graph (instead of --dataset)")
    own.add_argument(
        "--edges", help="edge list: CSV, TSV, whitespace or SNAP text (# comments), .gz too"
    )
    own.add_argument(
        *feature_flags,
        dest="features_file",
        metavar="FILE",
        help="node features: CSV/TSV (id, then one column per feature), long format "
        "(id,feature,value), or .npy/.npz (rows in the order of --feature-ids)",
    )
    own.add_argument("--labels", dest="labels_file", metavar="FILE", help="node labels: id,class")
    own.add_argument("--feature-ids", help="node ids of the rows of a .npy/.npz feature file")
    own.add_argument("--features-format", choices=FEATURE_FORMATS, default="auto")
    own.add_argument(
        "--delimiter", help="edge-list delimiter: ',', tab, ';', whitespace (default: detected)"
    )
    own.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the files start with a header row (default: detected)",
    )
    own.add_argument("--source-col", default="0", help="source column: number from 0, or name")
    own.add_argument("--target-col", default="1", help="target column: number from 0, or name")
    own.add_argument("--weight-col", help="column of positive edge weights (default: unweighted)")


def _add_protocol_settings(parser: argparse.ArgumentParser, many: bool = False) -> None:
    """Objective, mini-batches, split and model selection (lists with ``many``: ``sweep``)."""
    defaults = TrainConfig()
    _setting(
        parser,
        many,
        "--objective",
        choices=OBJECTIVES,
        default=defaults.objective,
        help="dense: the paper's full-adjacency loss; sampled: edges vs as many "
        "random non-edges; masked: masked (or all) edges vs as many random non-edges "
        "through the model's decoder, what --decoder mlp, --mask and --degree-weight "
        "need; auto: masked where needed, else dense up to --dense-max-nodes nodes",
    )
    _setting(parser, many, "--dense-max-nodes", type=int, default=defaults.dense_max_nodes)
    _setting(
        parser,
        many,
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        metavar="N",
        help="mini-batch training: N training edges (and N sampled negatives) per optimiser "
        "step over sampled neighbourhoods, for models too large for the full graph; "
        "0: full-graph training",
    )
    _setting(
        parser,
        many,
        "--fanout",
        default=",".join(map(str, defaults.fanout)),
        metavar="K[,K...]",
        help="with --batch-size: neighbours sampled per node at each hop, from the pairs' "
        "nodes outward; one value for all hops or one per hop; -1: all",
    )
    _setting(parser, many, "--val-fraction", type=float, default=defaults.val_fraction)
    _setting(parser, many, "--test-fraction", type=float, default=defaults.test_fraction)
    _setting(
        parser,
        many,
        "--split",
        choices=SPLITS,
        default=defaults.split,
        help="edge: hold out edges (the paper's); inductive: hold out nodes with all their "
        "edges (fractions of nodes), scored from their features",
    )
    _setting(parser, many, "--eval-every", type=int, default=defaults.eval_every)
    _setting(
        parser, many, "--select-metric", choices=SELECT_METRICS, default=defaults.select_metric
    )
    _setting(
        parser,
        many,
        "--test-graph",
        choices=TEST_GRAPHS,
        default=defaults.test_graph,
        help="edges the encoder sees when scoring the test pairs: training edges (the "
        "paper's), or training + validation edges (PyG's RandomLinkSplit)",
    )


def _add_model_settings(parser: argparse.ArgumentParser, many: bool = False) -> None:
    """The model settings; unset ones take the model's defaults (presets).

    With ``many`` (``graphae sweep``) each takes one or more values, flags one.
    """
    group = parser.add_argument_group(
        "model (unset: the --model's defaults on the data set, listed in graphae.presets; "
        "gae/vgae: the 2016 paper's, maskgae: MaskGAE's)"
    )
    unset = argparse.SUPPRESS  # absent from the settings: TrainConfig takes the model's
    _setting(
        group,
        many,
        "--hidden-dim",
        type=int,
        default=unset,
        help="inner GCN layers' width (32; maskgae 128)",
    )
    _setting(
        group,
        many,
        "--latent-dim",
        type=int,
        default=unset,
        help="embedding size (16; maskgae 128)",
    )
    _setting(group, many, "--epochs", type=int, default=unset, help="steps (200; maskgae 500)")
    _setting(group, many, "--lr", type=float, default=unset, help="Adam learning rate (0.01)")
    _setting(
        group,
        many,
        "--dropout",
        type=float,
        default=unset,
        help="encoder dropout (0; maskgae 0.8, PubMed 0.2)",
    )
    _setting(
        group,
        many,
        "--bias",
        action="store_true",
        default=unset,
        help="GCN layers with a bias (PyG's GCNConv default and maskgae's; the paper's have none)",
    )
    _setting(
        group,
        many,
        "--no-bias",
        dest="bias",
        action="store_false",
        default=unset,
        help="GCN layers without",
    )
    _setting(
        group,
        many,
        "--encoder",
        choices=ENCODERS,
        default=unset,
        help="gcn; linear: Z = ÂXW (Salha et al. 2020)",
    )
    _setting(group, many, "--layers", type=int, default=unset, help="GCN layers (2; maskgae 1)")
    _setting(
        group,
        many,
        "--norm",
        choices=NORMS,
        default=unset,
        help="after each GCN layer (none; maskgae batch)",
    )
    _setting(
        group,
        many,
        "--residual",
        action=argparse.BooleanOptionalAction,
        default=unset,
        help="residual connections between GCN layers of equal width",
    )
    _setting(
        group, many, "--activation", choices=ACTIVATIONS, default=unset, help="relu; maskgae elu"
    )
    _setting(
        group,
        many,
        "--activate-output",
        action=argparse.BooleanOptionalAction,
        default=unset,
        help="norm and activation after the last GCN layer too (maskgae)",
    )
    _setting(
        group,
        many,
        "--propagate-before",
        type=int,
        default=unset,
        help="parameter-free Â steps on the inputs",
    )
    _setting(
        group,
        many,
        "--propagate-after",
        type=int,
        default=unset,
        help="parameter-free Â steps on the output",
    )
    _setting(
        group,
        many,
        "--decoder",
        choices=DECODERS,
        default=unset,
        help="inner: z_u·z_v; mlp: MLP on z_u ⊙ z_v (maskgae)",
    )
    _setting(
        group, many, "--decoder-hidden", type=int, default=unset, help="MLP decoder width (64)"
    )
    _setting(
        group, many, "--decoder-layers", type=int, default=unset, help="MLP decoder layers (2)"
    )
    _setting(
        group, many, "--decoder-dropout", type=float, default=unset, help="MLP decoder dropout"
    )
    _setting(
        group,
        many,
        "--degree-weight",
        type=float,
        default=unset,
        help="weight of a degree-regression decoder's loss (0; maskgae 0.003)",
    )
    _setting(
        group,
        many,
        "--mask",
        choices=MASKS,
        default=unset,
        help="hide edges from the encoder each step and reconstruct them: edge (a uniform "
        "share), path (random walks), directed (a share of edge directions, MaskGAE's "
        "code: an edge is hidden when both are) (none; maskgae directed)",
    )
    _setting(
        group,
        many,
        "--mask-ratio",
        type=float,
        default=unset,
        help="share of edges masked (edge), of directions (directed), of edges starting a "
        "walk (path) (0.7)",
    )
    _setting(
        group,
        many,
        "--walk-length",
        type=int,
        default=unset,
        help="path-mask walk steps (--layers + 1)",
    )
    _setting(
        group,
        many,
        "--weight-decay",
        type=float,
        default=unset,
        help="Adam's L2 penalty (0; maskgae 5e-5)",
    )
    _setting(
        group,
        many,
        "--grad-clip",
        type=float,
        default=unset,
        help="gradient norm clip, 0: none (maskgae 1)",
    )
    _setting(
        group,
        many,
        "--ensemble",
        type=int,
        default=unset,
        metavar="K",
        help="train K models, each with its own seed, one after the other on the run's split "
        "and average their edge probabilities (a deep ensemble: K times the training time) (1)",
    )
    _setting(
        group,
        many,
        "--snapshots",
        type=int,
        default=unset,
        metavar="K",
        help="average the edge probabilities of the K best-validation snapshots of each "
        "model, taken every --snapshot-every epochs (a checkpoint ensemble: no extra "
        "training) (1: the best epoch alone)",
    )
    _setting(
        group,
        many,
        "--snapshot-every",
        type=int,
        default=unset,
        metavar="N",
        help="spacing of the snapshots, a multiple of --eval-every (epochs / (2 K))",
    )


def _version() -> str:
    from graphae import __version__

    return f"graphae {__version__}"


def _train(args: argparse.Namespace) -> None:
    from graphae.training.distributed import process_group

    # under torchrun (RANK, WORLD_SIZE set): join the other ranks; rank 0 alone reports
    with process_group(args.backend, args.device) as ranks:
        _train_rank(args, report=ranks is None or ranks.is_main)


def _train_rank(args: argparse.Namespace, report: bool = True) -> None:
    from graphae.pipeline import graph_files, load_data, train

    ignored = {"command", "handler", "threads", "backend", "resume", "argv", *TRACKER_OPTIONS}
    fields = {k: v for k, v in vars(args).items() if k not in ignored}
    config = TrainConfig(**fields)
    data = None
    if config.edges:
        from graphae.data.files import describe_report

        with _warnings_on_stderr():
            data = load_data(config)
        for line in describe_report(data.report, graph_files(config)):
            if report:
                print(line)
    trackers = trackers_from_args(args) if report else []  # one MLflow run, not one per rank
    if args.resume is not None:
        result = _resume(args, trackers)
    else:
        result = train(config, data=data, trackers=trackers)
    if not report:
        return
    config, m = result.config, result.metrics
    label = config.model.upper() + ("" if config.features else "*")
    if config.ensemble > 1:
        label += f" x{config.ensemble}"
    if config.snapshots > 1:
        label += f" ({config.snapshots} snapshots)"
    print(
        f"{label} on {config.dataset} ({result.objective} objective, {config.epochs} epochs, "
        f"seed {config.seed}, {m['train_seconds']:.1f} s)"
    )
    if m.get("resumed_from_epoch"):
        member = m.get("resumed_from_member")
        of = f" of ensemble member {member}" if member else ""
        print(f"  resumed from its checkpoint of epoch {m['resumed_from_epoch']}{of}")
    if m.get("cold_test_pairs"):
        where = "held-out nodes" if config.split == "inductive" else "nodes with no training edge"
        print(f"  {m['cold_test_pairs']:,} of the test pairs touch {where}")
    if m.get("snapshots"):  # a checkpoint ensemble: member 0's snapshots
        epochs = ", ".join(str(s["epoch"]) for s in m["snapshots"])
        alone = m["best_epoch_test"]
        print(
            f"  {len(m['snapshots'])} snapshots of epochs {epochs}; the best epoch "
            f"({m['best_epoch']}) alone: test AUC {100 * alone['auc']:.2f}  "
            f"AP {100 * alone['ap']:.2f}"
        )
    if m.get("members"):  # an ensemble: each member kept its own epoch
        epochs = ", ".join(str(member["best_epoch"]) for member in m["members"])
        tests = ", ".join(f"{100 * member['test']['auc']:.2f}" for member in m["members"])
        print(f"  ensemble of {len(m['members'])}: best epochs {epochs}; member test AUC {tests}")
        kept = "ensemble"
    else:
        kept = "snapshots" if m.get("snapshots") else f"best epoch {m['best_epoch']}"
    print(f"  {kept}: val AUC {100 * m['val']['auc']:.2f}  AP {100 * m['val']['ap']:.2f}")
    print(
        f"  test AUC {100 * m['test']['auc']:.2f}  AP {100 * m['test']['ap']:.2f}   "
        f"(last epoch: AUC {100 * m['test_last']['auc']:.2f}  AP {100 * m['test_last']['ap']:.2f})"
    )
    t = m["test"]  # Hits@K and MRR in percent too (MRR 100 = every positive ranked first)
    print(
        f"  test Hits@20 {100 * t['hits@20']:.2f}  @50 {100 * t['hits@50']:.2f}  "
        f"@100 {100 * t['hits@100']:.2f}  MRR {100 * t['mrr']:.2f}"
    )
    print(f"  run directory: {result.run_dir}")
    print(f"  view: tensorboard --logdir {config.runs_dir}")


#: ``graphae train`` options allowed with ``--resume``: none changes the numbers.
RESUME_OPTIONS = (
    "--resume",
    "--checkpoint-every",
    "--quiet",
    "--no-figures",
    "--data-root",
    "--threads",
    "--backend",  # under torchrun
    "--tracker",
    "--mlflow-uri",
    "--mlflow-experiment",
)


def _resume(args: argparse.Namespace, trackers: list[Tracker]) -> RunResult:
    """``graphae train --resume RUN``: refuse other settings, then resume the run."""
    from graphae.pipeline import resume

    given = list(dict.fromkeys(a.partition("=")[0] for a in args.argv if a.startswith("--")))
    conflicting = [a for a in given if a not in RESUME_OPTIONS]
    if conflicting:
        raise ConfigError(
            f"--resume continues {args.resume} with the settings of its config.json; "
            f"drop {' '.join(conflicting)} (or start a new run)"
        )
    fields = {"--checkpoint-every": "checkpoint_every", "--quiet": "quiet"}
    fields.update({"--no-figures": "figures", "--data-root": "data_root"})
    overrides = {fields[a]: getattr(args, fields[a]) for a in given if a in fields}
    return resume(args.resume, trackers=trackers, **overrides)


def _kept(error: BaseException) -> str | None:
    """``<run> kept, resumable from epoch <k>: graphae train --resume <run>``, if it was."""
    from graphae.training.checkpointing import describe_kept, kept_run

    run_dir = kept_run(error)
    return describe_kept(run_dir) if run_dir is not None else None


@contextmanager
def _warnings_on_stderr() -> Iterator[None]:
    """Show warnings about the user's data as ``graphae: warning: ...`` lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                print(f"graphae: warning: {w.message}", file=sys.stderr)


def _reproduce(args: argparse.Namespace) -> None:
    from graphae.errors import ConfigError
    from graphae.reproduction import available_specs, load_spec, reproduce

    if args.list:
        for name in sorted(available_specs()):
            spec = load_spec(name)
            print(f"{name}: {spec.title}")
            print(f"    datasets: {', '.join(spec.datasets)}; methods: {', '.join(spec.labels)}")
        return
    if not args.name:
        raise ConfigError("name a reproduction (graphae reproduce --list shows them)")
    if args.epochs is not None and args.epochs < 1:
        raise ConfigError(f"epochs must be a positive integer, got {args.epochs}")
    result = reproduce(
        args.name,
        args.out,
        datasets=args.datasets,
        methods=args.methods,
        runs=args.runs,
        data_root=args.data_root,
        epochs=args.epochs,
        trackers=trackers_from_args(args),
    )
    print(result.markdown)
    print("written: " + ", ".join(str(p) for p in result.files.values()))
    print(f"view: tensorboard --logdir {result.files['md'].parent}")


def _compare(args: argparse.Namespace) -> None:
    from pathlib import Path

    from graphae.analysis import format_table, group_runs, plot_curves, read_runs, sort_groups

    runs, skipped = read_runs(args.paths)
    for path, why in skipped:
        print(f"graphae: skipped {path}: {why}", file=sys.stderr)
    if not runs:
        raise GraphaeError(f"no finished runs under {' '.join(args.paths)}")
    groups = sort_groups(group_runs(runs, by_seed=not args.no_group), args.sort)
    print(format_table(groups, args.format), end="")
    if not args.no_plot:
        only = Path(args.paths[0])
        default = only / "compare.png" if len(args.paths) == 1 and only.is_dir() else "compare.png"
        written = plot_curves(groups, args.plot or default)
        if written is not None:
            print(f"wrote {written}", file=sys.stderr)


def _sweep(args: argparse.Namespace) -> None:
    from graphae.analysis import format_table, group_runs, read_runs, sort_groups
    from graphae.errors import ConfigError
    from graphae.sweep import SWEEPABLE, run_sweep

    if args.seeds < 1:
        raise ConfigError(f"seeds must be a positive integer, got {args.seeds}")
    given = vars(args)
    grid: dict[str, list[Any]] = {"model": args.model, "dataset": given.get("dataset", [None])}
    grid["features"] = [f == "on" for f in dict.fromkeys(args.features)]
    # every other list is an option given with one or more values: swept over
    swept = {k: v for k, v in given.items() if k in SWEEPABLE and isinstance(v, list)}
    grid.update({k: v for k, v in swept.items() if k not in grid})
    grid["seed"] = list(range(args.seeds))
    fixed = {k: v for k, v in given.items() if k in TRAIN_FIELDS and not isinstance(v, list)}
    base = TrainConfig(**fixed)
    summary = run_sweep(grid, base, sweep_name=args.sweep_name, trackers=trackers_from_args(args))
    runs, _ = read_runs([s["run_dir"] for s in summary])
    print(format_table(sort_groups(group_runs(runs)), "md"), end="")
    print(f"summary: {args.runs_dir}/{args.sweep_name}.json")
    print(f"compare: graphae compare {args.runs_dir}; view: tensorboard --logdir {args.runs_dir}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphae`` command; returns its exit code (see the module's doc)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # which options were given
    try:
        with _sigterm_interrupts(), _torch_threads(getattr(args, "threads", None)):
            args.handler(args)
    except GraphaeError as exc:  # OutputError carries 1 (disk full) or 2 (a path to fix)
        kept = _kept(exc)
        print(f"graphae: error: {exc}" + (f"; {kept}" if kept else ""), file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_USAGE)
    except OSError as exc:
        # a file-system error no writer turned into an OutputError: still one line
        if exc.errno not in _FILE_SYSTEM_ERRNOS:
            raise
        kept = _kept(exc)
        print(f"graphae: error: {_describe(exc)}" + (f"; {kept}" if kept else ""), file=sys.stderr)
        return exit_code(exc.errno)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Stopped)
        stopped = "stopped by SIGTERM" if isinstance(exc, Stopped) else "interrupted"
        rank = os.environ.get("RANK", "0")  # torchrun's other ranks write no run folder
        removed = "the unfinished run directory was removed"
        if rank != "0":
            removed = f"rank {rank}, which writes no run directory"
        left = _kept(exc) or removed
        print(f"graphae: {stopped}; {left}", file=sys.stderr)
        return EXIT_SIGTERM if isinstance(exc, Stopped) else EXIT_SIGINT
    return 0


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run the command with ``threads`` torch CPU threads (``None``: unchanged)."""
    if threads is None:
        yield
        return
    if threads < 1:
        raise ConfigError(f"threads must be a positive integer, got {threads}")
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Stopped(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that it unwinds (and cleans up) like Ctrl-C."""


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into :class:`Stopped` for the duration of the command.

    A second SIGTERM during the clean-up is ignored; the previous handler is
    restored afterwards. (Signal handlers can only be set in the main thread;
    elsewhere SIGTERM keeps its meaning.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


#: errnos of the file system (:func:`main` reports them in one line).
_FILE_SYSTEM_ERRNOS = USER_FIXABLE_ERRNOS | {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}
#: Of those, the ones only a write can meet.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def _describe(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    if exc.errno in _WRITE_ERRNOS:
        return f"cannot write {exc.filename}: {reason}"
    return f"{exc.filename}: {reason}"


if __name__ == "__main__":
    sys.exit(main())
