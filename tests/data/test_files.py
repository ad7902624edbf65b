import gzip

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphae.data.files import (
    GraphFiles,
    NodeIds,
    clean_edges,
    graph_name,
    load_graph,
    read_edge_list,
    read_features,
    read_table,
)
from graphae.data.graph import gcn_adjacency
from graphae.errors import DataError


def write(path, text, compress=False):
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def edge_set(data):
    ids = data.node_ids
    return {(ids[a], ids[b]) for a, b in data.edge_index.t().tolist()}


EDGES = [("alice", "bob"), ("bob", "carol"), ("carol", "dave")]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("source,target\nalice,bob\nbob,carol\ncarol,dave\n", None),
        ("alice\tbob\nbob\tcarol\ncarol\tdave\n", None),
        ("alice bob\nbob   carol\n carol dave \n", None),
        ("# Directed graph\n# FromNodeId\tToNodeId\nalice\tbob\nbob\tcarol\ncarol\tdave\n", None),
        ("alice;bob\nbob;carol\ncarol;dave\n", ";"),
        ('"alice","bob"\n"bob","carol"\n"carol","dave"\n', ","),
    ],
    ids=["csv-header", "tsv", "whitespace", "snap", "semicolon", "quoted"],
)
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_edge_list_formats(tmp_path, text, delimiter, compress):
    path = write(tmp_path / ("edges.txt.gz" if compress else "edges.txt"), text, compress)
    data = load_graph(GraphFiles(str(path), delimiter=delimiter))
    assert data.node_ids == ["alice", "bob", "carol", "dave"]
    expected = set(EDGES) | {(b, a) for a, b in EDGES}
    assert edge_set(data) == expected
    assert data.x is None and data.name == "edges"


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    path = write(tmp_path / "edges.csv", "1,2\n2,3\n", compress=True)
    assert load_graph(GraphFiles(str(path))).num_nodes == 3


def test_integer_ids_are_ordered_numerically_and_canonical(tmp_path):
    path = write(tmp_path / "g.txt", "10 2\n2 007\n")
    data = load_graph(GraphFiles(str(path)))
    assert data.node_ids == ["2", "7", "10"]
    ids = NodeIds(data.node_ids)
    assert ids.lookup(["007", "10"]).tolist() == [1, 2]
    assert ids.find(["nobody", "2"]).tolist() == [-1, 0]
    with pytest.raises(DataError, match="unknown node 'nobody'"):
        ids.lookup(["nobody"])


def test_node_ids_save_and_load(tmp_path):
    ids = NodeIds(["a b", "ü", "3"])
    ids.save(tmp_path / "nodes.txt")
    assert NodeIds.load(tmp_path / "nodes.txt").ids == ["a b", "ü", "3"]


def test_columns_by_name_and_number_and_weights(tmp_path):
    text = "when,from,to,w\n1,a,b,2.0\n2,b,c,0.5\n3,c,a,1\n"
    path = write(tmp_path / "w.csv", text)
    by_name = load_graph(GraphFiles(str(path), source_col="from", target_col="to", weight_col="w"))
    by_number = load_graph(GraphFiles(str(path), source_col=1, target_col=2, weight_col=3))
    for data in (by_name, by_number):
        assert data.node_ids == ["a", "b", "c"]
        weights = {
            (data.node_ids[a], data.node_ids[b]): float(w)
            for (a, b), w in zip(data.edge_index.t().tolist(), data.edge_weight, strict=True)
        }
        assert weights[("a", "b")] == weights[("b", "a")] == 2.0
        assert weights[("b", "c")] == 0.5 and weights[("a", "c")] == 1.0


def test_weights_enter_the_gcn_normalisation():
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    weight = torch.tensor([2.0, 2.0, 1.0, 1.0])
    a = gcn_adjacency(edge_index, 3, weight).to_dense()
    w = torch.tensor([[1.0, 2.0, 0.0], [2.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    d = w.sum(1).rsqrt()
    torch.testing.assert_close(a, d[:, None] * w * d[None, :])
    assert not torch.allclose(a, gcn_adjacency(edge_index, 3).to_dense())


def test_cleaning_counts_every_change(tmp_path):
    # a-b twice one way, b-a once (so a duplicate pair both ways), a self loop, c-d one way
    path = write(tmp_path / "e.txt", "a b\na b\nb a\nc c\nc d\n")
    data = load_graph(GraphFiles(str(path)))
    r = data.report
    assert r["edges_read"] == 5
    assert r["self_loops_removed"] == 1
    assert r["duplicates_removed"] == 1  # the second a->b
    assert r["reverse_added"] == 1  # c-d
    assert r["edges"] == 2 and r["nodes"] == 4
    assert data.edge_index.shape[1] == 4  # both directions
    keys = set(map(tuple, data.edge_index.t().tolist()))
    assert all((b, a) in keys for a, b in keys) and all(a != b for a, b in keys)


def test_duplicate_weights_are_averaged():
    cleaned = clean_edges(np.array([0, 1, 0]), np.array([1, 0, 2]), np.array([1.0, 3.0, 5.0]))
    assert cleaned.pairs.tolist() == [[0, 0], [1, 2]]
    assert cleaned.weight.tolist() == [2.0, 5.0]


def test_dense_features_labels_and_isolated_nodes(tmp_path):
    edges = write(tmp_path / "e.csv", "a,b\nb,c\n")
    feats = write(tmp_path / "f.csv", "id,x1,x2\nc,1,2\na,3,4\nz,5,6\n")
    labels = write(tmp_path / "l.csv", "node,label\na,red\nb,blue\ny,red\n")
    with pytest.warns(UserWarning, match="not in the edge list"):
        data = load_graph(GraphFiles(str(edges), features=str(feats), labels=str(labels)))
    assert data.node_ids == ["a", "b", "c", "y", "z"]
    assert data.feature_names == ["x1", "x2"]
    assert data.x.tolist() == [[3, 4], [0, 0], [1, 2], [0, 0], [5, 6]]
    assert data.class_names == ["blue", "red"]
    assert data.y.tolist() == [1, 0, -1, 1, -1]
    r = data.report
    assert r["isolated_nodes"] == 2 and r["only_in_features"] == 1 and r["only_in_labels"] == 1
    assert r["nodes_without_features"] == 2


def test_long_and_array_feature_formats_agree(tmp_path):
    edges = write(tmp_path / "e.csv", "a,b\nb,c\n")
    dense = np.array([[1, 0, 2], [0, 0, 3], [4, 0, 0]], dtype=np.float32)
    long_text = "id,feature,value\na,0,1\na,2,2\nb,2,3\nc,0,4\n"
    write(tmp_path / "long.csv", long_text)
    np.save(tmp_path / "x.npy", dense)
    sp.save_npz(tmp_path / "x.npz", sp.csr_matrix(dense))
    write(tmp_path / "ids.txt", "a\nb\nc\n")
    long = load_graph(GraphFiles(str(edges), features=str(tmp_path / "long.csv")))
    npy = load_graph(
        GraphFiles(
            str(edges), features=str(tmp_path / "x.npy"), feature_ids=str(tmp_path / "ids.txt")
        )
    )
    npz = load_graph(
        GraphFiles(
            str(edges), features=str(tmp_path / "x.npz"), feature_ids=str(tmp_path / "ids.txt")
        )
    )
    assert long.x.to_dense().tolist() == dense.tolist()
    assert npy.x.tolist() == dense.tolist()
    assert npz.x.to_dense().tolist() == dense.tolist()


def test_long_format_detected_from_repeated_ids_without_header(tmp_path):
    write(tmp_path / "long.tsv", "a\tcolour\t1\na\tsize\t2\nb\tsize\t3\n")
    table = read_features(tmp_path / "long.tsv")
    assert table.names == ["colour", "size"]
    assert table.values.toarray().tolist() == [[1, 2], [0, 3]]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("e.csv", "a,b\nb,c,d\n", r"e\.csv, line 2: 3 fields, expected 2"),
        ("e.csv", "", "no data"),
        ("e.csv", "# only a comment\n\n", "no data"),
        ("e.csv", "source,target\n", "only a header"),
        ("e.csv", "a\nb\n", "target column 1 does not exist"),
    ],
)
def test_bad_edge_lists_name_file_and_line(tmp_path, name, text, message):
    path = write(tmp_path / name, text)
    with pytest.raises(DataError, match=message):
        read_edge_list(path)


def test_binary_garbage_and_unreadable_paths(tmp_path):
    garbage = tmp_path / "g.bin"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"binary|UTF-8"):
        read_edge_list(garbage)
    with pytest.raises(DataError, match="no such file"):
        read_edge_list(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_edge_list(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,x\n", r"line 1: weight .* 'x' is not a number"),
        ("a,b,1\nb,c,nan\n", r"line 2: weight .*not finite"),
        ("a,b,1\nb,c,-2\n", r"line 2: edge weight -2 is not positive"),
    ],
)
def test_bad_weights(tmp_path, text, message):
    path = write(tmp_path / "w.csv", text)
    with pytest.raises(DataError, match=message):
        read_edge_list(path, weight_col=2, header=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,f1\na,1\nb,nan\n", r"line 3 \(node 'b'\): feature f1 is 'nan'"),
        ("id,f1\na,1\nb,inf\n", r"line 3 \(node 'b'\): feature f1 is 'inf'"),
        ("id,f1\na,1\nb,hello\n", r"line 3 \(node 'b'\): feature f1 is 'hello'"),
        ("a,1,2\na,3,4\nb,5\n", r"line 3: 2 fields, expected 3"),
        ("id,f1,f2\na,1,2\na,3,4\n", r"line 3: node 'a' is listed twice"),
    ],
)
def test_bad_features(tmp_path, text, message):
    path = write(tmp_path / "f.csv", text)
    with pytest.raises(DataError, match=message):
        read_features(path)


def test_non_finite_array_features_name_the_row(tmp_path):
    x = np.ones((4, 2), dtype=np.float32)
    x[2, 1] = np.inf
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(DataError, match="row 2"):
        read_features(tmp_path / "x.npy")
    np.save(tmp_path / "x.npy", np.ones((4, 2)))
    write(tmp_path / "ids.txt", "a\nb\n")
    with pytest.raises(DataError, match="2 ids for the 4 rows"):
        read_features(tmp_path / "x.npy", ids_path=tmp_path / "ids.txt")


def test_header_detection(tmp_path):
    numeric = write(tmp_path / "n.txt", "a b 1.5\nc d 2\n")
    assert read_table(numeric, numeric_columns=[2]).header is None
    named = write(tmp_path / "h.txt", "a b weight\nc d 2\n")
    assert read_table(named, numeric_columns=[2]).header == ["a", "b", "weight"]
    forced = write(tmp_path / "f.txt", "source target\nc d\n")
    assert read_table(forced, header=False).header is None


def test_graph_name_strips_extensions():
    assert graph_name("data/facebook.csv.gz") == "facebook"
    assert graph_name("/x/email-Eu-core.txt") == "email-Eu-core"


def test_header_of_words_detected_when_ids_are_words(tmp_path):
    rows = [f"p{i},p{i + 1}" for i in range(20)]
    edges = write(tmp_path / "e.csv", "person,friend\n" + "\n".join(rows) + "\n")
    table = read_table(edges, id_columns=[0, 1])
    assert table.header == ["person", "friend"] and len(table.rows) == 20
    no_header = write(tmp_path / "n.csv", "\n".join(rows) + "\n")
    assert read_table(no_header, id_columns=[0, 1]).header is None
    labels = write(
        tmp_path / "l.csv", "person,club\n" + "".join(f"p{i},c{i % 3}\n" for i in range(20))
    )
    assert read_table(labels, category_columns=[1]).header == ["person", "club"]
    numbered = write(
        tmp_path / "s.txt", "FromNode ToNode\n" + "".join(f"{i} {i + 1}\n" for i in range(20))
    )
    assert read_table(numbered, id_columns=[0, 1]).header == ["FromNode", "ToNode"]


def test_the_bundled_example_reads_cleanly():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "examples"
    files = GraphFiles(
        str(root / "friends.csv"),
        features=str(root / "friends_features.csv"),
        labels=str(root / "friends_labels.csv"),
    )
    with pytest.warns(UserWarning, match="5 nodes of the features file"):
        data = load_graph(files)
    assert data.num_nodes == 240 and data.report["edges"] == 676
    assert data.class_names == ["chess", "choir", "climbing", "robotics"]
    assert data.feature_names[0] == "boardgames" and data.x.shape == (240, 20)
