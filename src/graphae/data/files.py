"""Users' own graphs: edge lists, node features and labels from files.

One place reads text tables and maps node ids. Edge lists may be CSV, TSV,
whitespace-separated or SNAP-style text (``#`` comment lines), gzip-compressed
or not, with or without a header; the delimiter is detected unless given.
Node ids are arbitrary strings (integers included): they are mapped to
indices ``0..N-1`` (integer ids in numeric order, other ids in sorted order,
so the mapping depends only on the set of ids) and the ids travel with the
graph as ``data.node_ids``, so that every output speaks the user's ids.

What changes between the file and the graph is counted in ``data.report``:
directed edges are symmetrised, self loops and duplicate edges removed, nodes
that appear only in the feature or label file kept as isolated nodes.

Every problem a user can fix raises :class:`~graphae.errors.DataError` with
the file and, where there is one, the line number.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from graphae.errors import DataError

#: Names that mark a first row as a header when the delimiter alone cannot tell.
HEADER_NAMES = frozenset(
    {
        "source", "target", "src", "dst", "from", "to", "node1", "node2", "node_1", "node_2",
        "id1", "id2", "id_1", "id_2", "source_id", "target_id", "from_id", "to_id", "head",
        "tail", "node", "neighbor", "neighbour", "id", "node_id", "weight", "label", "class",
        "feature", "value",
    }
)  # fmt: skip
DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "space": None, "whitespace": None}
_GZIP_MAGIC = b"\x1f\x8b"
Column = int | str


@dataclass
class Table:
    """Rows of a text table with their 1-based line numbers in the file.

    Attributes:
        path: the file.
        header: column names, or ``None`` when the file has no header row.
        rows: the data rows, each a list of fields.
        lines: line number of each row (for error messages).
        delimiter: the delimiter used (``None``: runs of whitespace).

    """

    path: Path
    header: list[str] | None
    rows: list[list[str]]
    lines: list[int]
    delimiter: str | None

    def column(self, col: Column, role: str) -> int:
        """Index of column ``col`` (a 0-based index or a header name)."""
        if isinstance(col, int) or (isinstance(col, str) and col.lstrip("-").isdigit()):
            index = int(col)
            width = len(self.header) if self.header else len(self.rows[0])
            if not 0 <= index < width:
                raise DataError(
                    f"{self.path}: {role} column {index} does not exist "
                    f"(the file has {width} columns, numbered from 0)"
                )
            return index
        if self.header is None:
            raise DataError(
                f"{self.path}: {role} column {col!r} is a name but the file has no header row; "
                "give a column number (from 0) or use --header"
            )
        names = [h.strip() for h in self.header]
        if col not in names:
            raise DataError(
                f"{self.path}: no column named {col!r} for the {role}; columns: {', '.join(names)}"
            )
        return names.index(col)


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a text file for reading, gunzipping it if it is gzip-compressed.

    Compression is recognised by the file's first bytes, not its name.

    Raises:
        DataError: the file is missing, unreadable or not text.

    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    raw = gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def read_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    comment: str = "#",
    header_hint: frozenset[str] = HEADER_NAMES,
    numeric_columns: Sequence[int] = (),
    id_columns: Sequence[int] = (),
    category_columns: Sequence[int] = (),
) -> Table:
    """Read a delimited text table.

    Args:
        path (str or Path): the file, gzip-compressed or not.
        delimiter (str, optional): ``","``, ``"\\t"`` (or ``"tab"``), ``";"``,
            ``" "``/``"whitespace"`` (runs of blanks), or any single
            character; ``None`` detects it from the first data line (tab, then
            comma, then semicolon, else whitespace). (default: ``None``)
        header (bool, optional): whether the first data row names the
            columns; ``None`` detects it: a header when its fields in
            ``numeric_columns`` are not numbers while the next rows' are, or
            when one of its fields is a usual column name (``source``,
            ``target``, ``id``, ``weight``, ...). (default: ``None``)
        comment (str, optional): lines starting with it are skipped (SNAP
            files start with ``#`` lines). (default: ``"#"``)
        header_hint (frozenset, optional): lower-case names that mark a header.
        numeric_columns (sequence, optional): columns that hold numbers in
            data rows (for header detection).
        id_columns (sequence, optional): node-id columns of an edge list: a
            first row whose ids occur nowhere else in them (or are words
            above integer ids) is a header.
        category_columns (sequence, optional): a class column: a first-row
            value that occurs once, above values that repeat, is a header.

    Returns:
        Table: the rows, every one with as many fields as the first.

    Raises:
        DataError: unreadable, empty, binary, or a row with another number of
            fields (naming the file and line).

    """
    path = Path(path)
    delim = _parse_delimiter(delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    detect = delimiter is None
    try:
        with open_text(path) as f:
            for number, line in enumerate(f, start=1):
                if "\x00" in line:
                    raise DataError(
                        f"{path}: line {number} holds binary data; expected a text table"
                    )
                text = line.strip()
                if not text or (comment and text.startswith(comment)):
                    continue
                if detect:
                    delim, detect = _detect_delimiter(text), False
                rows.append(_split(text, delim))
                lines.append(number)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (a binary file?)") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if not rows:
        raise DataError(f"{path}: no data (the file is empty or holds only comments)")
    width = len(rows[0])
    for row, number in zip(rows, lines, strict=True):
        if len(row) != width:
            raise DataError(
                f"{path}, line {number}: {len(row)} field{'s' * (len(row) != 1)}, "
                f"expected {width} like the first row (delimiter {_describe(delim)})"
            )
    if header is None:
        header = _looks_like_header(
            rows, header_hint, numeric_columns, id_columns, category_columns
        )
    names = None
    if header:
        names, rows, lines = rows[0], rows[1:], lines[1:]
        if not rows:
            raise DataError(f"{path}: only a header row, no data")
    return Table(path=path, header=names, rows=rows, lines=lines, delimiter=delim)


def _parse_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    delim = DELIMITERS.get(delimiter.lower(), delimiter)
    if delim is not None and (len(delim) != 1 or (delim.isspace() and delim != "\t")):
        if delim.strip() == "":
            return None
        raise DataError(
            f"delimiter must be one character, 'tab' or 'whitespace'; got {delimiter!r}"
        )
    return delim


def _detect_delimiter(line: str) -> str | None:
    for candidate in ("\t", ",", ";"):
        if candidate in line:
            return candidate
    return None


def _describe(delim: str | None) -> str:
    return {None: "whitespace", "\t": "tab"}.get(delim, repr(delim))


def _split(text: str, delim: str | None) -> list[str]:
    if delim is None:
        return text.split()
    if '"' in text:
        return [f.strip() for f in next(csv.reader([text], delimiter=delim))]
    return [f.strip() for f in text.split(delim)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _looks_like_header(
    rows: list[list[str]],
    hints: frozenset[str],
    numeric_columns: Sequence[int] = (),
    id_columns: Sequence[int] = (),
    category_columns: Sequence[int] = (),
) -> bool:
    first, later = rows[0], rows[1:]
    if any(f.strip().lower() in hints for f in first):
        return True
    if not later:
        return False
    sample = later[:100]
    for col in numeric_columns:
        word = col < len(first) and not _is_number(first[col])
        if word and all(_is_number(r[col]) for r in sample):
            return True
    ids = [c for c in id_columns if c < len(first)]
    if ids and len(later) >= 10:
        if all(not first[c].isdigit() for c in ids) and all(
            r[c].isdigit() for r in sample for c in ids
        ):
            return True  # words above integer ids
        rest = {r[c] for r in later for c in ids}
        if all(first[c] not in rest for c in ids):
            return True  # an edge whose ends occur nowhere else: column names
    for col in category_columns:
        if col < len(first) and len(later) >= 10:
            values = [r[col] for r in later]
            if first[col] not in values and len(set(values)) <= len(values) // 2:
                return True  # a lone value above classes that repeat
    return False


# --------------------------------------------------------------------------- ids


class DataWarning(UserWarning):
    """Something in a user's files that graphae handled but the user should know."""


class NodeIds:
    """The mapping between users' node ids and indices ``0..N-1``.

    Integer ids (``"7"``, ``"0042"`` is ``"42"``) are ordered numerically, any
    other ids as sorted strings; a mix is ordered as strings.

    Args:
        ids (sequence of str): the node ids in index order (unique).

    """

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = list(ids)
        self._index: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_tokens(cls, *groups: Sequence[str]) -> tuple[NodeIds, list[np.ndarray]]:
        """The ids of all tokens in ``groups`` and each group as an index array."""
        tokens = [np.asarray(g, dtype=object) for g in groups]
        everything = np.concatenate(tokens) if tokens else np.empty(0, dtype=object)
        as_int = _as_ints(everything)
        if as_int is not None:
            unique, inverse = np.unique(as_int, return_inverse=True)
            ids = [str(int(v)) for v in unique]
        else:
            unique, inverse = np.unique(everything.astype(str), return_inverse=True)
            ids = unique.tolist()
        bounds = np.cumsum([0, *(len(t) for t in tokens)])
        parts = [inverse[a:b].astype(np.int64) for a, b in itertools.pairwise(bounds)]
        return cls(ids), parts

    def index(self) -> dict[str, int]:
        """``id -> index`` (built once)."""
        if self._index is None:
            self._index = {node: i for i, node in enumerate(self.ids)}
        return self._index

    def lookup(self, ids: Sequence[str], *, source: str = "") -> np.ndarray:
        """Indices of ``ids``; raise :class:`DataError` naming the first unknown id."""
        index = self.index()
        out = np.empty(len(ids), dtype=np.int64)
        for i, node in enumerate(ids):
            key = canonical_id(node)
            try:
                out[i] = index[key]
            except KeyError:
                where = f"{source}: " if source else ""
                raise DataError(f"{where}unknown node {node!r} (not a node of the graph)") from None
        return out

    def find(self, ids: Sequence[str]) -> np.ndarray:
        """Indices of ``ids``, ``-1`` for ids that are not nodes."""
        index = self.index()
        return np.fromiter((index.get(canonical_id(n), -1) for n in ids), np.int64, len(ids))

    def save(self, path: str | Path) -> None:
        """One id per line, in index order (UTF-8)."""
        Path(path).write_text("".join(f"{node}\n" for node in self.ids), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> NodeIds:
        """Read a file written by :meth:`save`."""
        text = Path(path).read_text(encoding="utf-8")
        return cls(text.split("\n")[:-1] if text else [])

    @classmethod
    def range(cls, num_nodes: int) -> NodeIds:
        """Ids ``"0"``..``"N-1"`` (graphs without ids of their own)."""
        return cls([str(i) for i in range(num_nodes)])


def canonical_id(node: object) -> str:
    """The id as the mapping stores it: integers without sign or leading zeros."""
    text = str(node).strip()
    if text.isdigit():
        return str(int(text))
    return text


def _as_ints(tokens: np.ndarray) -> np.ndarray | None:
    if len(tokens) == 0:
        return None
    try:
        values = np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError, TypeError):
        return None
    # "1.0" or "+3" would parse too loosely; only plain digit strings count
    if values.min() < 0 or not all(str(t).strip().isdigit() for t in tokens[:1000]):
        return None
    return values


# ------------------------------------------------------------------- edge lists


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
    numeric = [int(weight_col)] if _is_index(weight_col) else []
    ids = [int(c) for c in (source_col, target_col) if _is_index(c)]
    table = read_table(
        path, delimiter=delimiter, header=header, numeric_columns=numeric, id_columns=ids
    )
    s, t = table.column(source_col, "source"), table.column(target_col, "target")
    if s == t:
        raise DataError(f"{table.path}: source and target are the same column ({s})")
    source = [r[s] for r in table.rows]
    target = [r[t] for r in table.rows]
    weight = None
    columns = {"source": _name(table, s), "target": _name(table, t)}
    if weight_col is not None:
        w = table.column(weight_col, "weight")
        weight = _floats([r[w] for r in table.rows], table, f"weight ({_name(table, w)})")
        bad = np.flatnonzero(weight <= 0)
        if len(bad):
            i = int(bad[0])
            raise DataError(
                f"{table.path}, line {table.lines[i]}: edge weight {weight[i]:g} is not positive "
                "(GCN normalisation needs positive weights)"
            )
        columns["weight"] = _name(table, w)
    for ids, role in ((source, "source"), (target, "target")):
        empty = next((i for i, v in enumerate(ids) if not v), None)
        if empty is not None:
            raise DataError(f"{table.path}, line {table.lines[empty]}: empty {role} id")
    return EdgeList(source, target, weight, table.path, table.lines, columns)


def _is_index(col: Column | None) -> bool:
    return isinstance(col, int) or (isinstance(col, str) and col.lstrip("-").isdigit())


def _name(table: Table, index: int) -> str:
    return f"'{table.header[index]}'" if table.header else f"column {index}"


def _floats(
    values: Sequence[str], table: Table, what: str, lines: Sequence[int] | None = None
) -> np.ndarray:
    """Parse numbers; a text that is not one, or NaN/inf, is an error naming its line."""
    lines = table.lines if lines is None else lines
    try:
        out = np.asarray(values, dtype=np.float64)
    except ValueError:
        for i, v in enumerate(values):
            if not _is_number(v):
                raise DataError(
                    f"{table.path}, line {lines[i]}: {what} {v!r} is not a number"
                ) from None
        raise
    bad = np.flatnonzero(~np.isfinite(out))
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{table.path}, line {lines[i]}: {what} is {values[i]!r} (not finite)")
    return out


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


# ------------------------------------------------------------- features, labels


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
                if not _is_number(v) or not math.isfinite(float(v)):
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

    values = _floats([r[2] for r in table.rows], table, "feature value").astype(np.float32)
    ids, rows = np.unique(
        np.asarray([canonical_id(r[0]) for r in table.rows], dtype=object).astype(str),
        return_inverse=True,
    )
    feature_tokens = [r[1] for r in table.rows]
    as_int = _as_ints(np.asarray(feature_tokens, dtype=object))
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


# ------------------------------------------------------------------ the graph


@dataclass
class GraphFiles:
    """Where a graph comes from and how to read it (``graphae train --edges ...``).

    Attributes:
        edges: the edge list.
        features: node features (optional; without them the featureless model runs).
        labels: node labels (optional; for the latent plot and Projector).
        feature_ids: node ids of the rows of a ``.npy``/``.npz`` feature file.
        delimiter: edge-list delimiter (``None``: detected).
        header: whether files have a header row (``None``: detected).
        source_col, target_col, weight_col: edge-list columns (numbers from 0
            or header names).
        features_format: ``auto``, ``dense``, ``long`` or ``npy``.

    """

    edges: str
    features: str | None = None
    labels: str | None = None
    feature_ids: str | None = None
    delimiter: str | None = None
    header: bool | None = None
    source_col: Column = 0
    target_col: Column = 1
    weight_col: Column | None = None
    features_format: str = "auto"


def load_graph(files: GraphFiles, *, name: str | None = None) -> Data:
    """Read a graph from files into a PyG :class:`~torch_geometric.data.Data`.

    Args:
        files (GraphFiles): the files and how to read them.
        name (str, optional): the graph's name (default: the edge file's
            name without its extensions, e.g. ``facebook`` for
            ``facebook.csv.gz``).

    Returns:
        Data: ``edge_index`` (both directions), ``edge_weight`` (when
        weighted, same order), ``x`` (``N x F`` or ``None``), ``y`` (class
        index, ``-1`` for unlabelled nodes; when labels are given),
        ``num_nodes``, ``name``, ``node_ids`` (list of the users' ids in index
        order), ``feature_names``, ``class_names`` and ``report`` (counts of
        what was read and changed).

    Raises:
        DataError: anything wrong with the files (naming file and line).

    """
    edges = read_edge_list(
        files.edges,
        delimiter=files.delimiter,
        header=files.header,
        source_col=files.source_col,
        target_col=files.target_col,
        weight_col=files.weight_col,
    )
    features = None
    if files.features:
        features = read_features(
            files.features,
            ids_path=files.feature_ids,
            delimiter=files.delimiter if _same_kind(files.features, files.edges) else None,
            fmt=files.features_format,
        )
    labels = read_labels(files.labels) if files.labels else None
    return build_graph(edges, features, labels, name=name or graph_name(files.edges))


def _same_kind(a: str, b: str) -> bool:
    return Path(a).suffixes[:1] == Path(b).suffixes[:1]


def graph_name(path: str | Path) -> str:
    """``facebook`` for ``data/facebook.csv.gz``."""
    name = Path(path).name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".edges", ".edgelist", ".el"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "graph"


def build_graph(
    edges: EdgeList, features: NodeTable | None, labels: NodeTable | None, *, name: str
) -> Data:
    """Assemble a :class:`Data` from what :func:`read_edge_list` & co. read."""
    id_groups: list[Sequence[str]] = [edges.source, edges.target]
    if features is not None:
        id_groups.append(features.ids)
    if labels is not None:
        id_groups.append(labels.ids)
    node_ids, parts = NodeIds.from_tokens(*id_groups)
    num_nodes = len(node_ids)
    cleaned = clean_edges(parts[0], parts[1], edges.weight)
    report: dict[str, Any] = {"nodes": num_nodes, **cleaned.report, "columns": edges.columns}
    in_edges = np.zeros(num_nodes, dtype=bool)
    in_edges[cleaned.pairs.ravel()] = True
    report["isolated_nodes"] = int((~in_edges).sum())
    pairs = torch.from_numpy(cleaned.pairs)
    data = Data(edge_index=torch.cat([pairs, pairs.flip(0)], dim=1), num_nodes=num_nodes)
    if cleaned.weight is not None:
        w = torch.from_numpy(cleaned.weight).float()
        data.edge_weight = torch.cat([w, w])
    data.x = None
    data.feature_names = None
    if features is not None:
        rows = parts[2]
        data.x = _feature_matrix(features, rows, num_nodes)
        data.feature_names = features.names
        covered = np.zeros(num_nodes, dtype=bool)
        covered[rows] = True
        report["features"] = int(data.x.shape[1])
        report["nodes_without_features"] = int((~covered).sum())
        report["only_in_features"] = int((covered & ~in_edges).sum())
    data.class_names = None
    if labels is not None:
        rows = parts[-1]
        classes, index = _classes(labels.values)
        y = torch.full((num_nodes,), -1, dtype=torch.long)
        y[torch.from_numpy(rows)] = torch.from_numpy(index)
        data.y = y
        data.class_names = classes
        labelled = np.zeros(num_nodes, dtype=bool)
        labelled[rows] = True
        report["labelled_nodes"] = int(labelled.sum())
        report["classes"] = len(classes)
        report["only_in_labels"] = int((labelled & ~in_edges).sum())
    for role, key in (("features", "only_in_features"), ("labels", "only_in_labels")):
        if report.get(key):
            warnings.warn(
                f"{report[key]:,} nodes of the {role} file are not in the edge list; "
                "kept as isolated nodes",
                DataWarning,
                stacklevel=2,
            )
    data.name = name
    data.node_ids = node_ids.ids
    data.report = report
    if report["edges"] == 0:
        raise DataError(f"{edges.path}: no edges left after removing self loops")
    return data


def _feature_matrix(features: NodeTable, rows: np.ndarray, num_nodes: int) -> torch.Tensor:
    import scipy.sparse as sp

    values = features.values
    if sp.issparse(values):
        coo = values.tocoo()
        index = torch.from_numpy(np.stack([rows[coo.row], coo.col]).astype(np.int64))
        from graphae.data.graph import to_csr

        return to_csr(
            index, torch.from_numpy(coo.data.astype(np.float32)), (num_nodes, values.shape[1])
        )
    x = torch.zeros(num_nodes, values.shape[1], dtype=torch.float32)
    x[torch.from_numpy(rows)] = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    return x


def _classes(labels: list[str]) -> tuple[list[str], np.ndarray]:
    tokens = np.asarray(labels, dtype=object)
    as_int = _as_ints(tokens)
    if as_int is not None:
        unique, index = np.unique(as_int, return_inverse=True)
        return [str(int(u)) for u in unique], index.astype(np.int64)
    unique, index = np.unique(tokens.astype(str), return_inverse=True)
    return unique.tolist(), index.astype(np.int64)


def describe_report(report: dict[str, Any], files: GraphFiles) -> Iterator[str]:
    """Human-readable lines about what loading changed (printed by the CLI)."""
    yield (
        f"read {report['edges_read']:,} edges from {files.edges}: {report['nodes']:,} nodes, "
        f"{report['edges']:,} undirected edges"
    )
    if report.get("columns"):
        yield "  columns: " + ", ".join(f"{k} = {v}" for k, v in report["columns"].items())
    changes = []
    if report["reverse_added"]:
        changes.append(
            f"{report['reverse_added']:,} edges given in one direction only: read both ways"
        )
    if report["self_loops_removed"]:
        changes.append(f"{report['self_loops_removed']:,} self loops removed")
    if report["duplicates_removed"]:
        changes.append(f"{report['duplicates_removed']:,} duplicate edges removed")
    if changes:
        yield "  " + "; ".join(changes)
    if report["isolated_nodes"]:
        yield (
            f"  {report['isolated_nodes']:,} isolated nodes kept (in the features or labels "
            "file, in no edge)"
        )
    if "features" in report:
        yield f"  {report['features']:,} features from {files.features}"
        if report["nodes_without_features"]:
            yield f"  {report['nodes_without_features']:,} nodes have no feature row: zero features"
    else:
        yield "  no feature file: featureless model (identity features, the paper's GAE*/VGAE*)"
    if "classes" in report:
        yield f"  {report['labelled_nodes']:,} labelled nodes, {report['classes']} classes"
