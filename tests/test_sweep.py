import json
from dataclasses import replace
from pathlib import Path

import pytest

from graphae import pipeline
from graphae.artifacts.run_dir import finished_metrics
from graphae.cli import main
from graphae.config import TrainConfig
from graphae.errors import ConfigError
from graphae.sweep import expand, run_name, run_sweep
from graphae.tracking.base import Tracker


def test_expand_is_the_cartesian_product():
    combos = expand({"model": ["gae", "vgae"], "latent_dim": [2, 20], "epochs": [100]})
    assert len(combos) == 4
    assert combos[0] == {"model": "gae", "latent_dim": 2, "epochs": 100}
    with pytest.raises(ConfigError, match=r"cannot sweep 'hidden' \(did you mean hidden_dim"):
        expand({"hidden": [1]})
    with pytest.raises(ConfigError, match="cannot sweep 'runs_dir'"):
        expand({"runs_dir": ["a", "b"]})  # where outputs go is not a setting of the numbers
    with pytest.raises(ConfigError, match="no values"):
        expand({"lr": []})


def test_names_show_what_varies():
    config = TrainConfig(
        model="gae", dataset="CiteSeer", latent_dim=2, epochs=100, lr=0.005, seed=1
    )
    assert run_name(config, set()) == "gae_citeseer_2d_100ep"
    assert run_name(config, {"lr", "seed"}) == "gae_citeseer_2d_100ep_lr0.005_seed1"
    assert run_name(config, {"objective"}) == "gae_citeseer_2d_100ep_auto"
    # any other setting: option name and value, flags by name; the seed last
    other = replace(config, dropout=0.5, residual=True, weight_decay=5e-5, fanout=[5, 2])
    varying = {"seed", "dropout", "residual", "weight_decay", "fanout", "lr"}
    assert run_name(other, varying) == (
        "gae_citeseer_2d_100ep_lr0.005_dropout0.5_residual_weight-decay5e-05_fanout5-2_seed1"
    )
    assert run_name(replace(other, residual=False), {"residual"}).endswith("_no-residual")
    # the default name already tells masks and ensemble sizes apart: nothing added
    masked = TrainConfig(model="maskgae", mask="edge", ensemble=3)
    assert run_name(masked, {"mask", "ensemble"}) == "maskgae_edgemask_ens3_cora_128d_500ep"


def test_sweep_runs_each_combination_once_and_resumes(data_root, tmp_path):
    lines = []
    base = TrainConfig(data_root=str(data_root), runs_dir=str(tmp_path), quiet=True)
    grid = {
        "model": ["gae", "vgae"],
        "dataset": ["Cora"],
        "latent_dim": [2, 8],
        "epochs": [3],
        "seed": [0, 1],
    }
    first = run_sweep(grid, base, log=lines.append)
    assert len(first) == 8 and not any(r["skipped"] for r in first)
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert names[0] == "gae_cora_2d_3ep_seed0" and len(names) == 8
    assert any("ETA" in line for line in lines)
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert len(summary["runs"]) == 8 and summary["grid"]["latent_dim"] == [2, 8]

    (tmp_path / "vgae_cora_8d_3ep_seed1" / "metrics.json").unlink()  # interrupted run
    again = run_sweep(grid, base, log=lines.append)
    assert sum(r["skipped"] for r in again) == 7
    assert not any(p.name.endswith("_2") for p in tmp_path.iterdir())
    assert [r["test"] for r in again] == [r["test"] for r in first]

    # a run saved before a setting existed counts as done with that setting's default
    config_file = tmp_path / "gae_cora_2d_3ep_seed0" / "config.json"
    saved = json.loads(config_file.read_text())
    del saved["config"]["test_graph"]
    config_file.write_text(json.dumps(saved))
    assert run_sweep(grid, base, log=lines.append)[0]["skipped"]
    other = replace(base, model="gae", latent_dim=2, epochs=3, test_graph="train+val")
    defaults = TrainConfig().result_settings()
    assert finished_metrics(config_file.parent, other.result_settings(), defaults) is None
    same = replace(other, test_graph="train").result_settings()
    assert finished_metrics(config_file.parent, same, defaults) is not None
    assert finished_metrics(config_file.parent, same) is None  # without the defaults


def test_cli_sweep_and_errors(data_root, tmp_path, capsys):
    args = [
        "sweep",
        "--model",
        "gae",
        "--latent-dim",
        "2",
        "4",
        "--epochs",
        "2",
        "--seeds",
        "2",
        "--data-root",
        str(data_root),
        "--runs-dir",
        str(tmp_path),
        "--quiet",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "gae_cora_2d_2ep" in out and "gae_cora_4d_2ep" in out and "sweep.json" in out
    assert main(["sweep", "--seeds", "0"]) == 2
    assert main(["sweep", "--latent-dim", "0", "--runs-dir", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("command", ["sweep", "train", "compare"])
def test_help_shows_no_misleading_defaults_for_flags(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # help lines rewrapped as one
    for flag in ("--no-figures", "--no-features", "--quiet", "--no-group", "--no-plot"):
        if flag in text:
            after = text.split(f"{flag} ", 1)[1].split(" --", 1)[0]
            assert "(default:" not in after, (flag, after)
    assert "(default: None)" not in text
    if command == "sweep":
        assert "--no-figures write no PNGs (without it, each run writes latent.png" in text
        assert "--tracker NAME" in text and "--mlflow-uri URI" in text


class _StopAt(Tracker):
    """Raises ``KeyboardInterrupt`` (Ctrl-C) when ``epoch`` is logged."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def log_metrics(self, metrics, step=None):
        if step == self.epoch:
            raise KeyboardInterrupt


def test_sweep_resumes_a_run_stopped_after_a_checkpoint(data_root, tmp_path):
    base = TrainConfig(
        data_root=str(data_root),
        runs_dir=str(tmp_path / "a"),
        quiet=True,
        figures=False,
        checkpoint_every=10,
    )
    grid = {"model": ["gae"], "dataset": ["Cora"], "epochs": [30]}
    with pytest.raises(KeyboardInterrupt):
        run_sweep(grid, base, trackers=[_StopAt(25)])
    (stopped,) = (tmp_path / "a").iterdir()
    assert (stopped / "resume.pt").is_file() and not (stopped / "metrics.json").exists()
    lines = []
    resumed = run_sweep(grid, base, log=lines.append)
    assert any("resuming" in line for line in lines)
    metrics = json.loads((stopped / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == 20
    never_stopped = run_sweep(grid, replace(base, runs_dir=str(tmp_path / "b")))
    assert resumed[0]["test"] == never_stopped[0]["test"]


def test_sweep_gives_each_model_its_own_defaults(planted_files, tmp_path):
    # a setting the sweep does not set is each model's own: maskgae's widths, not vgae's
    base = TrainConfig(
        edges=str(planted_files["edges"]),
        features_file=str(planted_files["features"]),
        runs_dir=str(tmp_path),
        quiet=True,
        figures=False,
        checkpoint_every=0,
    )
    summary = run_sweep({"model": ["gae", "maskgae"], "epochs": [2]}, base, log=lambda _: None)
    saved = [json.loads((Path(s["run_dir"]) / "config.json").read_text()) for s in summary]
    gae, maskgae = (info["config"] for info in saved)
    assert (gae["model"], gae["hidden_dim"], gae["latent_dim"]) == ("gae", 32, 16)
    assert (maskgae["model"], maskgae["hidden_dim"], maskgae["decoder"]) == ("maskgae", 128, "mlp")
    assert gae["epochs"] == maskgae["epochs"] == 2


def test_sweep_varies_any_setting_on_your_own_graph(planted_files, tmp_path, capsys, monkeypatch):
    """Model parts and optimiser settings sweep like the classic ones, from the CLI too."""
    args = [
        "sweep",
        "--edges",
        planted_files["edges"],
        "--features-file",
        planted_files["features"],
        "--model",
        "maskgae",
        "--mask",
        "edge",
        "path",
        "--dropout",
        "0.2",
        "0.5",
        "--epochs",
        "3",
        "--hidden-dim",
        "16",
        "--latent-dim",
        "8",
        "--residual",
        "--runs-dir",
        tmp_path,
        "--quiet",
        "--no-figures",
        "--checkpoint-every",
        "0",
    ]
    reads = []
    load_graph = pipeline.load_graph
    monkeypatch.setattr(
        pipeline, "load_graph", lambda *a, **k: reads.append(1) or load_graph(*a, **k)
    )
    assert main([str(a) for a in args]) == 0
    assert len(reads) == 1  # the files are read once for the four runs
    out = capsys.readouterr().out
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert names == [
        "maskgae_edgemask_edges_8d_3ep_dropout0.2",
        "maskgae_edgemask_edges_8d_3ep_dropout0.5",
        "maskgae_pathmask_edges_8d_3ep_dropout0.2",
        "maskgae_pathmask_edges_8d_3ep_dropout0.5",
    ]
    for name in names:
        config = json.loads((tmp_path / name / "config.json").read_text())["config"]
        assert config["mask"] in name and f"dropout{config['dropout']:g}" in name
        assert (config["hidden_dim"], config["residual"], config["edges"]) == (
            16,
            True,
            str(planted_files["edges"]),
        )
        assert config["features_file"] == str(planted_files["features"])
        assert config["decoder"] == "mlp"  # not given: the model's own
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert summary["grid"]["mask"] == ["edge", "path"]
    assert {r["settings"]["dropout"] for r in summary["runs"]} == {0.2, 0.5}
    assert summary["runs"][0]["settings"]["dataset"] == "edges"
    # the closing table names what its columns do not show
    assert "other settings" in out and "dropout=0.2 mask=edge" in out

    # again: all four are done; a combination sharing a folder is refused before training
    assert main([str(a) for a in args]) == 0
    assert capsys.readouterr().err.count("done before, skipped") == 4
    with pytest.raises(ConfigError, match="would share the run folder"):
        run_sweep({"dataset": ["Cora", "cora"], "epochs": [2]}, TrainConfig(runs_dir=str(tmp_path)))
    code = main(["sweep", "--dropout", "0.5", "1.5", "--runs-dir", str(tmp_path / "bad")])
    assert code == 2 and "dropout must be in [0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
