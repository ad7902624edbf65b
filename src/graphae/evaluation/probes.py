"""Embedding quality beyond links: clustering and node-classification probes.

A link-prediction AUC says how well ``σ(z_u · z_v)`` ranks edges; the probes
say how much of the nodes' classes the embeddings ``z`` carry, without any
further training of the model. Both look only at labelled nodes.

* **Clustering** (as in Pan et al., 2018, "Adversarially Regularized Graph
  Autoencoder", Table 4): k-means with ``k`` = the number of classes on the
  raw embeddings, scored against the classes by accuracy after the best
  one-to-one matching of clusters to classes (Hungarian algorithm), NMI and ARI.
* **Node classification**: a logistic regression on standardised embeddings,
  trained on a few labelled nodes and scored on held-out ones (accuracy and
  macro-F1). Planetoid graphs use their public split (Yang et al., 2016:
  20 nodes per class to train, 500 to choose ``C``, 1,000 to test); other
  graphs a seeded stratified split of their labelled nodes
  (:data:`TRAIN_FRACTION` / :data:`VAL_FRACTION` / the rest).

>>> from graphae.evaluation.probes import probe_run
>>> scores = probe_run("runs/gae_cora_16d_200ep")  # doctest: +SKIP
>>> scores["clustering"]["acc"], scores["classification"]["accuracy"]  # doctest: +SKIP
(0.61, 0.72)

:func:`probe_run` writes the scores to ``probes.json`` in the run folder.
The command line: ``graphae probe RUN [RUN ...]`` (:mod:`graphae.evaluation.probe_cli`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphae.errors import DataError

if TYPE_CHECKING:
    from graphae.inference.run import TrainedRun

#: Written into the run folder by :func:`probe_run`.
PROBES_FILE = "probes.json"
#: Inverse regularisation strengths tried when validation nodes exist (best val accuracy wins).
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
#: ``C`` without validation nodes: scikit-learn's default.
DEFAULT_C = 1.0
#: Shares of each class's labelled nodes for training and for choosing ``C`` (graphs
#: without a public split); the rest is the test set.
TRAIN_FRACTION = 0.1
VAL_FRACTION = 0.1
#: L-BFGS iterations of the logistic regression (standardised inputs converge well before).
MAX_ITER = 5_000
#: k-means restarts (the best inertia is kept).
KMEANS_INIT = 10

Array = np.ndarray | torch.Tensor | Sequence[Any]


# ----------------------------------------------------------------------------- clustering


def hungarian_accuracy(y_true: Array, y_pred: Array) -> float:
    """Clustering accuracy under the best one-to-one matching of clusters to classes.

    .. math::
        \\mathrm{ACC} = \\max_{m} \\frac{1}{n} \\sum_{i=1}^{n}
        \\mathbb{1}\\{y_i = m(c_i)\\},

    the maximum over injective maps ``m`` from clusters to classes, found
    by the Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`)
    on the contingency matrix ``C[k, j] = |{i : c_i = k, y_i = j}|``. Clusters
    left unmatched (more clusters than classes) count as wrong.

    Args:
        y_true (array): class of each node.
        y_pred (array): cluster of each node (any integer ids).

    Returns:
        float: ACC in ``[0, 1]``.

    """
    from scipy.optimize import linear_sum_assignment

    y_true, y_pred = _ints(y_true), _ints(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} classes but {len(y_pred)} cluster ids")
    if len(y_true) == 0:
        raise ValueError("no nodes to score")
    _, true_index = np.unique(y_true, return_inverse=True)
    _, pred_index = np.unique(y_pred, return_inverse=True)
    counts = np.zeros((pred_index.max() + 1, true_index.max() + 1), dtype=np.int64)
    np.add.at(counts, (pred_index, true_index), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(y_true))


def cluster_scores(z: Array, y: Array, seed: int, *, num_clusters: int | None = None) -> dict:
    """k-means on the embeddings of labelled nodes, scored against their classes.

    k-means (scikit-learn's :class:`~sklearn.cluster.KMeans`, ``k-means++``
    initialisation, :data:`KMEANS_INIT` restarts, ``random_state=seed``)
    runs on the raw embeddings of the nodes with ``y >= 0``, with ``k`` the
    number of classes among them (as in ARGA's Table 4). Scores:

    * ``acc``: :func:`hungarian_accuracy`;
    * ``nmi``: normalised mutual information
      :math:`I(c; y) / \\tfrac{1}{2}(H(c) + H(y))`
      (:func:`~sklearn.metrics.normalized_mutual_info_score`, arithmetic mean);
    * ``ari``: adjusted Rand index, the Rand index corrected for chance
      (:func:`~sklearn.metrics.adjusted_rand_score`; 0 for random clusters,
      1 for a perfect match).

    Args:
        z (array): ``N x d`` embeddings.
        y (array): ``N`` class indices, ``-1`` for unlabelled nodes (left out).
        seed (int): k-means' ``random_state``.
        num_clusters (int, optional): ``k`` (default: the number of classes).

    Returns:
        dict: ``acc``, ``nmi``, ``ari`` (fractions), ``clusters`` (k) and
        ``nodes`` (how many were clustered).

    Raises:
        DataError: fewer than two classes, or fewer labelled nodes than clusters.

    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    z, y = _matrix(z), _ints(y)
    _same_length(z, y)
    labelled = y >= 0
    z, y = z[labelled], y[labelled]
    k = num_clusters or len(np.unique(y))
    if len(np.unique(y)) < 2:
        raise DataError(f"clustering needs nodes of at least two classes, got {len(np.unique(y))}")
    if len(y) < k:
        raise DataError(f"{len(y)} labelled nodes cannot form {k} clusters")
    clusters = KMeans(n_clusters=k, n_init=KMEANS_INIT, random_state=seed).fit_predict(z)
    return {
        "acc": hungarian_accuracy(y, clusters),
        "nmi": float(normalized_mutual_info_score(y, clusters)),
        "ari": float(adjusted_rand_score(y, clusters)),
        "clusters": int(k),
        "nodes": len(y),
    }


# ------------------------------------------------------------------------ classification


def classification_scores(
    z: Array,
    y: Array,
    train_idx: Array,
    test_idx: Array,
    seed: int,
    *,
    val_idx: Array | None = None,
    c_grid: Sequence[float] = C_GRID,
) -> dict:
    """Logistic regression on the embeddings: fit on ``train_idx``, score on ``test_idx``.

    Each embedding dimension is standardised with the training nodes' mean
    and standard deviation (:class:`~sklearn.preprocessing.StandardScaler`):
    the embeddings' scale is arbitrary (an inner-product decoder's logits
    grow with it), and on a common scale one small grid of ``C`` fits every
    run. The model is multinomial (softmax) logistic regression with an L2
    penalty (:class:`~sklearn.linear_model.LogisticRegression`, L-BFGS,
    :data:`MAX_ITER` iterations),

    .. math::
        \\min_{W, b}\\; \\tfrac{1}{2}\\lVert W \\rVert^2 - C \\sum_{i \\in \\text{train}}
        \\log \\operatorname{softmax}(W \\tilde z_i + b)_{y_i}.

    With ``val_idx``, ``C`` is the value of ``c_grid`` with the best
    validation accuracy (the smallest on ties), and the model is then fitted
    on the training nodes only; without, ``C`` = :data:`DEFAULT_C`.

    Scores on the test nodes: ``accuracy`` and ``macro_f1``, the unweighted
    mean over classes of :math:`F_1 = 2PR / (P + R)`
    (:func:`~sklearn.metrics.f1_score`, ``average="macro"``). For scale,
    ``majority`` is the accuracy of always predicting the training set's
    most frequent class (the first one on ties, as with Planetoid's 20 per class).

    Args:
        z (array): ``N x d`` embeddings.
        y (array): ``N`` class indices (nodes in the index sets must have ``y >= 0``).
        train_idx (array): node indices to fit on.
        test_idx (array): node indices to score.
        seed (int): the logistic regression's ``random_state``.
        val_idx (array, optional): node indices to choose ``C`` on.
        c_grid (sequence of float, optional): values of ``C`` tried. (default: :data:`C_GRID`)

    Returns:
        dict: ``accuracy``, ``macro_f1``, ``majority`` (fractions), ``C``,
        ``train``/``val``/``test`` (node counts) and ``standardized``.

    Raises:
        DataError: no test nodes, fewer than two classes to train on, or
            an unlabelled node in an index set.

    """
    from sklearn.metrics import accuracy_score, f1_score

    z, y = _matrix(z), _ints(y)
    _same_length(z, y)
    train, test = _ints(train_idx), _ints(test_idx)
    val = _ints(val_idx) if val_idx is not None else np.empty(0, dtype=np.int64)
    for name, idx in (("training", train), ("validation", val), ("test", test)):
        if len(idx) and (idx.min() < 0 or idx.max() >= len(y) or (y[idx] < 0).any()):
            raise DataError(f"the {name} nodes must be labelled nodes of the graph")
    if len(test) == 0:
        raise DataError("node classification needs test nodes, got none")
    if len(np.unique(y[train])) < 2:
        raise DataError(
            f"node classification needs training nodes of at least two classes, got "
            f"{len(np.unique(y[train]))} class(es) in {len(train)} nodes"
        )
    best_c = DEFAULT_C
    if len(val):
        accuracies = [
            accuracy_score(y[val], _fit(z, y, train, c, seed).predict(z[val])) for c in c_grid
        ]
        best_c = float(c_grid[int(np.argmax(accuracies))])
    predicted = _fit(z, y, train, best_c, seed).predict(z[test])
    values, counts = np.unique(y[train], return_counts=True)
    majority = values[np.argmax(counts)]
    return {
        "accuracy": float(accuracy_score(y[test], predicted)),
        "macro_f1": float(f1_score(y[test], predicted, average="macro", zero_division=0)),
        "majority": float(np.mean(y[test] == majority)),
        "C": best_c,
        "train": len(train),
        "val": len(val),
        "test": len(test),
        "standardized": True,
    }


def _fit(z: np.ndarray, y: np.ndarray, train: np.ndarray, c: float, seed: int) -> Any:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tiny C or separable classes
        return model.fit(z[train], y[train])


def stratified_split(
    y: Array,
    seed: int,
    train_fraction: float = TRAIN_FRACTION,
    val_fraction: float = VAL_FRACTION,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the labelled nodes (``y >= 0``) class by class into train, validation and test.

    Each class's nodes are shuffled (``numpy.random.default_rng(seed)``); the
    first ``max(1, round(train_fraction · n))`` train, the next
    ``round(val_fraction · n)`` validate and the rest test, keeping at least
    one test node for every class with two or more nodes (a class of one
    node only trains).

    Returns:
        tuple: sorted ``train``, ``val`` and ``test`` node indices.

    """
    y = _ints(y)
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for label in np.unique(y[y >= 0]):
        nodes = rng.permutation(np.flatnonzero(y == label))
        n = len(nodes)
        n_train = min(n, max(1, round(train_fraction * n)))
        n_val = max(0, min(round(val_fraction * n), n - n_train - 1))
        parts[0].append(nodes[:n_train])
        parts[1].append(nodes[n_train : n_train + n_val])
        parts[2].append(nodes[n_train + n_val :])
    empty = np.empty(0, dtype=np.int64)
    train, val, test = (np.sort(np.concatenate(p)) if p else empty for p in parts)
    return train, val, test


# ------------------------------------------------------------------------------- runs


@dataclass
class ProbeLabels:
    """The classes of a run's nodes, and where the probes train and test.

    Attributes:
        y: class index per node of the run, ``-1`` for unlabelled nodes.
        class_names: the classes' names, ``class_names[y[i]]``.
        source: where the labels came from (``Planetoid Cora``, a file).
        split: how the nodes were split for classification.
        train, val, test: node indices of the classification split.
        extra: more to record with the labels (e.g. ``ids_not_in_run``).

    """

    y: np.ndarray
    class_names: list[str]
    source: str
    split: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


def run_labels(
    run: TrainedRun, labels: str | Path | Array | None = None, *, seed: int | None = None
) -> ProbeLabels:
    """The node classes of a run: given, from its Planetoid data set, or from its labels file.

    Planetoid runs (trained on Cora, CiteSeer or PubMed, not on an edge
    file) reload the data set from the run's ``data_root`` and use its public
    split. Runs on a user's graph re-read the labels file they were trained
    with (``graphae train --labels FILE``), mapped to the run's nodes through
    its ``nodes.txt``; their classification split is :func:`stratified_split`.

    Args:
        run (TrainedRun): the run.
        labels (str, Path or array, optional): labels to use instead: a
            labels file (node id, class per line, as ``--labels`` reads) or
            one class index per node (``-1`` for unlabelled).
        seed (int, optional): seed of the stratified split (default: the run's).

    Raises:
        DataError: the run has no labels on record, or they do not fit its nodes.

    """
    settings = run.settings
    seed = int(settings.get("seed", 0)) if seed is None else seed
    num_nodes = len(run.node_ids)
    if labels is not None and not isinstance(labels, str | Path):
        y = _ints(labels)
        if len(y) != num_nodes:
            raise DataError(f"{len(y):,} labels for the {num_nodes:,} nodes of {run.path}")
        names = [str(c) for c in range(int(y.max()) + 1)] if (y >= 0).any() else []
        return _stratified(y, names, "labels given", seed)
    if labels is not None:
        return _file_labels(run, Path(labels), seed)
    if planetoid_name(settings) is not None:
        return _planetoid_labels(run, settings)
    if settings.get("labels_file"):
        return _file_labels(run, Path(settings["labels_file"]), seed)
    raise DataError(
        f"run {run.path} has no node labels: train with --labels FILE (graphae train --edges "
        "... --labels FILE), or give a labels file here (graphae probe RUN --labels FILE; "
        "probe_run(run, labels=...))"
    )


def planetoid_name(settings: dict[str, Any]) -> str | None:
    """The Planetoid data set a run was trained on (``Cora``...), or ``None``."""
    from graphae.data.planetoid import PLANETOID

    if settings.get("edges"):
        return None
    return PLANETOID.get(str(settings.get("dataset") or "").lower())


def _planetoid_labels(run: TrainedRun, settings: dict[str, Any]) -> ProbeLabels:
    from graphae.data.planetoid import load_planetoid

    name = planetoid_name(settings) or ""
    data = load_planetoid(name, settings.get("data_root"))
    y = data.y.numpy().astype(np.int64)
    if len(y) != len(run.node_ids):
        raise DataError(
            f"{name} has {len(y):,} nodes but run {run.path} embedded {len(run.node_ids):,}"
        )
    train, val, test = (
        np.flatnonzero(m.numpy()) for m in (data.train_mask, data.val_mask, data.test_mask)
    )
    names = [str(c) for c in range(int(y.max()) + 1)]
    return ProbeLabels(y, names, f"Planetoid {name}", "Planetoid public split", train, val, test)


def _file_labels(run: TrainedRun, path: Path, seed: int) -> ProbeLabels:
    from graphae.data.files import read_labels

    if not path.is_file():
        raise DataError(
            f"{path}: labels file of run {run.path} not found (a relative path is read from "
            f"the current folder, {Path.cwd()}); give it with --labels FILE"
        )
    table = read_labels(path)
    rows = run.node_ids.find(table.ids)
    known = rows >= 0
    if not known.any():
        raise DataError(f"{path}: none of its {len(rows):,} node ids is a node of run {run.path}")
    values = np.asarray(table.values, dtype=object)[known].astype(str)
    names, index = np.unique(values, return_inverse=True)
    y = np.full(len(run.node_ids), -1, dtype=np.int64)
    y[rows[known]] = index
    result = _stratified(y, names.tolist(), str(path), seed)
    result.extra["ids_not_in_run"] = int((~known).sum())
    return result


def _stratified(y: np.ndarray, names: list[str], source: str, seed: int) -> ProbeLabels:
    train, val, test = stratified_split(y, seed)
    split = (
        f"stratified {TRAIN_FRACTION:.0%} train / {VAL_FRACTION:.0%} val / rest test "
        f"per class, seed {seed}"
    )
    return ProbeLabels(y, names, source, split, train, val, test)


def probe_run(
    run: str | Path | TrainedRun,
    *,
    labels: str | Path | Array | None = None,
    write: bool = True,
) -> dict[str, Any]:
    """Clustering and classification probes of a run's embeddings, written to ``probes.json``.

    The embeddings are the run's saved ones (``μ`` for VGAE); the labels
    come from :func:`run_labels`; the seed of k-means, of the logistic
    regression and of the stratified split is the run's.

    Args:
        run (str, Path or TrainedRun): a run folder or a loaded run.
        labels (str, Path or array, optional): see :func:`run_labels`.
        write (bool, optional): write ``probes.json`` into the run folder
            (atomically). (default: ``True``)

    Returns:
        dict: ``run``, ``model``, ``dataset``, ``seed``, ``labels`` (source,
        labelled nodes, classes), ``clustering`` (:func:`cluster_scores`) and
        ``classification`` (:func:`classification_scores` plus ``split``).

    Raises:
        DataError: not a finished run, no labels, or labels that do not fit.
        OutputError: ``probes.json`` cannot be written.

    """
    from graphae.artifacts.run_dir import write_json
    from graphae.inference.run import TrainedRun, load_run

    if not isinstance(run, TrainedRun):
        run = load_run(run)
    seed = int(run.settings.get("seed", 0))
    found = run_labels(run, labels, seed=seed)
    z = run.embeddings.detach().cpu().numpy()
    labelled = int((found.y >= 0).sum())
    result: dict[str, Any] = {
        "run": str(run.path),
        "model": run.config.model,
        "features": run.config.features,
        "dataset": run.settings.get("dataset"),
        "seed": seed,
        "labels": {
            "source": found.source,
            "labelled_nodes": labelled,
            "nodes": len(found.y),
            "classes": len(np.unique(found.y[found.y >= 0])),
            "class_names": found.class_names,
            **found.extra,
        },
        "clustering": cluster_scores(z, found.y, seed),
        "classification": {
            **classification_scores(z, found.y, found.train, found.test, seed, val_idx=found.val),
            "split": found.split,
        },
    }
    if write:
        write_json(Path(run.path) / PROBES_FILE, result)
    return result


# -------------------------------------------------------------------------- helpers


def _matrix(z: Array) -> np.ndarray:
    if isinstance(z, torch.Tensor):
        z = z.detach().cpu().numpy()
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"expected N x d embeddings, got shape {z.shape}")
    if not np.isfinite(z).all():
        raise DataError("the embeddings hold NaN or infinite values")
    return z


def _ints(values: Array) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _same_length(z: np.ndarray, y: np.ndarray) -> None:
    if len(z) != len(y):
        raise ValueError(f"{len(z)} embeddings but {len(y)} labels")
