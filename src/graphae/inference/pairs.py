"""Reading a file of node-id pairs to score (``graphae predict --pairs FILE``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from graphae.data.files import NodeIds, read_table
from graphae.errors import DataError


@dataclass
class Pairs:
    """Node pairs read from a file.

    Attributes:
        sources: the source ids as written in the file.
        targets: the target ids as written in the file.
        index: ``[2, k]`` long tensor of node indices.
        lines: line number of each pair in the file.

    """

    sources: list[str]
    targets: list[str]
    index: torch.Tensor
    lines: list[int]

    def __len__(self) -> int:
        return len(self.sources)


def read_pairs(
    path: str | Path,
    node_ids: NodeIds,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    ids_file: str | Path | None = None,
) -> Pairs:
    """Read pairs of node ids from the first two columns of a table.

    The delimiter and header row are detected by :func:`read_table` unless
    given; when detection finds no header but the first row holds no known
    node while the rest do, that row is taken as a header (``a,b``).

    Args:
        path (str or Path): CSV, TSV or whitespace-separated text (``.gz`` too).
        node_ids (NodeIds): the graph's ids.
        delimiter (str, optional): see :func:`read_table`. (default: detected)
        header (bool, optional): whether the first row names the columns.
            (default: detected)
        ids_file (str or Path, optional): where the graph's ids are listed,
            named in the error for an unknown id. (default: none)

    Raises:
        DataError: unreadable file, fewer than two columns, or an unknown
            node id (naming the id and the line).

    """
    table = read_table(path, delimiter=delimiter, header=header)
    if len(table.rows[0]) < 2:
        raise DataError(f"{table.path}: expected two columns (source and target node ids)")
    sources = [r[0] for r in table.rows]
    targets = [r[1] for r in table.rows]
    lines = list(table.lines)
    src, dst = node_ids.find(sources), node_ids.find(targets)
    if header is None and table.header is None and _names_columns(src, dst):
        sources, targets, lines = sources[1:], targets[1:], lines[1:]
        src, dst = src[1:], dst[1:]
    unknown = np.flatnonzero((src < 0) | (dst < 0))
    if len(unknown):
        i = int(unknown[0])
        node = sources[i] if src[i] < 0 else targets[i]
        listed = f"; the graph's ids are in {ids_file}" if ids_file else ""
        more = f" ({len(unknown):,} pairs have unknown ids)" if len(unknown) > 1 else ""
        raise DataError(
            f"{table.path}, line {lines[i]}: unknown node {node!r}, not a node of the "
            f"trained graph{more}{listed}"
        )
    index = torch.from_numpy(np.stack([src, dst]))
    return Pairs(sources=sources, targets=targets, index=index, lines=lines)


def _names_columns(src: np.ndarray, dst: np.ndarray) -> bool:
    """Whether only the first row holds no known node (so it is a header)."""
    return (
        len(src) > 1
        and src[0] < 0
        and dst[0] < 0
        and bool((src[1:] >= 0).all())
        and bool((dst[1:] >= 0).all())
    )
