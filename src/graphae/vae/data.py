"""Image data sets for the VAE: MNIST, Fashion-MNIST (idx files) and scikit-learn's digits.

Pixels are intensities in ``[0, 1]`` (``uint8 / 255``; digits ``/ 16``), the
targets of the Bernoulli decoder, as in Kingma & Welling (2014) and the
common reference implementations (not binarised).

The data root is, in order: the ``data_root`` argument (CLI ``--data-root``),
``$GRAPHAE_DATA``, or ``<user cache>/graphae`` — the same rule as for the
Planetoid graphs. Inside it the files are looked for in ``<Folder>/raw``
(torchvision's layout, e.g. ``FashionMNIST/raw/train-images-idx3-ubyte.gz``),
``<Folder>`` (and ``raw`` or the root itself when the root is that folder),
compressed (``.gz``) or not. When they are missing they are looked for in,
then downloaded to, the user cache (``<user cache>/graphae/<Folder>/raw``):
a data root is only read, never written; offline, a
:class:`~graphae.errors.DataError` says which files were looked for where and
how to fix it.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from graphae.data.planetoid import ENV_VAR, default_cache_dir, resolve_data_root
from graphae.errors import DataError
from graphae.vae.idx import read_idx

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class IdxSource:
    """Where an idx data set lives locally and online."""

    folder: str  # folder below the data root, torchvision's name
    mirrors: tuple[str, ...]  # base URLs tried in order
    md5: dict[str, str]  # file name -> md5 of the .gz file
    classes: tuple[str, ...]  # class names by label


_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

SOURCES = {
    "mnist": IdxSource(
        folder="MNIST",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        md5={
            "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        classes=tuple(str(i) for i in range(10)),
    ),
    "fashion-mnist": IdxSource(
        folder="FashionMNIST",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5={
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        classes=FASHION_CLASSES,
    ),
}

#: Canonical data set names (the CLI's ``--dataset`` choices).
DATASETS = ("digits", "mnist", "fashion-mnist")
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist"}


@dataclass
class ImageData:
    """Train and test images as float tensors in ``[0, 1]``, with labels.

    Attributes:
        name: canonical data set name (``"fashion-mnist"``, ...).
        train_x: ``N x (H·W)`` float32 training images, flattened.
        train_y: ``N`` int64 training labels.
        test_x: ``M x (H·W)`` float32 test images.
        test_y: ``M`` int64 test labels.
        shape: ``(H, W)`` of one image.
        classes: class names by label.

    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    shape: tuple[int, int]
    classes: tuple[str, ...]

    @property
    def num_pixels(self) -> int:
        """``H·W``, the width of the model's input and output."""
        return self.shape[0] * self.shape[1]

    def subset(self, train: int | None = None, test: int | None = None) -> ImageData:
        """The first ``train`` training and ``test`` test images (all when ``None``)."""
        return ImageData(
            self.name,
            self.train_x[:train],
            self.train_y[:train],
            self.test_x[:test],
            self.test_y[:test],
            self.shape,
            self.classes,
        )


def canonical_dataset(name: str) -> str:
    """``"Fashion-MNIST"`` -> ``"fashion-mnist"``; unknown names raise DataError."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise DataError(f"unknown image dataset {name!r}; known: {', '.join(DATASETS)}")
    return key


def load_images(
    name: str, data_root: str | os.PathLike[str] | None = None, download: bool = True
) -> ImageData:
    """Load an image data set by name.

    Args:
        name (str): ``digits``, ``mnist`` or ``fashion-mnist`` (any case).
        data_root (str, optional): folder holding ``MNIST/raw`` or
            ``FashionMNIST/raw``; see the module docstring. (default: ``None``)
        download (bool, optional): fetch missing idx files. (default: ``True``)

    Returns:
        ImageData: train/test images in ``[0, 1]`` and labels.

    Raises:
        DataError: unknown name, files missing and not downloadable, or corrupt files.

    """
    key = canonical_dataset(name)
    if key == "digits":
        return load_digits()
    return load_idx_dataset(key, data_root, download)


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> ImageData:
    """scikit-learn's 8x8 digits (1,797 images, no download), intensities ``/ 16``.

    The split is stratified by class and fixed by ``seed`` (360 test images by default).
    """
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    classes = tuple(str(i) for i in range(10))
    return ImageData("digits", *_tensors(x_tr, y_tr, x_te, y_te), shape=(8, 8), classes=classes)


def load_idx_dataset(
    name: str, data_root: str | os.PathLike[str] | None = None, download: bool = True
) -> ImageData:
    """Load MNIST or Fashion-MNIST from idx files (see the module docstring for where)."""
    source = SOURCES[canonical_dataset(name)]
    root = resolve_data_root(data_root)
    paths = find_idx_files(root, source.folder)
    cache = default_cache_dir()
    if root.resolve() != cache.resolve():  # files downloaded earlier live in the cache
        cached = find_idx_files(cache, source.folder)
        paths = {f: p if p is not None else cached[f] for f, p in paths.items()}
    missing = [f for f, p in paths.items() if p is None]
    if missing:
        if not download:
            raise DataError(_missing_message(source, root, missing, "downloads are disabled"))
        paths.update(_download(source, root, missing))
    arrays = {
        key: read_idx(paths[f], ndim=3 if "images" in key else 1) for key, f in _FILES.items()
    }
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise DataError(f"{paths[_FILES[split + '_images']]}: expected unsigned bytes")
        if len(images) != len(labels):
            raise DataError(
                f"{paths[_FILES[split + '_images']]}: {len(images)} images but "
                f"{paths[_FILES[split + '_labels']]} has {len(labels)} labels"
            )
    shape = tuple(int(n) for n in arrays["train_images"].shape[1:])
    if tuple(arrays["test_images"].shape[1:]) != shape:
        raise DataError(f"{paths[_FILES['test_images']]}: image size differs from training")
    flat = [
        arrays[k].reshape(len(arrays[k]), -1).astype(np.float32) / 255.0
        if "images" in k
        else arrays[k].astype(np.int64)
        for k in _FILES
    ]
    return ImageData(name, *_tensors(*flat), shape=(shape[0], shape[1]), classes=source.classes)


def find_idx_files(root: Path, folder: str) -> dict[str, Path | None]:
    """Locate the four idx files below ``root`` (``None`` for those not found).

    Looks in ``root/<folder>/raw`` and ``root/<folder>``; when ``root`` itself is
    named like the data set (``FashionMNIST``, ``fashion-mnist``), also in
    ``root/raw`` and ``root``. MNIST and Fashion-MNIST share file names, so a
    folder named for neither is never searched.
    """
    dirs = [root / folder / "raw", root / folder]
    if _plain(root.name) == _plain(folder):  # the root is the data set's own folder
        dirs += [root / "raw", root]
    found: dict[str, Path | None] = {}
    for name in _FILES.values():
        found[name] = next(
            (d / f for d in dirs for f in (f"{name}.gz", name) if (d / f).is_file()), None
        )
    return found


def _download(source: IdxSource, root: Path, names: Sequence[str]) -> dict[str, Path]:
    """Fetch the missing files into the user cache: a data root is only ever read."""
    target = default_cache_dir() / source.folder / "raw"
    target.mkdir(parents=True, exist_ok=True)
    fetched: dict[str, Path] = {}
    for name in names:
        dst = target / f"{name}.gz"
        errors = []
        for mirror in source.mirrors:
            try:
                _fetch(mirror + f"{name}.gz", dst, source.md5[name])
                break
            except Exception as exc:  # any failure: try the next mirror
                errors.append(f"{type(exc).__name__}: {str(exc).strip()[:200]}")
        else:
            reason = f"download failed ({errors[-1]})"
            raise DataError(_missing_message(source, root, names, reason))
        fetched[name] = dst
    return fetched


def _fetch(url: str, dst: Path, md5: str) -> None:
    tmp = dst.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    if hashlib.md5(data).hexdigest() != md5:  # integrity, not security
        raise ValueError(f"checksum mismatch for {url}")
    tmp.write_bytes(data)
    tmp.replace(dst)


def _missing_message(source: IdxSource, root: Path, names: Sequence[str], reason: str) -> str:
    files = ", ".join(f"{n}.gz" for n in names)
    return (
        f"{source.folder} data not found and not downloaded ({reason}). Looked in "
        f"{root / source.folder / 'raw'} (and {root / source.folder}, {root}) for {files}. "
        f"Fix: pass --data-root DIR (or set {ENV_VAR}=DIR) where DIR/{source.folder}/raw "
        f"holds them, or connect to the internet to download."
    )


def _plain(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def _tensors(*arrays: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
