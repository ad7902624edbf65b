import shutil

import numpy as np
import pytest
import torch

from graphae.errors import DataError
from graphae.vae import data as vae_data
from graphae.vae.data import canonical_dataset, find_idx_files, load_images
from graphae.vae.idx import write_idx


def _fake_mnist(folder, n_train=30, n_test=10, size=6):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))


def _offline(monkeypatch):
    calls = []

    def fail(url, dst, md5):
        calls.append(url)
        raise OSError("network is unreachable")

    monkeypatch.setattr(vae_data, "_fetch", fail)
    return calls


def test_digits_offline_default():
    data = load_images("digits")
    assert data.shape == (8, 8) and data.num_pixels == 64
    assert data.train_x.shape == (1437, 64) and data.test_x.shape == (360, 64)
    assert data.train_x.dtype == torch.float32
    assert float(data.train_x.min()) >= 0.0 and float(data.train_x.max()) == 1.0
    assert sorted(data.test_y.unique().tolist()) == list(range(10))


def test_names():
    assert canonical_dataset("Fashion-MNIST") == "fashion-mnist"
    assert canonical_dataset("fashion_mnist") == "fashion-mnist"
    assert canonical_dataset("MNIST") == "mnist"
    with pytest.raises(DataError, match="known: digits, mnist, fashion-mnist"):
        canonical_dataset("cifar")


def test_fashion_copy_loads(fashion_root):
    data = load_images("fashion-mnist", fashion_root)
    assert data.shape == (28, 28)
    assert data.train_x.shape == (2000, 784) and data.test_x.shape == (10000, 784)
    assert float(data.test_x.min()) == 0.0 and float(data.test_x.max()) == 1.0
    assert data.test_y[:3].tolist() == [9, 2, 1] and data.classes[9] == "Ankle boot"


@pytest.mark.parametrize("layout", ["Root/MNIST/raw", "Root/MNIST", "MNIST/raw", "mnist"])
def test_layouts(tmp_path, layout, monkeypatch):
    _offline(monkeypatch)
    _fake_mnist(tmp_path / layout)
    root = tmp_path / layout.split("/")[0]
    data = load_images("mnist", root)
    assert data.shape == (6, 6) and len(data.train_x) == 30 and len(data.test_y) == 10


def test_uncompressed_files_and_env_root(tmp_path, monkeypatch):
    _offline(monkeypatch)
    raw = tmp_path / "MNIST" / "raw"
    _fake_mnist(raw)
    for gz in raw.glob("*.gz"):
        (raw / gz.stem).write_bytes(__import__("gzip").decompress(gz.read_bytes()))
        gz.unlink()
    monkeypatch.setenv("GRAPHAE_DATA", str(tmp_path))
    assert len(load_images("mnist").train_x) == 30


def test_mnist_files_are_not_taken_for_fashion(tmp_path, monkeypatch):
    _fake_mnist(tmp_path / "raw")  # a root named for neither: never searched
    assert all(p is None for p in find_idx_files(tmp_path, "FashionMNIST").values())


def test_missing_offline_names_files_and_fix(tmp_path, monkeypatch):
    calls = _offline(monkeypatch)
    with pytest.raises(DataError) as info:
        load_images("fashion-mnist", tmp_path / "empty")
    message = str(info.value)
    assert "\n" not in message and calls
    assert "train-images-idx3-ubyte.gz" in message and "--data-root" in message
    assert str(tmp_path / "empty" / "FashionMNIST" / "raw") in message


def test_mismatched_counts(tmp_path, monkeypatch):
    _fake_mnist(tmp_path / "MNIST" / "raw")
    write_idx(tmp_path / "MNIST/raw/t10k-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match=r"10 images but .* has 3 labels"):
        load_images("mnist", tmp_path)


def test_read_only_root_downloads_to_cache(tmp_path, monkeypatch):
    """A read-only root (like the shared copy) is never written; the cache is used."""
    source = tmp_path / "src"
    _fake_mnist(source)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o555)
    fetched = []

    def fake_fetch(url, dst, md5):
        fetched.append(dst)
        shutil.copyfile(source / url.rsplit("/", 1)[1], dst)

    monkeypatch.setattr(vae_data, "_fetch", fake_fetch)
    try:
        data = load_images("mnist", shared)
    finally:
        shared.chmod(0o755)
    assert len(data.train_x) == 30 and len(fetched) == 4
    assert not any(shared.iterdir())
    assert all("cache" in str(p) for p in fetched)


def test_writable_root_is_not_written_either(tmp_path, monkeypatch):
    """Even a writable data root only gets read: downloads go to the cache, and are reused."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "src"
    _fake_mnist(source)
    root = tmp_path / "root"
    root.mkdir()
    fetched = []

    def fake_fetch(url, dst, md5):
        fetched.append(dst)
        shutil.copyfile(source / url.rsplit("/", 1)[1], dst)

    monkeypatch.setattr(vae_data, "_fetch", fake_fetch)
    assert len(load_images("mnist", root).train_x) == 30
    assert not any(root.iterdir()) and len(fetched) == 4
    assert len(load_images("mnist", root).train_x) == 30 and len(fetched) == 4  # reused


@pytest.mark.network
def test_download_mnist(tmp_path):
    data = load_images("mnist", tmp_path)
    assert data.train_x.shape == (60000, 784) and data.test_x.shape == (10000, 784)
    assert not (tmp_path / "MNIST").exists()  # downloaded to the cache, not the data root
