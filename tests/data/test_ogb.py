"""OGB link data sets, offline: small stand-ins written in ogb's own on-disk format."""

from __future__ import annotations

import gzip
import json
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from graphae.data import planted_partition
from graphae.data.link_split import LinkSplit
from graphae.errors import ConfigError, DataError
from tests.conftest import assert_one_line_error, cli

pytest.importorskip("ogb")

from graphae.data.ogb import is_ogb_name, load_ogb, official_metrics
from graphae.nn.decoders import InnerProductDecoder

SPLIT_TYPE = {"ogbl-collab": "time", "ogbl-citation2": "time", "ogbl-ddi": "target"}


def _csv_gz(path: Path, rows: np.ndarray, fmt: str = "%d") -> None:
    with gzip.open(path, "wt") as f:
        np.savetxt(
            f, np.atleast_2d(rows) if rows.ndim == 2 else rows[:, None], fmt=fmt, delimiter=","
        )


def write_standin(root: Path, name: str, seed: int = 0, negatives_per_source: int = 20) -> dict:
    """A planted-partition graph as ``ROOT/ogbl_<name>/`` in the layout ogb's reader takes.

    Returns the pieces written (train/valid/test dicts as saved, features).
    """
    graph = planted_partition(num_blocks=4, block_size=50, p_in=0.3, p_out=0.01, seed=seed)
    n = graph.num_nodes
    src, dst = graph.edge_index
    edges = torch.stack([src[src < dst], dst[src < dst]], 1)  # [E, 2], each edge once
    gen = torch.Generator().manual_seed(seed)
    edges = edges[torch.randperm(len(edges), generator=gen)]
    n_val, n_test = len(edges) // 20, len(edges) // 10
    valid, test, train = edges[:n_val], edges[n_val : n_val + n_test], edges[n_val + n_test :]
    folder = root / ("_".join(name.split("-")))
    raw = folder / "raw"
    split_dir = folder / "split" / SPLIT_TYPE[name]
    raw.mkdir(parents=True)
    (folder / "processed").mkdir()  # ogb's archives have it, empty
    split_dir.mkdir(parents=True)
    (folder / "RELEASE_v1.txt").write_text("stand-in\n")
    _csv_gz(raw / "edge.csv.gz", train.numpy())
    _csv_gz(raw / "num-node-list.csv.gz", np.array([n]))
    _csv_gz(raw / "num-edge-list.csv.gz", np.array([len(train)]))
    features = None
    if name != "ogbl-ddi":
        features = graph.x.numpy().astype(np.float32)
        _csv_gz(raw / "node-feat.csv.gz", features, fmt="%.6f")
    if name == "ogbl-collab":
        _csv_gz(raw / "edge_weight.csv.gz", np.ones(len(train), dtype=np.int64))
        _csv_gz(raw / "edge_year.csv.gz", np.full(len(train), 2010))
    if name == "ogbl-citation2":
        _csv_gz(raw / "node_year.csv.gz", np.full(n, 2010))

    def negatives(count: int) -> torch.Tensor:
        return torch.randint(0, n, (count, 2), generator=gen)

    if name == "ogbl-citation2":
        parts = {"train": {"source_node": train[:, 0], "target_node": train[:, 1]}}
        for part, pairs in (("valid", valid), ("test", test)):
            parts[part] = {
                "source_node": pairs[:, 0],
                "target_node": pairs[:, 1],
                "target_node_neg": torch.randint(
                    0, n, (len(pairs), negatives_per_source), generator=gen
                ),
            }
    else:
        parts = {"train": {"edge": train}}
        parts["valid"] = {"edge": valid, "edge_neg": negatives(len(valid) + 7)}
        parts["test"] = {"edge": test, "edge_neg": negatives(len(test) + 5)}
        if name == "ogbl-collab":
            for values in parts.values():
                values["weight"] = torch.ones(len(values["edge"]), dtype=torch.long)
                values["year"] = torch.full((len(values["edge"]),), 2010)
    for part, values in parts.items():
        torch.save(values, split_dir / f"{part}.pt")
    return {"parts": parts, "features": features, "num_nodes": n}


@pytest.fixture
def standin_root(tmp_path):
    root = tmp_path / "ogb"
    root.mkdir()
    return root


@pytest.mark.parametrize("name", ["ogbl-collab", "ogbl-citation2", "ogbl-ddi"])
def test_standin_is_read_by_ogb_itself(standin_root, name):
    """The stand-in format is ogb's: LinkPropPredDataset reads the same graph and split."""
    from ogb.linkproppred import LinkPropPredDataset

    written = write_standin(standin_root, name)
    dataset = LinkPropPredDataset(name, root=str(standin_root))
    graph, split = dataset[0], dataset.get_edge_split()
    assert graph["num_nodes"] == written["num_nodes"]
    if written["features"] is not None:
        np.testing.assert_allclose(graph["node_feat"], written["features"], atol=1e-6)
    for part in ("train", "valid", "test"):
        for key, value in written["parts"][part].items():
            assert torch.equal(torch.as_tensor(split[part][key]), value), (part, key)


@pytest.mark.parametrize("name", ["ogbl-collab", "ogbl-citation2", "ogbl-ddi"])
def test_load_ogb_uses_the_official_split(standin_root, name):
    written = write_standin(standin_root, name)
    data = load_ogb(name, standin_root)
    split = data.official_split
    assert isinstance(split, LinkSplit) and split.kind == "official" and split.seed is None
    parts = written["parts"]
    if name == "ogbl-citation2":
        train = torch.stack([parts["train"]["source_node"], parts["train"]["target_node"]], 1)
        test = torch.stack([parts["test"]["source_node"], parts["test"]["target_node"]], 1)
        first_neg = parts["test"]["target_node_neg"][:, 0]
        test_neg = torch.stack([parts["test"]["source_node"], first_neg], 1)
    else:
        train, test, test_neg = (
            parts["train"]["edge"],
            parts["test"]["edge"],
            parts["test"]["edge_neg"],
        )
    # training graph: the official training edges, both directions, nothing else
    assert split.train_pos.shape[1] == len(train)
    assert data.edge_index.shape[1] == 2 * len(train)
    expected = {tuple(sorted(p)) for p in train.tolist()}
    assert {tuple(p) for p in split.train_pos.t().tolist()} == expected
    # held-out pairs: the official ones (as unordered pairs), in OGB's order and number
    assert torch.equal(split.test_pos, test.t().sort(0).values)
    assert torch.equal(split.test_neg, test_neg.t().sort(0).values)
    assert (data.x is None) == (name == "ogbl-ddi")
    # the split round-trips through split.npz like any other
    path = standin_root / "split.npz"
    split.save(path)
    assert LinkSplit.load(path).counts() == split.counts()


def test_official_hits_match_ogb_evaluator_and_ours(standin_root):
    from ogb.linkproppred import Evaluator

    from graphae.evaluation.ranking import ranking_report

    write_standin(standin_root, "ogbl-collab")
    data = load_ogb("ogbl-collab", standin_root)
    z = torch.randn(data.num_nodes, 8, generator=torch.Generator().manual_seed(1))
    out = official_metrics(data, InnerProductDecoder(), z)
    assert set(out) == {"ogb_hits@20", "ogb_hits@50", "ogb_hits@100"}
    split = data.official_split
    pos = (z[split.test_pos[0]] * z[split.test_pos[1]]).sum(1)
    neg = (z[split.test_neg[0]] * z[split.test_neg[1]]).sum(1)
    evaluator = Evaluator("ogbl-collab")
    assert out["ogb_hits@50"] == evaluator.eval({"y_pred_pos": pos, "y_pred_neg": neg})["hits@50"]
    ours = ranking_report(pos, neg)  # same definition with shared negatives
    assert out["ogb_hits@20"] == pytest.approx(ours["hits@20"])
    assert 0.0 < out["ogb_hits@100"] <= 1.0


def test_citation2_mrr_ranks_each_positive_among_its_own_negatives(standin_root, monkeypatch):
    written = write_standin(standin_root, "ogbl-citation2", negatives_per_source=30)
    data = load_ogb("ogbl-citation2", standin_root)
    z = torch.randn(data.num_nodes, 8, generator=torch.Generator().manual_seed(2))
    monkeypatch.setattr("graphae.data.ogb.MRR_CHUNK", 7)  # several chunks
    out = official_metrics(data, InnerProductDecoder(), z)
    test = written["parts"]["test"]
    src, dst, neg = test["source_node"], test["target_node"], test["target_node_neg"]
    pos_score = (z[src] * z[dst]).sum(1)
    neg_score = (z[src].unsqueeze(1) * z[neg]).sum(-1)
    optimistic = (neg_score > pos_score[:, None]).sum(1)
    pessimistic = (neg_score >= pos_score[:, None]).sum(1)
    rank = 1 + 0.5 * (optimistic + pessimistic).double()
    assert out["ogb_mrr"] == pytest.approx(float((1 / rank).mean()), rel=1e-6)
    assert {"ogb_hits@1", "ogb_hits@3", "ogb_hits@10"} <= set(out)


def test_official_metrics_are_empty_for_other_graphs(planted):
    assert official_metrics(planted, InnerProductDecoder(), torch.zeros(200, 4)) == {}


def test_names():
    assert is_ogb_name("ogbl-collab") and is_ogb_name("OGBL-DDI")
    assert not is_ogb_name("Cora") and not is_ogb_name(None)
    with pytest.raises(DataError, match="known: ogbl-collab"):
        load_ogb("ogbl-nosuch")


def test_train_on_a_standin_reports_official_metrics(standin_root, tmp_path, capsys):
    write_standin(standin_root, "ogbl-collab")
    code, _, err = cli(
        capsys, "train", "--dataset", "ogbl-collab", "--data-root", standin_root, "--model",
        "gae", "--epochs", "30", "--runs-dir", tmp_path / "runs", "--no-figures", "--threads", "1",
    )  # fmt: skip
    assert code == 0, err
    run = next((tmp_path / "runs").iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert metrics["split"] == "official" and metrics["dataset"] == "ogbl-collab"
    assert {"auc", "ap", "ogb_hits@20", "ogb_hits@50", "ogb_hits@100"} <= set(metrics["test"])
    assert metrics["test"]["auc"] > 0.7  # the planted communities are learnt
    counts = config["split_counts"]
    assert counts["val_neg"] == counts["val_pos"] + 7  # official counts, not 1:1


def test_inductive_split_is_refused_for_ogb(standin_root, tmp_path):
    from graphae import TrainConfig, train

    write_standin(standin_root, "ogbl-collab")
    config = TrainConfig(dataset="ogbl-collab", data_root=str(standin_root), split="inductive")
    with pytest.raises(ConfigError, match="official edge split"):
        train(config, save=False, epochs=1)


def test_missing_data_offline_is_one_line(tmp_path, capsys, monkeypatch):
    def offline(url, folder, log=True):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("ogb.utils.url.download_url", offline)
    code, _, err = cli(
        capsys, "train", "--dataset", "ogbl-collab", "--data-root", tmp_path / "empty",
        "--runs-dir", tmp_path / "runs", "--epochs", "1",
    )  # fmt: skip
    assert_one_line_error(
        code, err, "ogbl-collab not found", "could not be downloaded", "--data-root"
    )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_the_data_root_is_only_read(standin_root):
    write_standin(standin_root, "ogbl-ddi")
    before = sorted(p.relative_to(standin_root) for p in standin_root.rglob("*"))
    load_ogb("ogbl-ddi", standin_root)
    load_ogb("ogbl-ddi", standin_root)  # from the cache
    assert sorted(p.relative_to(standin_root) for p in standin_root.rglob("*")) == before


def test_without_the_ogb_package_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ogb", None)
    with pytest.raises(DataError, match=r"pip install 'graphae\[ogb\]'"):
        load_ogb("ogbl-collab")
