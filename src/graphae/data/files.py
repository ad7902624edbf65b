"""Users' own graphs: edge lists, node features and labels from files.

One place reads text tables and maps node ids. Edge lists may be CSV, TSV,
whitespace-separated or SNAP-style text (``#`` comment lines), gzip-compressed
or not, with or without a header; the delimiter is detected unless given.
Node ids are arbitrary strings (integers included): they are mapped to
indices ``0..N-1`` (integer ids in numeric order, other ids in sorted order,
so the mapping depends only on the set of ids) and the ids travel with the
graph as ``data.node_ids``, so that every output speaks the user's ids.

What changes between the file and the graph is counted in ``data.report``:
directed edges are symmetrised, self loops and duplicate edges removed, nodes
that appear only in the feature or label file kept as isolated nodes.

Every problem a user can fix raises :class:`~graphae.errors.DataError` with
the file and, where there is one, the line number.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from graphae.data.io.edges import CleanEdges, EdgeList, clean_edges, read_edge_list
from graphae.data.io.ids import NodeIds, as_ints, canonical_id
from graphae.data.io.nodes import NodeTable, read_features, read_labels
from graphae.data.io.tables import Column, Table, open_text, read_table
from graphae.errors import DataError

__all__ = [
    "CleanEdges",
    "Column",
    "DataWarning",
    "EdgeList",
    "GraphFiles",
    "NodeIds",
    "NodeTable",
    "Table",
    "build_graph",
    "canonical_id",
    "clean_edges",
    "describe_report",
    "graph_name",
    "load_graph",
    "open_text",
    "read_edge_list",
    "read_features",
    "read_labels",
    "read_table",
]


class DataWarning(UserWarning):
    """Something in a user's files that graphae handled but the user should know."""


@dataclass
class GraphFiles:
    """Where a graph comes from and how to read it (``graphae train --edges ...``).

    Attributes:
        edges: the edge list.
        features: node features (optional; without them the featureless model runs).
        labels: node labels (optional; for the latent plot and Projector).
        feature_ids: node ids of the rows of a ``.npy``/``.npz`` feature file.
        delimiter: edge-list delimiter (``None``: detected).
        header: whether files have a header row (``None``: detected).
        source_col, target_col, weight_col: edge-list columns (numbers from 0
            or header names).
        features_format: ``auto``, ``dense``, ``long`` or ``npy``.

    """

    edges: str
    features: str | None = None
    labels: str | None = None
    feature_ids: str | None = None
    delimiter: str | None = None
    header: bool | None = None
    source_col: Column = 0
    target_col: Column = 1
    weight_col: Column | None = None
    features_format: str = "auto"


def load_graph(files: GraphFiles, *, name: str | None = None) -> Data:
    """Read a graph from files into a PyG :class:`~torch_geometric.data.Data`.

    Args:
        files (GraphFiles): the files and how to read them.
        name (str, optional): the graph's name (default: the edge file's
            name without its extensions, e.g. ``facebook`` for
            ``facebook.csv.gz``).

    Returns:
        Data: ``edge_index`` (both directions), ``edge_weight`` (when
        weighted, same order), ``x`` (``N x F`` or ``None``), ``y`` (class
        index, ``-1`` for unlabelled nodes; when labels are given),
        ``num_nodes``, ``name``, ``node_ids`` (list of the users' ids in index
        order), ``feature_names``, ``class_names`` and ``report`` (counts of
        what was read and changed).

    Raises:
        DataError: anything wrong with the files (naming file and line).

    """
    edges = read_edge_list(
        files.edges,
        delimiter=files.delimiter,
        header=files.header,
        source_col=files.source_col,
        target_col=files.target_col,
        weight_col=files.weight_col,
    )
    features = None
    if files.features:
        features = read_features(
            files.features,
            ids_path=files.feature_ids,
            delimiter=files.delimiter if _same_kind(files.features, files.edges) else None,
            fmt=files.features_format,
        )
    labels = read_labels(files.labels) if files.labels else None
    return build_graph(edges, features, labels, name=name or graph_name(files.edges))


def _same_kind(a: str, b: str) -> bool:
    return Path(a).suffixes[:1] == Path(b).suffixes[:1]


def graph_name(path: str | Path) -> str:
    """``facebook`` for ``data/facebook.csv.gz``."""
    name = Path(path).name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".edges", ".edgelist", ".el"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "graph"


def build_graph(
    edges: EdgeList, features: NodeTable | None, labels: NodeTable | None, *, name: str
) -> Data:
    """Assemble a :class:`Data` from what :func:`read_edge_list` & co. read."""
    id_groups: list[Sequence[str]] = [edges.source, edges.target]
    if features is not None:
        id_groups.append(features.ids)
    if labels is not None:
        id_groups.append(labels.ids)
    node_ids, parts = NodeIds.from_tokens(*id_groups)
    num_nodes = len(node_ids)
    cleaned = clean_edges(parts[0], parts[1], edges.weight)
    report: dict[str, Any] = {"nodes": num_nodes, **cleaned.report, "columns": edges.columns}
    in_edges = np.zeros(num_nodes, dtype=bool)
    in_edges[cleaned.pairs.ravel()] = True
    report["isolated_nodes"] = int((~in_edges).sum())
    pairs = torch.from_numpy(cleaned.pairs)
    data = Data(edge_index=torch.cat([pairs, pairs.flip(0)], dim=1), num_nodes=num_nodes)
    if cleaned.weight is not None:
        w = torch.from_numpy(cleaned.weight).float()
        data.edge_weight = torch.cat([w, w])
    data.x = None
    data.feature_names = None
    if features is not None:
        rows = parts[2]
        data.x = _feature_matrix(features, rows, num_nodes)
        data.feature_names = features.names
        covered = np.zeros(num_nodes, dtype=bool)
        covered[rows] = True
        report["features"] = int(data.x.shape[1])
        report["nodes_without_features"] = int((~covered).sum())
        report["only_in_features"] = int((covered & ~in_edges).sum())
    data.class_names = None
    if labels is not None:
        rows = parts[-1]
        classes, index = _classes(labels.values)
        y = torch.full((num_nodes,), -1, dtype=torch.long)
        y[torch.from_numpy(rows)] = torch.from_numpy(index)
        data.y = y
        data.class_names = classes
        labelled = np.zeros(num_nodes, dtype=bool)
        labelled[rows] = True
        report["labelled_nodes"] = int(labelled.sum())
        report["classes"] = len(classes)
        report["only_in_labels"] = int((labelled & ~in_edges).sum())
    for role, key in (("features", "only_in_features"), ("labels", "only_in_labels")):
        if report.get(key):
            warnings.warn(
                f"{report[key]:,} nodes of the {role} file are not in the edge list; "
                "kept as isolated nodes",
                DataWarning,
                stacklevel=2,
            )
    data.name = name
    data.node_ids = node_ids.ids
    data.report = report
    if report["edges"] == 0:
        raise DataError(f"{edges.path}: no edges left after removing self loops")
    return data


def _feature_matrix(features: NodeTable, rows: np.ndarray, num_nodes: int) -> torch.Tensor:
    import scipy.sparse as sp

    values = features.values
    if sp.issparse(values):
        coo = values.tocoo()
        index = torch.from_numpy(np.stack([rows[coo.row], coo.col]).astype(np.int64))
        from graphae.data.graph import to_csr

        return to_csr(
            index, torch.from_numpy(coo.data.astype(np.float32)), (num_nodes, values.shape[1])
        )
    x = torch.zeros(num_nodes, values.shape[1], dtype=torch.float32)
    x[torch.from_numpy(rows)] = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    return x


def _classes(labels: list[str]) -> tuple[list[str], np.ndarray]:
    tokens = np.asarray(labels, dtype=object)
    as_int = as_ints(tokens)
    if as_int is not None:
        unique, index = np.unique(as_int, return_inverse=True)
        return [str(int(u)) for u in unique], index.astype(np.int64)
    unique, index = np.unique(tokens.astype(str), return_inverse=True)
    return unique.tolist(), index.astype(np.int64)


def describe_report(report: dict[str, Any], files: GraphFiles) -> Iterator[str]:
    """Human-readable lines about what loading changed (printed by the CLI)."""
    yield (
        f"read {report['edges_read']:,} edges from {files.edges}: {report['nodes']:,} nodes, "
        f"{report['edges']:,} undirected edges"
    )
    if report.get("columns"):
        yield "  columns: " + ", ".join(f"{k} = {v}" for k, v in report["columns"].items())
    changes = []
    if report["reverse_added"]:
        changes.append(
            f"{report['reverse_added']:,} edges given in one direction only: read both ways"
        )
    if report["self_loops_removed"]:
        changes.append(f"{report['self_loops_removed']:,} self loops removed")
    if report["duplicates_removed"]:
        changes.append(f"{report['duplicates_removed']:,} duplicate edges removed")
    if changes:
        yield "  " + "; ".join(changes)
    if report["isolated_nodes"]:
        yield (
            f"  {report['isolated_nodes']:,} isolated nodes kept (in the features or labels "
            "file, in no edge)"
        )
    if "features" in report:
        yield f"  {report['features']:,} features from {files.features}"
        if report["nodes_without_features"]:
            yield f"  {report['nodes_without_features']:,} nodes have no feature row: zero features"
    else:
        yield "  no feature file: featureless model (identity features, the paper's GAE*/VGAE*)"
    if "classes" in report:
        yield f"  {report['labelled_nodes']:,} labelled nodes, {report['classes']} classes"
