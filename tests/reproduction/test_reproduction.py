import csv
import json
import shutil

import pytest
import yaml

from graphae.cli import main
from graphae.errors import ConfigError
from graphae.reproduction import available_specs, load_spec, reproduce, run_reproduction


def test_every_bundled_spec_loads_and_validates():
    specs = available_specs()
    assert "kipf2016" in specs
    for name in specs:
        spec = load_spec(name)
        assert spec.runs >= 1 and spec.methods
        for dataset in spec.datasets:
            for method in spec.methods:
                assert method.label in spec.reported[dataset]


def test_kipf2016_is_table_1():
    spec = load_spec("kipf2016")
    assert spec.labels == ["SC", "DW", "GAE*", "VGAE*", "GAE", "VGAE"]
    assert spec.datasets == ["Cora", "CiteSeer", "PubMed"] and spec.runs == 10
    assert spec.reported["Cora"]["VGAE"]["auc"] == (91.4, 0.01)
    assert spec.reported["PubMed"]["GAE"]["ap"] == (96.5, 0.0)
    gae = spec.settings_for(spec.method("GAE*"), "Cora")
    assert gae["features"] is False and gae["epochs"] == 200 and gae["objective"] == "dense"
    # deviations are data, with a note that becomes a footnote
    pubmed = spec.settings_for(spec.method("VGAE"), "PubMed")
    assert pubmed["objective"] == "sampled"
    assert spec.overrides_for(spec.method("VGAE"), "PubMed")[0].note


def test_maskgae2023_runs_each_mask_on_both_protocols():
    spec = load_spec("maskgae2023")
    assert spec.datasets == ["Cora", "CiteSeer", "PubMed"] and spec.runs == 10
    assert spec.split == {"val_fraction": 0.05, "test_fraction": 0.10}
    for mask in ("edge", "path"):
        theirs = spec.method(f"MaskGAE {mask} split2022")
        ours = spec.method(f"MaskGAE {mask}")
        # MaskGAE's protocol: one split (seed 2022), scored on the train+val graph
        assert theirs.split_seed == 2022
        assert spec.settings_for(theirs, "Cora")["test_graph"] == "train+val"
        # ours: run k on split k, scored on the training graph (the default)
        assert ours.split_seed is None
        assert spec.settings_for(ours, "Cora").get("test_graph", "train") == "train"
        assert theirs.note and ours.note
        # on MaskGAE's very split (PyG's RandomLinkSplit after set_seed(2022))
        assert theirs.split_method == "pyg" and ours.split_method == "graphae"
        # the same model; MaskGAE's script validates every 10 epochs, decoder dropout 0.2
        script = {"test_graph", "eval_every", "decoder_dropout"}
        theirs_settings = spec.settings_for(theirs, "Cora")
        assert theirs_settings["eval_every"] == 10 and theirs_settings["decoder_dropout"] == 0.2
        same_model = {k: v for k, v in theirs_settings.items() if k not in script}
        assert same_model == spec.settings_for(ours, "Cora")
        assert same_model["model"] == "maskgae"
    assert spec.settings_for(spec.method("MaskGAE edge"), "Cora")["mask"] == "directed"
    assert spec.settings_for(spec.method("MaskGAE path"), "Cora")["mask"] == "path"
    published = {  # AUC, AP in %: path, then edge masking
        "Cora": ((96.45, 95.95), (96.42, 95.91)),
        "CiteSeer": ((97.87, 98.09), (98.02, 98.18)),
        "PubMed": ((98.84, 98.78), (98.75, 98.66)),
    }
    for dataset, (path, edge) in published.items():
        for label, (auc, ap) in (("MaskGAE path", path), ("MaskGAE edge", edge)):
            for protocol in (label, f"{label} split2022"):
                reported = spec.reported[dataset][protocol]
                assert (reported["auc"][0], reported["ap"][0]) == (auc, ap)


def write_spec(tmp_path, **changes):
    raw = yaml.safe_load(available_specs()["kipf2016"].read_text())
    raw.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"datasets": ["Cora", "Foo"]}, "unknown dataset"),
        ({"methods": [{"label": "X", "kind": "magic"}], "overrides": []}, "unknown kind"),
        (
            {
                "methods": [{"label": "GAE", "kind": "autoencoder", "settings": {"latent": 3}}],
                "overrides": [],
            },
            "unknown settings",
        ),
        (
            {
                "methods": [{"label": "GAE", "kind": "autoencoder", "settings": {"lr": -1}}],
                "overrides": [],
            },
            "lr",
        ),
        ({"methods": [{"label": "GAE", "kind": "autoencoder"}]}, "unknown method 'GAE\\*'"),
        (
            {"methods": [{"label": "NEW", "kind": "autoencoder"}], "overrides": []},
            "no reported numbers",
        ),
        ({"runs": 0}, "runs"),
    ],
)
def test_invalid_specs_are_rejected_without_training(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        load_spec(write_spec(tmp_path, **change))


def test_unknown_name_lists_available():
    with pytest.raises(ConfigError, match=r"available: .*kipf2016"):
        load_spec("nope2099")


def test_tiny_reproduction_end_to_end_and_resume(data_root, tmp_path):
    lines = []
    out = tmp_path / "repro"
    options = dict(datasets=["cora"], runs=1, data_root=str(data_root), epochs=5, log=lines.append)
    # small baseline settings keep this fast; the spec file itself is untouched
    spec_path = write_spec(tmp_path)
    raw = yaml.safe_load(spec_path.read_text())
    for m in raw["methods"]:
        if m["kind"] == "dw":
            m["settings"].update(dim=32, walks_per_node=2, walk_length=20)
    spec_path.write_text(yaml.safe_dump(raw))

    result = reproduce(spec_path, out, **options)
    assert [r.method for r in result.rows] == ["SC", "DW", "GAE*", "VGAE*", "GAE", "VGAE"]
    assert all(r.paper_auc > 0 and r.runs == 1 for r in result.rows)
    assert all(r.auc > 55 for r in result.rows), [(r.method, r.auc) for r in result.rows]
    assert any("ETA" in line for line in lines) and "[6/6]" in "".join(lines)
    # the three table files, paper column filled
    md = (out / "table.md").read_text()
    assert "| Cora | VGAE | " in md and "91.4" in md
    # our Hits@50 and MRR beside the paper's AUC/AP columns
    assert "| Δ AP | Hits@50 ours | MRR ours | within tolerance |" in md
    assert all(r.hits50 is not None and 0 < r.mrr <= 100 for r in result.rows)
    rows = list(csv.DictReader((out / "table.csv").read_text().splitlines()))
    assert len(rows) == 6 and float(rows[0]["paper_auc"]) == 84.6
    payload = json.loads((out / "table.json").read_text())
    assert payload["name"] == "kipf2016" and len(payload["rows"]) == 6
    # every run is a normal run directory with TensorBoard events
    for method in ("sc", "dw", "gae_nofeat", "vgae_nofeat", "gae", "vgae"):
        run_dir = out / "cora" / f"{method}_seed0"
        assert (run_dir / "metrics.json").exists()
        assert any(p.name.startswith("events.out.tfevents") for p in run_dir.iterdir())
    # same split for every method of a seed
    splits = {
        (out / "cora" / f"{m}_seed0" / "split.npz").read_bytes() for m in ("sc", "gae", "vgae")
    }
    assert len(splits) == 1

    # interrupted halfway: one run lost its metrics, one folder vanished
    (out / "cora" / "gae_seed0" / "metrics.json").unlink()
    shutil.rmtree(out / "cora" / "dw_seed0")
    lines.clear()
    again = reproduce(spec_path, out, **options)
    assert sum("skipped" in line for line in lines) == 4
    assert [r.auc for r in again.rows] == pytest.approx([r.auc for r in result.rows])
    assert [r.mrr for r in again.rows] == pytest.approx([r.mrr for r in result.rows])

    # a finished run from before Hits@K/MRR were recorded is reused: its cell shows "–"
    old = out / "cora" / "vgae_seed0" / "metrics.json"
    metrics = json.loads(old.read_text())
    metrics["test"] = {"auc": metrics["test"]["auc"], "ap": metrics["test"]["ap"]}
    old.write_text(json.dumps(metrics))
    third = reproduce(spec_path, out, **options)
    vgae = third.rows[-1]
    assert vgae.method == "VGAE" and vgae.hits50 is None and vgae.mrr is None
    assert vgae.auc == pytest.approx(result.rows[-1].auc)
    (line,) = [x for x in third.markdown.splitlines() if x.startswith("| Cora | VGAE | ")]
    assert line.split(" | ")[8:10] == ["–", "–"]


def test_changed_settings_are_rerun_not_reused(data_root, tmp_path):
    out = tmp_path / "repro"
    spec = load_spec("kipf2016")
    common = dict(
        datasets=["Cora"], methods=["GAE"], runs=1, data_root=str(data_root), log=lambda _: None
    )
    first = run_reproduction(spec, out, epochs=2, **common)
    second = run_reproduction(spec, out, epochs=3, **common)
    assert not second[0].skipped and second[0].metrics["epochs"] == 3 != first[0].metrics["epochs"]


def test_cli_list_and_errors(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    assert "kipf2016" in out and "VGAE*" in out
    assert main(["reproduce", "nope2099"]) == 2
    assert "available" in capsys.readouterr().err
    assert main(["reproduce", "kipf2016", "--datasets", "Foo"]) == 2
    assert main(["reproduce", "kipf2016", "--methods", "XYZ"]) == 2
    assert main(["reproduce", "kipf2016", "--runs", "0"]) == 2


def test_a_method_with_a_split_seed_uses_one_split_in_every_run(data_root, tmp_path):
    # a paper's protocol with one fixed split (MaskGAE's: seed 2022) beside ours, drawn
    # by graphae or as the paper's script draws it (PyG's RandomLinkSplit)
    raw = yaml.safe_load(available_specs()["kipf2016"].read_text())
    fixed = {"label": "GAE", "kind": "autoencoder", "settings": {"model": "gae"}}
    raw["methods"] = [
        fixed,
        {**fixed, "label": "GAE-fixed", "split_seed": 7},
        {**fixed, "label": "GAE-pyg", "split_seed": 7, "split_method": "pyg"},
    ]
    raw["overrides"] = []
    for by_method in raw["reported"].values():
        by_method["GAE-fixed"] = by_method["GAE-pyg"] = by_method["GAE"]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "repro"
    run_reproduction(
        load_spec(path), out, datasets=["Cora"], runs=2, data_root=str(data_root), epochs=2,
        log=lambda _: None,
    )  # fmt: skip
    split = {p.parent.name: p.read_bytes() for p in (out / "cora").glob("*/split.npz")}
    assert split["gae-fixed_seed0"] == split["gae-fixed_seed1"]
    assert split["gae_seed0"] != split["gae_seed1"]
    assert split["gae-fixed_seed0"] not in (split["gae_seed0"], split["gae_seed1"])
    assert split["gae-pyg_seed0"] == split["gae-pyg_seed1"]  # one split, every run
    assert split["gae-pyg_seed0"] != split["gae-fixed_seed0"]  # same seed, PyG's draw
    bad = {**raw, "methods": [{**fixed, "split_seed": -1}]}
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match="split_seed"):
        load_spec(path)
    bad = {**raw, "methods": [{**fixed, "split_method": "sklearn"}]}
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match="split_method must be one of graphae, pyg"):
        load_spec(path)
