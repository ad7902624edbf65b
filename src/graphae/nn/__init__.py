"""Neural network parts: layers, encoders, decoders and autoencoders."""

from graphae.nn.autoencoders import GAE, VGAE, Encoding
from graphae.nn.decoders import InnerProductDecoder
from graphae.nn.encoders import GCNEncoder, VariationalGCNEncoder
from graphae.nn.factory import MODELS, build_model
from graphae.nn.layers import GraphConv

__all__ = [
    "GAE",
    "MODELS",
    "VGAE",
    "Encoding",
    "GCNEncoder",
    "GraphConv",
    "InnerProductDecoder",
    "VariationalGCNEncoder",
    "build_model",
]
