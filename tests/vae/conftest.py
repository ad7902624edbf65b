"""Fixtures for the image VAE: a private, small copy of the shared Fashion-MNIST files.

The source is ``$GRAPHAE_TEST_DATA`` or ``../shared/datasets`` next to the
repository (``FashionMNIST/raw/*.gz``); it is never written. The test files
are copied as they are; the training files are cut to their first 2,000
images (written with our own idx writer) to keep the tests fast.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from graphae.vae.idx import read_idx, write_idx

REPO = Path(__file__).resolve().parents[2]
TRAIN_IMAGES = 2000


def shared_fashion() -> Path | None:
    for candidate in (os.environ.get("GRAPHAE_TEST_DATA"), REPO.parent / "shared" / "datasets"):
        if candidate and (Path(candidate) / "FashionMNIST" / "raw").is_dir():
            return Path(candidate) / "FashionMNIST" / "raw"
    return None


@pytest.fixture(scope="session")
def fashion_root(tmp_path_factory) -> Path:
    """A data root holding ``FashionMNIST/raw`` with 2,000 training and all 10,000 test images."""
    source = shared_fashion()
    if source is None:
        pytest.skip("no Fashion-MNIST copy: set GRAPHAE_TEST_DATA or provide ../shared/datasets")
    root = tmp_path_factory.mktemp("fashion")
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(source / name, raw / name)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        array = read_idx(source / f"{name}.gz")
        write_idx(raw / f"{name}.gz", array[:TRAIN_IMAGES])
    return root


@pytest.fixture(scope="session")
def fashion_full_root(tmp_path_factory) -> Path:
    """A data root with a full copy of the four Fashion-MNIST files (for slow tests)."""
    source = shared_fashion()
    if source is None:
        pytest.skip("no Fashion-MNIST copy: set GRAPHAE_TEST_DATA or provide ../shared/datasets")
    root = tmp_path_factory.mktemp("fashion_full")
    shutil.copytree(source, root / "FashionMNIST" / "raw")
    return root
