import os

import numpy as np
import pytest
import torch

from graphae.artifacts.atomic import OutputError
from graphae.data.files import NodeIds, read_table
from graphae.errors import ConfigError, DataError
from graphae.inference import export
from graphae.inference.export import (
    check_output,
    write_embeddings,
    write_rankings,
    write_scores,
)
from graphae.inference.run import Ranking

IDS = ["alice", "bob", 'c,"quoted"', "d\tee", "42"]


@pytest.fixture
def z():
    return (
        torch.randn(len(IDS), 4, generator=torch.Generator().manual_seed(0))
        * 10.0 ** torch.arange(-3, 1).float()
    )


def reload_text(path, delimiter):
    table = read_table(path, delimiter=delimiter)
    ids = [r[0] for r in table.rows]
    values = np.array([[float(v) for v in r[1:]] for r in table.rows], dtype=np.float32)
    return table.header, ids, values


@pytest.mark.parametrize(("suffix", "delimiter"), [(".csv", ","), (".tsv", "\t")])
def test_text_embeddings_reload_exactly(tmp_path, z, suffix, delimiter):
    path = tmp_path / f"emb{suffix}"
    assert write_embeddings(path, IDS, z) == [path]
    header, ids, values = reload_text(path, delimiter)
    assert header == ["id", "z0", "z1", "z2", "z3"]
    assert ids == IDS
    np.testing.assert_array_equal(values, z.numpy())  # 9 digits: float32 exactly
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


def test_npy_embeddings_with_ids_beside(tmp_path, z):
    path = tmp_path / "emb.npy"
    written = write_embeddings(path, [*IDS[:3], "d", "42"], z)
    assert written == [path, tmp_path / "emb.ids.txt"]
    np.testing.assert_array_equal(np.load(path), z.numpy())
    assert np.load(path).dtype == np.float32
    assert NodeIds.load(tmp_path / "emb.ids.txt").ids == [*IDS[:3], "d", "42"]


def test_parquet(tmp_path, z):
    path = tmp_path / "emb.parquet"
    try:
        import pyarrow.parquet as pq
    except ImportError:
        with pytest.raises(ConfigError, match=r"pyarrow.*\.csv, \.tsv or \.npy"):
            write_embeddings(path, IDS, z)
        assert not path.exists()
        return
    write_embeddings(path, IDS, z)
    table = pq.read_table(path)
    assert table.column_names == ["id", "z0", "z1", "z2", "z3"]
    assert table.column("id").to_pylist() == IDS
    values = np.stack([table.column(f"z{j}").to_numpy() for j in range(4)], 1)
    np.testing.assert_array_equal(values, z.numpy())


def test_unsupported_extension_lists_the_supported(tmp_path, z):
    with pytest.raises(ConfigError, match=r"'\.txt'.*\.csv, \.tsv, \.npy, \.parquet"):
        write_embeddings(tmp_path / "emb.txt", IDS, z)
    with pytest.raises(ConfigError, match="no extension"):
        check_output(tmp_path / "emb")
    with pytest.raises(ConfigError, match=r"\.csv, \.tsv$"):
        check_output(tmp_path / "s.npy", formats=export.TABLE_FORMATS)


@pytest.mark.parametrize("name", ["emb.csv", "emb.npy"])
def test_existing_output_needs_force(tmp_path, z, name):
    path = tmp_path / name
    write_embeddings(path, IDS, z)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ConfigError, match="exists; use --force"):
        write_embeddings(path, IDS, z * 2)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    write_embeddings(path, IDS, z * 2, force=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} != before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)


def test_npy_ids_file_alone_blocks_without_force(tmp_path, z):
    (tmp_path / "emb.ids.txt").write_text("keep\n")
    with pytest.raises(ConfigError, match=r"emb\.ids\.txt exists"):
        write_embeddings(tmp_path / "emb.npy", IDS, z)
    assert not (tmp_path / "emb.npy").exists()
    assert (tmp_path / "emb.ids.txt").read_text() == "keep\n"


@pytest.mark.parametrize("name", ["emb.csv", "emb.npy"])
@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_failure_leaves_nothing_and_keeps_old_output(tmp_path, z, monkeypatch, name, error):
    path = tmp_path / name
    write_embeddings(path, IDS, z)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(export, "write_table", fail)
    monkeypatch.setattr(export.np, "save", fail)
    expected = KeyboardInterrupt if error is KeyboardInterrupt else OutputError
    with pytest.raises(expected):
        write_embeddings(path, IDS, z * 3, force=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_output_folder_is_created_or_reported(tmp_path, z):
    nested = tmp_path / "a" / "b" / "emb.csv"
    write_embeddings(nested, IDS, z)
    assert nested.is_file()
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match=r"cannot create the output folder.*is not a folder"):
        write_embeddings(tmp_path / "file" / "sub" / "emb.csv", IDS, z)
    with pytest.raises(DataError, match="is not a folder"):
        check_output(tmp_path / "file" / "emb.csv")
    check_output(tmp_path / "new" / "emb.csv")
    assert not (tmp_path / "new").exists()  # checking creates nothing
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        write_embeddings(tmp_path / "dir.csv", IDS, z, force=True)


def test_mismatched_ids_are_a_bug_not_a_user_error(tmp_path, z):
    with pytest.raises(ValueError):
        write_embeddings(tmp_path / "e.csv", IDS[:2], z)


def test_scores_and_rankings(tmp_path):
    scores = np.array([0.5, 0.123456789012, 1e-12])
    path = write_scores(tmp_path / "s.tsv", ["a", "b,c", "d"], ["x", "y", "z"], scores)
    table = read_table(path, delimiter="\t")
    assert table.header == ["source", "target", "score"]
    assert [r[:2] for r in table.rows] == [["a", "x"], ["b,c", "y"], ["d", "z"]]
    np.testing.assert_allclose([float(r[2]) for r in table.rows], scores, rtol=1e-8)

    ranking = Ranking(
        node="a,1",
        ids=["p", "q"],
        scores=np.array([0.9, 0.8]),
        logits=np.array([2.2, 1.4]),
        known=np.array([True, False]),
        excluded=0,
    )
    path = write_rankings(tmp_path / "r.csv", [ranking, ranking])
    table = read_table(path)
    assert table.header == ["node", "rank", "id", "score", "logit", "known"]
    assert table.rows[0] == ["a,1", "1", "p", "0.9", "2.2", "1"]
    assert table.rows[3] == ["a,1", "2", "q", "0.8", "1.4", "0"]
    with pytest.raises(ConfigError, match="exists"):
        write_rankings(tmp_path / "r.csv", [ranking])
