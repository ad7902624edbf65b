"""End to end: a GAE trained on a node-inductive split scores links of unseen nodes.

The held-out nodes have no edge in the encoder's graph, at training or test
time, so their embeddings come from their features alone; on a planted
partition with community-correlated features that is enough to rank their
links well above chance, and without features it is not.
"""

import pytest

from graphae import TrainConfig, train
from graphae.data import planted_partition, split_nodes


@pytest.fixture(scope="module")
def communities():
    """8 communities of 50 nodes with features that carry the community."""
    return planted_partition(
        num_blocks=8, block_size=50, p_in=0.2, p_out=0.002, feature_noise=0.5, seed=0
    )


def fit(data, tmp_path, **kw):
    split = split_nodes(data.edge_index, data.num_nodes, seed=0)
    config = TrainConfig(
        model="gae", dataset="planted", epochs=100, quiet=True, runs_dir=str(tmp_path), **kw
    )
    return train(config, data=data, split=split, save=False)


def test_gae_predicts_links_of_unseen_nodes_from_features(communities, tmp_path):
    result = fit(communities, tmp_path)
    assert result.split.kind == "inductive"
    assert result.split.cold_test_pairs() == result.split.counts()["test_pos"]
    assert result.metrics["test"]["auc"] > 0.8, result.metrics
    assert result.metrics["val"]["auc"] > 0.8, result.metrics


def test_without_features_unseen_nodes_are_guesswork(communities, tmp_path):
    result = fit(communities, tmp_path, features=False)
    assert abs(result.metrics["test"]["auc"] - 0.5) < 0.15, result.metrics
