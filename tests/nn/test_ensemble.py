"""Deep ensembles as one model: concatenated embeddings, averaged edge probabilities."""

from __future__ import annotations

import pytest
import torch

from graphae import TrainConfig
from graphae.data.graph import gcn_adjacency
from graphae.nn import (
    GAE,
    VGAE,
    ConcatEncoder,
    MeanProbabilityDecoder,
    assemble_ensemble,
    build_model,
)
from graphae.nn.factory import ModelParts, build_from_config

N, F, D = 12, 5, 4


def _graph():
    torch.manual_seed(0)
    x = torch.randn(N, F)
    index = torch.arange(N)
    ring = torch.stack([index, (index + 1) % N])
    adj = gcn_adjacency(torch.cat([ring, ring.flip(0)], dim=1), N)
    pairs = torch.randint(0, N, (2, 30))
    return x, adj, pairs


def _members(
    name: str, count: int, parts: ModelParts | None = None, dropout: float = 0.0
) -> list[GAE]:
    members = []
    for seed in range(count):
        torch.manual_seed(seed)
        members.append(build_model(name, F, 8, D, dropout=dropout, parts=parts))
    return members


@pytest.mark.parametrize("decoder", ["inner", "mlp"])
def test_the_ensemble_scores_the_logit_of_the_mean_probability(decoder):
    x, adj, pairs = _graph()
    members = _members("gae", 3, ModelParts(decoder=decoder))
    ensemble = assemble_ensemble(members, [D] * 3).eval()
    z = ensemble.embed(x, adj)
    assert z.shape == (N, 3 * D)
    for k, member in enumerate(members):  # the embedding is the members' side by side
        member.eval()
        assert torch.equal(z[:, k * D : (k + 1) * D], member.embed(x, adj))
    mean = torch.stack([torch.sigmoid(m.decode(m.embed(x, adj), pairs)) for m in members]).mean(0)
    logits = ensemble.decode(z, pairs)
    assert torch.allclose(torch.sigmoid(logits), mean, atol=1e-6)
    assert torch.allclose(logits, torch.logit(mean.double()).float(), atol=1e-4)


def test_one_member_is_the_member_itself():
    x, adj, pairs = _graph()
    (member,) = _members("gae", 1)
    ensemble = assemble_ensemble([member], [D]).eval()
    member.eval()
    z = member.embed(x, adj)
    assert torch.equal(ensemble.embed(x, adj), z)
    assert torch.allclose(ensemble.decode(z, pairs), member.decode(z, pairs), atol=1e-5)


class _Scaled(torch.nn.Module):
    """Logit ``100 z_u`` of a 1-d embedding: a very confident decoder."""

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        return 100 * z[pairs[0], 0]


def test_confident_members_do_not_saturate_into_ties():
    decoder = MeanProbabilityDecoder([_Scaled(), _Scaled()], [1, 1])
    z = torch.tensor([[1.0, 1.0], [1.2, 1.2]])
    logits = decoder(z, torch.tensor([[0, 1], [0, 1]]))
    assert torch.isfinite(logits).all()
    assert logits[1] > logits[0]  # σ(100) and σ(120) are both 1.0 in float32


def test_variational_members_give_a_vgae_ensemble():
    x, adj, _ = _graph()
    members = _members("vgae", 2)
    ensemble = assemble_ensemble(members, [D, D])
    assert isinstance(ensemble, VGAE)
    ensemble.train()
    encoding = ensemble.encode(x, adj)
    assert encoding.mu.shape == encoding.logstd.shape == (N, 2 * D)
    assert encoding.kl is not None


def test_mode_independence_holds_when_every_member_declares_it():
    assert ConcatEncoder([m.encoder for m in _members("gae", 2)]).mode_independent()
    dropout = _members("gae", 1, dropout=0.5)
    assert not ConcatEncoder([m.encoder for m in _members("gae", 1) + dropout]).mode_independent()


def test_invalid_ensembles_are_refused():
    with pytest.raises(ValueError, match="different classes"):
        assemble_ensemble([*_members("gae", 1), *_members("vgae", 1)], [D, D])
    with pytest.raises(ValueError, match="at least one"):
        assemble_ensemble([], [])
    with pytest.raises(ValueError, match="2 decoders for 1"):
        MeanProbabilityDecoder([m.decoder for m in _members("gae", 2)], [D])
    decoder = MeanProbabilityDecoder([m.decoder for m in _members("gae", 2)], [D, D])
    with pytest.raises(ValueError, match="width 5"):
        decoder(torch.randn(N, 5), torch.zeros(2, 1, dtype=torch.long))


def test_a_config_with_an_ensemble_builds_the_saved_structure():
    config = TrainConfig(model="maskgae", ensemble=3)
    model = build_from_config(config, F)
    assert isinstance(model.encoder, ConcatEncoder) and len(model.encoder.members) == 3
    assert not hasattr(model, "degree_decoder")  # training-only: not part of the ensemble
    single = build_from_config(TrainConfig(model="maskgae"), F)
    assert sum(p.numel() for p in model.parameters()) == 3 * sum(
        p.numel() for n, p in single.named_parameters() if not n.startswith("degree_decoder")
    )
