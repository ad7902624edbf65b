import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from graphae.data.files import NodeIds, read_table
from graphae.inference import load_run
from tests.conftest import assert_one_line_error, cli
from tests.inference.conftest import NUM_NODES, write_features


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".npy"])
def test_embed_writes_the_runs_embeddings(gae_run, tmp_path, capsys, suffix):
    out = tmp_path / f"emb{suffix}"
    code, stdout, _ = cli(capsys, "embed", gae_run, "--out", out)
    assert code == 0 and f"wrote {NUM_NODES} embeddings (16-d)" in stdout
    saved = np.load(gae_run / "embeddings.npy")
    ids = NodeIds.load(gae_run / "nodes.txt").ids
    if suffix == ".npy":
        np.testing.assert_array_equal(np.load(out), saved)
        assert NodeIds.load(tmp_path / "emb.ids.txt").ids == ids
        return
    table = read_table(out)
    assert table.header == ["id", *(f"z{j}" for j in range(16))]
    assert [r[0] for r in table.rows] == ids
    values = np.array([[float(v) for v in r[1:]] for r in table.rows], dtype=np.float32)
    np.testing.assert_array_equal(values, saved)


def test_embed_new_graph_with_shuffled_columns(gae_run, graph_dir, tmp_path, capsys):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    edges = graph_dir / "edges.csv"
    code, *_ = cli(capsys, "embed", gae_run, "--edges", edges, "--features",
                   graph_dir / "features.csv", "--labels", "ignored.csv", "--out", a)  # fmt: skip
    assert code == 0
    code, _, err = cli(capsys, "embed", gae_run, "--edges", edges, "--features",
                       graph_dir / "features_shuffled.csv", "--out", b)  # fmt: skip
    assert code == 0 and "16 features" in err
    np.testing.assert_allclose(np.load(a), np.load(b), rtol=1e-5, atol=1e-6)
    run = load_run(gae_run)
    assert not np.allclose(np.load(a), run.embeddings.numpy())  # the full graph, not train's


def test_predict_node_prints_and_writes_the_ranking(gae_run, tmp_path, capsys):
    out = tmp_path / "top.csv"
    code, stdout, _ = cli(capsys, "predict", gae_run, "--node", "n5", "--node", "n9",
                          "--top", "4", "--out", out)  # fmt: skip
    assert code == 0
    run = load_run(gae_run)
    expected = run.top_k("n5", 4)
    lines = stdout.splitlines()
    assert lines[0].startswith("top 4 partners of n5 (leaving out itself and")
    rows = [line.split() for line in lines[2:6]]
    assert [r[1] for r in rows] == expected.ids
    assert [float(r[2]) for r in rows] == pytest.approx(expected.scores, abs=1e-6)
    assert "top 4 partners of n9" in stdout
    table = read_table(out)
    assert [r[2] for r in table.rows[:4]] == expected.ids
    assert [r[0] for r in table.rows] == ["n5"] * 4 + ["n9"] * 4


def test_predict_include_known_marks_neighbours(gae_run, capsys):
    code, stdout, _ = cli(capsys, "predict", gae_run, "--node", "n0", "--top", "30",
                          "--include-known")  # fmt: skip
    assert code == 0 and "(leaving out itself)" in stdout
    assert "(known neighbour)" in stdout


def test_predict_pairs(gae_run, tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b\nn0,n1\nn0,n150\n0007,n3\n".replace("0007", "n7"))
    out = tmp_path / "scores.csv"
    code, stdout, _ = cli(capsys, "predict", gae_run, "--pairs", pairs, "--out", out)
    assert code == 0
    run = load_run(gae_run)
    expected = run.score_pairs(["n0", "n0", "n7"], ["n1", "n150", "n3"])
    table = read_table(out)
    assert table.header == ["source", "target", "score"]
    assert [r[:2] for r in table.rows] == [["n0", "n1"], ["n0", "n150"], ["n7", "n3"]]
    np.testing.assert_allclose([float(r[2]) for r in table.rows], expected, rtol=1e-7)
    assert len(stdout.splitlines()) == 4


def test_predict_many_pairs_prints_a_few(gae_run, graph_dir, capsys):
    code, stdout, _ = cli(capsys, "predict", gae_run, "--pairs", graph_dir / "edges.csv")
    assert code == 0
    assert stdout.splitlines()[-1].startswith("... 1,620 pairs in all")
    assert len(stdout.splitlines()) == 22


def test_force_overwrites(gae_run, tmp_path, capsys):
    out = tmp_path / "emb.csv"
    out.write_text("old\n")
    code, _, err = cli(capsys, "embed", gae_run, "--out", out)
    assert_one_line_error(code, err, "exists; use --force")
    assert out.read_text() == "old\n"
    code, *_ = cli(capsys, "embed", gae_run, "--out", out, "--force")
    assert code == 0 and out.read_text().startswith("id,z0,")


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def errors(gae_run, featureless_run, graph_dir, tmp_path):
    """Paths for the error cases: a scratch folder, broken runs, bad inputs."""
    unfinished = shutil.copytree(gae_run, tmp_path / "unfinished")
    (unfinished / "metrics.json").unlink()
    evil = shutil.copytree(gae_run, tmp_path / "evil")
    torch.save({"state_dict": RunsCode(tmp_path / "marker"), "config": {}, "in_dim": 1},
               evil / "checkpoint.pt")  # fmt: skip
    evil_pickle = shutil.copytree(gae_run, tmp_path / "evil_pickle")
    with open(evil_pickle / "checkpoint.pt", "wb") as f:
        pickle.dump({"state_dict": RunsCode(tmp_path / "marker")}, f, protocol=2)
    (tmp_path / "pairs.csv").write_text("n0,n1\nn2,n3\nn4,ghost\n")
    x = np.zeros((NUM_NODES, 3))
    write_features(tmp_path / "narrow.csv", x, None)
    (tmp_path / "exists.csv").write_text("keep\n")
    (tmp_path / "a_file").write_text("")
    out = tmp_path / "out"
    out.mkdir()
    return {
        "run": gae_run,
        "featureless": featureless_run,
        "graph": graph_dir,
        "tmp": tmp_path,
        "out": out,
    }


ERROR_CASES = {
    "not a run": (["embed", "{tmp}", "--out", "{out}/e.csv"], ["not a finished run"]),
    "unfinished": (["predict", "{tmp}/unfinished", "--node", "n0"], ["no metrics.json"]),
    "no such run": (["embed", "{tmp}/nope", "--out", "{out}/e.csv"], ["no such run folder"]),
    "unknown node": (["predict", "{run}", "--node", "ghost"], ["'ghost'", "nodes.txt"]),
    "unknown pair id": (
        ["predict", "{run}", "--pairs", "{tmp}/pairs.csv", "--out", "{out}/s.csv"],
        ["pairs.csv, line 3", "'ghost'"],
    ),
    "top 0": (["predict", "{run}", "--node", "n0", "--top", "0"], ["--top must be a positive"]),
    "missing pairs file": (["predict", "{run}", "--pairs", "{tmp}/none.csv"], ["no such file"]),
    "missing edges": (
        ["embed", "{run}", "--edges", "{tmp}/none.csv", "--out", "{out}/e.csv"],
        ["none.csv: no such file"],
    ),
    "narrow features": (
        [
            "embed",
            "{run}",
            "--edges",
            "{graph}/edges.csv",
            "--features",
            "{tmp}/narrow.csv",
            "--out",
            "{out}/e.csv",
        ],
        ["3 columns but the model was trained on 16"],
    ),
    "featureless": (
        [
            "embed",
            "{featureless}",
            "--edges",
            "{graph}/edges.csv",
            "--features",
            "{graph}/features.csv",
            "--out",
            "{out}/e.csv",
        ],
        ["without node features", "retrain with a feature file"],
    ),
    "exists": (["embed", "{run}", "--out", "{tmp}/exists.csv"], ["exists; use --force"]),
    "not writable": (["embed", "{run}", "--out", "{tmp}/a_file/e.csv"], ["output folder"]),
    "extension": (["embed", "{run}", "--out", "{out}/e.json"], [".csv, .tsv, .npy, .parquet"]),
    "ranking extension": (
        ["predict", "{run}", "--node", "n0", "--out", "{out}/r.npy"],
        [".csv, .tsv"],
    ),
    "features without edges": (
        ["embed", "{run}", "--features", "{graph}/features.csv", "--out", "{out}/e.csv"],
        ["--features needs --edges"],
    ),
    "top with pairs": (
        ["predict", "{run}", "--pairs", "{tmp}/pairs.csv", "--top", "3"],
        ["--top and --include-known apply to --node"],
    ),
    "code in checkpoint": (
        ["embed", "{tmp}/evil", "--out", "{out}/e.csv"],
        ["refused to load", "only open checkpoints you trust"],
    ),
    "code in pickle": (
        ["predict", "{tmp}/evil_pickle", "--node", "n0", "--out", "{out}/r.csv"],
        ["refused to load", "posix.system"],
    ),
    "no node or pairs": (["predict", "{run}"], ["one of the arguments --node --pairs"]),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_user_errors_are_one_line_exit_2_no_output(errors, capsys, case):
    args, fragments = ERROR_CASES[case]
    before = sorted(p.relative_to(errors["tmp"]) for p in errors["tmp"].rglob("*"))
    code, _, err = cli(capsys, *(a.format(**errors) for a in args))
    assert_one_line_error(code, err, *fragments)
    assert list(errors["out"].iterdir()) == []
    after = sorted(p.relative_to(errors["tmp"]) for p in errors["tmp"].rglob("*"))
    assert after == before  # no output, no temporary file, no marker
    assert (errors["tmp"] / "exists.csv").read_text() == "keep\n"
