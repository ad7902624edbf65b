"""Per-node files: features (dense, long, .npy/.npz) and labels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphae.data.io.ids import as_ints, canonical_id
from graphae.data.io.tables import Table, is_number, parse_floats, read_table
from graphae.errors import DataError


@dataclass
class NodeTable:
    """Per-node values read from a file: ids and their rows."""

    ids: list[str]
    values: Any  # ndarray [k, F] (features), scipy sparse matrix, or list[str] (labels)
    names: list[str] | None  # feature names (column names), when known
    path: Path


def read_features(
    path: str | Path,
    *,
    ids_path: str | Path | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    fmt: str = "auto",
) -> NodeTable:
    """Read node features.

    Formats:

    * ``dense``: a CSV/TSV with the node id in the first column and one
      column per feature (a header row gives the features' names);
    * ``long``: sparse rows ``id, feature, value`` (the feature a name or
      number; absent entries are 0);
    * ``.npy`` (dense) or ``.npz`` (a SciPy sparse matrix, or one array),
      row ``i`` belonging to line ``i`` of ``ids_path``.

    ``auto`` picks ``.npy``/``.npz`` by extension; a text file with three
    columns is ``long`` when its header names the third column ``value``
    (or ``count``, ``weight``) or, without a header, when an id repeats (a
    dense file has one row per node); anything else is ``dense``.

    Raises:
        DataError: unreadable file, a value that is not a finite number
            (naming the row), a node listed twice, ids that do not match.

    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if fmt in ("auto", "npy") and suffixes and suffixes[-1] in (".npy", ".npz"):
        return _read_array_features(path, ids_path)
    if fmt not in ("auto", "dense", "long"):
        raise DataError(f"features format must be auto, dense, long or npy; got {fmt!r}")
    table = read_table(path, delimiter=delimiter, header=header, numeric_columns=[1])
    width = len(table.header or table.rows[0])
    if width < 2:
        raise DataError(f"{path}: expected a node id column and at least one feature column")
    ids = [r[0] for r in table.rows]
    if fmt == "auto":
        names = [h.strip().lower() for h in table.header or []]
        repeats = len(set(map(canonical_id, ids))) < len(ids)
        long_names = len(names) == 3 and names[2] in ("value", "val", "weight", "count")
        fmt = "long" if width == 3 and (long_names if names else repeats) else "dense"
    if fmt == "long":
        return _long_features(table)
    _no_repeats(ids, table)
    flat = [v for r in table.rows for v in r[1:]]
    try:
        values = np.asarray(flat, dtype=np.float32).reshape(len(ids), width - 1)
    except ValueError:
        values = None
    if values is None or not np.isfinite(values).all():
        for r, line in zip(table.rows, table.lines, strict=True):
            for j, v in enumerate(r[1:]):
                if not is_number(v) or not math.isfinite(float(v)):
                    col = table.header[j + 1] if table.header else str(j + 1)
                    raise DataError(
                        f"{path}, line {line} (node {r[0]!r}): feature {col} is {v!r}, "
                        "not a finite number"
                    )
    names = [h.strip() for h in table.header[1:]] if table.header else None
    return NodeTable(ids=ids, values=values, names=names, path=path)


def _no_repeats(ids: list[str], table: Table) -> None:
    seen: dict[str, int] = {}
    for node, line in zip(ids, table.lines, strict=True):
        key = canonical_id(node)
        if key in seen:
            raise DataError(
                f"{table.path}, line {line}: node {node!r} is listed twice "
                f"(first on line {seen[key]})"
            )
        seen[key] = line


def _long_features(table: Table) -> NodeTable:
    import scipy.sparse as sp

    values = parse_floats([r[2] for r in table.rows], table, "feature value").astype(np.float32)
    ids, rows = np.unique(
        np.asarray([canonical_id(r[0]) for r in table.rows], dtype=object).astype(str),
        return_inverse=True,
    )
    feature_tokens = [r[1] for r in table.rows]
    as_int = as_ints(np.asarray(feature_tokens, dtype=object))
    if as_int is not None:
        cols = as_int
        width = int(cols.max()) + 1
        names = None
    else:
        names_arr, cols = np.unique(np.asarray(feature_tokens, dtype=str), return_inverse=True)
        names, width = names_arr.tolist(), len(names_arr)
    matrix = sp.coo_matrix((values, (rows, cols)), shape=(len(ids), width)).tocsr()
    matrix.sum_duplicates()
    return NodeTable(ids=ids.tolist(), values=matrix, names=names, path=table.path)


def _read_array_features(path: Path, ids_path: str | Path | None) -> NodeTable:
    import scipy.sparse as sp

    try:
        if path.suffix.lower() == ".npy":
            values: Any = np.load(path, allow_pickle=False)
        else:
            try:
                values = sp.load_npz(path).tocsr()
            except (ValueError, KeyError):
                with np.load(path, allow_pickle=False) as f:
                    if len(f.files) != 1:
                        raise DataError(
                            f"{path}: expected a SciPy sparse matrix or one array, "
                            f"found arrays {', '.join(f.files)}"
                        ) from None
                    values = f[f.files[0]]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable NumPy file ({exc})") from None
    if values.ndim != 2:
        raise DataError(f"{path}: features must be a 2-d array, got shape {values.shape}")
    data = values.data if sp.issparse(values) else values
    if not np.issubdtype(data.dtype, np.number):
        raise DataError(f"{path}: features must be numbers, got dtype {data.dtype}")
    if not np.isfinite(data).all():
        row = _first_bad_row(values)
        raise DataError(f"{path}: row {row} holds a value that is not finite (NaN or inf)")
    if ids_path is None:
        ids = [str(i) for i in range(values.shape[0])]
    else:
        table = read_table(ids_path, header=False, delimiter="\t")
        ids = [r[0] for r in table.rows]
        if len(ids) != values.shape[0]:
            raise DataError(f"{ids_path}: {len(ids)} ids for the {values.shape[0]} rows of {path}")
        _no_repeats(ids, table)
    values = values.astype(np.float32)
    return NodeTable(ids=ids, values=values, names=None, path=path)


def _first_bad_row(values: Any) -> int:
    import scipy.sparse as sp

    if sp.issparse(values):
        coo = values.tocoo()
        return int(coo.row[~np.isfinite(coo.data)].min())
    return int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])


def read_labels(
    path: str | Path, *, delimiter: str | None = None, header: bool | None = None
) -> NodeTable:
    """Read node labels: node id in the first column, its class in the second.

    Classes may be names or numbers. A node listed twice is an error.
    """
    table = read_table(path, delimiter=delimiter, header=header, category_columns=[1])
    if len(table.header or table.rows[0]) < 2:
        raise DataError(f"{table.path}: expected a node id column and a label column")
    ids = [r[0] for r in table.rows]
    _no_repeats(ids, table)
    return NodeTable(ids=ids, values=[r[1] for r in table.rows], names=None, path=table.path)
