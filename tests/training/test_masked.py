"""The masked objective, the trainer's encode hook, and masked models end to end."""

import pytest
import torch

from graphae import TrainConfig, train
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import split_edges
from graphae.evaluation.link_prediction import LinkScorer
from graphae.nn.factory import ModelParts, build_model
from graphae.training.masked import MaskedObjective
from graphae.training.masking import DirectedEdgeMask, EdgeMask, PathMask
from graphae.training.rng import MASKS, epoch_generator
from graphae.training.trainer import fit

from ..conftest import cli


@pytest.fixture
def setting(planted):
    n = planted.num_nodes
    split = split_edges(planted.edge_index, n, seed=0)
    edges = split.train_edge_index()
    return split, edges, gcn_adjacency(edges, n), prepare_features(planted.x)


def _keys(edge_index: torch.Tensor, n: int) -> set[int]:
    return set((edge_index[0] * n + edge_index[1]).tolist())


class _Spy:
    """A model stand-in that records the graph it is asked to encode."""

    def __init__(self, model):
        self.model, self.graphs = model, []

    def encode(self, x, adj):
        self.graphs.append(adj)
        return self.model.encode(x, adj)


@pytest.mark.parametrize("mask", [EdgeMask(0.6), PathMask(0.4, 2), DirectedEdgeMask(0.7)])
def test_the_encoder_sees_the_graph_without_exactly_the_hidden_edges(setting, planted, mask):
    _, edges, adj, x = setting
    n = planted.num_nodes
    model = build_model("gae", x.shape[1], 8, 4)
    objective = MaskedObjective.for_model(model, edges, n, mask, seed=3)
    spy = _Spy(model)
    objective.encode(spy, x, adj, epoch=2)
    seen = spy.graphs[0].to_sparse_coo().coalesce().indices()
    seen = seen[:, seen[0] != seen[1]]  # without the self-loops
    draw = objective.draw(2)
    hidden = objective.graph.edges[:, draw.hidden]
    hidden = torch.cat([hidden, hidden.flip(0)], dim=1)
    assert _keys(seen, n) | _keys(hidden, n) == _keys(edges, n)
    assert not _keys(seen, n) & _keys(hidden, n)
    if mask.kind != "directed":  # the targets are exactly the hidden edges
        assert torch.equal(draw.targets, objective.graph.edges[:, draw.hidden])


def test_without_a_mask_every_training_edge_is_a_target_and_adj_is_kept(setting, planted):
    _, edges, adj, x = setting
    model = build_model("gae", x.shape[1], 8, 4)
    objective = MaskedObjective.for_model(model, edges, planted.num_nodes)
    spy = _Spy(model)
    objective.encode(spy, x, adj, epoch=1)
    assert spy.graphs[0] is adj
    assert objective.draw(1).targets.shape[1] * 2 == edges.shape[1]


def test_negatives_are_seeded_non_edges(setting, planted):
    _, edges, _, _ = setting
    n = planted.num_nodes
    objective = MaskedObjective(edges, n, lambda z, p: z[p[0]].sum(1), seed=5)
    neg = objective.negatives(4000, epoch=3)
    assert 3600 < neg.shape[1] <= 4000
    assert (neg[0] != neg[1]).all() and not _keys(neg, n) & _keys(edges, n)
    assert torch.equal(neg, MaskedObjective(edges, n, None, seed=5).negatives(4000, 3))
    assert not torch.equal(neg[:, :100], objective.negatives(4000, 4)[:, :100])


def test_loss_parts_are_masked_bce_plus_weighted_degree_loss(setting, planted):
    _, edges, adj, x = setting
    n = planted.num_nodes
    parts = ModelParts(decoder="mlp", degree_decoder=True)
    model = build_model("vgae", x.shape[1], 8, 4, parts=parts)
    objective = MaskedObjective.for_model(model, edges, n, EdgeMask(0.5), 0.01, seed=1)
    encoding = objective.encode(model, x, adj, epoch=1)
    got = objective(encoding, 1)
    targets = objective.graph.edges[:, objective.draw(1).hidden]
    negatives = objective.negatives(targets.shape[1], 1)
    pos, neg = model.decode(encoding.z, targets), model.decode(encoding.z, negatives)
    recon = torch.nn.functional.softplus(-pos).mean() + torch.nn.functional.softplus(neg).mean()
    degree = torch.bincount(targets.flatten(), minlength=n).float()
    degree_loss = torch.nn.functional.mse_loss(model.degree_decoder(encoding.z), degree)
    torch.testing.assert_close(got["recon"], recon)
    torch.testing.assert_close(got["degree"], degree_loss)
    torch.testing.assert_close(got["loss"], recon + got["kl"] + 0.01 * degree_loss)
    got["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())


def test_directed_masks_weigh_each_target_by_its_masked_directions(setting, planted):
    # MaskGAE's loss: one BCE term per masked direction, as many negatives as directions
    _, edges, adj, x = setting
    n = planted.num_nodes
    model = build_model("gae", x.shape[1], 8, 4, parts=ModelParts(degree_decoder=True))
    mask = DirectedEdgeMask(0.7)
    objective = MaskedObjective.for_model(model, edges, n, mask, 0.5, seed=2)
    encoding = objective.encode(model, x, adj, epoch=4)
    got = objective(encoding, 4)
    forward, backward = mask.directions(objective.graph, epoch_generator(2, 4, MASKS))
    u, v = objective.graph.edges
    directions = torch.cat([torch.stack([u, v])[:, forward], torch.stack([v, u])[:, backward]], 1)
    negatives = objective.negatives(directions.shape[1], 4)
    z = encoding.z
    softplus = torch.nn.functional.softplus
    recon = (
        softplus(-model.decode(z, directions)).mean() + softplus(model.decode(z, negatives)).mean()
    )
    degree = torch.bincount(directions[1], minlength=n).float()  # MaskGAE: degree(masked[1])
    degree_loss = torch.nn.functional.mse_loss(model.degree_decoder(z), degree)
    torch.testing.assert_close(got["recon"], recon)
    torch.testing.assert_close(got["degree"], degree_loss)


def test_fit_encodes_through_the_objective_and_validates_the_full_graph_in_eval_mode(setting):
    split, edges, adj, x = setting
    torch.manual_seed(0)
    parts = ModelParts(decoder="mlp", decoder_dropout=0.5)
    model = build_model("gae", x.shape[1], 8, 4, parts=parts)  # a mode-independent encoder
    assert model.mode_independent()
    objective = MaskedObjective.for_model(model, edges, adj.shape[0], EdgeMask(0.5), seed=0)
    epochs, embedded = [], []
    encode = objective.encode
    objective.encode = lambda m, x_, a, epoch: epochs.append(epoch) or encode(m, x_, a, epoch)
    embed = model.embed
    model.embed = lambda x_, a: embedded.append(a) or embed(x_, a)
    result = fit(model, x, adj, objective, split.pairs("val"), epochs=4, lr=0.01)
    assert epochs == [1, 2, 3, 4]
    # no validation reused a training pass on a masked graph: each epoch embedded adj
    assert len(embedded) == 4 and all(a is adj for a in embedded)
    model.eval()
    last = LinkScorer(*split.pairs("val"))(model.decode, embed(x, adj))
    assert result.last_val == last  # scored without the decoder's dropout


def test_fit_applies_weight_decay_and_clips_gradients(setting):
    split, edges, adj, x = setting
    runs = []
    for decay, clip in ((0.0, 0.0), (0.5, 0.0), (0.0, 1e-4)):
        torch.manual_seed(0)
        model = build_model("gae", x.shape[1], 8, 4, parts=ModelParts(decoder="mlp"))
        objective = MaskedObjective.for_model(model, edges, adj.shape[0], EdgeMask(0.5))
        fit(model, x, adj, objective, split.pairs("val"), epochs=3, lr=0.01,
            weight_decay=decay, grad_clip=clip)  # fmt: skip
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert not torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_maskgae_beats_chance_by_far_on_the_planted_graph(planted):
    result = train(
        TrainConfig(model="maskgae", epochs=60, quiet=True, figures=False), data=planted, save=False
    )
    assert result.objective == "masked"
    assert result.metrics["test"]["auc"] > 0.8  # chance: 0.5; GAE: 0.86 on this graph
    again = train(
        TrainConfig(model="maskgae", epochs=60, quiet=True, figures=False), data=planted, save=False
    )
    assert again.metrics["test"] == result.metrics["test"]  # the same seed, the same numbers


@pytest.mark.parametrize(
    "settings",
    [
        dict(model="gae", decoder="mlp"),
        dict(model="vgae", mask="edge", mask_ratio=0.5),
        dict(model="gae", encoder="linear", mask="path", mask_ratio=0.3),
    ],
)
def test_parts_compose_into_trainable_models(planted, settings):
    config = TrainConfig(epochs=40, quiet=True, figures=False, lr=0.02, **settings)
    result = train(config, data=planted, save=False)
    assert result.objective == "masked"
    assert result.metrics["test"]["auc"] > 0.8


def test_a_maskgae_run_reloads_for_embed_and_predict(planted_files, tmp_path, capsys):
    from graphae.inference import load_run

    runs = tmp_path / "runs"
    code, out, err = cli(
        capsys, "train", "--model", "maskgae", "--edges", planted_files["edges"], "--features",
        planted_files["features"], "--epochs", "20", "--runs-dir", runs, "--quiet",
        "--no-figures", "--threads", "1",
    )  # fmt: skip
    assert code == 0, err
    run = load_run(next(runs.iterdir()))
    assert type(run.model.decoder).__name__ == "MLPDecoder" and hasattr(run.model, "degree_decoder")
    assert not run.model.training
    assert run.decode is not None  # scored by the model's decoder, not an inner product
    pairs = torch.tensor([[0, 1, 2], [5, 60, 199]])
    expected = torch.sigmoid(run.model.decode(run.embeddings, pairs).double()).detach().numpy()
    torch.testing.assert_close(torch.from_numpy(run.pair_scores(pairs)), torch.from_numpy(expected))
    ids, z = run.embed()
    torch.testing.assert_close(z, run.embeddings)
    code, out, err = cli(capsys, "predict", run.path, "--node", ids[0], "--top", "3")
    assert code == 0, err
    ranking = run.top_k(ids[0], k=3)
    assert all(node in out for node in ranking.ids)
