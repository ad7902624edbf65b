"""Reading and writing the idx format of MNIST and Fashion-MNIST (no torchvision).

An idx file (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a 4-byte
magic number ``0x00 0x00 <dtype> <ndim>``, then ``ndim`` big-endian 32-bit
sizes, then the values in row-major order (big-endian). MNIST images are
``0x00000803`` (ubyte, 3 dims: ``N x 28 x 28``), labels ``0x00000801``
(ubyte, 1 dim). Files may be gzip-compressed (``*.gz``).

Every problem a user can fix (missing file, not gzip, wrong magic number,
truncated data, trailing bytes) raises :class:`~graphae.errors.DataError`
with one line that names the file and what is wrong.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from graphae.errors import DataError

#: idx type code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}


def read_idx(path: str | os.PathLike[str], ndim: int | None = None) -> np.ndarray:
    """Read an idx file (plain or ``.gz``) into a NumPy array.

    Args:
        path (str or Path): the file; gzip is recognised by its content.
        ndim (int, optional): the number of dimensions the caller expects
            (3 for images, 1 for labels); another count is an error. (default: ``None``)

    Returns:
        numpy.ndarray: the values, in native byte order, with the file's shape.

    Raises:
        DataError: the file is missing, unreadable, not idx, or truncated.

    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: truncated idx file ({len(raw)} bytes, no header)")
    zero, code, dims = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or code not in IDX_DTYPES or dims == 0:
        raise DataError(
            f"{path}: not an idx file (magic number 0x{raw[:4].hex()}, expected "
            f"0x0000<type><ndim> with type 08/09/0b/0c/0d/0e)"
        )
    if ndim is not None and dims != ndim:
        raise DataError(
            f"{path}: wrong magic number 0x{raw[:4].hex()}: {dims}-d data where "
            f"{ndim}-d was expected (0x000008{ndim:02x})"
        )
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{path}: truncated idx file (header of {header} bytes cut short)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(raw) - header
    if have < expected:
        raise DataError(
            f"{path}: truncated idx file: shape {'x'.join(map(str, shape))} needs "
            f"{expected} data bytes, found {have}"
        )
    if have > expected:
        raise DataError(
            f"{path}: {have - expected} unexpected bytes after the data of shape "
            f"{'x'.join(map(str, shape))}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an idx file (gzip-compressed when ``path`` ends in ``.gz``).

    Args:
        path (str or Path): target file.
        array (numpy.ndarray): values of an idx type (uint8, int8, int16,
            int32, float32, float64).

    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise ValueError(f"dtype {array.dtype} has no idx type code")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    data = header + array.astype(IDX_DTYPES[code], copy=False).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] != b"\x1f\x8b":  # not gzip: a plain idx file
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (compressed data ends early)") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip file ({exc})") from None
