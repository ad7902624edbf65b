"""Reproduction specs: a paper's table as data (YAML), validated without training.

A spec names the data sets, the methods with their settings, deviations from
the paper (``overrides``, each with a note that becomes a footnote), the
reported numbers and the tolerance we aim for. Specs ship in
``graphae/reproduction/configs/*.yaml``; any other YAML path works too.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from graphae.config import TrainConfig
from graphae.data.planetoid import canonical_name
from graphae.errors import ConfigError, DataError

AUTOENCODER = "autoencoder"
#: a method's ``split_method`` values
SPLIT_METHODS = ("graphae", "pyg")


@dataclass
class MethodSpec:
    """One row of the table: a label, a kind and its settings."""

    label: str
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    #: every run of the method on the split of this seed (a paper's protocol with one
    #: fixed split, runs differing in their initial weights); None: run k, split k
    split_seed: int | None = None
    #: how the split is drawn: ``graphae`` (:func:`~graphae.data.link_split.split_edges`)
    #: or ``pyg`` (PyG's ``RandomLinkSplit`` after seeding every generator, the split of
    #: a paper's script: :func:`~graphae.data.link_split.pyg_link_split`)
    split_method: str = "graphae"

    @property
    def slug(self) -> str:
        """Folder-safe name: ``GAE*`` -> ``gae_nofeat``."""
        return self.label.lower().replace("*", "_nofeat").replace(" ", "_")


@dataclass
class Override:
    """Settings replaced for some data sets and methods, with the reason."""

    datasets: list[str]
    methods: list[str]
    settings: dict[str, Any]
    note: str


@dataclass
class ReproductionSpec:
    """A paper's table: what to run and what the paper reported."""

    name: str
    title: str
    reference: str
    runs: int
    datasets: list[str]
    methods: list[MethodSpec]
    split: dict[str, float]
    autoencoder_defaults: dict[str, Any]
    overrides: list[Override]
    reported: dict[str, dict[str, dict[str, tuple[float, float]]]]
    tolerance: dict[str, float]

    def method(self, label: str) -> MethodSpec:
        """The method called ``label``."""
        for m in self.methods:
            if m.label == label:
                return m
        raise ConfigError(f"unknown method {label!r}; known: {', '.join(self.labels)}")

    @property
    def labels(self) -> list[str]:
        """Method labels in table order."""
        return [m.label for m in self.methods]

    def overrides_for(self, method: MethodSpec, dataset: str) -> list[Override]:
        """The overrides that apply to a cell."""
        return [o for o in self.overrides if dataset in o.datasets and method.label in o.methods]

    def settings_for(self, method: MethodSpec, dataset: str) -> dict[str, Any]:
        """Effective settings of a cell: defaults, then the method's, then overrides."""
        settings = dict(self.autoencoder_defaults) if method.kind == AUTOENCODER else {}
        settings.update(method.settings)
        for override in self.overrides_for(method, dataset):
            settings.update(override.settings)
        return settings


def available_specs() -> dict[str, Path]:
    """Bundled specs by name."""
    folder = resources.files("graphae.reproduction") / "configs"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def load_spec(name_or_path: str | Path) -> ReproductionSpec:
    """Load and validate a bundled spec by name, or a YAML file by path.

    Raises:
        ConfigError: unknown name, unreadable file or invalid content, naming
            the offending entry.

    """
    bundled = available_specs()
    path = bundled.get(str(name_or_path), Path(name_or_path))
    if not path.is_file():
        known = ", ".join(sorted(bundled)) or "none"
        raise ConfigError(f"unknown reproduction {str(name_or_path)!r}; available: {known}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        spec = _parse(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path.name}: invalid spec ({type(exc).__name__}: {exc})") from exc
    validate(spec)
    return spec


def _parse(raw: dict[str, Any]) -> ReproductionSpec:
    reported = {
        dataset: {
            label: {metric: (float(v[0]), float(v[1])) for metric, v in metrics.items()}
            for label, metrics in by_method.items()
        }
        for dataset, by_method in raw["reported"].items()
    }
    return ReproductionSpec(
        name=str(raw["name"]),
        title=str(raw.get("title", raw["name"])),
        reference=str(raw.get("reference", "")),
        runs=int(raw.get("runs", 10)),
        datasets=[str(d) for d in raw["datasets"]],
        methods=[MethodSpec(**m) for m in raw["methods"]],
        split=dict(raw.get("split", {})),
        autoencoder_defaults=dict(raw.get("autoencoder_defaults", {})),
        overrides=[Override(**o) for o in raw.get("overrides", [])],
        reported=reported,
        tolerance={k: float(v) for k, v in raw.get("tolerance", {}).items()},
    )


def _kinds() -> dict[str, Any]:
    from graphae.baselines import BASELINES

    return {AUTOENCODER: TrainConfig, **BASELINES}


def validate(spec: ReproductionSpec) -> None:
    """Check names, settings and reported numbers without training anything."""
    kinds = _kinds()
    if spec.runs < 1:
        raise ConfigError(f"{spec.name}: runs must be >= 1")
    for dataset in spec.datasets:
        try:
            canonical_name(dataset)
        except DataError as exc:
            raise ConfigError(f"{spec.name}: {exc}") from None
    if len(set(spec.labels)) != len(spec.labels):
        raise ConfigError(f"{spec.name}: duplicate method labels")
    for override in spec.overrides:
        for label in override.methods:
            spec.method(label)
        unknown = set(override.datasets) - set(spec.datasets)
        if unknown:
            raise ConfigError(f"{spec.name}: override names unknown datasets {sorted(unknown)}")
    for method in spec.methods:
        if method.split_seed is not None and (
            not isinstance(method.split_seed, int) or method.split_seed < 0
        ):
            raise ConfigError(f"{spec.name}: {method.label}: split_seed must be an integer >= 0")
        if method.split_method not in SPLIT_METHODS:
            raise ConfigError(
                f"{spec.name}: {method.label}: split_method must be one of "
                f"{', '.join(SPLIT_METHODS)}, not {method.split_method!r}"
            )
        if method.kind not in kinds:
            raise ConfigError(
                f"{spec.name}: method {method.label} has unknown kind {method.kind!r}; "
                f"known: {', '.join(kinds)}"
            )
        accepted = _accepted_settings(kinds[method.kind])
        for dataset in spec.datasets:
            settings = spec.settings_for(method, dataset)
            unknown = set(settings) - accepted
            if unknown:
                raise ConfigError(
                    f"{spec.name}: {method.label} has unknown settings {sorted(unknown)}"
                )
            if method.kind == AUTOENCODER:
                TrainConfig(**{**settings, **spec.split})  # raises ConfigError if invalid
            if method.label not in spec.reported.get(dataset, {}):
                raise ConfigError(
                    f"{spec.name}: no reported numbers for {method.label} on {dataset}"
                )


def _accepted_settings(target: Any) -> set[str]:
    if target is TrainConfig:
        return {f.name for f in dataclasses.fields(TrainConfig)}
    skip = {"edge_index", "num_nodes", "seed"}
    return set(inspect.signature(target).parameters) - skip
