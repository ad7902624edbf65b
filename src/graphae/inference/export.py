"""Writing embeddings, rankings and pair scores: atomically, never over a file by accident.

Every output goes to a temporary file in the destination folder, which is
renamed over the destination (:func:`os.replace`) only once it is complete;
on any failure, ``KeyboardInterrupt`` included, the temporary file is
removed. An existing output is replaced only with ``force=True``.

Formats, chosen by the file's extension:

* ``.csv`` / ``.tsv``: a header row (``id,z0,z1,...``) and one row per node;
  floats are written with 9 significant digits, which reproduce every
  float32 exactly;
* ``.npy``: the ``N x d`` float32 matrix, and the ids, one per line, in
  ``<stem>.ids.txt`` beside it (the format of ``nodes.txt``);
* ``.parquet``: a column ``id`` and one float32 column per dimension (needs
  ``pyarrow``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphae.artifacts.atomic import atomic_path
from graphae.errors import ConfigError, DataError

#: Extensions :func:`write_embeddings` understands.
EMBEDDING_FORMATS = (".csv", ".tsv", ".npy", ".parquet")
#: Extensions of rankings and pair scores.
TABLE_FORMATS = (".csv", ".tsv")
#: Rows formatted per write (bounds the memory of a text export).
ROWS_PER_CHUNK = 65_536
FLOAT_FORMAT = "%.9g"  # round-trips float32 exactly


def output_files(path: str | Path, formats: Sequence[str] = EMBEDDING_FORMATS) -> list[Path]:
    """The files an output ``path`` will create (``.npy`` adds ``<stem>.ids.txt``).

    Raises:
        ConfigError: an extension not in ``formats`` (listing them), or
            ``.parquet`` without ``pyarrow``.

    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in formats:
        raise ConfigError(
            f"{path}: unsupported output format {suffix or '(no extension)'!r}; "
            f"use one of {', '.join(formats)}"
        )
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"{path}: writing .parquet needs pyarrow (pip install pyarrow); "
                "or write .csv, .tsv or .npy"
            ) from None
    return [path, ids_path(path)] if suffix == ".npy" else [path]


def ids_path(npy_path: str | Path) -> Path:
    """``emb.ids.txt`` for ``emb.npy``: where the ids of an ``.npy`` export go."""
    npy_path = Path(npy_path)
    return npy_path.with_name(npy_path.stem + ".ids.txt")


def check_output(
    path: str | Path, *, force: bool = False, formats: Sequence[str] = EMBEDDING_FORMATS
) -> list[Path]:
    """Check, before any work, that ``path`` can be written; return the files it creates.

    Raises:
        ConfigError: unsupported extension, or an existing file without ``force``.
        DataError: the folder is missing and cannot be created, or is not a
            writable folder.

    """
    files = output_files(path, formats)
    if not force:
        for file in files:
            if file.exists():
                raise ConfigError(f"{file} exists; use --force to overwrite it")
    for file in files:
        if file.is_dir():
            raise ConfigError(f"{file} is a folder; give a file name")
    _check_folder(files[0].parent)
    return files


def _check_folder(folder: Path) -> None:
    """Raise :class:`DataError` unless ``folder`` is, or can be made, a writable folder."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise DataError(f"cannot create the output folder {folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"cannot write to the output folder {existing} (permission denied)")


def _make_folder(folder: Path) -> None:
    _check_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the output folder {folder} ({_reason(exc)})") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


@contextlib.contextmanager
def atomic_output(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """:func:`~graphae.artifacts.atomic.atomic_path`, never over a file by accident.

    Args:
        path (str or Path): the destination.
        force (bool, optional): replace an existing ``path``. (default: ``False``)

    Yields:
        Path: the temporary file to write (already created, empty), renamed
        to ``path`` when the body succeeds.

    Raises:
        ConfigError: ``path`` exists and not ``force``.
        DataError: the folder cannot be created.
        OutputError: the file cannot be written (disk full, ...); nothing is left behind.

    """
    path = Path(path)
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; use --force to overwrite it")
    _make_folder(path.parent)
    with atomic_path(path) as tmp:
        yield tmp


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[Path], *, force: bool = False) -> Iterator[list[Path]]:
    """:func:`atomic_output` for several files that appear together (``.npy`` + ids).

    Every destination is checked before anything is written; the files are
    renamed into place only once all of them are complete.
    """
    if not force:
        for path in paths:
            if path.exists():
                raise ConfigError(f"{path} exists; use --force to overwrite it")
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_output(p, force=True)) for p in paths]


# ------------------------------------------------------------------ embeddings


def write_embeddings(
    path: str | Path, ids: Sequence[str], z: torch.Tensor | np.ndarray, *, force: bool = False
) -> list[Path]:
    """Write node embeddings, one row per node id, in the format of ``path``'s extension.

    Args:
        path (str or Path): ``.csv``, ``.tsv``, ``.npy`` (ids in
            ``<stem>.ids.txt``) or ``.parquet``.
        ids (sequence of str): node ids, row ``i`` of ``z`` belonging to ``ids[i]``.
        z (Tensor or ndarray): ``N x d`` embeddings (written as float32).
        force (bool, optional): replace existing files. (default: ``False``)

    Returns:
        list: the files written.

    Raises:
        ConfigError: unsupported extension, missing ``pyarrow`` for parquet,
            or existing files without ``force``.
        DataError: the folder cannot be created.
        OutputError: a file cannot be written (disk full, ...); nothing is left behind.

    """
    matrix = _float32(z)
    if matrix.ndim != 2 or matrix.shape[0] != len(ids):
        raise ValueError(f"{len(ids)} ids for embeddings of shape {tuple(matrix.shape)}")
    files = check_output(path, force=force)
    suffix = files[0].suffix.lower()
    if suffix == ".npy":
        with atomic_outputs(files, force=force) as (npy_tmp, ids_tmp):
            with open(npy_tmp, "wb") as f:
                np.save(f, matrix)
            _write_lines(ids_tmp, ids)
    elif suffix == ".parquet":
        with atomic_output(files[0], force=force) as tmp:
            _write_parquet(tmp, ids, matrix)
    else:
        delimiter = "\t" if suffix == ".tsv" else ","
        header = ["id", *(f"z{j}" for j in range(matrix.shape[1]))]
        with atomic_output(files[0], force=force) as tmp:
            write_table(tmp, header, [ids], matrix, delimiter)
    return files


def _float32(z: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(z, torch.Tensor):
        z = z.detach().cpu().numpy()
    return np.ascontiguousarray(z, dtype=np.float32)


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for start in range(0, len(lines), ROWS_PER_CHUNK):
            f.write("".join(f"{line}\n" for line in lines[start : start + ROWS_PER_CHUNK]))


def _write_parquet(path: Path, ids: Sequence[str], matrix: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, Any] = {"id": pa.array(list(ids), type=pa.string())}
    for j in range(matrix.shape[1]):
        columns[f"z{j}"] = pa.array(matrix[:, j])
    pq.write_table(pa.table(columns), path)


# ---------------------------------------------------------------- text tables


def write_table(
    path: str | Path,
    header: Sequence[str],
    text_columns: Sequence[Sequence[object]],
    numbers: np.ndarray,
    delimiter: str = ",",
) -> None:
    """Write rows of text columns followed by number columns (no atomicity: see callers).

    Args:
        path (str or Path): the file to (over)write.
        header (sequence of str): all column names.
        text_columns (sequence): columns written as text (ids), quoted when
            they hold the delimiter or a quote.
        numbers (ndarray): ``k x m`` numbers, written with 9 significant digits
            (integers as integers).
        delimiter (str, optional): ``","`` or ``"\\t"``. (default: ``","``)

    """
    rows = len(numbers)
    if numbers.ndim == 1:
        numbers = numbers[:, None]
    texts = [[_quote(str(v), delimiter) for v in column] for column in text_columns]
    kinds = ["%d" if np.issubdtype(numbers.dtype, np.integer) else FLOAT_FORMAT] * numbers.shape[1]
    row_format = delimiter.join(["%s"] * len(texts) + kinds) + "\n"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(delimiter.join(_quote(h, delimiter) for h in header) + "\n")
        for start in range(0, rows, ROWS_PER_CHUNK):
            stop = min(start + ROWS_PER_CHUNK, rows)
            block = numbers[start:stop].tolist()
            lead = zip(*(t[start:stop] for t in texts), strict=True) if texts else None
            if lead is None:
                f.write("".join(row_format % tuple(r) for r in block))
            else:
                f.write("".join(row_format % (*t, *r) for t, r in zip(lead, block, strict=True)))


def _quote(text: str, delimiter: str) -> str:
    if delimiter in text or '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def write_scores(
    path: str | Path,
    sources: Sequence[str],
    targets: Sequence[str],
    scores: np.ndarray,
    *,
    force: bool = False,
) -> Path:
    """Write pair scores as CSV/TSV rows ``source, target, score``, atomically.

    Raises:
        ConfigError: an extension other than ``.csv``/``.tsv``, or an existing
            file without ``force``.
        DataError: the folder cannot be created.
        OutputError: a file cannot be written (disk full, ...); nothing is left behind.

    """
    (path,) = check_output(path, force=force, formats=TABLE_FORMATS)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    numbers = np.asarray(scores, dtype=np.float64)
    with atomic_output(path, force=force) as tmp:
        write_table(tmp, ["source", "target", "score"], [sources, targets], numbers, delimiter)
    return path


def write_rankings(path: str | Path, rankings: Sequence[Any], *, force: bool = False) -> Path:
    """Write rankings (:class:`~graphae.inference.run.Ranking`) as CSV/TSV, atomically.

    Columns: ``node, rank, id, score, logit, known`` (``known``: ``1`` for a
    known neighbour, ranked only with ``include_known``).

    Raises:
        ConfigError: an extension other than ``.csv``/``.tsv``, or an existing
            file without ``force``.
        DataError: the folder cannot be created.
        OutputError: a file cannot be written (disk full, ...); nothing is left behind.

    """
    (path,) = check_output(path, force=force, formats=TABLE_FORMATS)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    header = ["node", "rank", "id", "score", "logit", "known"]
    with atomic_output(path, force=force) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(delimiter.join(header) + "\n")
        for r in rankings:
            node = _quote(r.node, delimiter)
            for rank, (other, score, logit, known) in enumerate(
                zip(r.ids, r.scores, r.logits, r.known, strict=True), start=1
            ):
                cells = [node, str(rank), _quote(other, delimiter)]
                cells += [FLOAT_FORMAT % score, FLOAT_FORMAT % logit, str(int(known))]
                f.write(delimiter.join(cells) + "\n")
    return path
