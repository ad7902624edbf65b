"""Edge lists: read the id (and weight) columns, then symmetrise and deduplicate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graphae.data.io.tables import Column, column_label, is_column_index, parse_floats, read_table
from graphae.errors import DataError


@dataclass
class EdgeList:
    """Edges as read from a file, before any cleaning.

    Attributes:
        source: source node ids, one per line.
        target: target node ids.
        weight: edge weights, or ``None``.
        path: the file.
        lines: line number of each edge.
        columns: names or numbers of the columns used.

    """

    source: list[str]
    target: list[str]
    weight: np.ndarray | None
    path: Path
    lines: list[int]
    columns: dict[str, str] = field(default_factory=dict)


def read_edge_list(
    path: str | Path,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    source_col: Column = 0,
    target_col: Column = 1,
    weight_col: Column | None = None,
) -> EdgeList:
    """Read the source, target (and weight) columns of an edge list.

    Args:
        path (str or Path): CSV, TSV, whitespace-separated or SNAP text,
            gzip-compressed or not.
        delimiter (str, optional): see :func:`read_table`. (default: detected)
        header (bool, optional): see :func:`read_table`. (default: detected)
        source_col (int or str, optional): column number (from 0) or header
            name of the source ids. (default: ``0``)
        target_col (int or str, optional): the target ids. (default: ``1``)
        weight_col (int or str, optional): positive edge weights, which enter
            the GCN normalisation. (default: ``None``: unweighted)

    Raises:
        DataError: unreadable file, missing column, non-numeric, non-finite or
            non-positive weight (naming the line).

    """
    cols = [c for c in (source_col, target_col, weight_col) if c is not None]
    if header is None and any(isinstance(c, str) and not c.lstrip("-").isdigit() for c in cols):
        header = True
    numeric = [int(weight_col)] if is_column_index(weight_col) else []
    ids = [int(c) for c in (source_col, target_col) if is_column_index(c)]
    table = read_table(
        path, delimiter=delimiter, header=header, numeric_columns=numeric, id_columns=ids
    )
    s, t = table.column(source_col, "source"), table.column(target_col, "target")
    if s == t:
        raise DataError(f"{table.path}: source and target are the same column ({s})")
    source = [r[s] for r in table.rows]
    target = [r[t] for r in table.rows]
    weight = None
    columns = {"source": column_label(table, s), "target": column_label(table, t)}
    if weight_col is not None:
        w = table.column(weight_col, "weight")
        weight = parse_floats(
            [r[w] for r in table.rows], table, f"weight ({column_label(table, w)})"
        )
        bad = np.flatnonzero(weight <= 0)
        if len(bad):
            i = int(bad[0])
            raise DataError(
                f"{table.path}, line {table.lines[i]}: edge weight {weight[i]:g} is not positive "
                "(GCN normalisation needs positive weights)"
            )
        columns["weight"] = column_label(table, w)
    for ids, role in ((source, "source"), (target, "target")):
        empty = next((i for i, v in enumerate(ids) if not v), None)
        if empty is not None:
            raise DataError(f"{table.path}, line {table.lines[empty]}: empty {role} id")
    return EdgeList(source, target, weight, table.path, table.lines, columns)


@dataclass
class CleanEdges:
    """Undirected edges after cleaning, and what cleaning changed."""

    pairs: np.ndarray  # [2, E] with row < col, unique
    weight: np.ndarray | None  # [E] mean weight of each undirected edge's occurrences
    report: dict[str, int]


def clean_edges(src: np.ndarray, dst: np.ndarray, weight: np.ndarray | None) -> CleanEdges:
    """Symmetrise, drop self loops and merge duplicates of an edge index.

    Each undirected pair is kept once (both directions go to the encoder);
    a pair given several times, in either direction, gets the mean of its
    weights.

    Returns:
        CleanEdges: with counts ``edges_read``, ``self_loops_removed``,
        ``duplicates_removed`` (repeats of a pair, either direction),
        ``reverse_added`` (pairs given in one direction only) and ``edges``.

    """
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    read = len(src)
    loops = src == dst
    src, dst = src[~loops], dst[~loops]
    w = None if weight is None else np.asarray(weight, dtype=np.float64)[~loops]
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    n = int(max(hi.max(initial=0), 0)) + 1
    undirected = lo * n + hi
    directed = src * n + dst
    keys, inverse, counts = np.unique(undirected, return_inverse=True, return_counts=True)
    # pairs seen in one direction only (however often): their reverse is added
    directions = np.zeros(len(keys), dtype=np.int8)
    np.bitwise_or.at(directions, inverse, np.where(src < dst, 1, 2).astype(np.int8))
    distinct_directed = len(np.unique(directed))
    pairs = np.stack([keys // n, keys % n])
    mean_w = None
    if w is not None:
        mean_w = np.bincount(inverse, weights=w, minlength=len(keys)) / counts
    report = {
        "edges_read": read,
        "self_loops_removed": int(loops.sum()),
        "duplicates_removed": int(len(src) - distinct_directed),
        "reverse_added": int((directions != 3).sum()),
        "edges": len(keys),
    }
    return CleanEdges(pairs=pairs, weight=mean_w, report=report)
