"""Clustering and classification probes: exact ACC, far above chance on a trained
planted-partition run, near chance on random embeddings, and probes.json."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from graphae import TrainConfig, train
from graphae.data import planted_partition
from graphae.data.files import NodeIds
from graphae.errors import DataError
from graphae.evaluation.probes import (
    PROBES_FILE,
    classification_scores,
    cluster_scores,
    hungarian_accuracy,
    probe_run,
    run_labels,
    stratified_split,
)
from graphae.inference import load_run
from tests.conftest import write_graph_files

BLOCKS = 4


def train_briefly(runs, data=None, **settings):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny graph: threads only contend
    try:
        settings = {"model": "gae", "epochs": 40, **settings}
        config = TrainConfig(runs_dir=str(runs), quiet=True, figures=False, **settings)
        return train(config, data=data).run_dir
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory):
    """A GAE on the planted graph read from CSV files with a labels file (ids n0..n199)."""
    folder = tmp_path_factory.mktemp("probe_graph")
    data = planted_partition(num_blocks=BLOCKS, block_size=50, p_in=0.3, p_out=0.01, seed=0)
    files = write_graph_files(folder, data)
    return train_briefly(
        folder / "runs",
        edges=str(files["edges"]),
        features_file=str(files["features"]),
        labels_file=str(files["labels"]),
    )


def brute_force_accuracy(y, c):
    classes, clusters = sorted(set(y)), sorted(set(c))
    best = 0
    for image in itertools.permutations(classes, len(clusters)):
        m = dict(zip(clusters, image, strict=True))
        best = max(best, sum(m[ci] == yi for ci, yi in zip(c, y, strict=True)))
    return best / len(y)


@pytest.mark.parametrize("seed", range(6))
def test_hungarian_accuracy_is_the_best_permutation(seed):
    rng = np.random.default_rng(seed)
    k = 3 + seed % 3
    y = rng.integers(0, k, 12)
    c = np.where(rng.random(12) < 0.6, (y + 1) % k, rng.integers(0, k, 12)) + 10  # other ids
    assert hungarian_accuracy(y, c) == pytest.approx(brute_force_accuracy(y.tolist(), c.tolist()))


def test_hungarian_accuracy_ignores_cluster_names():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert hungarian_accuracy(y, [7, 7, 3, 3, 5, 5]) == 1.0
    assert hungarian_accuracy(y, [0, 0, 0, 1, 1, 1]) == pytest.approx(4 / 6)


def test_random_embeddings_score_near_chance():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(1000, 16)), rng.integers(0, BLOCKS, 1000)
    clusters = cluster_scores(z, y, seed=0)
    assert clusters["acc"] < 0.33 and clusters["nmi"] < 0.02 and abs(clusters["ari"]) < 0.02
    train_idx, val_idx, test_idx = stratified_split(y, seed=0)
    scores = classification_scores(z, y, train_idx, test_idx, seed=0, val_idx=val_idx)
    assert scores["accuracy"] < 0.35 and scores["macro_f1"] < 0.35


def test_trained_run_beats_chance_by_far(labelled_run):
    result = probe_run(labelled_run, write=False)
    assert result["labels"]["classes"] == BLOCKS and result["labels"]["labelled_nodes"] == 200
    clusters, classes = result["clustering"], result["classification"]
    assert clusters["acc"] > 0.8 and clusters["nmi"] > 0.6 and clusters["ari"] > 0.5, clusters
    assert classes["accuracy"] > 0.8 and classes["macro_f1"] > 0.8, classes
    assert classes["train"] + classes["val"] + classes["test"] == 200
    assert (classes["train"], classes["val"]) == (20, 20)  # 10% + 10% of each 50-node block
    # random embeddings of the same nodes: near chance (1/4)
    run = load_run(labelled_run)
    y = run_labels(run).y
    noise = np.random.default_rng(1).normal(size=tuple(run.embeddings.shape))
    assert cluster_scores(noise, y, seed=0)["nmi"] < 0.15


def test_probes_json_is_written_and_reloads(labelled_run):
    result = probe_run(load_run(labelled_run))
    assert json.loads((labelled_run / PROBES_FILE).read_text()) == result
    assert probe_run(labelled_run, write=False) == result  # same seed, same scores
    assert not list(labelled_run.glob(".*tmp*"))  # written atomically: no leftovers


def test_labels_can_be_given_as_an_array(labelled_run):
    run = load_run(labelled_run)
    y = np.full(len(run.node_ids), -1)
    y[:100] = np.arange(100) % 2  # half the nodes labelled, two classes
    result = probe_run(run, labels=y, write=False)
    assert result["labels"]["labelled_nodes"] == 100 and result["clustering"]["nodes"] == 100
    with pytest.raises(DataError, match="3 labels for the 200 nodes"):
        probe_run(run, labels=[0, 1, 0], write=False)


def test_unlabelled_run_raises_a_clear_error(tmp_path):
    data = planted_partition(num_blocks=BLOCKS, block_size=10, seed=1)
    run = train_briefly(tmp_path, data=data, epochs=2)
    with pytest.raises(DataError, match="has no node labels: train with --labels FILE"):
        probe_run(run)
    assert not (run / PROBES_FILE).exists()


def test_stratified_split_is_disjoint_seeded_and_covers_every_class():
    y = np.repeat(np.arange(5), [40, 20, 10, 3, 1])
    y = np.concatenate([y, -np.ones(7, dtype=int)])  # unlabelled nodes stay out
    train_idx, val_idx, test_idx = stratified_split(y, seed=3)
    parts = np.concatenate([train_idx, val_idx, test_idx])
    assert len(parts) == len(set(parts.tolist())) == 74 and (y[parts] >= 0).all()
    assert set(y[train_idx]) == set(range(5)) and set(y[test_idx]) == set(range(4))
    assert [int((y[train_idx] == c).sum()) for c in range(5)] == [4, 2, 1, 1, 1]
    again = stratified_split(y, seed=3)
    assert all(
        np.array_equal(a, b) for a, b in zip(again, (train_idx, val_idx, test_idx), strict=True)
    )
    assert not np.array_equal(stratified_split(y, seed=4)[0], train_idx)


def test_classification_needs_two_training_classes():
    z, y = np.zeros((4, 2)), np.array([0, 0, 1, 1])
    with pytest.raises(DataError, match="at least two classes"):
        classification_scores(z, y, [0, 1], [2, 3], seed=0)


def test_planetoid_runs_use_the_public_split(data_root):
    settings = {"dataset": "cora", "data_root": str(data_root), "edges": None, "seed": 0}
    run = SimpleNamespace(settings=settings, node_ids=NodeIds.range(2708), path="run")
    labels = run_labels(run)
    assert (len(labels.train), len(labels.val), len(labels.test)) == (140, 500, 1000)
    assert len(labels.y) == 2708 and set(labels.y.tolist()) == set(range(7))
    assert labels.split == "Planetoid public split"
