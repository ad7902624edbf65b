"""Matching a new graph's features to those a model was trained on."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch_geometric.data import Data

from graphae.data.graph import to_csr
from graphae.errors import DataError

#: Names listed in an error before "and N more".
SHOWN_NAMES = 5


def align_features(data: Data, width: int, trained_names: Sequence[str] | None) -> torch.Tensor:
    """The graph's features with the trained model's columns, in the trained order.

    Both sides named (feature files with a header): the same names are
    required; columns are reordered by name when only their order differs.
    Otherwise the number of columns must match.

    Args:
        data (Data): a graph from :func:`~graphae.data.files.load_graph`
            (``x`` and, when its file had a header, ``feature_names``).
        width (int): the number of features the model takes.
        trained_names (sequence of str, optional): the trained features' names.

    Returns:
        Tensor: ``data.x`` (dense or sparse CSR) with its columns in the trained order.

    Raises:
        DataError: no features, other names, or another number of columns.

    """
    x = getattr(data, "x", None)
    if x is None:
        raise DataError(
            f"the model takes {width:,} features per node but the new graph has none; "
            "give its feature file (--features)"
        )
    names = getattr(data, "feature_names", None)
    if trained_names and names and list(names) != list(trained_names):
        return _reorder(x, list(names), list(trained_names))
    if x.shape[1] != width:
        raise DataError(
            f"the new features have {x.shape[1]:,} columns but the model was trained on "
            f"{width:,}; give the same features, in the same order"
        )
    return x


def _reorder(x: torch.Tensor, names: list[str], trained: list[str]) -> torch.Tensor:
    missing = [n for n in trained if n not in set(names)]
    unexpected = [n for n in names if n not in set(trained)]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {_listing(missing)}")
        if unexpected:
            parts.append(f"unexpected {_listing(unexpected)}")
        raise DataError(
            "the new features' columns differ from the trained model's: " + "; ".join(parts)
        )
    if len(set(names)) != len(names) or len(set(trained)) != len(trained):
        raise DataError(
            "the feature columns are in another order than in training and some names "
            "repeat, so they cannot be matched by name; give them in the trained order"
        )
    position = {name: j for j, name in enumerate(names)}
    order = torch.tensor([position[name] for name in trained], dtype=torch.long)
    if x.layout == torch.strided:
        return x[:, order]
    coo = x.to_sparse_coo().coalesce()
    new_column = torch.empty_like(order)
    new_column[order] = torch.arange(len(order))
    index = coo.indices()
    index = torch.stack([index[0], new_column[index[1]]])
    return to_csr(index, coo.values(), tuple(x.shape))


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return shown + (f" and {more:,} more" if more > 0 else "")
