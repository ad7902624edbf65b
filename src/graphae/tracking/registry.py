"""Trackers by name, as ``--tracker`` selects them.

TensorBoard event files are part of every saved run folder (the pipeline adds
that tracker itself), so ``tensorboard`` adds nothing; ``mlflow`` adds an
:class:`~graphae.tracking.mlflow.MlflowTracker`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from graphae.errors import ConfigError
from graphae.tracking.base import Tracker
from graphae.tracking.mlflow import DEFAULT_EXPERIMENT, MlflowTracker

#: Names ``--tracker`` accepts.
TRACKER_NAMES = ("tensorboard", "mlflow")


def tracker_names(values: Iterable[str] | None) -> list[str]:
    """Names from ``--tracker`` values, each one name or several joined by commas.

    ``["tensorboard,mlflow"]`` and ``["tensorboard", "mlflow"]`` both give
    ``["tensorboard", "mlflow"]``; ``None`` gives ``["tensorboard"]``.

    Raises:
        ConfigError: an unknown name.

    """
    names: list[str] = []
    for value in values or ["tensorboard"]:
        for name in filter(None, (part.strip().lower() for part in value.split(","))):
            if name not in TRACKER_NAMES:
                known = ", ".join(TRACKER_NAMES)
                raise ConfigError(f"unknown tracker {name!r}; choose from {known}")
            if name not in names:
                names.append(name)
    return names


def make_trackers(
    names: Iterable[str] | None,
    mlflow_uri: str | None = None,
    mlflow_experiment: str | None = None,
) -> list[Tracker]:
    """The extra trackers ``names`` ask for (``mlflow_uri`` implies ``mlflow``).

    Raises:
        ConfigError: an unknown name, or MLflow asked for but not installed.

    """
    chosen = tracker_names(names)
    trackers: list[Tracker] = []
    if "mlflow" in chosen or mlflow_uri or mlflow_experiment:
        trackers.append(MlflowTracker(mlflow_uri, mlflow_experiment))
    return trackers


def add_tracker_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--tracker``, ``--mlflow-uri`` and ``--mlflow-experiment`` to a command."""
    group = parser.add_argument_group("experiment trackers")
    # SUPPRESS: no attribute unless given (and no "(default: None)" in --help)
    group.add_argument(
        "--tracker",
        action="append",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="where runs are logged besides their folder: tensorboard (its event files are "
        "always in the run folder) and/or mlflow; repeat it or join names with commas, "
        "e.g. --tracker tensorboard,mlflow",
    )
    group.add_argument(
        "--mlflow-uri",
        default=argparse.SUPPRESS,
        metavar="URI",
        help="MLflow tracking store: a folder (./mlruns), sqlite:///mlflow.db or a server "
        "(http://host:5000); implies --tracker mlflow (default: $MLFLOW_TRACKING_URI, else "
        "MLflow's local default in the working directory)",
    )
    group.add_argument(
        "--mlflow-experiment",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="MLflow experiment, created when missing; implies --tracker mlflow "
        f"(default: $MLFLOW_EXPERIMENT_NAME, else {DEFAULT_EXPERIMENT})",
    )


#: The ``args`` attributes :func:`add_tracker_options` adds (not settings of a run).
TRACKER_OPTIONS = ("tracker", "mlflow_uri", "mlflow_experiment")


def trackers_from_args(args: argparse.Namespace) -> list[Tracker]:
    """The trackers the options of :func:`add_tracker_options` ask for.

    Raises:
        ConfigError: an unknown name, or MLflow asked for but not installed.

    """
    return make_trackers(
        getattr(args, "tracker", None),
        getattr(args, "mlflow_uri", None),
        getattr(args, "mlflow_experiment", None),
    )
