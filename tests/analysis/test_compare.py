import json
import shutil
from pathlib import Path

import pytest

from graphae import TrainConfig, train
from graphae.analysis import curves_figure, format_table, group_runs, read_runs, sort_groups
from graphae.cli import main


@pytest.fixture(scope="module")
def runs_dir(planted, tmp_path_factory):
    """2 latent sizes x 2 seeds on the planted graph, plus a broken and an unfinished run."""
    root = tmp_path_factory.mktemp("runs")
    for latent in (2, 8):
        for seed in (0, 1):
            config = TrainConfig(
                model="gae",
                dataset="planted",
                latent_dim=latent,
                epochs=15,
                seed=seed,
                runs_dir=str(root),
                name=f"gae_{latent}d_seed{seed}",
                quiet=True,
            )
            train(config, data=planted)
    broken = train(
        TrainConfig(dataset="planted", epochs=2, runs_dir=str(root), name="broken", quiet=True),
        data=planted,
    ).run_dir
    (broken / "metrics.json").write_text("{ not json")
    unfinished = root / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text(json.dumps({"config": {"model": "gae"}}))
    return root


def test_reads_runs_and_reports_broken_ones(runs_dir):
    runs, skipped = read_runs([str(runs_dir)])
    assert len(runs) == 4
    reasons = {p.name: why for p, why in skipped}
    assert "unreadable" in reasons["broken"] and "unfinished" in reasons["unfinished"]
    assert all(sum("val/auc" in h for h in r.history) == 15 for r in runs)


def test_groups_seeds_and_sorts(runs_dir):
    runs, _ = read_runs([str(runs_dir / "gae_*")])  # a glob
    groups = group_runs(runs)
    assert sorted(g.name for g in groups) == ["gae_2d", "gae_8d"]
    assert all(len(g.runs) == 2 for g in groups)
    ordered = sort_groups(groups, "test_auc")
    assert ordered[0].mean("test_auc") >= ordered[1].mean("test_auc")
    fastest = sort_groups(groups, "seconds")
    assert fastest[0].mean("seconds") <= fastest[1].mean("seconds")
    assert len(group_runs(runs, by_seed=False)) == 4
    with pytest.raises(ValueError):
        sort_groups(groups, "nope")


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_formats(runs_dir, fmt):
    runs, _ = read_runs([str(runs_dir)])
    text = format_table(sort_groups(group_runs(runs)), fmt)
    if fmt == "json":
        rows = json.loads(text)
        assert {r["run"] for r in rows} == {"gae_2d", "gae_8d"} and rows[0]["seeds"] == 2
        assert 0.5 < rows[0]["test_auc"] <= 1.0
    elif fmt == "csv":
        assert text.splitlines()[0].startswith("run,model,dataset") and len(text.splitlines()) == 3
    else:
        assert "| gae_2d | gae | planted | yes | 2 | 15 |" in text and " ± " in text


def test_cli_compare_writes_png_and_survives_broken_runs(runs_dir, capsys):
    assert main(["compare", str(runs_dir), "--sort", "test_ap"]) == 0
    captured = capsys.readouterr()
    assert "gae_8d" in captured.out and "gae_2d" in captured.out
    assert "skipped" in captured.err and "broken" in captured.err
    png = runs_dir / "compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_compare_with_nothing_to_compare(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "no finished runs" in capsys.readouterr().err


def test_image_vae_runs_are_skipped_with_a_reason(tmp_path):
    run = tmp_path / "vae_digits_2d_20ep"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"config": {"dataset": "digits"}}))
    (run / "metrics.json").write_text(json.dumps({"test": {"neg_elbo": 30.1}}))
    runs, skipped = read_runs([str(tmp_path)])
    assert runs == [] and "not a link-prediction run" in skipped[0][1]


def test_ranking_columns_sort_and_old_runs_show_a_dash(runs_dir, tmp_path, capsys):
    root = tmp_path / "mixed"
    shutil.copytree(runs_dir / "gae_2d_seed0", root / "gae_2d_seed0")
    old = root / "old_run"  # a run from before Hits@K/MRR were recorded
    shutil.copytree(runs_dir / "gae_8d_seed0", old)
    metrics = json.loads((old / "metrics.json").read_text())
    metrics["test"] = {"auc": metrics["test"]["auc"], "ap": metrics["test"]["ap"]}
    (old / "metrics.json").write_text(json.dumps(metrics))
    runs, _ = read_runs([str(root)])
    new = next(r for r in runs if r.path.name == "gae_2d_seed0")
    assert {"hits@20", "hits@50", "hits@100", "mrr"} <= set(new.metrics)
    for metric in ("hits@20", "hits@50", "hits@100", "mrr"):  # without them: last
        assert [g.name for g in sort_groups(group_runs(runs), metric)][-1] == "old_run"
    assert [g.name for g in sort_groups(group_runs(runs), "test_auc")] == [
        g.name for g in sorted(group_runs(runs), key=lambda g: -g.mean("test_auc"))
    ]
    text = format_table(group_runs(runs), "md")
    header, rule, *rows = text.splitlines()
    assert (
        "| test AP | test Hits@20 | test Hits@50 | test Hits@100 | test MRR | best epoch |"
        in header
    )
    assert header.count("|") == rule.count("|") == rows[0].count("|")
    (old_row,) = [row for row in rows if row.startswith("| old_run |")]
    assert old_row.split(" | ")[13:17] == ["–"] * 4
    (new_row,) = [row for row in rows if row.startswith("| gae_2d_seed0 |")]
    assert new_row.split(" | ")[14] == f"{100 * new.metrics['hits@50']:.1f}"
    rows = json.loads(format_table(group_runs(runs), "json"))
    assert {r["run"]: r["mrr"] for r in rows}["old_run"] is None
    assert main(["compare", str(root), "--sort", "hits@50", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert out.index("gae_2d_seed0") < out.index("old_run")


def test_training_time_per_epoch_in_wall_and_cpu_time(runs_dir, tmp_path):
    runs, _ = read_runs([str(runs_dir)])
    for run in runs:
        metrics = json.loads((run.path / "metrics.json").read_text())
        assert metrics["train_cpu_seconds"] > 0  # recorded beside the wall time
        assert run.metrics["epoch_seconds"] == pytest.approx(metrics["train_seconds"] / 15)
        assert run.metrics["epoch_cpu_seconds"] == pytest.approx(metrics["train_cpu_seconds"] / 15)
    text = format_table(group_runs(runs, by_seed=False), "md")
    header, _, *rows = text.splitlines()
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[-2:] == ["train ms/epoch (wall)", "train ms/epoch (CPU)"]
    assert "seconds" not in columns  # the total wall time: CSV and JSON only
    row = next(r for r in rows if r.startswith("| gae_2d_seed0 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    run = next(r for r in runs if r.path.name == "gae_2d_seed0")
    assert cells[-1] == f"{1000 * run.metrics['epoch_cpu_seconds']:.1f}"
    fastest = sort_groups(group_runs(runs), "epoch_cpu_seconds")
    assert fastest[0].mean("epoch_cpu_seconds") <= fastest[1].mean("epoch_cpu_seconds")
    # a run from before CPU time was recorded: a dash in the CPU column
    old = tmp_path / "old"
    shutil.copytree(runs_dir / "gae_8d_seed0", old)
    metrics = json.loads((old / "metrics.json").read_text())
    del metrics["train_cpu_seconds"]
    (old / "metrics.json").write_text(json.dumps(metrics))
    (record,) = read_runs([str(old)])[0]
    assert "epoch_seconds" in record.metrics and "epoch_cpu_seconds" not in record.metrics
    assert format_table(group_runs([record]), "md").rstrip().endswith("| – |")


def _group(name, epochs, seeds, rise=0.003):
    from graphae.analysis.compare import Group
    from graphae.analysis.runs import RunRecord

    runs = [
        RunRecord(
            path=Path(f"{name}_seed{seed}"),
            settings={"model": "gae", "epochs": epochs},
            seed=seed,
            metrics={},
            history=[
                {"step": e, "val/auc": min(0.99, 0.5 + rise * e + 0.01 * seed)}
                for e in range(1, epochs + 1)
            ],
        )
        for seed in range(seeds)
    ]
    return Group(name, runs[0].settings, runs)


def test_epoch_counts_ten_times_apart_get_a_panel_each():
    figure = curves_figure([_group("short", 100, 1), _group("long", 1000, 1)])
    short_ax, long_ax = figure.axes
    assert short_ax.get_title() == "runs of 100 epochs" and long_ax.get_xlim()[1] >= 1000
    assert short_ax.get_xlim()[1] < 200  # not squeezed into a tenth of a 1000-epoch axis
    # scores in percent; one seed: no band, and the title does not promise one
    assert 50 < max(short_ax.get_lines()[0].get_ydata()) <= 100
    assert short_ax.get_ylabel() == "val AUC (%)"
    assert not short_ax.collections and "band" not in figure.get_suptitle()


def test_seeds_get_a_min_max_band_and_the_title_says_so():
    figure = curves_figure([_group("a", 50, 3), _group("b", 60, 1)])
    (ax,) = figure.axes  # 50 and 60 epochs: one linear axis
    assert ax.get_xscale() == "linear" and len(ax.collections) == 1
    assert "band: min–max" in figure.get_suptitle()


def test_many_epoch_counts_share_a_log_axis():
    groups = [_group(f"g{e}", e, 1) for e in (5, 10, 20, 40, 80)]
    (ax,) = curves_figure(groups).axes
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "epoch (log scale)"


def test_runs_that_differ_beyond_the_columns_are_not_grouped_as_seeds(planted, tmp_path):
    """Settings the table does not show (the mask, the ensemble size) still split groups."""
    common = {"model": "maskgae", "epochs": 3, "runs_dir": str(tmp_path), "quiet": True}
    for name, seed, extra in [
        ("edge_s0", 0, {"mask": "edge"}),
        ("edge_s1", 1, {"mask": "edge"}),
        ("path_s2", 2, {"mask": "path"}),
        ("ens_s3", 3, {"mask": "edge", "ensemble": 2}),
    ]:
        train(data=planted, name=name, seed=seed, figures=False, **common, **extra)
    # a run from a version without the ensemble setting: its default, so one group with edge_*
    config = json.loads((tmp_path / "edge_s1" / "config.json").read_text())
    del config["config"]["ensemble"]
    (tmp_path / "edge_s1" / "config.json").write_text(json.dumps(config))
    runs, _ = read_runs([str(tmp_path)])
    groups = {g.name: len(g.runs) for g in group_runs(runs)}
    assert groups == {"edge": 2, "path_s2": 1, "ens_s3": 1}
    # the settings that split them get a column; settings equal in every group do not
    text = format_table(sort_groups(group_runs(runs)), "md")
    header, _, *rows = text.splitlines()
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[8] == "other settings"
    other = {r.split(" | ")[0].strip("| "): r.split(" | ")[8] for r in rows}
    assert other == {
        "edge": "ensemble=1 mask=edge",
        "path_s2": "ensemble=1 mask=path",
        "ens_s3": "ensemble=2 mask=edge",
    }
    rows = json.loads(format_table(group_runs(runs), "json"))
    assert {r["run"]: r["other"] for r in rows}["ens_s3"] == "ensemble=2 mask=edge"


def test_no_other_settings_column_when_only_the_columns_differ(runs_dir):
    runs, _ = read_runs([str(runs_dir)])
    header = format_table(group_runs(runs), "md").splitlines()[0]
    assert "other settings" not in header
    assert all(r["other"] == "" for r in json.loads(format_table(group_runs(runs), "json")))
