import pytest
import torch

from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.nn import GAE, MODELS, VGAE, GraphConv, InnerProductDecoder, build_model


@pytest.fixture
def graph(planted):
    adj = gcn_adjacency(planted.edge_index, planted.num_nodes)
    return planted.x, adj


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_encodes_and_decodes(name, graph):
    x, adj = graph
    model = build_model(name, x.shape[1], hidden_dim=8, latent_dim=4)
    enc = model.encode(x, adj)
    assert enc.z.shape == enc.mu.shape == (x.shape[0], 4)
    assert (enc.logstd is not None) == model.variational
    logits = model.decode(enc.z, torch.tensor([[0, 1], [2, 3]]))
    assert logits.shape == (2,)
    enc.z.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_vgae_samples_in_training_and_is_deterministic_in_eval(graph):
    x, adj = graph
    torch.manual_seed(0)
    model = build_model("vgae", x.shape[1])
    a, b = model.encode(x, adj), model.encode(x, adj)
    assert not torch.equal(a.z, b.z)  # reparameterised samples
    torch.testing.assert_close(a.mu, b.mu)
    torch.testing.assert_close(model.embed(x, adj), model.embed(x, adj))
    assert model.training  # embed() restores the mode
    model.eval()
    assert torch.equal(model.encode(x, adj).z, model.encode(x, adj).mu)


def test_identity_features_equal_explicit_identity(graph):
    _, adj = graph
    n = adj.shape[0]
    layer = GraphConv(n, 8)
    torch.testing.assert_close(layer(None, adj), layer(torch.eye(n), adj))


def test_sparse_and_dense_features_agree(graph):
    _, adj = graph
    x = (torch.rand(adj.shape[0], 30) < 0.05).float()
    layer = GraphConv(30, 8)
    sparse_x = prepare_features(x)
    assert sparse_x.layout == torch.sparse_csr
    torch.testing.assert_close(layer(sparse_x, adj), layer(x, adj))


def test_dropout_only_in_training(graph):
    x, adj = graph
    layer = GraphConv(x.shape[1], 8, dropout=0.5)
    layer.eval()
    torch.testing.assert_close(layer(x, adj), layer(x, adj))
    layer.train()
    assert not torch.equal(layer(x, adj), layer(x, adj))


def test_models_compose_any_encoder_and_decoder():
    z = torch.randn(5, 3)
    model = GAE(encoder=lambda x, adj: z)
    assert torch.equal(model.encode(None, None).z, z)
    assert isinstance(model.decoder, InnerProductDecoder)
    vgae = VGAE(encoder=lambda x, adj: (z, torch.full_like(z, -30.0)))
    torch.testing.assert_close(vgae.encode(None, None).z, z)  # sigma ~ 0


def test_inner_product_decoder():
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    dec = InnerProductDecoder()
    assert dec(z, torch.tensor([[0, 1, 2], [2, 2, 1]])).tolist() == [1.0, 2.0, 2.0]


def test_variational_heads_share_one_sparse_product_without_changing_the_numbers(planted):
    from graphae.nn.encoders import VariationalGCNEncoder

    adj = gcn_adjacency(planted.edge_index, planted.num_nodes)
    x = prepare_features(planted.x)
    encoder = VariationalGCNEncoder(x.shape[1], 16, 8)
    mu, logstd = encoder(x, adj)
    h = torch.relu(encoder.conv1(x, adj))
    torch.testing.assert_close(mu, encoder.conv_mu(h, adj))
    torch.testing.assert_close(logstd, encoder.conv_logstd(h, adj))
    (mu.sum() + 2 * logstd.sum()).backward()
    fused = [p.grad.clone() for p in encoder.parameters()]
    encoder.zero_grad()
    h = torch.relu(encoder.conv1(x, adj))
    (encoder.conv_mu(h, adj).sum() + 2 * encoder.conv_logstd(h, adj).sum()).backward()
    for a, p in zip(fused, encoder.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bias_adds_a_learned_offset_per_layer(name, graph):
    x, adj = graph
    torch.manual_seed(0)
    plain = build_model(name, x.shape[1], hidden_dim=8, latent_dim=4)
    torch.manual_seed(0)
    biased = build_model(name, x.shape[1], hidden_dim=8, latent_dim=4, bias=True)
    biases = [n for n, _ in biased.named_parameters() if n.endswith("bias")]
    assert len(biases) == (3 if name == "vgae" else 2)
    assert not [n for n, _ in plain.named_parameters() if n.endswith("bias")]
    # zero-initialised: the same function until trained
    torch.testing.assert_close(biased.embed(x, adj), plain.embed(x, adj))
    with torch.no_grad():
        for name_, p in biased.named_parameters():
            if name_.endswith("bias"):
                p.fill_(0.5)
    encoder = biased.encoder
    last = encoder.conv_mu if name == "vgae" else encoder.conv2
    h = torch.relu(encoder.conv1(x, adj))
    torch.testing.assert_close(biased.embed(x, adj), last(h, adj))  # the shared-head path too
    biased.encode(x, adj).z.sum().backward()
    assert all(p.grad is not None for p in biased.parameters())


def _identity_adj(n: int) -> torch.Tensor:
    return torch.eye(n).to_sparse_csr()


def test_identity_feature_dropout_is_dropout_of_the_identity_matrix(graph):
    # dropout(I) keeps each diagonal 1 with probability 1 - p, scaled to 1 / (1 - p):
    # dropout(I) W drops whole rows of W and scales the kept ones
    _, adj = graph
    n, p = adj.shape[0], 0.4
    torch.manual_seed(0)
    layer = GraphConv(n, 8, dropout=p)
    torch.manual_seed(1)
    support = layer(None, _identity_adj(n))  # Â = I: the output is dropout(I) W
    kept = support.abs().sum(1) > 0
    mask = torch.diag(kept.float() / (1 - p))  # what F.dropout(I) with this mask gives
    torch.testing.assert_close(support, mask @ layer.weight.detach(), rtol=1e-6, atol=0)
    assert 0.45 < kept.float().mean() < 0.75  # ~60% of 200 rows kept
    torch.manual_seed(1)  # the same mask on the real graph
    torch.testing.assert_close(layer(None, adj), adj @ (mask @ layer.weight.detach()))
    layer.eval()
    torch.testing.assert_close(layer(None, adj), layer(torch.eye(n), adj))


def test_dense_feature_dropout_matches_f_dropout_with_the_same_draw(graph):
    x, adj = graph
    x = x.to_dense() if x.layout != torch.strided else x
    layer = GraphConv(x.shape[1], 8, dropout=0.3)
    torch.manual_seed(2)
    out = layer(x, adj)
    torch.manual_seed(2)
    expected = adj @ (torch.nn.functional.dropout(x, 0.3, training=True) @ layer.weight)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("features", [True, False])
def test_models_with_dropout_train_end_to_end(planted, name, features):
    from graphae import TrainConfig, train
    from graphae.tracking.memory import MemoryTracker

    settings = dict(model=name, features=features, epochs=25, quiet=True, figures=False)
    trackers = MemoryTracker(), MemoryTracker()
    train(TrainConfig(**settings), data=planted, save=False, trackers=[trackers[0]])
    dropped = train(
        TrainConfig(dropout=0.3, **settings), data=planted, save=False, trackers=[trackers[1]]
    )
    assert dropped.metrics["test"]["auc"] > 0.75
    assert not dropped.model.mode_independent()
    # the same initial weights, a different first loss: dropout was applied in training
    first = [t.history["train/loss"][0] for t in trackers]
    assert first[0][0] == first[1][0] == 1 and first[0][1] != first[1][1]
    # in eval mode the model is deterministic
    adj = gcn_adjacency(dropped.split.train_edge_index(), planted.num_nodes)
    x = prepare_features(planted.x) if features else None
    torch.testing.assert_close(dropped.model.embed(x, adj), dropped.embeddings)
