import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import laplacian

from graphae.baselines import (
    BASELINES,
    deepwalk_embedding,
    random_walks,
    spectral,
    spectral_embedding,
)
from graphae.data import load_planetoid, split_edges
from graphae.evaluation.metrics import roc_auc

# two triangles (0-1-2, 3-4-5) joined by 2-3, a separate edge 6-7, isolated node 8
SMALL = torch.tensor([[0, 1, 0, 2, 3, 4, 3, 2, 6], [1, 2, 2, 3, 4, 5, 5, 0, 7]])
SMALL_N = 9


def edge_set(edge_index):
    return {(int(a), int(b)) for a, b in edge_index.t()} | {
        (int(b), int(a)) for a, b in edge_index.t()
    }


def test_registry():
    assert {"sc": spectral_embedding, "dw": deepwalk_embedding} == BASELINES


# ---------------------------------------------------------------- random walks


def test_walks_shape_dtype_and_starts():
    walks = random_walks(SMALL, SMALL_N, walks_per_node=3, walk_length=7, seed=0)
    assert walks.shape == (SMALL_N * 3, 7) and walks.dtype == np.int64
    for p in range(3):  # each pass starts one walk at every node
        assert sorted(walks[p * SMALL_N : (p + 1) * SMALL_N, 0]) == list(range(SMALL_N))


def test_every_step_follows_an_edge_or_stays_at_an_isolated_node(planted):
    edge_index = planted.edge_index
    n = planted.num_nodes + 2  # two extra isolated nodes
    edges = edge_set(edge_index)
    walks = random_walks(edge_index, n, walks_per_node=2, walk_length=20, seed=1)
    isolated = set(range(n)) - {a for a, _ in edges}
    assert {n - 2, n - 1} <= isolated
    for walk in walks:
        for a, b in itertools.pairwise(walk):
            assert (int(a), int(b)) in edges or (a == b and a in isolated)
    for walk in walks:
        if walk[0] in isolated:
            assert (walk == walk[0]).all()


def test_walks_are_seeded():
    a = random_walks(SMALL, SMALL_N, 4, 10, seed=3)
    np.testing.assert_array_equal(a, random_walks(SMALL, SMALL_N, 4, 10, seed=3))
    assert not np.array_equal(a, random_walks(SMALL, SMALL_N, 4, 10, seed=4))


def test_steps_are_uniform_over_neighbours():
    star = torch.stack([torch.zeros(5, dtype=torch.long), torch.arange(1, 6)])
    walks = random_walks(star, 6, walks_per_node=4000, walk_length=2, seed=0)
    counts = np.bincount(walks[walks[:, 0] == 0, 1], minlength=6)
    assert counts[0] == 0
    assert np.all(np.abs(counts[1:] / 4000 - 0.2) < 0.03)  # 4000 draws: sd ≈ 0.006


def test_walks_reject_bad_sizes():
    with pytest.raises(ValueError):
        random_walks(SMALL, SMALL_N, 0, 10, seed=0)


# ---------------------------------------------------------------- embeddings


def held_out_auc(z, split):
    pos, neg = split.test_pos, split.test_neg
    return roc_auc((z[pos[0]] * z[pos[1]]).sum(-1), (z[neg[0]] * z[neg[1]]).sum(-1))


@pytest.fixture(scope="module")
def planted_split(planted):
    return split_edges(planted.edge_index, planted.num_nodes, seed=0)


@pytest.mark.parametrize(
    ("embed", "dim"),
    [
        # 4 blocks: 3 non-trivial eigenvectors carry the partition (classic spectral clustering)
        (lambda ei, n, d: spectral_embedding(ei, n, dim=d), 3),
        (lambda ei, n, d: deepwalk_embedding(ei, n, dim=d, workers=1), 16),
    ],
    ids=["sc", "dw"],
)
def test_embeddings_predict_held_out_links(embed, dim, planted, planted_split):
    z = embed(planted_split.train_edge_index(), planted.num_nodes, dim)
    assert z.shape == (planted.num_nodes, dim) and z.dtype == torch.float32
    assert torch.isfinite(z).all()
    # measured on splits 0-2: SC 0.84-0.87, DW 0.84-0.87 (seeds 0-3); chance is 0.5
    assert held_out_auc(z, planted_split) > 0.75


@pytest.mark.parametrize("embed", [spectral_embedding, deepwalk_embedding], ids=["sc", "dw"])
def test_default_width_is_128(embed, planted, planted_split):
    z = embed(planted_split.train_edge_index(), planted.num_nodes)
    assert z.shape == (planted.num_nodes, 128) and torch.isfinite(z).all()


def test_spectral_is_deterministic_and_nearly_seed_free(planted_split, planted):
    ei, n = planted_split.train_edge_index(), planted.num_nodes
    z = spectral_embedding(ei, n, dim=8, seed=0)
    torch.testing.assert_close(z, spectral_embedding(ei, n, dim=8, seed=0), rtol=0, atol=0)
    other = spectral_embedding(ei, n, dim=8, seed=1)
    torch.testing.assert_close(z @ z.T, other @ other.T, rtol=0, atol=1e-5)


@pytest.mark.parametrize("dense", [True, False], ids=["dense", "arpack"])
def test_spectral_columns_are_the_smallest_nontrivial_laplacian_eigenvectors(
    dense, monkeypatch, planted
):
    # disconnected: the planted graph, its copy shifted by N, and an isolated node
    n0 = planted.num_nodes
    ei = torch.cat([planted.edge_index, planted.edge_index + n0], dim=1)
    n = 2 * n0 + 1
    monkeypatch.setattr(spectral, "DENSE_MAX_NODES", n if dense else 0)
    z = spectral_embedding(ei, n, dim=6).double().numpy()
    lap = laplacian(spectral.adjacency_matrix(ei, n), normed=True).toarray()
    np.testing.assert_allclose(z.T @ z, np.eye(6), atol=1e-5)
    lam = np.diag(z.T @ lap @ z)
    np.testing.assert_allclose(lap @ z, z * lam, atol=1e-4)  # eigenvectors
    assert np.all(lam > 1e-3) and np.all(np.diff(lam) >= -1e-6)  # nonzero, ascending
    # the same as the 6 smallest nonzero eigenvalues of the full spectrum
    spectrum = np.linalg.eigvalsh(lap)
    np.testing.assert_allclose(lam, spectrum[spectrum > 1e-8][:6], atol=1e-4)
    assert np.all(z[-1] == 0)  # isolated node
    scores = z[:n0] @ z[n0 : 2 * n0].T
    assert np.all(scores == 0)  # different components: exactly σ(0)


def test_spectral_solvers_agree(monkeypatch, planted_split, planted):
    ei, n = planted_split.train_edge_index(), planted.num_nodes
    dense = spectral_embedding(ei, n, dim=12)
    monkeypatch.setattr(spectral, "DENSE_MAX_NODES", 0)
    arpack = spectral_embedding(ei, n, dim=12)
    torch.testing.assert_close(dense @ dense.T, arpack @ arpack.T, rtol=0, atol=1e-5)


def test_spectral_rejects_too_wide_embeddings():
    with pytest.raises(ValueError, match="dim must be"):
        spectral_embedding(SMALL, SMALL_N, dim=SMALL_N - 2)  # 3 components leave 6


def test_deepwalk_is_deterministic_with_one_worker_and_zero_at_isolated_nodes():
    kwargs = {"dim": 8, "walks_per_node": 5, "walk_length": 10, "seed": 2, "workers": 1}
    z = deepwalk_embedding(SMALL, SMALL_N, **kwargs)
    torch.testing.assert_close(z, deepwalk_embedding(SMALL, SMALL_N, **kwargs), rtol=0, atol=0)
    assert not torch.equal(z, deepwalk_embedding(SMALL, SMALL_N, **{**kwargs, "seed": 3}))
    assert torch.all(z[8] == 0) and torch.all(z[:8].abs().sum(1) > 0)


def test_adjacency_collapses_duplicates_and_drops_self_loops():
    ei = torch.tensor([[0, 1, 0, 2, 2], [1, 0, 1, 2, 0]])
    adj = spectral.adjacency_matrix(ei, 3)
    assert isinstance(adj, sp.csr_matrix)
    np.testing.assert_array_equal(adj.toarray(), [[0, 1, 1], [1, 0, 0], [1, 0, 0]])


# ---------------------------------------------------------------- real data


def test_both_baselines_predict_cora_links(data_root):
    data = load_planetoid("Cora", data_root)
    split = split_edges(data.edge_index, data.num_nodes, seed=0)
    ei = split.train_edge_index()
    # measured: SC 0.89 (dim 32), DW 0.86 (dim 32, 5 walks of 40)
    assert held_out_auc(spectral_embedding(ei, data.num_nodes, dim=32), split) > 0.8
    z = deepwalk_embedding(ei, data.num_nodes, dim=32, walks_per_node=5, walk_length=40)
    assert held_out_auc(z, split) > 0.75
