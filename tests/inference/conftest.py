"""Trained runs on a small planted-partition graph with string ids, trained once per session.

The graph is written as users write theirs: ``edges.csv`` (``source,target``,
ids ``n0..n199``) and ``features.csv`` (``id,f0..f15``). A second feature file
holds the same columns in another order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from graphae import TrainConfig, train
from graphae.data import planted_partition
from graphae.data.files import GraphFiles, load_graph

NUM_NODES = 200


@pytest.fixture(scope="session")
def graph_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("graph")
    data = planted_partition(num_blocks=4, block_size=50, p_in=0.3, p_out=0.01, seed=0)
    edges = data.edge_index.t().numpy()
    edges = edges[edges[:, 0] < edges[:, 1]]
    lines = ["source,target", *(f"n{a},n{b}" for a, b in edges)]
    (folder / "edges.csv").write_text("\n".join(lines) + "\n")
    x = data.x.numpy()
    write_features(folder / "features.csv", x, [f"f{j}" for j in range(x.shape[1])])
    order = np.random.default_rng(0).permutation(x.shape[1])
    write_features(folder / "features_shuffled.csv", x[:, order], [f"f{j}" for j in order])
    return folder


def write_features(path: Path, x: np.ndarray, names: list[str] | None) -> None:
    lines = [] if names is None else [",".join(["id", *names])]
    lines += [",".join([f"n{i}", *(f"{v:.6f}" for v in row)]) for i, row in enumerate(x)]
    path.write_text("\n".join(lines) + "\n")


def files(folder: Path, features: str | None = "features.csv") -> GraphFiles:
    return GraphFiles(
        edges=str(folder / "edges.csv"),
        features=str(folder / features) if features else None,
    )


def train_run(folder: Path, runs: Path, **settings) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny graph: threads only contend
    try:
        config = TrainConfig(quiet=True, figures=False, runs_dir=str(runs), **settings)
        data = load_graph(files(folder, "features.csv" if config.features else None))
        return train(config, data=data).run_dir
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def gae_run(graph_dir, tmp_path_factory) -> Path:
    """A GAE trained with features (30 epochs)."""
    return train_run(graph_dir, tmp_path_factory.mktemp("runs"), model="gae", epochs=30)


@pytest.fixture(scope="session")
def vgae_run(graph_dir, tmp_path_factory) -> Path:
    """A VGAE trained with features (μ is what embed gives)."""
    return train_run(graph_dir, tmp_path_factory.mktemp("runs"), model="vgae", epochs=10)


@pytest.fixture(scope="session")
def featureless_run(graph_dir, tmp_path_factory) -> Path:
    """A GAE* (identity features)."""
    runs = tmp_path_factory.mktemp("runs")
    return train_run(graph_dir, runs, model="gae", epochs=10, features=False)
