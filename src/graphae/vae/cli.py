"""The ``graphae vae`` command: train image VAEs, or sample from a finished run.

::

    graphae vae --dataset fashion-mnist --latent-dim 2 5 10 20 --epochs 20
    graphae vae --dataset digits                 # scikit-learn's 8x8 digits, offline
    graphae vae sample RUN --n 64                # a new grid of samples from RUN

``sample`` is an optional sub-action of ``vae`` (argparse sub-parsers that
are not required): without it, ``vae`` trains.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphae.tracking.registry import add_tracker_options, trackers_from_args
from graphae.vae.config import VAEConfig
from graphae.vae.data import DATASETS
from graphae.vae.train import LR_SCHEDULES, OPTIMIZERS

if TYPE_CHECKING:
    from graphae.vae.pipeline import VAERunResult


def add_vae_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``vae`` (and its ``sample`` action) to the ``graphae`` sub-commands."""
    d = VAEConfig()
    vae = commands.add_parser(
        "vae",
        help="variational autoencoder (Kingma & Welling, 2014) on MNIST-style images",
        description="Train the VAE of Kingma & Welling (2014) on images, one run per latent "
        "size; reports the negative ELBO per image (nats) on train and test every epoch. "
        "'graphae vae sample RUN' decodes new samples from a finished run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    vae.add_argument("--dataset", default=d.dataset, help=f"one of: {', '.join(DATASETS)}")
    vae.add_argument(
        "--latent-dim",
        type=int,
        nargs="+",
        default=[d.latent_dim],
        help="one or more sizes of z; several give one run each plus a comparison",
    )
    vae.add_argument(
        "--hidden", type=int, nargs="+", default=list(d.hidden), help="encoder widths (mirrored)"
    )
    vae.add_argument("--epochs", type=int, default=d.epochs)
    vae.add_argument("--batch-size", type=int, default=d.batch_size)
    vae.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    vae.add_argument(
        "--lr", type=float, default=None, help="learning rate (default: adagrad 0.01, adam 0.001)"
    )
    vae.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d.lr_schedule)
    vae.add_argument(
        "--kl-warmup", type=int, default=d.kl_warmup, help="epochs of linear KL warm-up (0: none)"
    )
    vae.add_argument("--seed", type=int, default=d.seed)
    vae.add_argument("--train-size", type=int, default=None, help="use the first N train images")
    vae.add_argument("--test-size", type=int, default=None, help="use the first N test images")
    vae.add_argument(
        "--data-root",
        default=None,
        help="folder with FashionMNIST/raw or MNIST/raw idx files (else $GRAPHAE_DATA, "
        "else the user cache; downloaded when missing)",
    )
    vae.add_argument("--runs-dir", default=d.runs_dir, help="parent of run directories")
    vae.add_argument("--name", default=None, help="run (or, for several sizes, parent folder) name")
    vae.add_argument("--device", default=d.device)
    vae.add_argument("--quiet", action="store_true", help="no progress bar")
    add_tracker_options(vae)
    vae.set_defaults(handler=run_train)

    actions = vae.add_subparsers(dest="vae_action", parser_class=type(vae), metavar="{sample}")
    sample = actions.add_parser(
        "sample",
        help="decode a new grid of samples z ~ N(0, I) from a finished run",
        description="Reload a run's checkpoint (nothing else is needed) and write a grid "
        "of images decoded from z ~ N(0, I).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sample.add_argument("run", help="a VAE run directory (or its checkpoint.pt)")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    sample.add_argument("--seed", type=int, default=0, help="seeds z")
    sample.add_argument(
        "--out", default=None, help="PNG path (default: RUN/samples_n<N>_seed<SEED>.png)"
    )
    sample.add_argument("--device", default="cpu")
    sample.add_argument(  # SUPPRESS: leaves `graphae vae --threads N sample ...` as given
        "--threads",
        type=int,
        default=argparse.SUPPRESS,
        help="CPU threads for torch (default: torch's, one per core)",
    )
    sample.set_defaults(handler=run_sample)
    return vae


def run_train(args: argparse.Namespace) -> None:
    """Handler of ``graphae vae``: train one run per latent size and print the results."""
    from graphae.vae.sizes import train_sizes

    config = VAEConfig(
        dataset=args.dataset,
        latent_dim=args.latent_dim[0],
        hidden=tuple(args.hidden),
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        kl_warmup=args.kl_warmup,
        seed=args.seed,
        train_size=args.train_size,
        test_size=args.test_size,
        data_root=args.data_root,
        runs_dir=args.runs_dir,
        name=args.name,
        device=args.device,
        quiet=args.quiet,
    )
    trackers = trackers_from_args(args)
    result = train_sizes(config, args.latent_dim, trackers=trackers, on_run=_print_run)
    if result.folder is not None:
        print()
        print(result.markdown, end="")
        written = ", ".join(p.name for p in result.files.values())
        print(f"comparison: {result.folder} ({written})")
    print(f"view: tensorboard --logdir {config.runs_dir}")


def _print_run(run: VAERunResult) -> None:
    m, c = run.metrics, run.config
    arch = "-".join(str(w) for w in (m["num_pixels"], *c.hidden, c.latent_dim))
    print(
        f"VAE on {c.dataset} ({arch}, {c.optimizer} lr {c.lr:g}, batch {c.batch_size}, "
        f"{c.epochs} epoch{'s' if c.epochs != 1 else ''}, {m['seconds_per_epoch']:.2f} s/epoch)"
    )
    t = m["test"]
    print(
        f"  test −ELBO {t['neg_elbo']:.2f} nats/image (recon {t['recon']:.2f} + KL "
        f"{t['kl']:.2f}); train {m['train']['neg_elbo']:.2f}"
    )
    if run.run_dir is not None:
        print(f"  run directory: {run.run_dir} ({', '.join(m['files'])})", flush=True)


def run_sample(args: argparse.Namespace) -> None:
    """Handler of ``graphae vae sample``: reload a run and write a new grid of samples."""
    import torch

    from graphae.artifacts.atomic import make_folder
    from graphae.errors import ConfigError
    from graphae.figures import save_figure
    from graphae.pipeline import check_device
    from graphae.vae.checkpoint import load_vae
    from graphae.vae.figures import grid_figure

    if args.n < 1:
        raise ConfigError(f"n must be a positive integer, got {args.n}")
    check_device(args.device)
    model, config = load_vae(args.run, map_location=args.device)
    generator = torch.Generator(device=args.device).manual_seed(args.seed)
    images = model.sample(args.n, generator)
    run_dir = Path(args.run) if Path(args.run).is_dir() else Path(args.run).parent
    out = Path(args.out) if args.out else run_dir / f"samples_n{args.n}_seed{args.seed}.png"
    title = (
        f"VAE {config.dataset}, z = {config.latent_dim}: {args.n} samples from z ~ N(0, I), "
        f"seed {args.seed}"
    )
    make_folder(out.parent)
    save_figure(grid_figure(images, title), out)  # atomic; OutputError names ``out``
    print(f"wrote {out}")
