"""Small synthetic graphs for tests and examples."""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph


def planted_partition(
    num_blocks: int = 4,
    block_size: int = 50,
    p_in: float = 0.3,
    p_out: float = 0.01,
    num_features: int = 16,
    feature_noise: float = 1.0,
    seed: int = 0,
) -> Data:
    """A planted-partition (stochastic block model) graph with block-informative features.

    Nodes in the same block connect with probability ``p_in``, others with
    ``p_out`` (PyG's :func:`stochastic_blockmodel_graph`). Features are a
    noisy one-hot of the block, projected to ``num_features`` dimensions.

    Args:
        num_blocks (int, optional): number of communities. (default: ``4``)
        block_size (int, optional): nodes per community. (default: ``50``)
        p_in (float, optional): within-block edge probability. (default: ``0.3``)
        p_out (float, optional): between-block edge probability. (default: ``0.01``)
        num_features (int, optional): feature width. (default: ``16``)
        feature_noise (float, optional): std of the Gaussian noise. (default: ``1.0``)
        seed (int, optional): random seed. (default: ``0``)

    Returns:
        Data: ``x``, ``edge_index`` (both directions), ``y`` (block ids), ``name``.

    """
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        probs = torch.full((num_blocks, num_blocks), p_out)
        probs.fill_diagonal_(p_in)
        edge_index = stochastic_blockmodel_graph([block_size] * num_blocks, probs)
        y = torch.arange(num_blocks).repeat_interleave(block_size)
        projection = torch.randn(num_blocks, num_features)
        x = projection[y] + feature_noise * torch.randn(len(y), num_features)
    finally:
        torch.random.set_rng_state(state)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=len(y), name="planted")
