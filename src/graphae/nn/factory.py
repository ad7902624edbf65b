"""Build a model from its settings: the registries of encoders and decoders.

A model is always ``GAE(encoder, decoder)`` or ``VGAE(encoder, decoder)``
composed of parts named here; MaskGAE (Li et al., KDD 2023) is a GAE with the
``"gcn"`` encoder in its stacked form, the ``"mlp"`` decoder and a
:class:`~graphae.nn.decoders.DegreeDecoder` (``degree_decoder=True``),
trained with a masked objective (:mod:`graphae.training.masked`).

>>> model = build_model("gae", 1433, 32, 16, parts=ModelParts(decoder="mlp"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from torch import nn

from graphae.nn.autoencoders import GAE, VGAE
from graphae.nn.decoders import DegreeDecoder, InnerProductDecoder, MLPDecoder
from graphae.nn.encoders import (
    GCNEncoder,
    GCNStackEncoder,
    LinearEncoder,
    VariationalGCNEncoder,
    VariationalGCNStackEncoder,
    VariationalLinearEncoder,
)
from graphae.nn.ensemble import assemble_ensemble

#: name -> (autoencoder class, encoder class) of Kipf & Welling's two models, whose
#: two-layer GCN is computed by the fused :class:`GCNEncoder` (the same numbers)
MODELS: dict[str, tuple[type[GAE], type[nn.Module]]] = {
    "gae": (GAE, GCNEncoder),
    "vgae": (VGAE, VariationalGCNEncoder),
}
#: model name -> autoencoder class (``maskgae`` is a GAE with other parts)
AUTOENCODERS: dict[str, type[GAE]] = {"gae": GAE, "vgae": VGAE, "maskgae": GAE}
#: encoder name -> (encoder class, its variational counterpart)
ENCODERS: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "gcn": (GCNStackEncoder, VariationalGCNStackEncoder),
    "linear": (LinearEncoder, VariationalLinearEncoder),
}
#: pair decoder name -> class
DECODERS: dict[str, type[nn.Module]] = {"inner": InnerProductDecoder, "mlp": MLPDecoder}


@dataclass(frozen=True)
class ModelParts:
    """The parts of a model beside its widths, dropout and bias; the defaults are Kipf & Welling's.

    Attributes:
        encoder: ``"gcn"`` or ``"linear"`` (Salha et al.; the stack settings do not apply).
        layers: graph convolutions of the GCN.
        norm: ``"none"``, ``"batch"`` or ``"layer"`` after each convolution.
        residual: residual connections between layers of equal width.
        activation: ``"relu"`` or ``"elu"``.
        activate_output: norm and activation after the last convolution too.
        propagate_before: parameter-free ``Â`` steps on the inputs.
        propagate_after: parameter-free ``Â`` steps on the output.
        decoder: ``"inner"`` or ``"mlp"`` (on ``z_u ⊙ z_v``).
        decoder_hidden: width of the MLP decoders' inner layers.
        decoder_layers: linear maps of the MLP decoders.
        decoder_dropout: dropout in the MLP decoders.
        degree_decoder: add a :class:`DegreeDecoder` as ``model.degree_decoder``.

    """

    encoder: str = "gcn"
    layers: int = 2
    norm: str = "none"
    residual: bool = False
    activation: str = "relu"
    activate_output: bool = False
    propagate_before: int = 0
    propagate_after: int = 0
    decoder: str = "inner"
    decoder_hidden: int = 64
    decoder_layers: int = 2
    decoder_dropout: float = 0.0
    degree_decoder: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> ModelParts:
        """The parts named by an object's attributes (a ``TrainConfig``); absent ones default.

        ``degree_decoder`` is on when ``settings.degree_weight > 0``.
        """
        values = {
            f.name: getattr(settings, f.name)
            for f in dataclasses.fields(cls)
            if getattr(settings, f.name, None) is not None
        }
        if getattr(settings, "degree_weight", None):
            values["degree_decoder"] = True
        return cls(**values)

    @property
    def kipf2016_encoder(self) -> bool:
        """Whether the encoder is the two-layer GCN of the 2016 models (computed fused)."""
        return self.encoder == "gcn" and self == ModelParts(
            decoder=self.decoder,
            decoder_hidden=self.decoder_hidden,
            decoder_layers=self.decoder_layers,
            decoder_dropout=self.decoder_dropout,
            degree_decoder=self.degree_decoder,
        )


def build_encoder(
    parts: ModelParts,
    variational: bool,
    in_dim: int,
    hidden_dim: int,
    latent_dim: int,
    dropout: float,
    bias: bool,
) -> nn.Module:
    """The encoder ``parts`` names (the fused 2016 GCN where it applies)."""
    if parts.kipf2016_encoder:
        encoder_cls: type[nn.Module] = VariationalGCNEncoder if variational else GCNEncoder
        return encoder_cls(in_dim, hidden_dim, latent_dim, dropout, bias)
    plain, varied = ENCODERS[parts.encoder]
    if parts.encoder == "linear":
        return (varied if variational else plain)(in_dim, hidden_dim, latent_dim, dropout, bias)
    stack: dict[str, Any] = dict(
        layers=parts.layers,
        dropout=dropout,
        norm=parts.norm,
        residual=parts.residual,
        activation=parts.activation,
        propagate_before=parts.propagate_before,
        propagate_after=parts.propagate_after,
        bias=bias,
    )
    if variational:
        return varied(in_dim, hidden_dim, latent_dim, **stack)
    return plain(in_dim, hidden_dim, latent_dim, activate_output=parts.activate_output, **stack)


def build_model(
    name: str,
    in_dim: int,
    hidden_dim: int = 32,
    latent_dim: int = 16,
    dropout: float = 0.0,
    bias: bool = False,
    parts: ModelParts | None = None,
) -> GAE:
    """Instantiate a GAE (``"gae"``, ``"maskgae"``) or VGAE (``"vgae"``) from its parts.

    Args:
        name (str): ``"gae"``, ``"vgae"`` or ``"maskgae"``.
        in_dim (int): feature width F (or N for identity features).
        hidden_dim (int, optional): width of the encoder's inner layers. (default: ``32``)
        latent_dim (int, optional): embedding size. (default: ``16``)
        dropout (float, optional): dropout on the encoder layers' inputs. (default: ``0.0``)
        bias (bool, optional): encoder layers with a bias. (default: ``False``)
        parts (ModelParts, optional): encoder, decoder and their settings.
            (default: the 2016 models': two-layer GCN, inner product)

    Returns:
        GAE: the model; with ``parts.degree_decoder`` it has a ``degree_decoder`` module.

    """
    parts = parts or ModelParts()
    model_cls = AUTOENCODERS[name]
    encoder = build_encoder(
        parts, model_cls.variational, in_dim, hidden_dim, latent_dim, dropout, bias
    )
    if parts.decoder == "inner":
        decoder: nn.Module = InnerProductDecoder()
    else:
        decoder = DECODERS[parts.decoder](
            latent_dim, parts.decoder_hidden, parts.decoder_layers, parts.decoder_dropout
        )
    model = model_cls(encoder, decoder)
    if parts.degree_decoder:
        model.degree_decoder = DegreeDecoder(
            latent_dim, parts.decoder_hidden, parts.decoder_layers, parts.decoder_dropout
        )
    return model


def build_from_config(config: Any, in_dim: int) -> GAE:
    """The model a ``TrainConfig`` (or any object with its fields) describes.

    With ``config.ensemble = K > 1`` and/or ``config.snapshots = S > 1``: the
    assembled ensemble of ``K * S`` such models (each member's snapshots in a
    row; :func:`~graphae.nn.ensemble.assemble_ensemble`, without degree
    decoders), the structure a trained ensemble is saved and loaded with.
    """

    def member() -> GAE:
        return build_model(
            config.model,
            in_dim,
            config.hidden_dim,
            config.latent_dim,
            config.dropout,
            config.bias,
            ModelParts.from_settings(config),
        )

    count = (getattr(config, "ensemble", None) or 1) * (getattr(config, "snapshots", None) or 1)
    if count == 1:
        return member()
    return assemble_ensemble([member() for _ in range(count)], [config.latent_dim] * count)
