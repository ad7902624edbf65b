import os
import shutil
import stat
import urllib.error
from pathlib import Path

import pytest
from torch_geometric.datasets import Planetoid

from graphae.data.planetoid import load_planetoid, raw_file_names, resolve_data_root
from graphae.errors import DataError


def test_loads_cora_with_published_counts(data_root):
    data = load_planetoid("cora", data_root)  # any case
    assert data.name == "Cora"
    assert data.num_nodes == 2708 and data.x.shape == (2708, 1433)
    assert data.edge_index.shape[1] == 2 * 5278 and data.is_undirected()
    assert int(data.y.max()) + 1 == 7


def test_root_may_be_the_planetoid_folder_itself(data_root):
    data = load_planetoid("CiteSeer", data_root / "Planetoid")
    assert data.num_nodes == 3327


def test_read_only_copy_is_never_written(data_root, tmp_path):
    ro = tmp_path / "ro"
    shutil.copytree(data_root / "Planetoid" / "Cora" / "raw", ro / "Planetoid" / "Cora" / "raw")
    for folder in (ro / "Planetoid" / "Cora", ro / "Planetoid" / "Cora" / "raw"):
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        data = load_planetoid("Cora", ro)
        assert data.num_nodes == 2708
        assert sorted(os.listdir(ro / "Planetoid" / "Cora")) == ["raw"]
        cached = os.environ["XDG_CACHE_HOME"]
        assert os.path.isdir(os.path.join(cached, "graphae", "Planetoid", "Cora", "processed"))
    finally:
        (ro / "Planetoid" / "Cora").chmod(0o755)


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


def test_corrupt_file_gives_data_error(data_root, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(data_root / "Planetoid" / "Cora" / "raw", bad / "Planetoid" / "Cora" / "raw")
    (bad / "Planetoid" / "Cora" / "raw" / "ind.cora.graph").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="could not read Cora"):
        load_planetoid("Cora", bad)


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHAE_DATA", str(tmp_path / "env"))
    assert resolve_data_root(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_root() == tmp_path / "env"
    monkeypatch.delenv("GRAPHAE_DATA")
    assert resolve_data_root() == Path(os.environ["XDG_CACHE_HOME"]) / "graphae"


def test_raw_file_names():
    assert raw_file_names("PubMed")[0] == "ind.pubmed.x" and len(raw_file_names("cora")) == 8
