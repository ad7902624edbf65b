"""The memory estimate: sizes, stages, the --max-memory refusal."""

from __future__ import annotations

import pytest

from graphae import TrainConfig
from graphae.data import social_graph
from graphae.data.link_split import split_edges
from graphae.errors import ConfigError
from graphae.memory import (
    MINIBATCH_STAGES,
    STAGES,
    check_memory,
    estimate_memory,
    estimate_minibatch,
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


def _minibatch(**kwargs):
    settings = dict(num_nodes=3_000_000, num_edges=30_000_000, num_features=128)
    settings.update(parameters=200_000, hidden_dim=256, latent_dim=256, batch_size=512)
    return estimate_minibatch(**{**settings, "fanouts": [5, 5, 5], **kwargs})


def test_minibatch_activations_grow_with_the_batch_not_the_graph():
    base = _minibatch()
    assert base.minibatch and list(base.stages) == list(MINIBATCH_STAGES)
    bigger = _minibatch(num_nodes=30_000_000, num_edges=300_000_000)  # the same mean degree
    assert bigger.stages["activations"] == base.stages["activations"]
    assert _minibatch(batch_size=32).stages["activations"] < base.stages["activations"] / 10
    assert _minibatch(fanouts=[2, 2, 2]).stages["activations"] < base.stages["activations"]
    # three hops of 10 from 4096 pairs reach most of the graph: then N bounds it
    wide = _minibatch(batch_size=4096, fanouts=[10, 10, 10]).stages["activations"]
    capped = _minibatch(batch_size=4096, fanouts=[10, 10, 10], num_nodes=10**6)
    assert capped.stages["activations"] < wide
    # the exact evaluation pass is the part that grows with N
    assert bigger.stages["inference"] == 10 * base.stages["inference"]
    full = estimate_memory(3_000_000, 30_000_000, 128, parameters=200_000, hidden_dim=256,
                           latent_dim=256, layers=3)  # fmt: skip
    assert base.peak < full.peak and base.stages["activations"] < full.stages["activations"]


def test_the_full_graph_refusal_suggests_minibatch_training():
    with pytest.raises(ConfigError, match=r"--batch-size") as info:
        check_memory(_estimate(num_nodes=3_000_000, num_edges=30_000_000), "1G")
    assert "--objective sampled" not in str(info.value)  # it is sampled already
    with pytest.raises(ConfigError, match=r"--objective sampled, mini-batch training"):
        check_memory(_estimate(num_nodes=3_000_000, num_edges=30_000_000, objective="dense"), "1G")
    with pytest.raises(ConfigError) as info:
        check_memory(_minibatch(), "1G")
    assert "a smaller --batch-size or --fanout" in str(info.value)


def test_estimate_run_of_a_minibatch_config():
    data = social_graph(2000, 10_000, num_features=8, seed=0)
    split = split_edges(data.edge_index, data.num_nodes, seed=0)
    config = TrainConfig(model="gae", dataset="g", objective="sampled")
    full = estimate_run(config, data, split, "sampled")
    mini = estimate_run(config.with_overrides(batch_size=64, fanout=[3]), data, split, "sampled")
    assert not full.minibatch and mini.minibatch
    assert "inference" in mini.line() and "inference" not in full.line()
    small = estimate_run(config.with_overrides(batch_size=8, fanout=[2]), data, split, "sampled")
    assert small.stages["activations"] < mini.stages["activations"]
    masked = config.with_overrides(model="maskgae", objective="auto", batch_size=64, fanout=[3])
    graph = estimate_run(masked, data, split, "masked").stages["graph"]
    training_edges = split.train_pos.shape[1]  # the masked objective's graph and draws
    assert graph - mini.stages["graph"] == 100 * training_edges + 40 * data.num_nodes
    with pytest.raises(ConfigError, match="one per hop"):
        estimate_run(config.with_overrides(batch_size=64, fanout=[3, 3, 3]), data, split, "x")
