"""Planetoid citation graphs (Cora, CiteSeer, PubMed), parsed by PyG's reader.

The data root is, in order: the ``data_root`` argument (CLI ``--data-root``),
the ``GRAPHAE_DATA`` environment variable, or graphae's cache folder
(:func:`default_cache_dir`). Inside it graphae expects PyG's layout
``Planetoid/<Name>/raw/ind.<name>.*``; a root that already *is* the
``Planetoid`` folder works too.

The data root is only ever read: nothing is created or changed there, whatever
its permission bits say (so a shared copy is safe, also for root). Everything
graphae writes goes to the cache folder, under ``Planetoid/<Name>/``:

- ``processed/graphae.pt``: the parsed graph. It is written to a temporary
  file and renamed into place, so processes loading at the same time see no
  file or a complete one, never half of one. It records the raw files it was
  built from (path, size, modification time) and is rebuilt when they change.
  A cache that cannot be read, or holds the wrong sizes, is deleted and rebuilt
  with a warning.
- ``raw/``: the files downloaded (PyG's URLs) when the data root lacks them;
  later loads find them there. Downloads go to a temporary folder and are
  checked before they are moved in. Offline, a :class:`~graphae.errors.DataError`
  says which files were looked for, where, and how to fix it.

Every load, from raw files or from the cache, is checked against the published
sizes (:data:`EXPECTED`): nodes, edges, features, classes, training and test
nodes. A raw file that is truncated or from another release gives a
``DataError`` naming the data set, the raw folder and the count that differs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import torch
from torch_geometric.data import Data

from graphae.data.files import DataWarning
from graphae.errors import DataError

#: Canonical names, looked up case-insensitively.
PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_RAW_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
ENV_VAR = "GRAPHAE_DATA"
CACHE_FILE = "graphae.pt"
_CACHE_FORMAT = 1
_TENSORS = ("x", "edge_index", "y", "train_mask", "val_mask", "test_mask")


@dataclass(frozen=True)
class Sizes:
    """The counts a Planetoid graph is checked against."""

    nodes: int  # rows of ind.<name>.allx + tx (CiteSeer: + its isolated test nodes)
    edges: int  # columns of PyG's edge_index: both directions, twice the undirected count
    features: int  # columns of x
    classes: int  # columns of the one-hot labels
    train: int  # labelled training nodes: rows of ind.<name>.x and .y
    test: int  # test nodes: lines of ind.<name>.test.index


#: Subject of each class, in PyG's label order (the order of the one-hot
#: columns in ``ind.<name>.ally``). Matched by class size to the original data
#: sets (LINQS): Cora's 818 Neural_Networks papers are label 3, CiteSeer's 701
#: DB papers label 3, PubMed's 7875 Type 1 papers label 2. CiteSeer's label 0
#: also holds the 15 test nodes without a label (PyG's reader gives them 0).
CLASS_NAMES = {
    "Cora": (
        "Theory",
        "Reinforcement_Learning",
        "Genetic_Algorithms",
        "Neural_Networks",
        "Probabilistic_Methods",
        "Case_Based",
        "Rule_Learning",
    ),
    "CiteSeer": ("AI", "ML", "IR", "DB", "Agents", "HCI"),
    "PubMed": (
        "Diabetes Mellitus Experimental",
        "Diabetes Mellitus Type 2",
        "Diabetes Mellitus Type 1",
    ),
}

#: Published sizes, and what PyG's reader gives for the original files.
EXPECTED = {
    "Cora": Sizes(nodes=2708, edges=10556, features=1433, classes=7, train=140, test=1000),
    "CiteSeer": Sizes(nodes=3327, edges=9104, features=3703, classes=6, train=120, test=1000),
    "PubMed": Sizes(nodes=19717, edges=88648, features=500, classes=3, train=60, test=1000),
}
_WHAT = {  # how each count reads in a message, and which raw files it comes from
    "nodes": ("nodes", "allx, tx"),
    "edges": ("edges in edge_index", "graph"),
    "features": ("features", "x, allx, tx"),
    "classes": ("classes", "ally, ty"),
    "train": ("training nodes", "x, y"),
    "test": ("test nodes", "test.index"),
}


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
    """Load a Planetoid graph, parsed by :func:`torch_geometric.io.read_planetoid_data`.

    Args:
        name (str): ``Cora``, ``CiteSeer`` or ``PubMed`` (any case).
        data_root (str, optional): folder holding ``Planetoid/<Name>/raw``;
            see the module docstring for the fallbacks. It is only read.
            (default: ``None``)

    Returns:
        Data: ``x`` (raw features, as the paper uses them), ``edge_index``
        (both directions), ``y`` (classes), ``class_names`` (:data:`CLASS_NAMES`),
        PyG's public-split masks and ``name``.

    Raises:
        DataError: unknown name, files missing and no download possible, files
            that cannot be read, or sizes that differ from the published ones.

    """
    canonical = canonical_name(name)
    root = resolve_data_root(data_root)
    raw_dir = _planetoid_root(root, canonical) / canonical / "raw"
    cache = default_cache_dir() / "Planetoid" / canonical
    files = raw_file_names(canonical)
    source = next((d for d in (raw_dir, cache / "raw") if _complete(d, files)), None)
    if source is None:
        source = _download(canonical, cache, raw_dir)
    fingerprint = _fingerprint(source, files)
    data, corrupt = _read_cache(canonical, cache / "processed" / CACHE_FILE, fingerprint)
    if data is None:
        data = _read_raw(canonical, source)
        _write_cache(cache / "processed" / CACHE_FILE, data, fingerprint)
        if corrupt:
            warnings.warn(
                f"graphae: rebuilt the corrupt {canonical} cache at {cache / 'processed'} "
                f"({corrupt})",
                DataWarning,
                stacklevel=2,
            )
    data.name = canonical
    data.class_names = list(CLASS_NAMES[canonical])
    return data


def check_sizes(name: str, data: Data) -> list[str]:
    """What differs between ``data`` and the published sizes (empty: nothing)."""
    canonical = canonical_name(name)
    expected, prefix = EXPECTED[canonical], canonical.lower()
    n = data.x.size(0)
    found = Sizes(
        nodes=n,
        edges=data.edge_index.size(1),
        features=data.x.size(1),
        classes=data.y.max().item() + 1 if data.y.numel() else 0,
        train=int(data.train_mask.sum()),
        test=int(data.test_mask.sum()),
    )
    problems = []
    for field, got, want in zip(fields(Sizes), astuple(found), astuple(expected), strict=True):
        if got != want:
            label, suffixes = _WHAT[field.name]
            sources = ", ".join(f"ind.{prefix}.{s}" for s in suffixes.split(", "))
            extra = f" ({want // 2:,} undirected)" if field.name == "edges" else ""
            problems.append(f"{got:,} {label} ({sources}), expected {want:,}{extra}")
    for key in ("y", "train_mask", "val_mask", "test_mask"):
        if data[key].size(0) != n:
            problems.append(f"{data[key].size(0):,} entries in {key} for {n:,} nodes")
    if data.edge_index.numel() and not 0 <= data.edge_index.min() <= data.edge_index.max() < n:
        problems.append(f"edges to nodes outside 0..{n - 1:,} (ind.{prefix}.graph)")
    return problems


def _planetoid_root(root: Path, name: str) -> Path:
    """Accept both ``ROOT/Planetoid/<Name>/raw`` and ``ROOT/<Name>/raw``."""
    if not (root / "Planetoid" / name / "raw").is_dir() and (root / name / "raw").is_dir():
        return root
    return root / "Planetoid"


def _complete(folder: Path, files: list[str]) -> bool:
    return all((folder / f).is_file() for f in files)


def _fingerprint(folder: Path, files: list[str]) -> list[list[str | int]]:
    """Which raw files a cache was built from: path, size and mtime of each."""
    out: list[list[str | int]] = []
    for f in files:
        path = (folder / f).resolve()
        info = path.stat()
        out.append([str(path), info.st_size, info.st_mtime_ns])
    return out


def _read_raw(name: str, raw_dir: Path) -> Data:
    """Parse and check the raw files of ``raw_dir``; only reads there."""
    from torch_geometric.io import read_planetoid_data

    hint = (
        f"A raw file may be truncated or from another release: re-download or restore "
        f"ind.{name.lower()}.* there."
    )
    try:
        data = read_planetoid_data(str(raw_dir), name)
    except Exception as exc:
        culprit = _unreadable_file(name, raw_dir)
        where = f"{culprit}: " if culprit else ""
        raise DataError(
            f"could not read {name} from {raw_dir}: {where}{_short(exc)}. {hint}"
        ) from exc
    problems = check_sizes(name, data)
    if problems:
        raise DataError(f"{name} from {raw_dir}: {'; '.join(problems)}. {hint}")
    return data


def _unreadable_file(name: str, raw_dir: Path) -> str | None:
    """The first raw file PyG cannot read on its own (to name it in an error)."""
    from torch_geometric.io.planetoid import read_file

    for suffix in _RAW_SUFFIXES:
        try:
            read_file(str(raw_dir), name, suffix)
        except Exception:
            return f"ind.{name.lower()}.{suffix}"
    return None


def _read_cache(name: str, path: Path, fingerprint: list) -> tuple[Data | None, str]:
    """The cached graph if it is valid and built from ``fingerprint``.

    Returns ``(data, "")``, ``(None, "")`` when there is no cache or it was built
    from other raw files, or ``(None, reason)`` when it is corrupt (then deleted).
    """
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None, ""
    except Exception as exc:
        return None, _drop(path, _short(exc))
    if not isinstance(blob, dict) or blob.get("format") != _CACHE_FORMAT:
        return None, _drop(path, "not a graphae cache file")
    if blob.get("fingerprint") != fingerprint:
        return None, ""  # built from other raw files: rebuild quietly
    try:
        data = Data(**{key: blob["tensors"][key] for key in _TENSORS})
        problems = check_sizes(name, data)
    except Exception as exc:
        return None, _drop(path, _short(exc))
    if problems:
        return None, _drop(path, "; ".join(problems))
    return data, ""


def _drop(path: Path, reason: str) -> str:
    """Delete a corrupt cache file (if we may; a rebuild replaces it anyway)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    return reason


def _write_cache(path: Path, data: Data, fingerprint: list) -> None:
    """Write atomically: a temporary file in the same folder, then ``os.replace``."""
    blob = {
        "format": _CACHE_FORMAT,
        "fingerprint": fingerprint,
        "tensors": {key: data[key] for key in _TENSORS},
    }
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            torch.save(blob, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:  # a read-only cache: work without one
        warnings.warn(
            f"graphae: could not cache the parsed graph at {path}: {exc}", DataWarning, stacklevel=3
        )
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _download(name: str, cache: Path, looked_in: Path) -> Path:
    """Fetch the raw files into ``cache/raw`` (via a checked temporary folder)."""
    from torch_geometric.datasets import Planetoid

    files = raw_file_names(name)
    target = cache / "raw"
    places = str(looked_in) if looked_in == target else f"{looked_in} and {target}"
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".download-{name}-", dir=cache.parent))
    except OSError as exc:
        raise DataError(
            f"{name} data not found in {places}, and no cache folder to download to ({exc})"
        ) from exc
    try:
        holder = Planetoid.__new__(Planetoid)  # only for PyG's download(): URLs and names
        holder.root, holder.name, holder.split = str(tmp), name, "public"
        fetched = Path(holder.raw_dir)
        fetched.mkdir(parents=True)
        try:
            Planetoid.download(holder)
        except Exception as exc:
            raise DataError(
                f"{name} data not found and could not be downloaded ({_short(exc)}). "
                f"Looked in {places} for {', '.join(files)}. Fix: put those files in "
                f"{looked_in}, or pass --data-root DIR (or set {ENV_VAR}=DIR) where DIR/"
                f"Planetoid/{name}/raw holds them, or connect to the internet to download."
            ) from exc
        _read_raw(name, fetched)  # check before moving in
        target.mkdir(parents=True, exist_ok=True)
        for f in files:
            os.replace(fetched / f, target / f)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
