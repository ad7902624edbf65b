"""One call from a spec name to the written tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphae.reproduction.runner import CellRun, run_reproduction
from graphae.reproduction.spec import ReproductionSpec, load_spec
from graphae.reproduction.table import Row, summarize, to_markdown, write_tables


@dataclass
class Reproduction:
    """Outcome of :func:`reproduce`."""

    spec: ReproductionSpec
    runs: list[CellRun]
    rows: list[Row]
    notes: list[str]
    markdown: str
    files: dict[str, Path]


def reproduce(
    name_or_path: str | Path,
    out_dir: str | Path | None = None,
    **options: Any,
) -> Reproduction:
    """Run (or resume) a reproduction and write ``table.md/csv/json`` into ``out_dir``.

    Args:
        name_or_path (str or Path): a bundled spec (``"kipf2016"``) or a YAML path.
        out_dir (str or Path, optional): where run folders and tables go.
            (default: ``runs/reproduce/<name>``)
        **options: ``datasets``, ``methods``, ``runs``, ``data_root``, ``epochs``,
            ``trackers``, ``log`` of :func:`~graphae.reproduction.run_reproduction`.

    """
    spec = load_spec(name_or_path)
    out_dir = Path(out_dir) if out_dir is not None else Path("runs") / "reproduce" / spec.name
    runs = run_reproduction(spec, out_dir, **options)
    rows, notes = summarize(spec, runs)
    files = write_tables(spec, rows, notes, out_dir)
    return Reproduction(spec, runs, rows, notes, to_markdown(spec, rows, notes), files)
