"""Compare runs: one row per setting (seeds grouped into mean ± std), best first."""

from __future__ import annotations

import csv
import io
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphae.analysis.runs import RANKING_KEYS, SETTING_KEYS, RunRecord

METRICS = ("val_auc", "val_ap", "test_auc", "test_ap", *RANKING_KEYS, "best_epoch", "seconds")
#: Shown as percentages (higher is better).
_PERCENT = {"val_auc", "val_ap", "test_auc", "test_ap", *RANKING_KEYS}
#: Shown for a metric that some run of a group did not record (older runs: Hits@K, MRR).
MISSING = "–"


@dataclass
class Group:
    """Runs that differ only in their seed."""

    name: str
    settings: dict[str, Any]
    runs: list[RunRecord]

    def has(self, metric: str) -> bool:
        """Whether every run of the group recorded ``metric`` (older runs lack Hits@K, MRR)."""
        return all(metric in r.metrics for r in self.runs)

    def mean(self, metric: str) -> float | None:
        """Mean of ``metric`` over the seeds (``None`` unless every run has it)."""
        if not self.has(metric):
            return None
        return statistics.mean(r.metrics[metric] for r in self.runs)

    def std(self, metric: str) -> float | None:
        """Sample standard deviation (0 for one seed; ``None`` unless every run has it)."""
        if not self.has(metric):
            return None
        values = [r.metrics[metric] for r in self.runs]
        return statistics.stdev(values) if len(values) > 1 else 0.0


def group_runs(runs: list[RunRecord], by_seed: bool = True) -> list[Group]:
    """Group runs with equal settings (``by_seed=False``: one group per run)."""
    groups: dict[Any, list[RunRecord]] = {}
    for run in runs:
        key = run.setting_key if by_seed else (run.path,)
        groups.setdefault(key, []).append(run)
    return [
        Group(_name(members, by_seed), dict(members[0].settings), members)
        for members in groups.values()
    ]


def _name(members: list[RunRecord], by_seed: bool) -> str:
    name = members[0].path.name
    if by_seed and len(members) > 1:
        # strip a trailing seed marker shared by the members, e.g. "_seed3" or "_s3"
        for marker in ("_seed", "_s"):
            if marker in name and name.rsplit(marker, 1)[1].isdigit():
                return name.rsplit(marker, 1)[0]
    return name


def sort_groups(groups: list[Group], metric: str = "test_auc") -> list[Group]:
    """Best first (lowest first for ``seconds`` and ``best_epoch``); groups without it last."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    have = [g for g in groups if g.has(metric)]
    ordered = sorted(have, key=lambda g: g.mean(metric), reverse=metric in _PERCENT)
    return ordered + [g for g in groups if not g.has(metric)]


def _cell(group: Group, metric: str) -> str:
    if not group.has(metric):
        return MISSING
    scale = 100.0 if metric in _PERCENT else 1.0
    mean, std = scale * group.mean(metric), scale * group.std(metric)
    digits = 1 if metric in _PERCENT or metric == "seconds" else 0
    if len(group.runs) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def records(groups: list[Group]) -> list[dict[str, Any]]:
    """Plain dicts: settings, seeds, and mean/std of every metric (``None``: not recorded)."""
    out = []
    for g in groups:
        row: dict[str, Any] = {"run": g.name, **{k: g.settings.get(k) for k in SETTING_KEYS}}
        row["seeds"] = len(g.runs)
        for metric in METRICS:
            row[metric] = g.mean(metric)
            row[f"{metric}_std"] = g.std(metric)
        out.append(row)
    return out


def format_table(groups: list[Group], fmt: str = "md") -> str:
    """The comparison as ``md`` (Markdown), ``csv`` or ``json``."""
    if fmt == "json":
        return json.dumps(records(groups), indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        rows = records(groups)
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["run"])
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if fmt != "md":
        raise ValueError(f"unknown format {fmt!r}; choose md, csv or json")
    header = (
        "| run | model | dataset | features | latent | epochs | lr | objective | seeds "
        "| best val AUC | best val AP | test AUC | test AP "
        "| test Hits@20 | test Hits@50 | test Hits@100 | test MRR | best epoch | seconds |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for g in groups:
        s = g.settings
        lines.append(
            f"| {g.name} | {s.get('model')} | {s.get('dataset')} | "
            f"{_yes_no(s.get('features'))} | {s.get('latent_dim') or ''} | "
            f"{s.get('epochs') or ''} | {s.get('lr') or ''} | {s.get('objective') or ''} | "
            f"{len(g.runs)} | " + " | ".join(_cell(g, m) for m in METRICS) + " |"
        )
    return "\n".join(lines) + "\n"


def _yes_no(value: object) -> str:
    return "" if value is None else ("yes" if value else "no")


def plot_curves(groups: list[Group], path: str | Path, metric: str = "val/auc") -> Path | None:
    """Save a PNG of ``metric`` per epoch, one line per group.

    The line is the mean over the group's seeds, the shaded band spans their
    min and max. Returns ``None`` when no run has a history to draw.

    Raises:
        OutputError: ``path`` cannot be written (its folder is missing or
            read-only, the disk is full); nothing is left behind.

    """
    from matplotlib.figure import Figure

    from graphae.figures import save_figure

    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    drawn = 0
    for g in groups:
        curves = [[(h["step"], h[metric]) for h in r.history if metric in h] for r in g.runs]
        curves = [c for c in curves if c]
        if not curves:
            continue
        steps = sorted(set.intersection(*[{s for s, _ in c} for c in curves]))
        if not steps:
            continue
        values = [[dict(c)[s] for s in steps] for c in curves]
        mean = [statistics.mean(v) for v in zip(*values, strict=True)]
        line = ax.plot(steps, mean, label=f"{g.name} (n={len(curves)})", linewidth=1.5)[0]
        if len(curves) > 1:
            low = [min(v) for v in zip(*values, strict=True)]
            high = [max(v) for v in zip(*values, strict=True)]
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        drawn += 1
    if not drawn:
        return None
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("/", " ").replace("auc", "AUC").replace("ap", "AP"))
    ax.set_title(f"{metric} per epoch (line: mean over seeds, band: min-max)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
