"""Run every cell of a reproduction spec, resumably.

For each data set and seed the edge split is computed once and shared by all
methods (a method with a ``split_seed`` uses that seed's split in every run;
``split_method: pyg`` draws it as PyG's ``RandomLinkSplit`` does in a paper's script).
Every run lands as a normal run directory under
``<out>/<dataset>/<method>_seed<k>`` (TensorBoard events included), so
``tensorboard --logdir <out>`` browses the whole reproduction. A run whose
folder already holds ``metrics.json`` with the same settings is skipped, so
an interrupted reproduction picks up where it stopped and yields the same table.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from graphae.artifacts.run_dir import finished_metrics
from graphae.config import TrainConfig
from graphae.data.link_split import LinkSplit, pyg_link_split, split_edges
from graphae.data.planetoid import canonical_name, load_planetoid
from graphae.errors import ConfigError
from graphae.reproduction.spec import AUTOENCODER, MethodSpec, ReproductionSpec
from graphae.tracking.base import Tracker


@dataclass
class CellRun:
    """One (data set, method, seed) run and its metrics."""

    dataset: str
    method: str
    seed: int
    metrics: dict[str, Any]
    run_dir: Path
    skipped: bool


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def select(
    spec: ReproductionSpec,
    datasets: list[str] | None = None,
    methods: list[str] | None = None,
    runs: int | None = None,
) -> tuple[list[str], list[MethodSpec], int]:
    """Resolve the requested subset of a spec (names checked, spec order kept)."""
    chosen = spec.datasets
    if datasets:
        wanted = {canonical_name(d) for d in datasets}
        missing = wanted - set(spec.datasets)
        if missing:
            raise ConfigError(
                f"{spec.name} has no dataset {sorted(missing)}; it has {spec.datasets}"
            )
        chosen = [d for d in spec.datasets if d in wanted]
    picked = spec.methods if not methods else [spec.method(m) for m in methods]
    picked = [m for m in spec.methods if m in picked]
    if runs is not None and runs < 1:
        raise ConfigError(f"runs must be >= 1, got {runs}")
    return chosen, picked, runs or spec.runs


def run_reproduction(
    spec: ReproductionSpec,
    out_dir: str | Path,
    *,
    datasets: list[str] | None = None,
    methods: list[str] | None = None,
    runs: int | None = None,
    data_root: str | None = None,
    epochs: int | None = None,
    trackers: Sequence[Tracker] = (),
    log: Callable[[str], None] = _log,
) -> list[CellRun]:
    """Run (or resume) the selected cells; return one :class:`CellRun` per run.

    Args:
        spec (ReproductionSpec): what to run.
        out_dir (str or Path): root folder of the run directories.
        datasets (list, optional): subset of the spec's data sets.
        methods (list, optional): subset of the spec's method labels.
        runs (int, optional): seeds ``0..runs-1`` (default: the spec's).
        data_root (str, optional): where the data sets are.
        epochs (int, optional): replace the autoencoders' epochs (quick looks).
        trackers (sequence, optional): extra trackers (e.g. MLflow) that follow
            every run, besides each run folder's TensorBoard events.
        log (callable, optional): receives progress lines (default: stderr).

    """
    datasets, chosen, runs = select(spec, datasets, methods, runs)
    out_dir = Path(out_dir)
    cells = [(d, s, m) for d in datasets for s in range(runs) for m in chosen]
    results: list[CellRun] = []
    durations: dict[tuple[str, str], list[float]] = {}
    started = time.perf_counter()
    data: Any = None
    split: LinkSplit | None = None
    split_drawn: tuple[str, str, int] | None = None  # (data set, split method, seed) of split
    for index, (dataset, seed, method) in enumerate(cells, start=1):
        if data is None or data.name != dataset:
            data = load_planetoid(dataset, data_root)
        split_seed = seed if method.split_seed is None else method.split_seed
        split_key = (dataset, method.split_method, split_seed)
        if split is None or split_drawn != split_key:
            draw = pyg_link_split if method.split_method == "pyg" else split_edges
            split = draw(data.edge_index, int(data.num_nodes), seed=split_seed, **spec.split)
            split_drawn = split_key
        settings = spec.settings_for(method, dataset)
        if epochs is not None and method.kind == AUTOENCODER:
            settings["epochs"] = epochs
        run_dir = out_dir / dataset.lower() / f"{method.slug}_seed{seed}"
        label = f"[{index}/{len(cells)}] {dataset} {method.label} seed {seed}"
        previous = finished_metrics(run_dir, settings)
        if previous is not None:
            results.append(CellRun(dataset, method.label, seed, previous, run_dir, skipped=True))
            log(f"{label}: done before, skipped")
            continue
        if run_dir.exists():
            shutil.rmtree(run_dir)  # an interrupted or outdated run
        eta = _eta(cells[index - 1 :], durations)
        log(f"{label} ... ({len(cells) - index + 1} left, ETA {eta})")
        tick = time.perf_counter()
        metrics = _run_cell(
            method, settings, dataset, seed, data, split, run_dir, data_root, trackers
        )
        durations.setdefault((dataset, method.label), []).append(time.perf_counter() - tick)
        results.append(CellRun(dataset, method.label, seed, metrics, run_dir, skipped=False))
        log(
            f"{label}: AUC {100 * metrics['test']['auc']:.1f}  AP {100 * metrics['test']['ap']:.1f}"
            f"  ({time.perf_counter() - tick:.1f} s)"
        )
    log(f"finished {len(cells)} runs in {_clock(time.perf_counter() - started)}")
    return results


def _run_cell(
    method: MethodSpec,
    settings: dict[str, Any],
    dataset: str,
    seed: int,
    data: Any,
    split: LinkSplit,
    run_dir: Path,
    data_root: str | None,
    trackers: Sequence[Tracker] = (),
) -> dict[str, Any]:
    from graphae.pipeline import evaluate_embedding, train

    common = {"runs_dir": run_dir.parent, "name": run_dir.name, "trackers": trackers}
    if method.kind == AUTOENCODER:
        config = TrainConfig(
            **settings,
            dataset=dataset,
            seed=seed,
            data_root=data_root,
            quiet=True,
            runs_dir=str(run_dir.parent),
            name=run_dir.name,
        )
        return train(config, data=data, split=split, trackers=trackers).metrics
    from graphae.baselines import BASELINES

    embed = partial(BASELINES[method.kind], **settings, seed=seed)
    result = evaluate_embedding(
        method.slug, embed, data, split, settings=settings, dataset=dataset, **common
    )
    return result.metrics


def _eta(
    remaining: list[tuple[str, int, MethodSpec]], durations: dict[tuple[str, str], list[float]]
) -> str:
    if not durations:
        return "unknown"
    overall = [t for ts in durations.values() for t in ts]
    fallback = sum(overall) / len(overall)
    total = 0.0
    for dataset, _, method in remaining:
        seen = durations.get((dataset, method.label))
        total += sum(seen) / len(seen) if seen else fallback
    return _clock(total)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
