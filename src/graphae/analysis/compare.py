"""Compare runs: one row per setting (seeds grouped into mean ± std), best first."""

from __future__ import annotations

import csv
import io
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphae.analysis.runs import RANKING_KEYS, SETTING_KEYS, RunRecord
from graphae.config import flag

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METRICS = (
    "val_auc",
    "val_ap",
    "test_auc",
    "test_ap",
    *RANKING_KEYS,
    "best_epoch",
    "seconds",
    "epoch_seconds",
    "epoch_cpu_seconds",
)
#: Shown as percentages (higher is better).
_PERCENT = {"val_auc", "val_ap", "test_auc", "test_ap", *RANKING_KEYS}
#: Training seconds per epoch: shown in milliseconds.
_PER_EPOCH = {"epoch_seconds", "epoch_cpu_seconds"}
#: Columns of the Markdown table, after the settings (``seconds``, the run's
#: total wall time, is in the CSV and JSON only).
TABLE_METRICS = tuple(m for m in METRICS if m != "seconds")
#: Their headers.
_HEADERS = {
    "val_auc": "best val AUC",
    "val_ap": "best val AP",
    "test_auc": "test AUC",
    "test_ap": "test AP",
    "hits@20": "test Hits@20",
    "hits@50": "test Hits@50",
    "hits@100": "test Hits@100",
    "mrr": "test MRR",
    "best_epoch": "best epoch",
    "epoch_seconds": "train ms/epoch (wall)",
    "epoch_cpu_seconds": "train ms/epoch (CPU)",
}
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
    """Best first (lowest first for times and ``best_epoch``); groups without it last."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    have = [g for g in groups if g.has(metric)]
    ordered = sorted(have, key=lambda g: g.mean(metric), reverse=metric in _PERCENT)
    return ordered + [g for g in groups if not g.has(metric)]


def _cell(group: Group, metric: str) -> str:
    if not group.has(metric):
        return MISSING
    scale = 100.0 if metric in _PERCENT else 1000.0 if metric in _PER_EPOCH else 1.0
    mean, std = scale * group.mean(metric), scale * group.std(metric)
    digits = 0 if metric == "best_epoch" else 1
    if len(group.runs) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


#: Settings the Markdown table has a column for.
_COLUMNS = ("model", "dataset", "features", "latent_dim", "epochs", "lr", "objective")


def differing_settings(groups: list[Group]) -> list[str]:
    """Settings without a column of their own whose values differ between ``groups``.

    E.g. the mask, the ensemble size or the dropout of runs that a sweep
    varied: the table's ``other settings`` column shows them.
    """
    values = [g.runs[0].result_settings for g in groups if g.runs]
    keys = sorted(set().union(*values) - set(_COLUMNS)) if values else []
    spelt = [[json.dumps(v.get(k), sort_keys=True, default=str) for v in values] for k in keys]
    return [k for k, seen in zip(keys, spelt, strict=True) if len(set(seen)) > 1]


def _other(group: Group, keys: list[str]) -> str:
    """``key=value`` for each of ``keys`` (command-line spelling), e.g. ``mask=edge``."""
    settings = group.runs[0].result_settings if group.runs else {}
    return " ".join(f"{flag(k)}={_value(settings.get(k))}" for k in keys)


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "-" if value is None else str(value)


def records(groups: list[Group]) -> list[dict[str, Any]]:
    """Plain dicts: settings, seeds, and mean/std of every metric (``None``: not recorded).

    ``other`` holds the settings beyond the columns that differ between the
    groups (:func:`differing_settings`), e.g. ``"mask=edge ensemble=3"``.
    """
    out = []
    other = differing_settings(groups)
    for g in groups:
        row: dict[str, Any] = {"run": g.name, **{k: g.settings.get(k) for k in SETTING_KEYS}}
        row["other"] = _other(g, other)
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
    other = differing_settings(groups)  # a column only when some setting beyond them differs
    header = (
        "| run | model | dataset | features | latent | epochs | lr | objective | "
        + ("other settings | " if other else "")
        + "seeds | "
        + " | ".join(_HEADERS[m] for m in TABLE_METRICS)
        + " |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for g in groups:
        s = g.settings
        lines.append(
            f"| {g.name} | {s.get('model')} | {s.get('dataset')} | "
            f"{_yes_no(s.get('features'))} | {s.get('latent_dim') or ''} | "
            f"{s.get('epochs') or ''} | {s.get('lr') or ''} | {s.get('objective') or ''} | "
            + (f"{_other(g, other)} | " if other else "")
            + f"{len(g.runs)} | "
            + " | ".join(_cell(g, m) for m in TABLE_METRICS)
            + " |"
        )
    return "\n".join(lines) + "\n"


def _yes_no(value: object) -> str:
    return "" if value is None else ("yes" if value else "no")


#: Epoch counts this many times apart are not drawn on one linear epoch axis.
EPOCH_SPREAD = 10
#: Up to this many epoch counts get one panel each; more share a log epoch axis.
MAX_PANELS = 4


@dataclass
class _Curve:
    """One group's mean curve (and min/max over its seeds)."""

    label: str
    epochs: int
    steps: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]
    seeds: int


def _curves(groups: list[Group], metric: str, scale: float) -> list[_Curve]:
    curves = []
    for g in groups:
        series = [[(h["step"], h[metric]) for h in r.history if metric in h] for r in g.runs]
        series = [c for c in series if c]
        if not series:
            continue
        steps = sorted(set.intersection(*[{s for s, _ in c} for c in series]))
        if not steps:
            continue
        values = [[scale * dict(c)[s] for s in steps] for c in series]
        columns = list(zip(*values, strict=True))
        n = len(series)
        curves.append(
            _Curve(
                label=f"{g.name} ({n} seeds)" if n > 1 else g.name,
                epochs=int(g.settings.get("epochs") or steps[-1]),
                steps=steps,
                mean=[statistics.mean(v) for v in columns],
                low=[min(v) for v in columns],
                high=[max(v) for v in columns],
                seeds=n,
            )
        )
    return curves


def _is_score(metric: str) -> bool:
    """AUC, AP, Hits@K and MRR are drawn in percent (as the tables print them)."""
    name = metric.rsplit("/", 1)[-1]
    return name in {"auc", "ap", "best_auc", "best_ap", "mrr"} or name.startswith("hits@")


def _metric_label(metric: str) -> str:
    split, _, name = metric.rpartition("/")
    name = {"auc": "AUC", "ap": "AP", "mrr": "MRR"}.get(name, name.replace("hits@", "Hits@"))
    return f"{split} {name}".strip()


def plot_curves(groups: list[Group], path: str | Path, metric: str = "val/auc") -> Path | None:
    """Save :func:`curves_figure` as a PNG; ``None`` when no run has a history to draw.

    Raises:
        OutputError: ``path`` cannot be written (its folder is missing or
            read-only, the disk is full); nothing is left behind.

    """
    from graphae.figures import save_figure

    figure = curves_figure(groups, metric)
    return None if figure is None else save_figure(figure, path, dpi=120)


def curves_figure(groups: list[Group], metric: str = "val/auc") -> Figure | None:
    """``metric`` per epoch, one line per group (in % for scores).

    The line is the mean over the group's seeds; with two or more seeds a
    shaded band spans their min and max (and the title says so). When the
    groups' epoch counts differ by :data:`EPOCH_SPREAD` times or more (100
    and 1000), a shared linear axis would squeeze the short runs into its
    first tenth, under their longer twins (same seed, same first epochs): up
    to :data:`MAX_PANELS` epoch counts get one panel each, more share a log
    epoch axis. Each line ends in a dot at its last epoch. Returns ``None``
    when no run has a history to draw.
    """
    from matplotlib.figure import Figure

    percent = _is_score(metric)
    curves = _curves(groups, metric, 100.0 if percent else 1.0)
    if not curves:
        return None
    counts = sorted({c.epochs for c in curves})
    spread = counts[-1] >= EPOCH_SPREAD * max(counts[0], 1)
    panels: list[int | None] = list(counts) if spread and len(counts) <= MAX_PANELS else [None]
    fig = Figure(figsize=(8 if len(panels) == 1 else 4.5 * len(panels), 4.8))
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, count in zip(axes, panels, strict=True):
        for i, c in enumerate(curves):  # one colour per group across the panels
            if count is not None and c.epochs != count:
                continue
            colour = f"C{i % 10}"
            ax.plot(c.steps, c.mean, label=c.label, linewidth=1.5, color=colour)
            ax.plot(c.steps[-1:], c.mean[-1:], "o", color=colour, markersize=4)
            if c.seeds > 1:
                ax.fill_between(c.steps, c.low, c.high, color=colour, alpha=0.2, linewidth=0)
        if spread and count is None:
            ax.set_xscale("log")
        ax.set_xlabel("epoch (log scale)" if spread and count is None else "epoch")
        if count is not None:
            ax.set_title(f"runs of {count} epochs", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    label = _metric_label(metric)
    axes[0].set_ylabel(f"{label} (%)" if percent else label)
    title = f"{label} per epoch"
    if any(c.seeds > 1 for c in curves):
        title += " (line: mean over seeds, band: min–max)"
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
