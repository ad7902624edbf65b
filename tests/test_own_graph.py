"""Training on users' own graphs: files in, run folders that speak the users' ids."""

import json

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from graphae import TrainConfig, train
from graphae.cli import main
from graphae.data.files import GraphFiles, load_graph
from graphae.errors import DataError


def small(tmp_path, **kw):
    base = dict(epochs=60, runs_dir=str(tmp_path / "runs"), quiet=True, figures=False)
    return TrainConfig(**{**base, **kw})


def test_train_on_files_writes_ids_and_graph_record(planted_files, tmp_path):
    files = GraphFiles(
        str(planted_files["edges"]),
        features=str(planted_files["features"]),
        labels=str(planted_files["labels"]),
    )
    data = load_graph(files)
    config = small(tmp_path, model="gae", edges=files.edges, features_file=files.features)
    result = train(config, data=data)
    assert result.metrics["test"]["auc"] > 0.8
    assert result.metrics["dataset"] == "edges" and result.metrics["features"] is True
    run = result.run_dir
    assert run.name == "gae_edges_16d_60ep"
    assert (run / "nodes.txt").read_text().splitlines() == data.node_ids
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["dataset"] == "edges"
    graph = info["graph"]
    assert graph["nodes"] == 200 and graph["num_features"] == 16
    assert graph["feature_names"][:2] == ["f0", "f1"]
    assert graph["class_names"] == ["block0", "block1", "block2", "block3"]
    assert graph["loading"]["reverse_added"] == graph["undirected_edges"]


def test_pyg_data_without_name_or_features_is_recorded_as_such(planted, tmp_path):
    data = Data(edge_index=planted.edge_index, num_nodes=planted.num_nodes)
    result = train(small(tmp_path, model="gae", epochs=5), data=data)
    assert result.run_dir.name == "gae_nofeat_graph_16d_5ep"
    assert result.metrics["dataset"] == "graph" and result.metrics["features"] is False
    info = json.loads((result.run_dir / "config.json").read_text())
    assert info["config"]["features"] is False and info["graph"]["num_features"] == 0
    assert (result.run_dir / "nodes.txt").read_text().split() == [str(i) for i in range(200)]


def test_named_data_keeps_its_name(planted, tmp_path):
    result = train(small(tmp_path, epochs=3), data=planted, save=False)
    assert result.config.dataset == "planted" and result.metrics["dataset"] == "planted"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.edge_index.__setitem__((1, 0), 200), r"outside \[0, 200\)"),
        (lambda d: d.edge_index.__setitem__((0, 3), -1), r"outside \[0, 200\)"),
        (
            lambda d: d.x.__setitem__((17, 2), float("nan")),
            "node 17 has a feature that is not finite",
        ),
        (lambda d: setattr(d, "edge_weight", -torch.ones(d.edge_index.shape[1])), "positive"),
    ],
)
def test_bad_graphs_are_rejected_before_anything_is_written(planted, tmp_path, change, message):
    data = planted.clone()
    change(data)
    with pytest.raises(DataError, match=message):
        train(small(tmp_path, epochs=3), data=data)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_edge_weights_change_the_model(planted, tmp_path):
    rng = np.random.default_rng(0)
    src, dst = planted.edge_index
    weight = torch.from_numpy(rng.uniform(0.1, 5.0, planted.num_nodes**2).astype(np.float32))
    keys = torch.minimum(src, dst) * planted.num_nodes + torch.maximum(src, dst)
    weighted = planted.clone()
    weighted.edge_weight = weight[keys]  # the same weight both ways
    plain = train(small(tmp_path, model="gae", epochs=20), data=planted, save=False)
    heavy = train(small(tmp_path, model="gae", epochs=20), data=weighted)
    assert not torch.allclose(plain.embeddings, heavy.embeddings)
    info = json.loads((heavy.run_dir / "config.json").read_text())
    assert info["graph"]["weighted"] is True
    assert heavy.metrics["test"]["auc"] > 0.75


def test_cli_train_on_files(planted_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--edges", str(planted_files["edges"]), "--features"]
    args += [str(planted_files["features"]), "--labels", str(planted_files["labels"])]
    assert main([*args, "--model", "gae", "--epochs", "40", "--quiet", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "200 nodes, 810 undirected edges" in out or "200 nodes" in out
    assert "16 features from" in out and "4 classes" in out
    assert "GAE on edges" in out and "test AUC" in out
    run = tmp_path / "runs" / "gae_edges_16d_40ep"
    assert (run / "metrics.json").is_file() and (run / "nodes.txt").is_file()


def test_cli_featureless_is_said(planted_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--edges", str(planted_files["edges"]), "--dataset", "mine"]
    assert main([*args, "--epochs", "5", "--quiet", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "featureless model" in out and "VGAE* on mine" in out
    assert (tmp_path / "runs" / "vgae_nofeat_mine_16d_5ep").is_dir()


@pytest.mark.parametrize("case", ["columns", "empty", "nan-feature", "binary", "missing", "folder"])
def test_cli_bad_files_one_line_exit_2_no_run_dir(tmp_path, capsys, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    edges = tmp_path / "edges.csv"
    edges.write_text("a,b\nb,c\nc,d\nd,a\na,c\nb,d\n")
    args = ["train", "--edges", str(edges), "--epochs", "2", "--quiet"]
    if case == "columns":
        edges.write_text("a,b\nb,c,x\n")
        expected = "line 2: 3 fields"
    elif case == "empty":
        edges.write_text("")
        expected = "no data"
    elif case == "binary":
        edges.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
        expected = "binary"
    elif case == "nan-feature":
        features = tmp_path / "f.csv"
        features.write_text("id,f\na,1\nb,nan\nc,0\nd,1\n")
        args += ["--features", str(features)]
        expected = "line 3 (node 'b')"
    elif case == "missing":
        args[2] = str(tmp_path / "nope.csv")
        expected = "no such file"
    else:
        args[2] = str(tmp_path)
        expected = "folder"
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("graphae: error:") and expected in err[0], err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--features", "f.csv"], "--features needs --edges"),
        (["--edges", "e.csv", "--split", "inductive"], "inductive split needs node features"),
    ],
)
def test_cli_inconsistent_options(tmp_path, capsys, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.csv").write_text("a,b\nb,c\nc,d\nd,a\na,c\nb,d\n")
    assert main(["train", *args, "--epochs", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "runs").exists()


def test_cli_inductive_split(tmp_path, capsys, monkeypatch):
    from graphae.data import planted_partition
    from tests.conftest import write_graph_files

    data = planted_partition(num_blocks=8, block_size=50, p_in=0.2, p_out=0.002, feature_noise=0.5)
    files = write_graph_files(tmp_path / "g", data)
    monkeypatch.chdir(tmp_path)
    args = ["train", "--edges", str(files["edges"]), "--features", str(files["features"])]
    assert (
        main([*args, "--split", "inductive", "--model", "gae", "--epochs", "100", "--quiet"]) == 0
    )
    out = capsys.readouterr().out
    run = tmp_path / "runs" / "gae_edges_16d_100ep_inductive"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["split"] == "inductive" and metrics["test"]["auc"] > 0.8
    test_pos = json.loads((run / "config.json").read_text())["split_counts"]["test_pos"]
    assert metrics["cold_test_pairs"] == test_pos
    assert f"{test_pos:,} of the test pairs touch held-out nodes" in out
    info = json.loads((run / "config.json").read_text())
    assert info["held_out_nodes"] == {"val_nodes": 20, "test_nodes": 40}


def test_auto_picks_sampled_for_a_large_own_graph(tmp_path):
    from graphae.data import social_graph

    data = social_graph(6_000, 20_000, seed=0)
    data.name = "social"
    result = train(small(tmp_path, model="gae", epochs=3, features=False), data=data, save=False)
    assert result.objective == "sampled"
    small_graph = social_graph(1_000, 4_000, seed=0)
    result = train(small(tmp_path, model="gae", epochs=3), data=small_graph, save=False)
    assert result.objective == "dense"


def test_threads_option_is_applied_recorded_and_restored(tmp_path, monkeypatch):
    from pathlib import Path

    examples = Path(__file__).resolve().parents[1] / "examples"
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    args = ["train", "--edges", str(examples / "friends.csv"), "--epochs", "3", "--quiet"]
    assert main([*args, "--no-figures", "--threads", "1"]) == 0
    info = json.loads(
        (tmp_path / "runs" / "vgae_nofeat_friends_16d_3ep" / "config.json").read_text()
    )
    assert info["torch_threads"] == 1
    assert torch.get_num_threads() == before
    for command in (["embed", "x", "--out", "y.csv"], ["predict", "x", "--node", "a"], ["vae"]):
        assert main([*command, "--threads", "0"]) == 2


def test_synthetic_dataset_spec(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = "synthetic:nodes=1500,edges=6000,features=16,communities=6"
    assert main(["train", "--dataset", spec, "--model", "gae", "--epochs", "40", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"GAE on {spec}" in out
    run = (
        tmp_path / "runs" / "gae_synthetic_nodes_1500_edges_6000_features_16_communities_6_16d_40ep"
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["auc"] > 0.7
    info = json.loads((run / "config.json").read_text())
    assert info["graph"]["nodes"] == 1500 and info["graph"]["undirected_edges"] == 6000
    for bad, expected in (
        ("synthetic:nodes=10", "nodes= and edges="),
        ("synthetic:x=1", "unknown key"),
    ):
        assert main(["train", "--dataset", bad, "--epochs", "2", "--quiet"]) == 2
        assert expected in capsys.readouterr().err
