import json

import numpy as np
import pytest
import torch

from graphae import TrainConfig, load_checkpoint, train
from graphae.data.graph import gcn_adjacency, prepare_features
from graphae.data.link_split import LinkSplit
from graphae.evaluation import link_metrics
from graphae.tracking import MemoryTracker

RUN_FILES = {
    "config.json",
    "metrics.json",
    "history.jsonl",
    "split.npz",
    "checkpoint.pt",
    "embeddings.npy",
}


def small(tmp_path, **kw):
    base = dict(dataset="planted", epochs=60, lr=0.01, runs_dir=str(tmp_path / "runs"), quiet=True)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("model", ["gae", "vgae"])
@pytest.mark.parametrize("objective", ["dense", "sampled"])
def test_learns_planted_partition(planted, tmp_path, model, objective):
    tracker = MemoryTracker()
    result = train(
        small(tmp_path, model=model, objective=objective),
        data=planted,
        trackers=[tracker],
        save=False,
    )
    assert result.objective == objective
    assert result.metrics["test"]["auc"] > 0.85, result.metrics
    assert result.metrics["val"]["auc"] > 0.85
    losses = [v for _, v in tracker.history["train/loss"]]
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5])
    assert result.run_dir is None and tracker.finished is True


def test_featureless_variant_learns(planted, tmp_path):
    result = train(
        small(tmp_path, model="gae", features=False, epochs=100), data=planted, save=False
    )
    assert result.metrics["test"]["auc"] > 0.8


@pytest.mark.parametrize("objective", ["dense", "sampled"])
def test_same_seed_same_numbers(planted, tmp_path, objective):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # where torch's CPU kernels may add in any order
    try:
        runs = [
            train(small(tmp_path, model="vgae", seed=seed, epochs=20, objective=objective),
                  data=planted, save=False)
            for seed in (4, 4, 5)
        ]  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    a, b, c = (run.metrics for run in runs)
    assert a["test"] == b["test"] and a["val"] == b["val"]
    assert torch.equal(runs[0].embeddings, runs[1].embeddings)  # to the last bit
    assert a["test"] != c["test"]


def test_batching_constants_do_not_change_the_numbers(planted, tmp_path, monkeypatch):
    # how many epochs' negatives are drawn at once is a speed knob, not a setting
    from graphae.training.objectives import SampledObjective

    def run():
        config = small(tmp_path, model="vgae", seed=3, epochs=40, objective="sampled")
        return train(config, data=planted, save=False)

    batched = run()
    monkeypatch.setattr(SampledObjective, "MAX_ROUNDS", 1)
    one_at_a_time = run()
    monkeypatch.setattr(SampledObjective, "MAX_ROUNDS", 3)
    monkeypatch.setattr(SampledObjective, "MAX_BATCH_ENTRIES", 5_000)
    odd = run()
    for other in (one_at_a_time, odd):
        assert other.metrics["test"] == batched.metrics["test"]
        assert other.metrics["val"] == batched.metrics["val"]
        assert torch.equal(other.embeddings, batched.embeddings)


def test_best_validation_weights_are_kept(planted, tmp_path):
    tracker = MemoryTracker()
    result = train(small(tmp_path, epochs=40), data=planted, trackers=[tracker], save=False)
    val = dict(tracker.history["val/auc"])
    assert result.metrics["best_epoch"] == max(val, key=val.get)
    assert result.metrics["val"]["auc"] == max(val.values())
    assert set(result.metrics["test_last"]) == {"auc", "ap"}


def test_test_ranking_metrics_are_scored_once_on_the_kept_weights(planted, tmp_path):
    from graphae.evaluation import link_scores, ranking_report
    from graphae.tracking.tensorboard import HPARAM_METRICS

    tracker = MemoryTracker()
    result = train(small(tmp_path, epochs=12), data=planted, trackers=[tracker], save=False)
    test = result.metrics["test"]
    assert list(test) == ["auc", "ap", "hits@20", "hits@50", "hits@100", "mrr"]
    pos, neg = result.split.pairs("test")
    _, logits = link_scores(result.model.decode, result.embeddings, pos, neg)
    k = pos.shape[1]
    assert {key: test[key] for key in ("hits@20", "hits@50", "hits@100", "mrr")} == (
        ranking_report(logits[:k], logits[k:])
    )
    assert {"auc": test["auc"], "ap": test["ap"]} == link_metrics(
        result.model.decode, result.embeddings, pos, neg
    )
    assert 0 <= test["hits@20"] <= test["hits@50"] <= test["hits@100"] <= 1 and test["mrr"] > 0
    for key in ("hits@20", "hits@50", "hits@100", "mrr"):  # logged once, not per epoch
        assert tracker.history[f"test/{key}"] == [(12, test[key])]
        assert f"test/{key}" in HPARAM_METRICS
        assert f"val/{key}" not in tracker.history


def test_evaluate_embedding_adds_test_ranking_metrics(planted):
    from graphae.data.link_split import split_edges
    from graphae.pipeline import evaluate_embedding

    split = split_edges(planted.edge_index, int(planted.num_nodes), seed=0)
    tracker = MemoryTracker()
    z = planted.x[:, :8].clone()  # any fixed embedding
    result = evaluate_embedding(
        "feat", lambda edges, n: z, planted, split, save=False, trackers=[tracker]
    )
    assert list(result.metrics["test"]) == ["auc", "ap", "hits@20", "hits@50", "hits@100", "mrr"]
    assert set(result.metrics["val"]) == {"auc", "ap"}
    assert tracker.history["test/mrr"] == [(0, result.metrics["test"]["mrr"])]


def test_eval_every(planted, tmp_path):
    tracker = MemoryTracker()
    train(small(tmp_path, epochs=10, eval_every=4), data=planted, trackers=[tracker], save=False)
    assert [s for s, _ in tracker.history["val/auc"]] == [4, 8, 10]


def test_run_directory_contents_and_reload(planted, tmp_path):
    result = train(small(tmp_path, model="vgae", epochs=30), data=planted)
    run_dir = result.run_dir
    assert run_dir.name == "vgae_planted_16d_30ep"
    files = {p.name for p in run_dir.iterdir()}
    assert files >= RUN_FILES and any(f.startswith("events.out.tfevents") for f in files)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["objective"] == "dense" and config["config"]["seed"] == 0
    assert {"graphae", "torch", "torch_geometric"} <= set(config["versions"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"] == result.metrics["test"]
    emb = np.load(run_dir / "embeddings.npy")
    assert emb.shape == (planted.num_nodes, 16)
    np.testing.assert_allclose(emb, result.embeddings.numpy())

    # the checkpoint reloads on its own and scores the saved split identically
    model, cfg = load_checkpoint(run_dir)
    assert cfg.model == "vgae" and not model.training
    split = LinkSplit.load(run_dir / "split.npz")
    adj = gcn_adjacency(split.train_edge_index(), planted.num_nodes)
    z = model.embed(prepare_features(planted.x), adj)
    torch.testing.assert_close(z, result.embeddings)
    test = link_metrics(model.decode, z, *split.pairs("test"))
    assert test == {"auc": metrics["test"]["auc"], "ap": metrics["test"]["ap"]}


def test_test_graph_with_validation_edges(planted, tmp_path):
    """``test_graph="train+val"`` changes only the graph the test pairs are scored on."""
    base = train(small(tmp_path, model="gae", epochs=30), data=planted, save=False)
    both = train(small(tmp_path, model="gae", epochs=30, test_graph="train+val"), data=planted)
    assert both.metrics["val"] == base.metrics["val"]  # training and selection unchanged
    assert both.metrics["test"] != base.metrics["test"]
    assert both.metrics["test_graph"] == "train+val"
    split, n = both.split, planted.num_nodes
    x = prepare_features(planted.x)
    for graph, result in ((split.train_edge_index(), base), (split.train_val_edge_index(), both)):
        z = result.model.embed(x, gcn_adjacency(graph, n))
        torch.testing.assert_close(z, result.embeddings)
        test = link_metrics(result.model.decode, z, *split.pairs("test"))
        assert test == {k: result.metrics["test"][k] for k in ("auc", "ap")}
    # the saved embeddings are the ones the test pairs were scored with
    np.testing.assert_allclose(np.load(both.run_dir / "embeddings.npy"), both.embeddings.numpy())
    config = json.loads((both.run_dir / "config.json").read_text())
    assert config["config"]["test_graph"] == "train+val"


def test_existing_run_directory_is_never_overwritten(planted, tmp_path):
    first = train(small(tmp_path, epochs=2), data=planted).run_dir
    second = train(small(tmp_path, epochs=2), data=planted).run_dir
    third = train(small(tmp_path, epochs=2, name="mine"), data=planted).run_dir
    assert first.name == "vgae_planted_16d_2ep" and second.name == "vgae_planted_16d_2ep_2"
    assert third.name == "mine"
    assert (first / "metrics.json").exists() and (second / "metrics.json").exists()


def test_failed_run_leaves_no_directory(planted, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("graphae.pipeline.fit", boom)
    with pytest.raises(RuntimeError):
        train(small(tmp_path, epochs=2), data=planted)
    assert list((tmp_path / "runs").iterdir()) == []


def test_split_of_another_graph_is_rejected(planted, tmp_path):
    from graphae.data import planted_partition, split_edges
    from graphae.errors import ConfigError

    other = planted_partition(num_blocks=2, block_size=30)
    split = split_edges(other.edge_index, other.num_nodes)
    with pytest.raises(ConfigError, match="60 nodes"):
        train(small(tmp_path, epochs=1), data=planted, split=split)
    assert not (tmp_path / "runs").exists()


def test_overrides_are_validated():
    with pytest.raises(ValueError, match="latent-dim"):
        train(latent_dim=0, save=False)


def test_short_cora_run(data_root, tmp_path):
    result = train(
        TrainConfig(model="gae", dataset="Cora", epochs=50, data_root=str(data_root), quiet=True),
        save=False,
    )
    assert result.objective == "dense"
    assert result.metrics["test"]["auc"] > 0.85 and result.metrics["test"]["ap"] > 0.85


@pytest.mark.slow
@pytest.mark.parametrize("model", ["gae", "vgae"])
def test_paper_defaults_reach_the_quality_bar_on_cora(data_root, model):
    aucs = [
        train(
            TrainConfig(
                model=model, dataset="Cora", seed=seed, data_root=str(data_root), quiet=True
            ),
            save=False,
        ).metrics["test"]["auc"]
        for seed in range(3)
    ]
    assert np.mean(aucs) >= 0.90, aucs


def test_tensorboard_gets_images_pr_curve_projector_and_hparams(planted, tmp_path):
    from google.protobuf import text_format
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.projector import projector_config_pb2

    result = train(model="vgae", epochs=5, runs_dir=str(tmp_path), quiet=True, data=planted)
    run = result.run_dir
    for png in ("latent.png", "roc.png", "curves.png"):
        assert (run / png).read_bytes()[:4] == b"\x89PNG"

    acc = EventAccumulator(str(run), size_guidance={"images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    assert set(tags["images"]) == {"figures/latent", "figures/roc", "figures/curves"}
    assert {"train/loss", "val/auc", "val/ap", "test/auc", "test/ap"} <= set(tags["scalars"])
    assert "test/pr_curve" in acc.PluginTagToContent("pr_curves")
    assert acc.Tensors("test/pr_curve")[0].step == 5
    hparams = acc.PluginTagToContent("hparams")
    assert b"latent_dim" in hparams["_hparams_/session_start_info"]
    assert b"figures" not in hparams["_hparams_/session_start_info"]

    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse((run / "projector_config.pbtxt").read_text(), config)
    (emb,) = config.embeddings
    vectors = np.loadtxt(run / emb.tensor_path, delimiter="\t")
    np.testing.assert_allclose(vectors, result.embeddings.numpy(), atol=1e-5)
    meta = [line.split("\t") for line in (run / emb.metadata_path).read_text().splitlines()]
    assert meta[0] == ["class", "train_degree"] and len(meta) == planted.num_nodes + 1
    assert [int(row[0]) for row in meta[1:]] == planted.y.tolist()
    degrees = np.bincount(result.split.train_edge_index()[0], minlength=planted.num_nodes)
    assert [int(row[1]) for row in meta[1:]] == degrees.tolist()


def test_figures_can_be_turned_off(planted, tmp_path):
    result = train(epochs=2, runs_dir=str(tmp_path), quiet=True, figures=False, data=planted)
    assert not list(result.run_dir.glob("*.png"))
    assert (result.run_dir / "projector_config.pbtxt").is_file()  # cheap, always written
