import json
import os
import re
import subprocess
import sys

import pytest

from graphae import load_checkpoint
from graphae.cli import main


@pytest.mark.parametrize(
    "args",
    [
        ["--latent-dim", "0"],
        ["--epochs", "-5"],
        ["--lr", "0"],
        ["--epochs", "abc"],
        ["--model", "nope"],
        ["--dataset", "Foo"],
        ["--device", "tpu9"],
        ["--test-graph", "test"],
    ],
)
def test_bad_input_is_one_line_exit_2_no_run_dir(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        code = main(["train", *args, "--quiet"])
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(
        ("graphae: error:", "graphae train: error:")
    )
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_unknown_dataset_lists_known(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "Foo"]) == 2
    assert "Cora, CiteSeer, PubMed" in capsys.readouterr().err


def test_missing_data_offline_is_one_line(tmp_path):
    env = {
        **os.environ,
        "GRAPHAE_DATA": str(tmp_path / "nothing"),
        "XDG_CACHE_HOME": str(tmp_path / "c"),
    }
    code = (
        "import sys, urllib.error\n"
        "from torch_geometric.datasets import Planetoid\n"
        "def offline(self): raise urllib.error.URLError('offline')\n"
        "Planetoid.download = offline\n"
        "from graphae.cli import main\n"
        "sys.exit(main(['train', '--epochs', '1', '--runs-dir', sys.argv[1]]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "runs")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "ind.cora.x" in lines[0] and "--data-root" in lines[0]
    assert not (tmp_path / "runs").exists()


def test_train_on_cora_prints_results_and_writes_run(data_root, tmp_path, capsys):
    code = main(
        [
            "train",
            "--model",
            "vgae",
            "--dataset",
            "Cora",
            "--epochs",
            "30",
            "--data-root",
            str(data_root),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--quiet",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "test AUC" in out and "dense objective" in out and "vgae_cora_16d_30ep" in out
    assert re.search(r"\n  test Hits@20 \d+\.\d\d  @50 [\d.]+  @100 [\d.]+  MRR [\d.]+\n", out)
    metrics = json.loads((tmp_path / "runs" / "vgae_cora_16d_30ep" / "metrics.json").read_text())
    assert metrics["test"]["auc"] > 0.8


def test_train_with_the_pyg_example_settings(data_root, tmp_path, capsys):
    args = ["train", "--model", "gae", "--epochs", "150", "--objective", "sampled"]
    args += ["--normalize-features", "--bias", "--test-graph", "train+val"]
    args += ["--data-root", str(data_root)]
    assert main([*args, "--runs-dir", str(tmp_path / "runs"), "--quiet", "--no-figures"]) == 0
    assert "sampled objective" in capsys.readouterr().out
    run = tmp_path / "runs" / "gae_cora_16d_150ep"
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["normalize_features"] is True and config["bias"] is True
    assert config["test_graph"] == "train+val"
    assert json.loads((run / "metrics.json").read_text())["test"]["auc"] > 0.8
    model, _ = load_checkpoint(run)  # the biases come back with the weights
    assert model.encoder.conv2.bias is not None


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and "graphae" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--no-features" in capsys.readouterr().out
