"""One VAE run per latent size, and a comparison of them (figure and table).

``graphae vae --latent-dim 2 5 10 20`` trains the four runs inside one
parent folder (``runs/vae_<dataset>_2-5-10-20d_<epochs>ep/``) and writes there
``elbo.png`` (test and train −ELBO per epoch for every size), ``table.md``
and ``table.json``, after the runs have finished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graphae.artifacts.atomic import atomic_write
from graphae.artifacts.run_dir import create_run_dir, write_json
from graphae.errors import ConfigError
from graphae.pipeline import check_device
from graphae.tracking.base import Tracker
from graphae.vae.config import VAEConfig
from graphae.vae.data import load_images
from graphae.vae.pipeline import VAERunResult, train_vae

SUMMARY_FILES = {"figure": "elbo.png", "md": "table.md", "json": "table.json"}


@dataclass
class SizesResult:
    """Outcome of :func:`train_sizes`: the runs, the table, and where things were written."""

    runs: list[VAERunResult]
    rows: list[dict[str, Any]]
    markdown: str
    folder: Path | None
    files: dict[str, Path]


def group_name(config: VAEConfig, latent_dims: Sequence[int]) -> str:
    """``vae_fashion-mnist_2-5-10-20d_20ep`` (or ``config.name`` when given)."""
    sizes = "-".join(str(d) for d in latent_dims)
    return config.name or f"vae_{config.dataset}_{sizes}d_{config.epochs}ep"


def train_sizes(
    config: VAEConfig,
    latent_dims: Sequence[int],
    *,
    trackers: Sequence[Tracker] = (),
    save: bool = True,
    on_run: Callable[[VAERunResult], None] | None = None,
) -> SizesResult:
    """Train ``config`` once per latent size and compare the runs.

    With a single size this is one ordinary run in ``config.runs_dir``. With
    several, the runs go into a new parent folder named by
    :func:`group_name`, which then also holds the comparison figure and table.
    ``on_run`` is called with each run as it finishes. If a run fails, the
    finished ones stay (the failed one is removed, as always); a parent folder
    left empty is removed too.

    Raises:
        ConfigError: no sizes, or an invalid one (before anything is written).
        DataError: the data set cannot be loaded (before anything is written).

    """
    dims = list(dict.fromkeys(latent_dims))
    if not dims:
        raise ConfigError("give at least one latent size")
    configs = [replace(config, latent_dim=d) for d in dims]  # each one validated
    check_device(config.device)
    data = load_images(config.dataset, config.data_root)
    folder = None
    if len(dims) > 1:
        folder = create_run_dir(config.runs_dir, group_name(config, dims)) if save else None
        configs = [replace(c, runs_dir=str(folder or c.runs_dir), name=None) for c in configs]
    runs: list[VAERunResult] = []
    try:
        for c in configs:
            runs.append(train_vae(c, data=data, trackers=tuple(trackers), save=save))
            if on_run is not None:
                on_run(runs[-1])
    except BaseException:
        if folder is not None and not any(folder.iterdir()):
            folder.rmdir()  # nothing finished: leave no empty parent behind
        raise
    rows = [summary_row(run) for run in runs]
    markdown = format_table(rows)
    files: dict[str, Path] = {}
    if folder is not None:  # only for several sizes
        files = write_summary(folder, runs, rows, markdown)
    return SizesResult(runs, rows, markdown, folder, files)


def summary_row(run: VAERunResult) -> dict[str, Any]:
    """One table row: the latent size, final −ELBO parts, speed and the run folder."""
    m = run.metrics
    return {
        "latent_dim": m["latent_dim"],
        "test_neg_elbo": round(m["test"]["neg_elbo"], 2),
        "test_recon": round(m["test"]["recon"], 2),
        "test_kl": round(m["test"]["kl"], 2),
        "train_neg_elbo": round(m["train"]["neg_elbo"], 2),
        "seconds_per_epoch": m["seconds_per_epoch"],
        "run": run.run_dir.name if run.run_dir else run.config.run_name,
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of :func:`summary_row` rows."""
    lines = [
        "| latent | test −ELBO | test recon | test KL | train −ELBO | s/epoch | run |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['latent_dim']} | {r['test_neg_elbo']:.1f} | {r['test_recon']:.1f} | "
            f"{r['test_kl']:.1f} | {r['train_neg_elbo']:.1f} | {r['seconds_per_epoch']:.2f} | "
            f"{r['run']} |"
        )
    return "\n".join(lines) + "\n"


def write_summary(
    folder: Path, runs: list[VAERunResult], rows: list[dict[str, Any]], markdown: str
) -> dict[str, Path]:
    """Write ``elbo.png``, ``table.md`` and ``table.json`` into ``folder``."""
    from graphae.figures import save_figure
    from graphae.vae.figures import sizes_figure

    first = runs[0].config
    schedule = "" if first.lr_schedule == "constant" else f" {first.lr_schedule}"
    title = (
        f"VAE on {first.dataset}: −ELBO per epoch by latent size "
        f"({first.optimizer} lr {first.lr:g}{schedule}, batch {first.batch_size})"
    )
    histories = {f"z = {run.config.latent_dim}": run.history for run in runs}
    files = {
        "figure": save_figure(sizes_figure(histories, title), folder / SUMMARY_FILES["figure"])
    }
    files["md"] = folder / SUMMARY_FILES["md"]
    with atomic_write(files["md"], "w", encoding="utf-8") as f:
        f.write(markdown)
    settings = {k: v for k, v in first.result_settings().items() if k != "latent_dim"}
    files["json"] = folder / SUMMARY_FILES["json"]
    write_json(files["json"], {"settings": settings, "rows": rows})
    return files
