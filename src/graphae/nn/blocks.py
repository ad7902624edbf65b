"""Encoders run over sampled blocks: the forward pass of mini-batch training.

A block (:class:`graphae.data.sampling.Block`) stands for one product with
``Â``, restricted to the rows a batch needs and estimated from sampled
neighbours. Every encoder of :mod:`graphae.nn.encoders` is a sequence of
such products with dense maps between them, so the same layers run on
blocks: each ``Â`` of the full-graph forward pass becomes the next block.
Layer ``l`` of a GCN (Kipf & Welling, ICLR 2017) on block ``B_l``:

.. math::
    H^{(l+1)}_{\\mathrm{dst}} = \\phi\\big(\\tilde{A}_l\\, \\mathrm{dropout}
        (H^{(l)}_{\\mathrm{src}})\\, W_l + b_l\\big)

Batch norm normalises over the block's destination nodes in training mode
(its running statistics serve evaluation), residuals add the destination
rows of the layer's input. Evaluation never samples: it is the full-graph
forward pass (exact; under ``no_grad`` one layer's ``N x width`` input and
output are alive at a time).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from graphae.errors import ConfigError
from graphae.nn.autoencoders import GAE, Encoding
from graphae.nn.encoders import (
    GCNEncoder,
    GCNStackEncoder,
    LinearEncoder,
    VariationalGCNEncoder,
    VariationalGCNStackEncoder,
    VariationalLinearEncoder,
    dropout_product,
)
from graphae.nn.reparameterize import gaussian_sample
from graphae.sparse import sparse_matmul


def encoder_hops(encoder: nn.Module) -> int:
    """How many products with ``Â`` (sampled hops) the encoder's forward pass makes.

    Raises:
        ConfigError: an encoder without a block forward pass.

    """
    if isinstance(encoder, (GCNEncoder, VariationalGCNEncoder)):
        return 2
    if isinstance(encoder, (LinearEncoder, VariationalLinearEncoder)):
        return 1
    if isinstance(encoder, GCNStackEncoder):
        return len(encoder.convs) + encoder.propagate_before + encoder.propagate_after
    raise ConfigError(
        f"mini-batch training (--batch-size) has no block forward pass for "
        f"{type(encoder).__name__}; use --batch-size 0"
    )


def block_forward(
    encoder: nn.Module, x: torch.Tensor, blocks: Sequence[torch.Tensor]
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The encoder's output for the last block's destination nodes.

    Args:
        encoder (Module): one of the encoders of :mod:`graphae.nn.encoders`.
        x (Tensor): features of the first block's source nodes (dense or
            sparse CSR; one-hot rows for identity features).
        blocks (sequence of Tensor): the blocks' sparse matrices, input first,
            :func:`encoder_hops` of them.

    Returns:
        Tensor or tuple: ``Z``, or ``(μ, log σ)`` for a variational encoder.

    """
    if len(blocks) != encoder_hops(encoder):
        raise ValueError(f"{type(encoder).__name__} needs {encoder_hops(encoder)} blocks")
    if isinstance(encoder, GCNEncoder):
        return encoder.conv2(F.relu(encoder.conv1(x, blocks[0])), blocks[1])
    if isinstance(encoder, VariationalGCNEncoder):
        h = F.relu(encoder.conv1(x, blocks[0]))
        return encoder.conv_mu(h, blocks[1]), encoder.conv_logstd(h, blocks[1])
    if isinstance(encoder, LinearEncoder):
        return encoder.conv(x, blocks[0])
    if isinstance(encoder, VariationalLinearEncoder):
        return encoder.conv_mu(x, blocks[0]), encoder.conv_logstd(x, blocks[0])
    assert isinstance(encoder, GCNStackEncoder)
    return _stack_forward(encoder, x, list(blocks))


def _stack_forward(
    encoder: GCNStackEncoder, x: torch.Tensor, blocks: list[torch.Tensor]
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """:meth:`GCNStackEncoder.forward` with each ``Â`` replaced by the next block."""
    variational = isinstance(encoder, VariationalGCNStackEncoder)
    last = len(encoder.convs) - 1
    shared = last if variational else last + 1
    h = x
    for index in range(shared):
        hops = 1 + (encoder.propagate_before if index == 0 else 0)
        taken, blocks = blocks[:hops], blocks[hops:]
        out = _conv(encoder, index, h, taken)
        if index < len(encoder.norms):
            out = encoder.activation(encoder.norms[index](out))
        if encoder.residual and h.layout == torch.strided and h.shape[1] == out.shape[1]:
            out = out + h[: out.shape[0]]
        h = out
    if not variational:
        return _propagate(blocks, h)
    assert isinstance(encoder, VariationalGCNStackEncoder)
    hops = 1 + (encoder.propagate_before if last == 0 else 0)
    taken, blocks = blocks[:hops], blocks[hops:]
    mu = _conv(encoder, last, h, taken)
    logstd = _conv(encoder, last, h, taken, encoder.conv_logstd.weight, encoder.bias_logstd)
    return _propagate(blocks, mu), _propagate(blocks, logstd)


def _conv(
    encoder: GCNStackEncoder,
    index: int,
    h: torch.Tensor,
    blocks: Sequence[torch.Tensor],
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """:meth:`GCNStackEncoder.conv` with its ``Â^{1+k}`` as ``len(blocks)`` blocks."""
    if weight is None:
        weight = encoder.convs[index].weight
        bias = encoder.biases[index] if len(encoder.biases) else None
    if h.layout == torch.strided:
        # Ã (H W) = (Ã H) W: aggregating first multiplies only the destination rows by W,
        # fewer than the sources (2x less work per layer on a 3-layer, 256-wide stack)
        dropped = F.dropout(h, encoder.dropout, encoder.training)
        out = _propagate(blocks, dropped) @ weight
    else:  # sparse or one-hot inputs: X W is the cheap product
        out = _propagate(blocks, dropout_product(h, weight, encoder.dropout, encoder.training))
    return out if bias is None else out + bias


def _propagate(blocks: Sequence[torch.Tensor], h: torch.Tensor) -> torch.Tensor:
    for block in blocks:
        h = sparse_matmul(block, h)
    return h


def encode_blocks(
    model: GAE, x: torch.Tensor, blocks: Sequence[torch.Tensor], num_nodes: int
) -> Encoding:
    """:meth:`GAE.encode` over blocks: the seeds' ``z`` (a sample for VGAE in training).

    A VGAE's KL term is the mean over the seeds divided by ``num_nodes``, the
    scale of the full-graph objectives' mean over all nodes divided by N.
    """
    out = block_forward(model.encoder, x, blocks)
    if not model.variational:
        assert isinstance(out, torch.Tensor)
        return Encoding(z=out, mu=out)
    mu, logstd = out
    if not model.training:
        return Encoding(z=mu, mu=mu, logstd=logstd)
    z, kl = gaussian_sample(mu, logstd)
    return Encoding(z=z, mu=mu, logstd=logstd, kl=kl / num_nodes)
