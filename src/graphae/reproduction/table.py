"""Summaries of a reproduction: our mean ± std beside the paper's, as Markdown, CSV, JSON."""

from __future__ import annotations

import csv
import statistics
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from graphae.artifacts.atomic import atomic_write, make_folder
from graphae.artifacts.run_dir import write_json
from graphae.reproduction.runner import CellRun
from graphae.reproduction.spec import ReproductionSpec


@dataclass
class Row:
    """One (data set, method) cell, in percent.

    ``hits50`` and ``mrr`` (test Hits@50 and MRR against the shared test
    negatives, :mod:`graphae.evaluation.ranking`) are ours only, beside the
    paper's AUC/AP; ``None`` when a run of the cell did not record them.
    """

    dataset: str
    method: str
    runs: int
    auc: float
    auc_std: float
    ap: float
    ap_std: float
    paper_auc: float
    paper_auc_std: float
    paper_ap: float
    paper_ap_std: float
    delta_auc: float
    delta_ap: float
    # ours only (the paper reports AUC/AP); None when a run predates them
    hits50: float | None
    hits50_std: float | None
    mrr: float | None
    mrr_std: float | None
    tolerance: float | None
    within_tolerance: bool | None
    seconds_per_run: float
    seconds_total: float
    footnotes: list[int] = field(default_factory=list)


def _mean_std(values: list[float]) -> tuple[float, float]:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return 100 * statistics.mean(values), 100 * std


def _ours(cell: list[CellRun], key: str) -> tuple[float | None, float | None]:
    """Mean ± std in percent of ``metrics["test"][key]``; ``None`` if a run lacks it."""
    values = [r.metrics["test"].get(key) for r in cell]
    if any(v is None for v in values):
        return None, None
    return _mean_std(values)


def summarize(spec: ReproductionSpec, runs: list[CellRun]) -> tuple[list[Row], list[str]]:
    """Aggregate runs per cell; return rows (spec order) and the footnote texts."""
    notes: list[str] = []
    rows = []
    for dataset in spec.datasets:
        for method in spec.methods:
            cell = [r for r in runs if r.dataset == dataset and r.method == method.label]
            if not cell:
                continue
            auc, auc_std = _mean_std([r.metrics["test"]["auc"] for r in cell])
            ap, ap_std = _mean_std([r.metrics["test"]["ap"] for r in cell])
            hits50, hits50_std = _ours(cell, "hits@50")
            mrr, mrr_std = _ours(cell, "mrr")
            paper = spec.reported[dataset][method.label]
            seconds = [float(r.metrics.get("total_seconds", 0.0)) for r in cell]
            tolerance = spec.tolerance.get(method.kind)
            marks = []
            for override in spec.overrides_for(method, dataset):
                if override.note not in notes:
                    notes.append(override.note)
                marks.append(notes.index(override.note) + 1)
            rows.append(
                Row(
                    dataset=dataset,
                    method=method.label,
                    runs=len(cell),
                    auc=auc,
                    auc_std=auc_std,
                    ap=ap,
                    ap_std=ap_std,
                    paper_auc=paper["auc"][0],
                    paper_auc_std=100 * paper["auc"][1],
                    paper_ap=paper["ap"][0],
                    paper_ap_std=100 * paper["ap"][1],
                    delta_auc=auc - paper["auc"][0],
                    delta_ap=ap - paper["ap"][0],
                    hits50=hits50,
                    hits50_std=hits50_std,
                    mrr=mrr,
                    mrr_std=mrr_std,
                    tolerance=tolerance,
                    within_tolerance=None
                    if tolerance is None
                    else auc >= paper["auc"][0] - tolerance,
                    seconds_per_run=statistics.mean(seconds),
                    seconds_total=sum(seconds),
                    footnotes=marks,
                )
            )
    return rows, notes


def to_markdown(spec: ReproductionSpec, rows: list[Row], notes: list[str]) -> str:
    """A Markdown table with footnotes."""
    lines = [
        f"**{spec.title}** ({spec.reference})",
        "",
        "| Dataset | Method | AUC ours | AUC paper | Δ AUC | AP ours | AP paper | Δ AP "
        "| Hits@50 ours | MRR ours | within tolerance | runs | s/run | s total |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        marks = "".join(f"[{i}]" for i in r.footnotes)
        ok = "n/a" if r.within_tolerance is None else ("yes" if r.within_tolerance else "**no**")
        lines.append(
            f"| {r.dataset} | {r.method}{marks} | {r.auc:.1f} ± {r.auc_std:.1f} "
            f"| {r.paper_auc:.1f} ± {r.paper_auc_std:.0f} | {r.delta_auc:+.1f} "
            f"| {r.ap:.1f} ± {r.ap_std:.1f} | {r.paper_ap:.1f} ± {r.paper_ap_std:.0f} "
            f"| {r.delta_ap:+.1f} | {_pm(r.hits50, r.hits50_std)} | {_pm(r.mrr, r.mrr_std)} "
            f"| {ok} (±{r.tolerance}) | {r.runs} | {r.seconds_per_run:.1f} "
            f"| {r.seconds_total:.0f} |"
        )
    lines.append("")
    lines.append(
        "Test AUC / AP in %, mean ± std over seeds (ours) and as reported (paper; its ± "
        "printed on the 0-1 scale, shown here in points). Within tolerance: our AUC is at "
        "most the tolerance below the paper's. Hits@50 and MRR (against the shared test "
        "negatives, OGB's definitions) in %, ours only: the paper reports AUC/AP; – where a "
        "run predates them."
    )
    lines.extend(f"[{i}] {note}" for i, note in enumerate(notes, start=1))
    return "\n".join(lines) + "\n"


def _pm(mean: float | None, std: float | None) -> str:
    return "–" if mean is None else f"{mean:.1f} ± {std:.1f}"


def write_tables(
    spec: ReproductionSpec, rows: list[Row], notes: list[str], out_dir: str | Path
) -> dict[str, Path]:
    """Write ``table.md``, ``table.csv`` and ``table.json`` into ``out_dir`` (each atomically)."""
    out_dir = make_folder(out_dir)
    paths = {ext: out_dir / f"table.{ext}" for ext in ("md", "csv", "json")}
    with atomic_write(paths["md"], "w", encoding="utf-8") as f:
        f.write(to_markdown(spec, rows, notes))
    records = [asdict(r) for r in rows]
    with atomic_write(paths["csv"], "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[c.name for c in fields(Row)])
        writer.writeheader()
        for record in records:
            writer.writerow({**record, "footnotes": " ".join(map(str, record["footnotes"]))})
    payload = {
        "name": spec.name,
        "title": spec.title,
        "reference": spec.reference,
        "rows": records,
        "footnotes": notes,
    }
    write_json(paths["json"], payload)
    return paths
