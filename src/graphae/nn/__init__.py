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
from graphae.nn.ensemble import ConcatEncoder, MeanProbabilityDecoder, assemble_ensemble
from graphae.nn.factory import DECODERS, ENCODERS, MODELS, ModelParts, build_model
from graphae.nn.layers import GraphConv

__all__ = [
    "DECODERS",
    "ENCODERS",
    "GAE",
    "MODELS",
    "VGAE",
    "ConcatEncoder",
    "DegreeDecoder",
    "Encoding",
    "GCNEncoder",
    "GCNStackEncoder",
    "GraphConv",
    "InnerProductDecoder",
    "LinearEncoder",
    "MLPDecoder",
    "MeanProbabilityDecoder",
    "ModelParts",
    "VariationalGCNEncoder",
    "VariationalGCNStackEncoder",
    "VariationalLinearEncoder",
    "assemble_ensemble",
    "build_model",
]
