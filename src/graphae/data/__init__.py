"""Graph data: loaders and link-prediction splits (no model code here)."""

from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import LinkSplit, check_split, split_edges, split_nodes
from graphae.data.planetoid import PLANETOID, load_planetoid, resolve_data_root
from graphae.data.synthetic import planted_partition, social_graph

__all__ = [
    "PLANETOID",
    "LinkSplit",
    "check_split",
    "gcn_adjacency",
    "load_planetoid",
    "planted_partition",
    "prepare_features",
    "resolve_data_root",
    "social_graph",
    "split_edges",
    "split_nodes",
]
