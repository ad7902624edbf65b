"""The memory estimate: sizes, stages, the --max-memory refusal."""

from __future__ import annotations

import pytest

from graphae import TrainConfig
from graphae.data import social_graph
from graphae.data.link_split import split_edges
from graphae.errors import ConfigError
from graphae.memory import (
    STAGES,
    check_memory,
    estimate_memory,
    estimate_run,
    format_size,
    parse_size,
)
from tests.conftest import assert_one_line_error, cli


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("16G", 16 * 2**30),
        ("16GB", 16 * 2**30),
        ("16GiB", 16 * 2**30),
        ("512m", 512 * 2**20),
        ("1.5T", int(1.5 * 2**40)),
        ("2e9", 2_000_000_000),
        (4096, 4096),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "12Q", "-1G", "0", "lots", True])
def test_parse_size_rejects(text):
    with pytest.raises(ConfigError, match="max-memory"):
        parse_size(text)


def test_format_size():
    assert format_size(512 * 2**20) == "512 MiB"
    assert format_size(9.84 * 2**30) == "9.8 GiB"
    assert format_size(100) == "100 B"


def _estimate(**kwargs):
    defaults = dict(num_nodes=100_000, num_edges=1_000_000, num_features=128, parameters=5_000)
    return estimate_memory(**{**defaults, **kwargs})


def test_stages_add_up_and_scale_with_the_graph():
    small, big = _estimate(), _estimate(num_nodes=1_000_000, num_edges=10_000_000)
    assert list(small.stages) == list(STAGES)
    assert small.peak == sum(small.stages.values())
    for stage in ("graph", "features", "activations", "objective", "evaluation"):
        assert big.stages[stage] > 5 * small.stages[stage], stage
    # 1M nodes x 128 float32 features, stored once
    assert big.stages["features"] == 4 * 1_000_000 * 128


def test_estimate_follows_the_settings():
    base = _estimate()
    assert _estimate(variational=True).stages["activations"] > base.stages["activations"]
    assert _estimate(num_features=0).stages["features"] == 0
    assert _estimate(feature_nnz=1000).stages["features"] < base.stages["features"]
    assert _estimate(parameters=10**6).stages["optimiser"] == 12 * 10**6
    assert _estimate(objective="dense").stages["objective"] < base.stages["objective"]


def test_estimate_run_counts_the_real_model_and_split():
    data = social_graph(2000, 10_000, num_features=16, seed=0)
    split = split_edges(data.edge_index, 2000, 0.05, 0.10, 0)
    config = TrainConfig(model="gae", hidden_dim=32, latent_dim=16)
    estimate = estimate_run(config, data, split, "sampled")
    assert estimate.stages["parameters"] == 2 * 4 * (16 * 32 + 32 * 16)  # weights + best copy
    featureless = estimate_run(TrainConfig(model="gae", features=False), data, split, "sampled")
    assert featureless.stages["parameters"] == 2 * 4 * (2000 * 32 + 32 * 16)  # identity input
    vgae = estimate_run(TrainConfig(model="vgae"), data, split, "sampled")
    assert vgae.stages["parameters"] > estimate.stages["parameters"]


def test_check_memory_refuses_in_one_line():
    estimate = _estimate(num_nodes=3_000_000, num_edges=30_000_000)
    with pytest.raises(ConfigError) as info:
        check_memory(estimate, "1G")
    message = str(info.value)
    assert "\n" not in message and "--max-memory is 1.0 GiB" in message
    assert "largest part: objective" in message
    check_memory(estimate, "1T")  # fits
    check_memory(estimate, "none")  # no check
    check_memory(_estimate(), None)  # default: the machine's memory, far above


def test_the_estimate_is_shown_for_large_runs_or_on_request():
    from graphae.memory import shows_estimate

    assert not shows_estimate(_estimate(num_nodes=1000, num_edges=5000), None)
    assert shows_estimate(_estimate(num_nodes=1000, num_edges=5000), "16G")
    assert shows_estimate(_estimate(num_nodes=10**6, num_edges=10**7), None)


def test_line_names_every_stage():
    line = _estimate().line()
    assert line.startswith("memory estimate: ") and "\n" not in line
    for stage in ("graph", "features", "parameters", "optimiser", "activations", "objective"):
        assert stage in line


def test_cli_prints_the_estimate_and_refuses_above_max_memory(planted_files, tmp_path, capsys):
    args = ["train", "--edges", planted_files["edges"], "--model", "gae", "--epochs", "3"]
    args += ["--runs-dir", tmp_path / "runs", "--no-figures", "--threads", "1"]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    assert "memory estimate" not in out  # a small run: only on request
    code, out, err = cli(capsys, *args, "--max-memory", "16G", "--name", "asked")
    assert code == 0, err
    assert sum(line.startswith("memory estimate:") for line in out.splitlines()) == 1
    code, out, _ = cli(capsys, *args, "--max-memory", "16G", "--quiet", "--name", "quiet")
    assert code == 0 and "memory estimate" not in out
    code, _, err = cli(capsys, *args, "--max-memory", "10M", "--name", "refused")
    assert_one_line_error(code, err, "needs about", "--max-memory is 10.0 MiB")
    assert not (tmp_path / "runs" / "refused").exists()
    code, _, err = cli(capsys, *args, "--max-memory", "lots")
    assert_one_line_error(code, err, "max-memory must be a size")


def test_config_validates_max_memory():
    assert TrainConfig(max_memory="16G").max_memory == "16G"
    assert TrainConfig(max_memory="none").max_memory == "none"
    with pytest.raises(ConfigError, match="max-memory"):
        TrainConfig(max_memory="sixteen")
    assert "max_memory" not in TrainConfig(max_memory="16G").result_settings()
