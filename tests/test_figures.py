import numpy as np
import pytest
from matplotlib.image import imread

from graphae.artifacts.atomic import OutputError
from graphae.figures import (
    latent_figure,
    project_2d,
    roc_figure,
    roc_points,
    save_figure,
    training_curves_figure,
)


def test_two_dimensional_latent_space_is_drawn_as_is():
    z = np.random.default_rng(0).normal(size=(50, 2))
    points, axes, description = project_2d(z)
    np.testing.assert_array_equal(points, z)
    assert axes == ("z₁", "z₂") and "2-d latent space" in description


def test_wider_latent_space_is_projected_with_pca_and_labelled_so():
    rng = np.random.default_rng(0)
    # variance concentrated on two directions: PCA must recover them first
    z = rng.normal(size=(300, 16)) * np.r_[5.0, 3.0, np.full(14, 0.1)]
    points, axes, description = project_2d(z)
    assert points.shape == (300, 2)
    assert description == "PCA projection of the 16-d latent space"
    assert axes[0].startswith("PC 1") and "variance" in axes[0]
    np.testing.assert_allclose(np.abs(np.corrcoef(points[:, 0], z[:, 0])[0, 1]), 1, atol=0.01)


def test_figures_save_as_png_that_reload(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(40), np.zeros(40)]
    scores = labels + rng.normal(scale=0.8, size=80)
    history = [{"epoch": e, "train/loss": 1 / e, "val/auc": 0.5 + e / 100} for e in range(1, 21)]
    figures = {
        "latent": latent_figure(rng.normal(size=(60, 8)), rng.integers(0, 3, 60), "t"),
        "unlabelled": latent_figure(rng.normal(size=(60, 2))),
        "roc": roc_figure(labels, scores, "t"),
        "curves": training_curves_figure(history, best_epoch=12, title="t"),
    }
    for name, figure in figures.items():
        image = imread(save_figure(figure, tmp_path / f"{name}.png"))
        assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0.01


def test_save_figure_is_atomic_and_keeps_the_name_given(tmp_path, monkeypatch):
    figure = roc_figure(np.r_[1, 0, 1, 0], np.r_[0.9, 0.1, 0.4, 0.6])
    assert save_figure(figure, tmp_path / "plot") == tmp_path / "plot"  # no ".png" appended
    assert (tmp_path / "plot").read_bytes().startswith(b"\x89PNG")
    assert save_figure(figure, tmp_path / "plot.svg").read_text().lstrip().startswith("<?xml")
    old = (tmp_path / "plot").read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(figure), "savefig", fail)
    with pytest.raises(OutputError, match=r"cannot write .*plot: No space left on device"):
        save_figure(figure, tmp_path / "plot")
    assert (tmp_path / "plot").read_bytes() == old  # the old picture is kept, no temp file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot", "plot.svg"]


def test_roc_figure_reports_the_auc():
    labels = np.array([1, 1, 0, 0])
    figure = roc_figure(labels, np.array([0.9, 0.4, 0.6, 0.1]))
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend[0] == "AUC = 75.00"


def test_training_curves_mark_the_best_epoch():
    history = [{"epoch": e, "train/loss": 1 / e, "val/auc": 0.6, "val/ap": 0.7} for e in (1, 2)]
    figure = training_curves_figure(history, best_epoch=2)
    loss_ax, val_ax = figure.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["loss"]
    assert len(val_ax.get_lines()) == 3  # AUC, AP, best-epoch marker
    assert any("best epoch 2" in t.get_text() for t in val_ax.texts)


@pytest.mark.parametrize("n_classes", [3, 15])
def test_every_class_gets_its_own_colour(n_classes):
    rng = np.random.default_rng(0)
    figure = latent_figure(rng.normal(size=(200, 2)), np.arange(200) % n_classes)
    colours = {tuple(c.get_facecolor()[0]) for c in figure.axes[0].collections}
    assert len(colours) == n_classes


def test_pca_matches_scikit_learn():
    from sklearn.decomposition import PCA

    z = np.random.default_rng(1).normal(size=(200, 6)) * np.arange(1, 7)
    points, axes, _ = project_2d(z)
    reference = PCA(n_components=2).fit(z)
    np.testing.assert_allclose(points, reference.transform(z), atol=1e-8)
    assert axes[0] == f"PC 1 ({100 * reference.explained_variance_ratio_[0]:.0f}% of variance)"


def test_roc_points_match_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(labels + rng.normal(size=500), 1)  # many ties
    fpr, tpr = roc_points(labels, scores)
    ref_fpr, ref_tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)
    assert area == pytest.approx(roc_auc_score(labels, scores))


def test_latent_figure_names_classes_and_greys_unlabelled_nodes():
    import numpy as np

    from graphae.figures import latent_figure

    z = np.random.default_rng(0).normal(size=(40, 4))
    classes = np.repeat([0, 1, -1, 1], 10)
    fig = latent_figure(z, classes, "t", class_names=["chess", "choir"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["chess (10)", "choir (20)", "unlabelled (10)"]


def test_training_curves_show_scores_in_percent_as_the_cli_prints_them():
    history = [{"epoch": e, "train/loss": 1 / e, "val/auc": 0.5 + e / 100} for e in range(1, 21)]
    _, val_ax = training_curves_figure(history, best_epoch=12).axes
    line = val_ax.get_lines()[0]  # then the best-epoch marker
    np.testing.assert_allclose(line.get_ydata(), [50 + e for e in range(1, 21)])
    assert val_ax.get_ylabel() == "validation score (%)"


def test_run_pictures_are_titled_with_model_data_size_epochs_and_seed(planted, tmp_path):
    from graphae import train
    from graphae.tracking import MemoryTracker

    tracker = MemoryTracker()
    train(model="gae", epochs=4, latent_dim=3, seed=2, trackers=[tracker], save=False, data=planted)
    assert set(tracker.figures) == {"figures/latent", "figures/roc", "figures/curves"}
    for name, figure in tracker.figures.items():
        titles = [figure.get_suptitle(), *(ax.get_title() for ax in figure.axes)]
        assert any("GAE on planted, 3-d, 4 epochs, seed 2" in t for t in titles), name
