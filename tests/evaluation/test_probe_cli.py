"""``graphae probe``: a table per run and probes.json; one-line errors with exit 2."""

from __future__ import annotations

import json

import pytest

from graphae.data import planted_partition
from graphae.evaluation.probes import PROBES_FILE
from tests.conftest import assert_one_line_error, cli, write_graph_files
from tests.evaluation.test_probes import train_briefly


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs on the same planted graph: one trained with a labels CSV, one without."""
    folder = tmp_path_factory.mktemp("probe_cli")
    data = planted_partition(num_blocks=3, block_size=30, p_in=0.3, p_out=0.01, seed=2)
    files = write_graph_files(folder, data)
    edges, features = str(files["edges"]), str(files["features"])
    labelled = train_briefly(
        folder / "runs",
        edges=edges,
        features_file=features,
        labels_file=str(files["labels"]),
        name="labelled",
    )
    plain = train_briefly(folder / "runs", edges=edges, features_file=features, name="plain")
    return {"labelled": labelled, "plain": plain, "labels": files["labels"]}


def test_probe_prints_a_table_and_writes_probes_json(runs, capsys):
    code, out, err = cli(capsys, "probe", runs["labelled"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("labelled: GAE on edges, seed 0 (90 of 90 nodes labelled, 3 classes")
    assert lines[1].split() == ["ACC", "NMI", "ARI", "LR", "acc", "macro-F1"]
    values = [float(v) for v in lines[2].split()]
    saved = json.loads((runs["labelled"] / PROBES_FILE).read_text())
    expected = [saved["clustering"][k] for k in ("acc", "nmi", "ari")]
    expected += [saved["classification"][k] for k in ("accuracy", "macro_f1")]
    assert values == pytest.approx([100 * v for v in expected], abs=0.006)
    assert values[0] > 60 and values[3] > 60  # 3 classes: chance is about 33%
    assert "stratified 10% train / 10% val / rest test per class, seed 0" in out
    assert f"wrote {runs['labelled'] / PROBES_FILE}" in out


def test_run_without_labels_is_a_one_line_error(runs, capsys):
    code, out, err = cli(capsys, "probe", runs["plain"])
    assert_one_line_error(code, err, "has no node labels: train with --labels FILE")
    assert out == "" and not (runs["plain"] / PROBES_FILE).exists()


def test_labels_option_probes_a_run_trained_without(runs, capsys):
    code, out, err = cli(
        capsys, "probe", runs["plain"], runs["labelled"], "--labels", runs["labels"]
    )
    assert code == 0, err
    assert out.count("ACC") == 2 and (runs["plain"] / PROBES_FILE).is_file()
    assert str(runs["labels"]) in out


def test_bad_inputs_are_one_line_errors(runs, tmp_path, capsys):
    code, _, err = cli(capsys, "probe", tmp_path / "missing")
    assert_one_line_error(code, err, "no such run folder")
    stranger = tmp_path / "stranger.csv"
    stranger.write_text("x1,a\nx2,b\n")
    code, _, err = cli(capsys, "probe", runs["labelled"], "--labels", stranger)
    assert_one_line_error(code, err, "none of its 2 node ids is a node of run")
    code, _, err = cli(capsys, "probe", runs["plain"], "--labels", tmp_path / "nope.csv")
    assert_one_line_error(code, err, "nope.csv", "not found")
