"""Neural network parts: layers, encoders, decoders and autoencoders."""

from graphae.nn.autoencoders import GAE, VGAE, Encoding
from graphae.nn.decoders import DegreeDecoder, InnerProductDecoder, MLPDecoder
from graphae.nn.encoders import (
    GCNEncoder,
    GCNStackEncoder,
    LinearEncoder,
    VariationalGCNEncoder,
    VariationalGCNStackEncoder,
    VariationalLinearEncoder,
)
from graphae.nn.factory import DECODERS, ENCODERS, MODELS, ModelParts, build_model
from graphae.nn.layers import GraphConv

__all__ = [
    "DECODERS",
    "ENCODERS",
    "GAE",
    "MODELS",
    "VGAE",
    "DegreeDecoder",
    "Encoding",
    "GCNEncoder",
    "GCNStackEncoder",
    "GraphConv",
    "InnerProductDecoder",
    "LinearEncoder",
    "MLPDecoder",
    "ModelParts",
    "VariationalGCNEncoder",
    "VariationalGCNStackEncoder",
    "VariationalLinearEncoder",
    "build_model",
]
