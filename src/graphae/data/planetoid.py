"""Planetoid citation graphs (Cora, CiteSeer, PubMed) through PyG's real loader.

The data root is, in order: the ``data_root`` argument (CLI ``--data-root``),
the ``GRAPHAE_DATA`` environment variable, or ``<user cache>/graphae``. Inside
it graphae expects PyG's layout ``Planetoid/<Name>/raw/ind.<name>.*``; a root
that already *is* the ``Planetoid`` folder works too. When the raw files are
missing PyG downloads them; offline, a :class:`~graphae.errors.DataError` says
which files were looked for, where, and how to fix it. A read-only copy (for
example a shared folder) is fine: its raw files are copied to the user cache,
where PyG writes its ``processed/`` files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from torch_geometric.data import Data

from graphae.errors import DataError

#: Canonical names, looked up case-insensitively.
PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_RAW_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
ENV_VAR = "GRAPHAE_DATA"


def canonical_name(name: str) -> str:
    """Return the canonical spelling of a Planetoid data set, or raise DataError."""
    try:
        return PLANETOID[name.lower()]
    except KeyError:
        known = ", ".join(PLANETOID.values())
        raise DataError(f"unknown dataset {name!r}; known datasets: {known}") from None


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/graphae`` or ``~/.cache/graphae``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "graphae"


def resolve_data_root(data_root: str | os.PathLike[str] | None = None) -> Path:
    """Pick the data root: argument, then ``$GRAPHAE_DATA``, then the user cache."""
    if data_root:
        return Path(data_root).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return default_cache_dir()


def raw_file_names(name: str) -> list[str]:
    """The eight Planetoid files PyG reads for ``name`` (e.g. ``ind.cora.x``)."""
    return [f"ind.{canonical_name(name).lower()}.{s}" for s in _RAW_SUFFIXES]


def load_planetoid(name: str, data_root: str | os.PathLike[str] | None = None) -> Data:
    """Load a Planetoid graph with :class:`torch_geometric.datasets.Planetoid`.

    Args:
        name (str): ``Cora``, ``CiteSeer`` or ``PubMed`` (any case).
        data_root (str, optional): folder holding ``Planetoid/<Name>/raw``;
            see the module docstring for the fallbacks. (default: ``None``)

    Returns:
        Data: ``x`` (raw features, as the paper uses them), ``edge_index``
        (both directions), ``y`` (classes) and ``name``.

    Raises:
        DataError: unknown name, files missing and no download possible, or
            files that cannot be read.

    """
    from torch_geometric.datasets import Planetoid

    canonical = canonical_name(name)
    root = resolve_data_root(data_root)
    planetoid_root = _planetoid_root(root, canonical)
    raw_dir = planetoid_root / canonical / "raw"
    files = raw_file_names(canonical)
    missing = [f for f in files if not (raw_dir / f).is_file()]
    if not missing and not _writable(planetoid_root / canonical):
        planetoid_root = _copy_to_cache(raw_dir, canonical, files)
    try:
        dataset = Planetoid(str(planetoid_root), canonical)
    except Exception as exc:
        if missing:
            raise DataError(
                f"{canonical} data not found and could not be downloaded ({_short(exc)}). "
                f"Looked in {raw_dir} for {', '.join(files)}. Fix: put those files there, "
                f"or pass --data-root DIR (or set {ENV_VAR}=DIR) where DIR/Planetoid/"
                f"{canonical}/raw holds them, or connect to the internet to download."
            ) from exc
        raise DataError(f"could not read {canonical} from {raw_dir}: {_short(exc)}") from exc
    data = dataset[0]
    data.name = canonical
    return data


def _planetoid_root(root: Path, name: str) -> Path:
    """Accept both ``ROOT/Planetoid/<Name>/raw`` and ``ROOT/<Name>/raw``."""
    if not (root / "Planetoid" / name / "raw").is_dir() and (root / name / "raw").is_dir():
        return root
    return root / "Planetoid"


def _writable(folder: Path) -> bool:
    """Writable by us *and* not marked read-only (root ignores permission bits)."""
    targets = [folder] + ([folder / "processed"] if (folder / "processed").exists() else [])
    return all(os.access(t, os.W_OK) and t.stat().st_mode & 0o222 for t in targets)


def _copy_to_cache(raw_dir: Path, name: str, files: list[str]) -> Path:
    target_root = default_cache_dir() / "Planetoid"
    target = target_root / name / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for f in files:
        dst = target / f
        if not dst.is_file() or dst.stat().st_size != (raw_dir / f).stat().st_size:
            shutil.copyfile(raw_dir / f, dst)
    return target_root


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
