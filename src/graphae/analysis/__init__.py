"""Reading run directories back and comparing them."""

from graphae.analysis.compare import (
    curves_figure,
    format_table,
    group_runs,
    plot_curves,
    sort_groups,
)
from graphae.analysis.runs import RunRecord, find_run_dirs, read_run, read_runs

__all__ = [
    "RunRecord",
    "curves_figure",
    "find_run_dirs",
    "format_table",
    "group_runs",
    "plot_curves",
    "read_run",
    "read_runs",
    "sort_groups",
]
