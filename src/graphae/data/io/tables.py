"""Delimited text tables: gzip or not, delimiter and header detected, lines kept.

Every problem raises :class:`~graphae.errors.DataError` naming the file and line.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


def is_number(text: str) -> bool:
    """Whether ``float(text)`` parses (``nan`` and ``inf`` included)."""
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
        word = col < len(first) and not is_number(first[col])
        if word and all(is_number(r[col]) for r in sample):
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


def is_column_index(col: Column | None) -> bool:
    """Whether a column is given by number (``2``, ``"2"``) rather than by name."""
    return isinstance(col, int) or (isinstance(col, str) and col.lstrip("-").isdigit())


def column_label(table: Table, index: int) -> str:
    """How messages name a column: its header name, else its number."""
    return f"'{table.header[index]}'" if table.header else f"column {index}"


def parse_floats(
    values: Sequence[str], table: Table, what: str, lines: Sequence[int] | None = None
) -> np.ndarray:
    """Parse numbers; a text that is not one, or NaN/inf, is an error naming its line."""
    lines = table.lines if lines is None else lines
    try:
        out = np.asarray(values, dtype=np.float64)
    except ValueError:
        for i, v in enumerate(values):
            if not is_number(v):
                raise DataError(
                    f"{table.path}, line {lines[i]}: {what} {v!r} is not a number"
                ) from None
        raise
    bad = np.flatnonzero(~np.isfinite(out))
    if len(bad):
        i = int(bad[0])
        raise DataError(f"{table.path}, line {lines[i]}: {what} is {values[i]!r} (not finite)")
    return out
