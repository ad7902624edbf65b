"""Deep ensembles of graph autoencoders: K independently trained members, one model.

Lakshminarayanan, Pritzel & Blundell, "Simple and Scalable Predictive
Uncertainty Estimation using Deep Ensembles" (NeurIPS 2017): train K copies
of a model from different random initialisations (here also different masks,
negatives and dropout: each member has its own seed) and average their
predicted probabilities,

.. math::
    \\bar p(u, v) = \\frac{1}{K} \\sum_{k=1}^{K} \\sigma\\big(f_k(z^{(k)}_u, z^{(k)}_v)\\big),

with ``f_k`` member ``k``'s decoder on its own embeddings ``z^(k)``. The
ensemble is an ordinary :class:`~graphae.nn.GAE` (or VGAE) composed of two
parts: :class:`ConcatEncoder` (the node embedding is ``[z^(1) | ... |
z^(K)]``, so saved embeddings, probes and the Projector see every member)
and :class:`MeanProbabilityDecoder` (it splits the embedding back into the
members' and returns the logit of ``p̄``, which ranks pairs as ``p̄`` does).
The members are trained one after the other by the pipeline and assembled
with :func:`assemble_ensemble`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from graphae.nn.autoencoders import GAE


class ConcatEncoder(nn.Module):
    """The members' encoders side by side: ``Z = [Z^(1) | ... | Z^(K)]``.

    Variational members return ``(μ, log σ)``; then both are concatenated.

    Args:
        encoders (sequence of Module): the members' encoders, each ``(x, adj) -> Z``
            (or ``(μ, log σ)``).

    """

    def __init__(self, encoders: Sequence[nn.Module]) -> None:
        super().__init__()
        if not encoders:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(encoders)

    def mode_independent(self) -> bool:
        """Whether every member's output is the same in training and eval mode."""
        declared = [getattr(encoder, "mode_independent", None) for encoder in self.members]
        return all(callable(declare) and bool(declare()) for declare in declared)

    def forward(
        self, x: torch.Tensor | None, adj: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The members' outputs concatenated along the embedding dimension."""
        outputs = [encoder(x, adj) for encoder in self.members]
        if isinstance(outputs[0], tuple):  # variational: (mu, logstd) per member
            mus, logstds = zip(*outputs, strict=True)
            return torch.cat(mus, dim=1), torch.cat(logstds, dim=1)
        return torch.cat(outputs, dim=1)


class MeanProbabilityDecoder(nn.Module):
    """Logit of the members' mean edge probability.

    .. math::
        \\mathrm{logit}\\,\\bar p = \\log \\sum_k \\sigma(f_k) - \\log \\sum_k \\sigma(-f_k)
          = \\operatorname{logsumexp}_k \\log\\sigma(f_k)
          - \\operatorname{logsumexp}_k \\log\\sigma(-f_k)

    (the ``1/K`` cancels), computed in log space so that confident members
    do not saturate to ties.

    Args:
        decoders (sequence of Module): the members' decoders, ``(z, pairs) -> logits``.
        widths (sequence of int): each member's embedding width, in order.

    """

    def __init__(self, decoders: Sequence[nn.Module], widths: Sequence[int]) -> None:
        super().__init__()
        if len(decoders) != len(widths) or not decoders:
            raise ValueError(f"{len(decoders)} decoders for {len(widths)} embedding widths")
        self.members = nn.ModuleList(decoders)
        self.widths = [int(w) for w in widths]

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Logits of ``p̄`` for the ``[2, k]`` node pairs (shape ``[k]``)."""
        if z.shape[1] != sum(self.widths):
            raise ValueError(
                f"embeddings of width {z.shape[1]}, but the members' add up to {sum(self.widths)}"
            )
        chunks = torch.split(z, self.widths, dim=1)
        logits = torch.stack(
            [decoder(chunk, pairs) for decoder, chunk in zip(self.members, chunks, strict=True)]
        )
        return torch.logsumexp(F.logsigmoid(logits), 0) - torch.logsumexp(F.logsigmoid(-logits), 0)


def assemble_ensemble(members: Sequence[GAE], widths: Sequence[int]) -> GAE:
    """One model from trained members: ``GAE(ConcatEncoder, MeanProbabilityDecoder)``.

    The result has the members' class (a VGAE for VGAE members). Training-only
    parts (a degree decoder) are left out: the ensemble scores and embeds.

    Args:
        members (sequence of GAE): the members, all of one class.
        widths (sequence of int): each member's embedding width.

    Returns:
        GAE: the ensemble, sharing the members' modules (no copy).

    Raises:
        ValueError: no members, or members of different classes.

    """
    if not members:
        raise ValueError("an ensemble needs at least one member")
    kinds = {type(member) for member in members}
    if len(kinds) > 1:
        raise ValueError(
            f"ensemble members of different classes: {sorted(k.__name__ for k in kinds)}"
        )
    encoder = ConcatEncoder([member.encoder for member in members])
    decoder = MeanProbabilityDecoder([member.decoder for member in members], widths)
    return type(members[0])(encoder, decoder)
