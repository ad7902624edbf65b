"""``--device cuda`` end to end (marked ``gpu``: run with ``-m gpu`` where CUDA is present)."""

from __future__ import annotations

import json

import pytest
import torch

from graphae import train
from graphae.data import social_graph
from tests.conftest import cli

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_quick_start_on_cuda(data_root, tmp_path, capsys, monkeypatch):
    """The README's quick start (VGAE on Cora, 200 epochs) with ``--device cuda``."""
    monkeypatch.setenv("GRAPHAE_DATA", str(data_root))
    runs = tmp_path / "runs"
    args = ["train", "--model", "vgae", "--dataset", "Cora", "--device", "cuda"]
    code, out, err = cli(capsys, *args, "--runs-dir", runs, "--no-figures")
    assert code == 0, err
    assert "VGAE on Cora" in out
    metrics = json.loads((runs / "vgae_cora_16d_200ep" / "metrics.json").read_text())
    assert metrics["test"]["auc"] > 0.88  # 93.2 on the CPU, same settings
    config = json.loads((runs / "vgae_cora_16d_200ep" / "config.json").read_text())
    assert config["config"]["device"] == "cuda"


@pytest.mark.parametrize("model", ["gae", "vgae"])
def test_sampled_objective_on_cuda(model, tmp_path):
    """The large-graph path (sampled objective, sparse encoder) trains and scores on the GPU."""
    data = social_graph(20_000, 200_000, num_features=32, seed=0)
    result = train(
        data=data,
        model=model,
        objective="sampled",
        device="cuda",
        epochs=60,
        runs_dir=str(tmp_path / "runs"),
        figures=False,
        quiet=True,
    )
    assert result.embeddings.device.type == "cuda"
    assert next(result.model.parameters()).device.type == "cuda"
    assert result.metrics["objective"] == "sampled"
    assert result.metrics["test"]["auc"] > 0.85
    assert (result.run_dir / "metrics.json").is_file()


def test_same_seed_same_numbers_on_cuda(tmp_path):
    data = social_graph(5_000, 40_000, num_features=16, seed=1)
    settings = dict(data=data, model="gae", objective="sampled", device="cuda", epochs=20)
    first = train(**settings, save=False, quiet=True)
    second = train(**settings, save=False, quiet=True)
    assert first.metrics["val"] == pytest.approx(second.metrics["val"], abs=1e-6)
