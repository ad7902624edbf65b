"""A run whose numbers stop being numbers stops with a clear error, and leaves nothing behind."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import graphae
from graphae import TrainConfig
from graphae.cli import main
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import split_edges
from graphae.errors import GraphaeError, TrainingError
from graphae.nn.autoencoders import GAE
from graphae.tracking.memory import MemoryTracker
from graphae.training.objectives import DenseObjective
from graphae.training.trainer import fit

#: VGAE on the planted graph with this learning rate: log σ explodes, the loss is
#: NaN within a few epochs (epoch 4 dense, epoch 2 sampled)
DIVERGING_LR = 1e6


def _config(tmp_path, **overrides) -> TrainConfig:
    settings = dict(model="vgae", epochs=10, lr=DIVERGING_LR, quiet=True, figures=False)
    return TrainConfig(runs_dir=str(tmp_path / "runs"), **{**settings, **overrides})


def _run_folders(tmp_path) -> list:
    runs = tmp_path / "runs"
    return sorted(runs.iterdir()) if runs.exists() else []


@pytest.mark.parametrize("objective", ["dense", "sampled"])
def test_a_diverging_loss_stops_the_run_and_removes_its_folder(planted, tmp_path, objective):
    tracker = MemoryTracker()
    with pytest.raises(TrainingError) as raised:
        graphae.train(_config(tmp_path, objective=objective), data=planted, trackers=[tracker])
    message = str(raised.value)
    assert message.startswith("loss is nan at epoch ") and "\n" not in message
    assert "learning rate (1e+06) may be too high" in message and "--lr" in message
    assert isinstance(raised.value, GraphaeError)
    assert _run_folders(tmp_path) == []
    assert tracker.finished is False
    epoch = int(message.split("at epoch ")[1].split(":")[0])
    assert 1 < epoch <= 10  # some epochs were logged before it
    assert [step for step, _ in tracker.history["train/loss"]] == list(range(1, epoch))


def test_non_finite_validation_scores_stop_the_run(planted, tmp_path):
    # a learning rate so large that the first step's weights give infinite scores
    with pytest.raises(TrainingError, match=r"^validation scores are not finite at epoch 1 \("):
        graphae.train(_config(tmp_path, model="gae", lr=1e10), data=planted)
    assert _run_folders(tmp_path) == []


class _NanWhenEvaluated(nn.Module):
    """A linear encoder whose eval-mode output is NaN: training is fine, validation is not."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_dim, 4) * 0.1)

    def forward(self, x: torch.Tensor | None, adj: torch.Tensor) -> torch.Tensor:
        z = adj @ (x @ self.weight)
        return z if self.training else torch.full_like(z, float("nan"))


def test_nan_embeddings_are_not_ranked(planted):
    split = split_edges(planted.edge_index, planted.num_nodes, seed=0)
    edges = split.train_edge_index()
    x = prepare_features(planted.x).to_dense()
    model = GAE(_NanWhenEvaluated(x.shape[1]))
    objective = DenseObjective(edges, planted.num_nodes)
    adj = gcn_adjacency(edges, planted.num_nodes)
    with pytest.raises(TrainingError, match=r"at epoch 2 \(162 of 162 scores are NaN"):
        fit(model, x, adj, objective, split.pairs("val"), epochs=3, lr=0.01, eval_every=2)


def test_the_cli_says_it_in_one_line_and_exits_2(planted_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--edges", str(planted_files["edges"]), "--model", "vgae"]
    args += ["--features", str(planted_files["features"])]
    args += ["--lr", str(DIVERGING_LR), "--epochs", "10", "--quiet", "--no-figures"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("graphae: error: loss is nan at epoch "), err
    assert _run_folders(tmp_path) == []


class _FunctionalDropout(nn.Module):
    """An encoder with dropout in ``forward`` (no ``nn.Dropout`` module to spot)."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_dim, 8) * 0.3)

    def forward(self, x: torch.Tensor | None, adj: torch.Tensor) -> torch.Tensor:
        return adj @ (F.dropout(x, 0.5, self.training) @ self.weight)


class _CheckAgainstEval:
    """Checks each epoch's validation against an eval-mode embedding scored by hand."""

    def __init__(self, model: GAE, x: torch.Tensor, adj: torch.Tensor, pairs) -> None:
        self.model, self.x, self.adj, self.pairs = model, x, adj, pairs
        self.checked = 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if "val/auc" not in metrics:
            return
        # called before the next step: the model holds the weights being validated
        z = self.model.embed(self.x, self.adj)
        expected = graphae.evaluation.link_metrics(self.model.decode, z, *self.pairs)
        assert (metrics["val/auc"], metrics["val/ap"]) == (expected["auc"], expected["ap"])
        self.checked += 1


def test_an_undeclared_encoder_is_validated_with_an_eval_pass(planted):
    split = split_edges(planted.edge_index, planted.num_nodes, seed=0)
    edges = split.train_edge_index()
    x = prepare_features(planted.x).to_dense()
    adj = gcn_adjacency(edges, planted.num_nodes)
    torch.manual_seed(0)
    model = GAE(_FunctionalDropout(x.shape[1]))
    assert not model.mode_independent()  # it declares nothing: the safe answer
    check = _CheckAgainstEval(model, x, adj, split.pairs("val"))
    objective = DenseObjective(edges, planted.num_nodes)
    fit(model, x, adj, objective, split.pairs("val"), epochs=6, lr=0.01, trackers=[check])
    assert check.checked == 6
