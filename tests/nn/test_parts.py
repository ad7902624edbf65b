"""Encoders, decoders and the factory that composes them (MaskGAE's parts, the linear GAE)."""

import pytest
import torch

from graphae.config import TrainConfig
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.nn import GAE, VGAE
from graphae.nn.decoders import DegreeDecoder, InnerProductDecoder, MLPDecoder
from graphae.nn.encoders import (
    GCNEncoder,
    GCNStackEncoder,
    LinearEncoder,
    VariationalGCNEncoder,
    VariationalGCNStackEncoder,
    VariationalLinearEncoder,
    dropout_product,
    propagate,
)
from graphae.nn.factory import DECODERS, ENCODERS, ModelParts, build_from_config, build_model


@pytest.fixture
def graph(planted):
    """Sparse CSR (binarised) features and ``Â`` of the planted graph."""
    adj = gcn_adjacency(planted.edge_index, planted.num_nodes)
    x = prepare_features((planted.x > 1.5).float())
    assert x.layout == torch.sparse_csr
    return x, adj


def _dense(a: torch.Tensor) -> torch.Tensor:
    return a.to_dense() if a.layout != torch.strided else a


STACKS = [
    dict(layers=1),
    dict(layers=2, norm="layer", activation="relu"),
    dict(layers=3, norm="none", residual=True, activate_output=False),
    dict(layers=2, propagate_before=2, propagate_after=1, bias=False),
]


@pytest.mark.parametrize("settings", STACKS)
@pytest.mark.parametrize("features", ["sparse", "dense", "identity"])
def test_stack_encoders_give_embeddings_and_train_every_parameter(graph, settings, features):
    x, adj = graph
    x = {"sparse": x, "dense": _dense(x), "identity": None}[features]
    in_dim = adj.shape[0] if x is None else x.shape[1]
    for cls in (GCNStackEncoder, VariationalGCNStackEncoder):
        encoder = cls(in_dim, 16, 8, dropout=0.3, **settings)
        out = encoder(x, adj)
        heads = out if isinstance(out, tuple) else (out,)
        assert all(h.shape == (adj.shape[0], 8) for h in heads)
        sum(h.sum() for h in heads).backward()
        assert all(p.grad is not None for p in encoder.parameters())
        assert not encoder.mode_independent()  # dropout


def test_stack_with_the_2016_settings_is_the_2016_gcn(graph):
    x, adj = graph
    torch.manual_seed(0)
    old = GCNEncoder(x.shape[1], 16, 8)
    new = GCNStackEncoder(
        x.shape[1], 16, 8, layers=2, norm="none", activation="relu", activate_output=False
    )
    new.biases = torch.nn.ParameterList()  # a bias-free stack
    with torch.no_grad():
        new.convs[0].weight.copy_(old.conv1.weight)
        new.convs[1].weight.copy_(old.conv2.weight)
    torch.testing.assert_close(new(x, adj), old(x, adj))
    assert new.mode_independent()


def test_stack_layer_formula_with_batch_norm_elu_and_propagation(graph):
    x, adj = graph
    encoder = GCNStackEncoder(x.shape[1], 16, 8, layers=1, propagate_before=1, propagate_after=2)
    encoder.eval()  # batch norm with its running statistics (0 mean, unit variance)
    with torch.no_grad():
        encoder.biases[0].fill_(0.1)
    a, w = _dense(adj), encoder.convs[0].weight
    pre = a @ a @ (_dense(x) @ w) + 0.1
    expected = a @ a @ torch.nn.functional.elu(pre / (1 + 1e-5) ** 0.5)
    torch.testing.assert_close(encoder(x, adj), expected, rtol=1e-4, atol=1e-5)


def test_residual_adds_the_input_of_equal_width_layers(graph):
    x, adj = graph
    common = dict(layers=2, norm="none", activation="relu", activate_output=True)
    plain = GCNStackEncoder(x.shape[1], 8, 8, **common)
    residual = GCNStackEncoder(x.shape[1], 8, 8, residual=True, **common)
    residual.load_state_dict(plain.state_dict())
    h = plain.layer(0, x, adj)  # 1433 -> 8: no residual on the first layer
    torch.testing.assert_close(residual.layer(0, x, adj), h)
    torch.testing.assert_close(residual(x, adj), plain.layer(1, h, adj) + h)


def test_sparse_dropout_product_is_dropout_of_the_stored_values(graph):
    x, _ = graph
    weight = torch.randn(x.shape[1], 4, requires_grad=True)
    torch.manual_seed(3)
    out = dropout_product(x, weight, 0.6, training=True)
    torch.manual_seed(3)  # the same draw, applied to a dense copy
    keep = torch.rand(x.values().shape) >= 0.6
    dropped = torch.sparse_csr_tensor(
        x.crow_indices(), x.col_indices(), x.values() * keep / 0.4, x.shape
    ).to_dense()
    torch.testing.assert_close(out, dropped @ weight.detach())
    grad = torch.randn_like(out)
    out.backward(grad)
    torch.testing.assert_close(weight.grad, dropped.t() @ grad)
    assert 0.3 < keep.float().mean() < 0.5
    torch.testing.assert_close(dropout_product(x, weight, 0.6, False), _dense(x) @ weight)


def test_linear_encoders_are_one_propagation_of_the_features(graph):
    x, adj = graph
    encoder = LinearEncoder(x.shape[1], latent_dim=4)
    expected = _dense(adj) @ _dense(x) @ encoder.conv.weight
    torch.testing.assert_close(encoder(x, adj), expected)
    variational = VariationalLinearEncoder(x.shape[1], latent_dim=4)
    mu, logstd = variational(x, adj)
    torch.testing.assert_close(mu, _dense(adj) @ _dense(x) @ variational.conv_mu.weight)
    torch.testing.assert_close(logstd, _dense(adj) @ _dense(x) @ variational.conv_logstd.weight)
    assert encoder.mode_independent() and variational.mode_independent()


def test_propagate_is_a_power_of_the_adjacency(graph):
    _, adj = graph
    h = torch.randn(adj.shape[0], 3)
    torch.testing.assert_close(propagate(adj, h, 3), _dense(adj) @ _dense(adj) @ _dense(adj) @ h)
    assert propagate(adj, h, 0) is h


def test_mlp_decoder_is_symmetric_and_deterministic_in_eval():
    torch.manual_seed(0)
    z = torch.randn(10, 6)
    pairs = torch.tensor([[0, 1, 2, 9], [5, 3, 2, 0]])
    decoder = MLPDecoder(6, hidden_dim=8, layers=3, dropout=0.5).eval()
    logits = decoder(z, pairs)
    assert logits.shape == (4,)
    torch.testing.assert_close(decoder(z, pairs.flip(0)), logits)
    torch.testing.assert_close(decoder(z, pairs), logits)
    decoder.train()
    assert not torch.equal(decoder(z, pairs), decoder(z, pairs))  # dropout in training only


def test_degree_decoder_learns_degrees(graph):
    _, adj = graph
    torch.manual_seed(0)
    n = adj.shape[0]
    degree = adj.crow_indices().diff().float() - 1  # minus the self-loop
    z = torch.randn(n, 4) + degree.unsqueeze(1) / 10  # embeddings that carry the degree
    decoder = DegreeDecoder(4, 16)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=0.01)
    losses = []
    for _ in range(300):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(decoder(z), degree)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert (decoder(z) >= 0).all()
    assert losses[-1] < 0.2 * losses[0]


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
@pytest.mark.parametrize("decoder", sorted(DECODERS))
@pytest.mark.parametrize("name", ["gae", "vgae", "maskgae"])
def test_every_encoder_and_decoder_compose(graph, name, encoder, decoder):
    x, adj = graph
    parts = ModelParts(encoder, layers=1, norm="batch", decoder=decoder, degree_decoder=True)
    model = build_model(name, x.shape[1], 8, 4, 0.2, True, parts)
    assert isinstance(model, VGAE if name == "vgae" else GAE)
    assert isinstance(model.decoder, DECODERS[decoder])
    assert isinstance(model.encoder, ENCODERS[encoder][name == "vgae"])
    enc = model.encode(x, adj)
    assert enc.z.shape == (adj.shape[0], 4)
    logits = model.decode(enc.z, torch.tensor([[0, 1], [2, 3]]))
    assert logits.shape == (2,)
    (logits.sum() + model.degree_decoder(enc.z).sum() + enc.z.sum()).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_the_2016_parts_build_the_fused_2016_encoders():
    assert ModelParts().kipf2016_encoder
    assert ModelParts(decoder="mlp", degree_decoder=True).kipf2016_encoder
    assert not ModelParts(norm="batch").kipf2016_encoder
    assert type(build_model("gae", 10).encoder) is GCNEncoder
    assert type(build_model("vgae", 10).encoder) is VariationalGCNEncoder
    assert isinstance(build_model("gae", 10).decoder, InnerProductDecoder)
    assert not hasattr(build_model("gae", 10), "degree_decoder")


def test_a_maskgae_config_builds_maskgaes_model():
    config = TrainConfig(model="maskgae")
    model = build_from_config(config, 30)
    encoder = model.encoder
    assert isinstance(encoder, GCNStackEncoder) and len(encoder.convs) == 1
    assert isinstance(encoder.norms[0], torch.nn.BatchNorm1d)
    assert isinstance(encoder.activation, torch.nn.ELU)
    assert encoder.dropout == 0.8 and len(encoder.biases) == 1
    assert encoder.convs[0].weight.shape == (30, 128)
    assert isinstance(model.decoder, MLPDecoder) and isinstance(model.degree_decoder, DegreeDecoder)
    plain = build_from_config(TrainConfig(model="gae", decoder="mlp"), 30)
    assert type(plain.encoder) is GCNEncoder and isinstance(plain.decoder, MLPDecoder)


def test_sparse_feature_index_is_cached_without_keeping_the_features_alive(graph):
    import gc
    import weakref

    from graphae.nn.encoders import sparse_features

    x = graph[0].to_sparse_coo().to_sparse_csr()  # a fresh matrix
    assert sparse_features(x) is sparse_features(x)  # indexed once
    alive = weakref.ref(x)
    del x
    gc.collect()
    assert alive() is None
