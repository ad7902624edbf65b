import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from graphae.data.files import GraphFiles, NodeIds, load_graph
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import LinkSplit
from graphae.errors import ConfigError, DataError
from graphae.inference import load_run
from graphae.nn.autoencoders import VGAE
from graphae.nn.decoders import InnerProductDecoder
from tests.inference.conftest import NUM_NODES, files, write_features


class WrappedInnerProduct(torch.nn.Module):
    """The inner product, but not recognisably: forces the generic (decode) path."""

    def forward(self, z, pairs):
        return InnerProductDecoder()(z, pairs)


def known_sets(run_dir):
    split = LinkSplit.load(run_dir / "split.npz")
    edges = torch.cat([split.train_pos, split.val_pos, split.test_pos], 1)
    neighbours = {i: set() for i in range(split.num_nodes)}
    for a, b in edges.t().tolist():
        neighbours[a].add(b)
        neighbours[b].add(a)
    return neighbours


def brute_force_top(z, u, k, skip):
    logits = z @ z.t()  # dense N x N: fine for 200 nodes
    row = logits[u].clone()
    row[sorted(skip)] = float("-inf")
    order = torch.argsort(row, descending=True, stable=True)[:k]
    return order.tolist(), torch.sigmoid(row[order].double()).numpy()


def test_load_run_has_ids_embeddings_model(gae_run):
    run = load_run(gae_run)
    assert run.node_ids.ids == NodeIds.load(gae_run / "nodes.txt").ids
    assert run.node_ids.ids[:3] == ["n0", "n1", "n10"]  # sorted strings
    saved = np.load(gae_run / "embeddings.npy")
    assert torch.equal(run.embeddings, torch.from_numpy(saved))
    ids, z = run.embed()
    assert ids == run.node_ids.ids and z is run.embeddings
    assert run.config.model == "gae" and run.num_features == 16 and not run.featureless
    assert run.feature_names == [f"f{j}" for j in range(16)]
    assert run.decode is None  # the inner product, scored as a product


def test_load_run_accepts_the_checkpoint_path(gae_run):
    assert load_run(gae_run / "checkpoint.pt").path == gae_run


@pytest.mark.parametrize("include_known", [False, True])
def test_top_k_equals_brute_force(gae_run, include_known):
    run = load_run(gae_run)
    neighbours = known_sets(gae_run)
    for node in ("n0", "n57", "n199"):
        u = run.index_of(node)
        skip = {u} if include_known else {u} | neighbours[u]
        index, scores = brute_force_top(run.embeddings, u, 15, skip)
        ranking = run.top_k(node, 15, include_known=include_known)
        assert ranking.node == node
        assert ranking.ids == [run.node_ids.ids[i] for i in index]
        np.testing.assert_allclose(ranking.scores, scores, rtol=1e-6)
        np.testing.assert_array_equal(ranking.known, [i in neighbours[u] for i in index])
        assert ranking.excluded == (0 if include_known else len(neighbours[u]))
        assert next(iter(ranking)) == (ranking.ids[0], ranking.scores[0])
    if include_known:  # high-scored partners of a well-trained GAE include known ones
        assert run.top_k("n0", 15, include_known=True).known.any()


def test_top_k_blocked_and_generic_decoder_equal_the_fast_path(gae_run):
    run = load_run(gae_run)
    fast = run.top_k("n3", 20)
    tiny_blocks = run.top_k("n3", 20, block_size=7)
    run.model.decoder = WrappedInnerProduct()
    assert run.decode is not None
    generic = run.top_k("n3", 20, block_size=13)
    for other in (tiny_blocks, generic):
        assert other.ids == fast.ids
        np.testing.assert_allclose(other.scores, fast.scores, rtol=1e-6)
    np.testing.assert_allclose(
        run.score_pairs(["n0", "n1"], ["n5", "n150"]),
        load_run(gae_run).score_pairs(["n0", "n1"], ["n5", "n150"]),
        rtol=1e-6,
    )


def test_top_k_rejects_bad_k_and_unknown_node(gae_run):
    run = load_run(gae_run)
    with pytest.raises(ConfigError, match="positive"):
        run.top_k("n0", 0)
    with pytest.raises(DataError, match=r"unknown node 'nope'.*nodes\.txt"):
        run.top_k("nope")


def test_score_pairs_is_sigmoid_of_inner_product(gae_run):
    run = load_run(gae_run)
    sources, targets = ["n0", "n10", "n199", "n3"], ["n1", "n0", "n4", "n3"]
    z = run.embeddings.double()
    expected = [
        torch.sigmoid(z[run.index_of(s)] @ z[run.index_of(t)]).item()
        for s, t in zip(sources, targets, strict=True)
    ]
    np.testing.assert_allclose(run.score_pairs(sources, targets), expected, rtol=1e-6)
    with pytest.raises(DataError, match="'zz'"):
        run.score_pairs(["n0"], ["zz"])


def test_vgae_embeddings_are_mu_of_the_training_graph(vgae_run, graph_dir):
    run = load_run(vgae_run)
    assert isinstance(run.model, VGAE)
    split = LinkSplit.load(vgae_run / "split.npz")
    x = load_graph(files(graph_dir)).x
    adj = gcn_adjacency(split.train_edge_index(), NUM_NODES)
    mu = run.model.embed(prepare_features(x), adj)
    torch.testing.assert_close(run.embeddings, mu)


def test_inductive_same_files_equal_the_encoder_on_the_full_graph(gae_run, graph_dir):
    run = load_run(gae_run)
    data = load_graph(
        run.graph_files(str(graph_dir / "edges.csv"), str(graph_dir / "features.csv"))
    )
    ids, z = run.embed(data)
    assert ids == run.node_ids.ids
    expected = run.model.embed(prepare_features(data.x), gcn_adjacency(data.edge_index, NUM_NODES))
    torch.testing.assert_close(z, expected)
    # edges seen by the encoder differ from training's (all edges, not train only)
    assert not torch.allclose(z, run.embeddings)


def test_inductive_uses_the_new_graphs_edge_weights(gae_run, graph_dir, tmp_path):
    run = load_run(gae_run)
    lines = (graph_dir / "edges.csv").read_text().splitlines()
    weights = np.random.default_rng(1).uniform(0.1, 5.0, len(lines) - 1)
    weighted = [
        "source,target,weight",
        *(f"{e},{w:.3f}" for e, w in zip(lines[1:], weights, strict=True)),
    ]
    (tmp_path / "weighted.csv").write_text("\n".join(weighted) + "\n")
    files_ = run.graph_files(str(tmp_path / "weighted.csv"), str(graph_dir / "features.csv"),
                             weight_col="weight")  # fmt: skip
    data = load_graph(files_)
    assert data.edge_weight is not None
    adj = gcn_adjacency(data.edge_index, NUM_NODES, edge_weight=data.edge_weight)
    expected = run.model.embed(prepare_features(data.x), adj)
    torch.testing.assert_close(run.embed(data).z, expected)
    unweighted = run.embed(load_graph(files(graph_dir))).z
    assert not torch.allclose(expected, unweighted)


def test_inductive_reorders_feature_columns_by_name(gae_run, graph_dir):
    run = load_run(gae_run)
    plain = run.embed(load_graph(files(graph_dir)))
    shuffled = load_graph(files(graph_dir, "features_shuffled.csv"))
    assert shuffled.feature_names != run.feature_names
    got = run.embed(shuffled)
    assert got.ids == plain.ids
    torch.testing.assert_close(got.z, plain.z)


def test_inductive_reorders_sparse_features_too(gae_run, graph_dir, tmp_path):
    run = load_run(gae_run)
    plain = run.embed(load_graph(files(graph_dir)))
    data = load_graph(files(graph_dir, "features_shuffled.csv"))
    data.x = prepare_features(data.x).to_dense().to_sparse_csr()
    torch.testing.assert_close(run.embed(data).z, plain.z)


@pytest.mark.parametrize(
    ("names", "width", "message"),
    [
        (None, 12, "12 columns but the model was trained on 16"),
        ("renamed", 16, r"missing 'f0'; unexpected 'g0'"),
        ("fewer", 15, r"missing 'f15'"),
    ],
)
def test_inductive_rejects_other_features(gae_run, graph_dir, tmp_path, names, width, message):
    run = load_run(gae_run)
    x = np.random.default_rng(0).normal(size=(NUM_NODES, width))
    header = None
    if names == "renamed":
        header = ["g0", *(f"f{j}" for j in range(1, 16))]
    elif names == "fewer":
        header = [f"f{j}" for j in range(15)]
    write_features(tmp_path / "f.csv", x, header)
    data = load_graph(
        GraphFiles(edges=str(graph_dir / "edges.csv"), features=str(tmp_path / "f.csv"))
    )
    with pytest.raises(DataError, match=message):
        run.embed(data)


def test_inductive_needs_features(gae_run, graph_dir):
    data = load_graph(files(graph_dir, None))
    with pytest.raises(DataError, match=r"16 features per node.*--features"):
        load_run(gae_run).embed(data)


def test_featureless_run_refuses_inductive_embedding(featureless_run, graph_dir):
    run = load_run(featureless_run)
    assert run.featureless
    with pytest.raises(ConfigError, match=r"own learned weight row.*retrain with a feature file"):
        run.embed(load_graph(files(graph_dir)))
    ids, z = run.embed()  # its own graph's embeddings are fine
    assert len(ids) == NUM_NODES == z.shape[0]


def test_graph_files_default_to_the_runs_reading_settings(gae_run):
    run = load_run(gae_run)
    run.info["config"].update({"delimiter": ";", "header": True, "weight_col": "w"})
    files_ = run.graph_files("e.csv", "f.csv", header=False)
    assert (files_.delimiter, files_.header, files_.weight_col) == (";", False, "w")
    assert run.graph_files("e.csv", weight_col="none").weight_col is None


def test_run_without_nodes_file_has_integer_ids(gae_run, tmp_path):
    copy = shutil.copytree(gae_run, tmp_path / "run")
    (copy / "nodes.txt").unlink()
    run = load_run(copy)
    assert run.node_ids.ids[:3] == ["0", "1", "2"]
    assert len(run.top_k("7", 3)) == 3
    with pytest.raises(DataError, match=r"ids are 0\.\.199"):
        run.top_k("n7")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "no such run folder"),
        ("metrics", r"not a finished run \(no metrics\.json\)"),
        ("checkpoint", r"no checkpoint\.pt"),
        ("nodes", r"199 ids for the 200 rows"),
        ("truncated", "not a readable checkpoint"),
    ],
)
def test_broken_runs_are_data_errors(gae_run, tmp_path, damage, message):
    copy = shutil.copytree(gae_run, tmp_path / "run")
    if damage == "missing":
        copy = tmp_path / "nothing"
    elif damage == "metrics":
        (copy / "metrics.json").unlink()
    elif damage == "checkpoint":
        (copy / "checkpoint.pt").unlink()
    elif damage == "nodes":
        lines = (copy / "nodes.txt").read_text().splitlines()[1:]
        (copy / "nodes.txt").write_text("\n".join(lines) + "\n")
    else:
        data = (copy / "checkpoint.pt").read_bytes()
        (copy / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=message):
        load_run(copy)


class RunsCode:
    """Unpickling this calls ``os.system``: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_checkpoint_with_code_is_refused_unrun(gae_run, tmp_path, writer):
    copy = shutil.copytree(gae_run, tmp_path / "run")
    marker = tmp_path / "marker"
    state = {"state_dict": RunsCode(marker), "config": {}, "in_dim": 16}
    if writer == "torch.save":
        torch.save(state, copy / "checkpoint.pt")
    else:
        with open(copy / "checkpoint.pt", "wb") as f:
            pickle.dump(state, f)
    with pytest.raises(DataError, match=r"refused to load.*only open checkpoints you trust"):
        load_run(copy)
    assert not marker.exists()


@pytest.mark.gpu
def test_cuda_gives_the_cpu_results(gae_run, graph_dir):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cpu, gpu = load_run(gae_run), load_run(gae_run, device="cuda")
    assert gpu.top_k("n0", 10).ids == cpu.top_k("n0", 10).ids
    np.testing.assert_allclose(gpu.score_pairs(["n0"], ["n1"]), cpu.score_pairs(["n0"], ["n1"]))
    data = load_graph(files(graph_dir))
    torch.testing.assert_close(gpu.embed(data).z.cpu(), cpu.embed(data).z, rtol=1e-4, atol=1e-5)
