"""The mapping between users' node ids and indices ``0..N-1``."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from graphae.errors import DataError


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
        as_int = as_ints(everything)
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


def as_ints(tokens: np.ndarray) -> np.ndarray | None:
    """The tokens as int64 when every one is a plain non-negative integer, else ``None``."""
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
