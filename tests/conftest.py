"""Shared fixtures: synthetic graphs, and a private copy of the Planetoid files.

Real data comes from ``$GRAPHAE_TEST_DATA`` or ``../shared/datasets`` next to
the repository; it is copied to a temporary folder (never written in place).
Tests that need it are skipped when neither exists.
"""

from __future__ import annotations

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
