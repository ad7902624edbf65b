"""Errors that the CLI turns into one line on stderr and exit code 2.

Anything a user can fix (a bad option, a missing file) raises a subclass of
:class:`GraphaeError`; everything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class GraphaeError(Exception):
    """Base class for errors a user can act on."""


class ConfigError(GraphaeError, ValueError):
    """An invalid setting (for example ``latent_dim <= 0``)."""


class DataError(GraphaeError):
    """A data set that is unknown, missing or unreadable."""


class TrainingError(GraphaeError):
    """Training diverged: the loss or the validation scores stopped being finite numbers.

    Raised at the first such epoch, so that no run with meaningless weights
    or metrics is saved; the message names the epoch and what to try.
    """
