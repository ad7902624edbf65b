"""Shared fixtures: synthetic graphs, and a private copy of the Planetoid files.

Real data comes from ``$GRAPHAE_TEST_DATA`` or ``../shared/datasets`` next to
the repository; it is copied to a temporary folder (never written in place).
Tests that need it are skipped when neither exists. A session fixture hashes
that folder at the start and fails the run if anything in it changed by the end.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from graphae.data import planted_partition

REPO = Path(__file__).resolve().parents[1]


def shared_datasets() -> Path | None:
    for candidate in (os.environ.get("GRAPHAE_TEST_DATA"), REPO.parent / "shared" / "datasets"):
        if candidate and (Path(candidate) / "Planetoid").is_dir():
            return Path(candidate)
    return None


def tree_digest(root: Path) -> dict[str, str]:
    """Every folder and file under ``root``: relative path -> ``dir`` or size:sha256."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(folder, name), root)] = "dir"
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            out[os.path.relpath(path, root)] = f"{os.path.getsize(path)}:{digest}"
    return out


@pytest.fixture(scope="session", autouse=True)
def _shared_datasets_untouched():
    """Fail the session if any test created, changed or removed a file in the shared datasets."""
    source = shared_datasets()
    if source is None:
        yield
        return
    before = tree_digest(source)
    yield
    after = tree_digest(source)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, f"the test suite wrote into the read-only {source}: {changed[:20]}"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the user cache and GRAPHAE_DATA of the machine out of every test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("GRAPHAE_DATA", raising=False)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """A writable copy of the Planetoid raw files (Cora and CiteSeer)."""
    source = shared_datasets()
    if source is None:
        pytest.skip("no Planetoid copy: set GRAPHAE_TEST_DATA or provide ../shared/datasets")
    root = tmp_path_factory.mktemp("data")
    for name in ("Cora", "CiteSeer"):
        shutil.copytree(source / "Planetoid" / name / "raw", root / "Planetoid" / name / "raw")
    return root


@pytest.fixture(scope="session")
def planted():
    """A 200-node, 4-block planted-partition graph with informative features."""
    return planted_partition(num_blocks=4, block_size=50, p_in=0.3, p_out=0.01, seed=0)


def write_graph_files(folder: Path, data, prefix: str = "n") -> dict[str, Path]:
    """Write ``data`` as a user would have it: CSV edge list (one line per edge, string
    ids), a features CSV with a header and a labels CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    src, dst = data.edge_index
    keep = src < dst
    edges = folder / "edges.csv"
    lines = [
        f"{prefix}{a},{prefix}{b}"
        for a, b in zip(src[keep].tolist(), dst[keep].tolist(), strict=True)
    ]
    edges.write_text("source,target\n" + "\n".join(lines) + "\n")
    features = folder / "features.csv"
    header = "id," + ",".join(f"f{j}" for j in range(data.x.shape[1]))
    rows = [
        f"{prefix}{i}," + ",".join(f"{v:.6g}" for v in row) for i, row in enumerate(data.x.tolist())
    ]
    features.write_text(header + "\n" + "\n".join(rows) + "\n")
    labels = folder / "labels.csv"
    labels.write_text("".join(f"{prefix}{i},block{c}\n" for i, c in enumerate(data.y.tolist())))
    return {"edges": edges, "features": features, "labels": labels}


@pytest.fixture(scope="session")
def planted_files(planted, tmp_path_factory) -> dict[str, Path]:
    """The ``planted`` graph as CSV files with string ids ``n0..n199``."""
    return write_graph_files(tmp_path_factory.mktemp("planted_files"), planted)


def cli(capsys, *args):
    """Run ``graphae ARGS`` in-process: ``(exit code, stdout, stderr)``."""
    from graphae.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    """Exit code 2, one ``graphae: error: ...`` line on stderr holding every fragment."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphae"), err
    assert "error:" in lines[0] and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
