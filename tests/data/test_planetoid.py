import os
import pickle
import shutil
import stat
import subprocess
import sys
import urllib.error
import warnings
from pathlib import Path

import pytest
import torch
from torch_geometric.datasets import Planetoid

from graphae.data.files import DataWarning
from graphae.data.planetoid import (
    CACHE_FILE,
    EXPECTED,
    check_sizes,
    load_planetoid,
    raw_file_names,
    resolve_data_root,
)
from graphae.errors import DataError
from tests.conftest import shared_datasets, tree_digest


def copy_raw(source: Path, root: Path, *names: str) -> Path:
    """Copy the raw folders of ``names`` from ``source`` into ``root``; return ``root``."""
    for name in names:
        shutil.copytree(source / "Planetoid" / name / "raw", root / "Planetoid" / name / "raw")
    return root


def cache_file(name: str = "Cora") -> Path:
    return (
        Path(os.environ["XDG_CACHE_HOME"])
        / "graphae"
        / "Planetoid"
        / name
        / "processed"
        / CACHE_FILE
    )


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """An empty graphae cache of this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "graphae"


def test_loads_cora_with_published_counts(data_root):
    data = load_planetoid("cora", data_root)  # any case
    assert data.name == "Cora"
    assert data.num_nodes == 2708 and data.x.shape == (2708, 1433)
    assert data.edge_index.shape[1] == 2 * 5278 and data.is_undirected()
    assert int(data.y.max()) + 1 == 7


def test_root_may_be_the_planetoid_folder_itself(data_root):
    data = load_planetoid("CiteSeer", data_root / "Planetoid")
    assert data.num_nodes == 3327


def test_all_three_match_their_published_sizes(data_root, tmp_path):
    copy_raw(shared_datasets(), tmp_path, "PubMed")
    published = {  # nodes, undirected edges, features, classes (Yang et al. 2016)
        "Cora": (2708, 5278, 1433, 7),
        "CiteSeer": (3327, 4552, 3703, 6),
        "PubMed": (19717, 44324, 500, 3),
    }
    for name, (nodes, edges, features, classes) in published.items():
        data = load_planetoid(name, tmp_path if name == "PubMed" else data_root)
        assert data.x.shape == (nodes, features) and data.y.shape == (nodes,)
        assert data.edge_index.shape[1] == 2 * edges and data.is_undirected()
        assert int(data.y.max()) + 1 == classes and data.y.unique().numel() == classes
        assert (EXPECTED[name].nodes, EXPECTED[name].edges) == (nodes, 2 * edges)
        assert check_sizes(name, data) == []


@pytest.mark.parametrize("mode", ["writable", "read-only"])
def test_data_root_is_never_written(data_root, tmp_path, fresh_cache, mode):
    root = copy_raw(data_root, tmp_path / "root", "Cora", "CiteSeer")
    before = tree_digest(root)
    paths = [*sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True), root]
    if mode == "read-only":  # files first, then folders up to the root
        for path in paths:
            path.chmod(stat.S_IRUSR | (stat.S_IXUSR if path.is_dir() else 0))
    try:
        for _ in range(2):  # cold (parses the raw files), then warm (reads the cache)
            assert load_planetoid("Cora", root).num_nodes == 2708
            assert load_planetoid("CiteSeer", root / "Planetoid").num_nodes == 3327
    finally:
        for path in paths:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert tree_digest(root) == before  # same bytes, nothing added (root ignores chmod)
    assert cache_file("Cora").is_file() and cache_file("CiteSeer").is_file()
    assert not (fresh_cache / "Planetoid" / "Cora" / "raw").exists()  # read in place


_CONCURRENT = """
import sys, time
from pathlib import Path
from graphae.data.planetoid import load_planetoid
ready, root = Path(sys.argv[1]), sys.argv[2]
ready.touch()
deadline = time.monotonic() + 60
while len(list(ready.parent.glob("ready-*"))) < 2 and time.monotonic() < deadline:
    time.sleep(0.005)
data = load_planetoid("Cora", root)
print(data.num_nodes, data.edge_index.shape[1], int(data.x.sum()))
"""


def test_two_first_loads_at_once_both_succeed(data_root, tmp_path, monkeypatch):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    (tmp_path / "sync").mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT, str(tmp_path / "sync" / f"ready-{i}"), data_root],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "warning" not in err.lower(), err
    assert results[0][0] == results[1][0] and results[0][0].split()[:2] == ["2708", "10556"]
    processed = tmp_path / "xdg" / "graphae" / "Planetoid" / "Cora" / "processed"
    assert os.listdir(processed) == [CACHE_FILE]  # no temporary files left
    assert sorted(os.listdir(processed.parent.parent)) == ["Cora"]
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid cache: no rebuild warning
        assert load_planetoid("Cora", data_root).num_nodes == 2708


def test_test_index_truncated_at_a_line_gives_the_count(data_root, tmp_path):
    bad = copy_raw(data_root, tmp_path / "bad", "Cora")
    raw = bad / "Planetoid" / "Cora" / "raw"
    lines = (raw / "ind.cora.test.index").read_text().splitlines(keepends=True)
    (raw / "ind.cora.test.index").write_text("".join(lines[:-10]))
    with pytest.raises(DataError) as info:
        load_planetoid("Cora", bad)
    message = str(info.value)
    assert message.startswith(f"Cora from {raw}: 990 test nodes (ind.cora.test.index)")
    assert "expected 1,000" in message and "re-download or restore ind.cora.*" in message
    assert "\n" not in message


def test_graph_from_another_release_gives_the_count(data_root, tmp_path):
    bad = copy_raw(data_root, tmp_path / "bad", "Cora")
    raw = bad / "Planetoid" / "Cora" / "raw"
    with open(raw / "ind.cora.graph", "rb") as f:
        graph = pickle.load(f, encoding="latin1")
    for node in range(100):
        graph[node] = []
    (raw / "ind.cora.graph").write_bytes(pickle.dumps(graph))
    with pytest.raises(DataError, match=rf"^Cora from {raw}: [\d,]+ edges in edge_index") as info:
        load_planetoid("Cora", bad)
    assert "(ind.cora.graph), expected 10,556 (5,278 undirected)" in str(info.value)


def test_cut_raw_file_names_it(data_root, tmp_path):
    bad = copy_raw(data_root, tmp_path / "bad", "Cora")
    graph = bad / "Planetoid" / "Cora" / "raw" / "ind.cora.graph"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    raw = graph.parent
    with pytest.raises(DataError, match=rf"could not read Cora from {raw}: ind\.cora\.graph: "):
        load_planetoid("Cora", bad)


def test_corrupt_file_gives_data_error(data_root, tmp_path):
    bad = copy_raw(data_root, tmp_path / "bad", "Cora")
    (bad / "Planetoid" / "Cora" / "raw" / "ind.cora.graph").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="could not read Cora"):
        load_planetoid("Cora", bad)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong sizes"])
def test_corrupt_cache_is_rebuilt_and_said(data_root, fresh_cache, damage):
    good = load_planetoid("Cora", data_root)
    path = cache_file("Cora")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"\0garbage" * 100)
    else:
        blob = torch.load(path, weights_only=True)
        blob["tensors"]["x"] = blob["tensors"]["x"][:2700]
        torch.save(blob, path)
    with pytest.warns(DataWarning, match=r"graphae: rebuilt the corrupt Cora cache at .*processed"):
        data = load_planetoid("Cora", data_root)
    for key in ("x", "edge_index", "y", "test_mask"):
        assert torch.equal(data[key], good[key])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_planetoid("Cora", data_root)  # the rebuilt cache is valid


def test_cache_follows_the_raw_files(data_root, tmp_path, fresh_cache):
    load_planetoid("Cora", data_root)
    other = copy_raw(data_root, tmp_path / "other", "Cora")
    lines = (other / "Planetoid" / "Cora" / "raw" / "ind.cora.test.index").read_text().split()
    (other / "Planetoid" / "Cora" / "raw" / "ind.cora.test.index").write_text(
        "\n".join(lines[:-1]) + "\n"
    )
    with pytest.raises(DataError, match="999 test nodes"):  # not the cache of data_root
        load_planetoid("Cora", other)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # other raw files: rebuilt quietly, not "corrupt"
        assert load_planetoid("Cora", data_root).num_nodes == 2708


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(DataError, match=r"unknown dataset 'Foo'.*Cora, CiteSeer, PubMed"):
        load_planetoid("Foo")


def test_missing_files_offline_say_what_where_and_how(tmp_path, monkeypatch):
    def offline(self):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(Planetoid, "download", offline)
    with pytest.raises(DataError) as info:
        load_planetoid("Cora", tmp_path / "empty")
    message = str(info.value)
    assert "ind.cora.x" in message and "ind.cora.graph" in message
    assert str(tmp_path / "empty" / "Planetoid" / "Cora" / "raw") in message
    assert "--data-root" in message and "GRAPHAE_DATA" in message
    assert not (tmp_path / "empty").exists()


def _fake_download(source: Path, log: list):
    def download(self):
        log.append(self.raw_dir)
        for f in self.raw_file_names:
            shutil.copyfile(source / f, Path(self.raw_dir) / f)

    return download


@pytest.mark.parametrize("where", ["a data root", "the default root"])
def test_downloads_go_to_the_cache(data_root, tmp_path, fresh_cache, monkeypatch, where):
    log: list = []
    monkeypatch.setattr(
        Planetoid, "download", _fake_download(data_root / "Planetoid/Cora/raw", log)
    )
    root = tmp_path / "empty" if where == "a data root" else None
    if root is not None:
        root.mkdir()
    assert load_planetoid("Cora", root).num_nodes == 2708
    assert len(log) == 1 and Path(log[0]).is_relative_to(fresh_cache)
    assert root is None or os.listdir(root) == []
    raw = fresh_cache / "Planetoid" / "Cora" / "raw"
    assert sorted(os.listdir(raw)) == sorted(raw_file_names("Cora"))
    assert sorted(os.listdir(fresh_cache / "Planetoid")) == ["Cora"]  # no temporary folder left
    assert load_planetoid("Cora", root).num_nodes == 2708 and len(log) == 1  # found in the cache


def test_bad_download_is_not_kept(data_root, tmp_path, fresh_cache, monkeypatch):
    source = copy_raw(data_root, tmp_path / "src", "Cora") / "Planetoid" / "Cora" / "raw"
    (source / "ind.cora.test.index").write_text("1708\n1709\n")
    monkeypatch.setattr(Planetoid, "download", _fake_download(source, []))
    with pytest.raises(DataError, match="2 test nodes"):
        load_planetoid("Cora", tmp_path / "empty")
    assert os.listdir(fresh_cache / "Planetoid") == []


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHAE_DATA", str(tmp_path / "env"))
    assert resolve_data_root(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_root() == tmp_path / "env"
    monkeypatch.delenv("GRAPHAE_DATA")
    assert resolve_data_root() == Path(os.environ["XDG_CACHE_HOME"]) / "graphae"


def test_raw_file_names():
    assert raw_file_names("PubMed")[0] == "ind.pubmed.x" and len(raw_file_names("cora")) == 8
