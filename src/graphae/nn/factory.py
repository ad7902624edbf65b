"""Build a model from its name: the one registry of model classes."""

from __future__ import annotations

from torch import nn

from graphae.nn.autoencoders import GAE, VGAE
from graphae.nn.encoders import GCNEncoder, VariationalGCNEncoder

#: name -> (autoencoder class, encoder class)
MODELS: dict[str, tuple[type[GAE], type[nn.Module]]] = {
    "gae": (GAE, GCNEncoder),
    "vgae": (VGAE, VariationalGCNEncoder),
}


def build_model(
    name: str,
    in_dim: int,
    hidden_dim: int = 32,
    latent_dim: int = 16,
    dropout: float = 0.0,
    bias: bool = False,
) -> GAE:
    """Instantiate ``"gae"`` or ``"vgae"`` with a GCN encoder and inner-product decoder."""
    model_cls, encoder_cls = MODELS[name]
    return model_cls(encoder_cls(in_dim, hidden_dim, latent_dim, dropout, bias))
