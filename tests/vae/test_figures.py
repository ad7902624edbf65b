import numpy as np
import pytest
import torch

from graphae.vae.figures import grid_figure, manifold_figure, tile, tile_gap
from graphae.vae.model import VAE


def _mosaic(figure):
    (image,) = figure.axes[0].images
    return np.asarray(image.get_array())


def test_tiles_are_separated_by_grey_gaps():
    images = torch.ones(4, 1, 8, 8)  # white tiles
    mosaic = tile(images, ncols=2, pad=1)
    assert mosaic.shape == (17, 17)
    assert (mosaic[8, :] == 0.5).all() and (mosaic[:, 8] == 0.5).all()  # the gaps
    assert (mosaic[:8, :8] == 1).all()


@pytest.mark.parametrize(("width", "gap"), [(8, 1), (28, 2)])
def test_gap_grows_with_the_images(width, gap):
    assert tile_gap(width) == gap
    mosaic = _mosaic(grid_figure(torch.zeros(4, 1, width, width), ncols=2))
    assert mosaic.shape == (2 * width + gap, 2 * width + gap)
    assert (mosaic[width : width + gap, :] == 0.5).all()


def test_manifold_tiles_do_not_merge_into_stripes():
    torch.manual_seed(0)
    model = VAE((8, 8), latent_dim=2, hidden=(16,))
    mosaic = _mosaic(manifold_figure(model, n=5, title="VAE on digits, z = 2, 3 epochs, seed 0"))
    assert mosaic.shape == (5 * 9 - 1, 5 * 9 - 1)
    for k in range(1, 5):  # a grey line between every two rows and columns of tiles
        assert (mosaic[9 * k - 1, :] == 0.5).all() and (mosaic[:, 9 * k - 1] == 0.5).all()


def test_figure_titles_name_the_run(tmp_path):
    from graphae.tracking import MemoryTracker
    from graphae.vae import VAEConfig, train_vae

    config = VAEConfig(
        dataset="digits", latent_dim=2, hidden=(16,), epochs=1, train_size=200, test_size=50
    )
    tracker = MemoryTracker()
    train_vae(config, trackers=[tracker], runs_dir=str(tmp_path), quiet=True, seed=3)
    assert set(tracker.figures) >= {"figures/manifold", "figures/samples", "figures/elbo"}
    for name, figure in tracker.figures.items():
        titles = [figure.get_suptitle(), *(ax.get_title() for ax in figure.axes)]
        assert any("VAE on digits, z = 2, 1 epoch, seed 3" in t for t in titles), name
