import gzip

import numpy as np
import pytest

from graphae.errors import DataError
from graphae.vae.idx import read_idx, write_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == "uint8":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path, ndim=3)
    assert back.dtype == array.dtype and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_header_is_the_mnist_one(tmp_path):
    write_idx(tmp_path / "x", np.zeros((5, 28, 28), dtype=np.uint8))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == bytes.fromhex("00000803")
    assert int.from_bytes(raw[4:8], "big") == 5 and len(raw) == 16 + 5 * 784


def test_wrong_magic_number(tmp_path):
    labels = tmp_path / "train-labels-idx1-ubyte"
    write_idx(labels, np.zeros(10, dtype=np.uint8))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: wrong magic number 0x00000801"):
        read_idx(labels, ndim=3)
    junk = tmp_path / "junk"
    junk.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataError, match=r"junk: not an idx file .*magic number 0x504b0304"):
        read_idx(junk)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_data(tmp_path, suffix):
    path = tmp_path / f"images{suffix}"
    data = bytes.fromhex("00000803") + b"".join(n.to_bytes(4, "big") for n in (3, 4, 4))
    data += bytes(3 * 16 - 5)  # five bytes short
    path.write_bytes(gzip.compress(data) if suffix else data)
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "truncated" in message and "48 data bytes, found 43" in message
    assert "\n" not in message


def test_truncated_gzip_and_header(tmp_path):
    full = tmp_path / "full.gz"
    write_idx(full, np.arange(1000, dtype=np.uint8).reshape(10, 10, 10) % 7)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(full.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"cut\.gz: truncated gzip file"):
        read_idx(cut)
    header = tmp_path / "header"
    header.write_bytes(bytes.fromhex("00000803") + (5).to_bytes(4, "big"))
    with pytest.raises(DataError, match="truncated idx file"):
        read_idx(header)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="truncated idx file"):
        read_idx(empty)


def test_trailing_bytes_and_corrupt_gzip(tmp_path):
    path = tmp_path / "long"
    write_idx(path, np.zeros(4, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"xx")
    with pytest.raises(DataError, match="2 unexpected bytes"):
        read_idx(path)
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b" + bytes(30))
    with pytest.raises(DataError, match=r"bad\.gz: corrupt gzip file"):
        read_idx(bad)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nothing-idx1-ubyte\.gz: file not found"):
        read_idx(tmp_path / "nothing-idx1-ubyte.gz")
