"""A real TensorBoard on a runs folder mixing graph, baseline and image-VAE runs.

The checks are those of ``scripts/tensorboard_check.py``: every run is a row
of the HParams table with its own settings and scores, read back through
TensorBoard's HTTP API and, where Playwright and a Chromium are installed,
from the table a headless browser shows.
"""

import importlib.util
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tensorboard_check.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("tensorboard_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_script()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``(url, expected rows, folder)`` of a TensorBoard serving a freshly built mixed folder."""
    logdir = tmp_path_factory.mktemp("runs")
    expected = check.build_runs(logdir)
    with check.tensorboard(logdir, len(expected)) as url:
        yield url, expected, logdir


def test_every_run_is_a_row_with_its_own_settings_and_scores(served):
    url, expected, _ = served
    order, rows = check.api_table(url)
    assert check.check_api(order, rows, expected) == []
    # graph, baseline and VAE settings side by side; those that vary first (batch_size:
    # 0, full-graph, for graph runs; images per step for the VAE's)
    assert order[:5] == ["batch_size", "dataset", "epochs", "latent_dim", "model"]
    assert {"hidden_dim", "batch_size", "kl_warmup"} <= set(order)
    vae = next(r for r in rows if r["model"] == "vae")
    assert "test/auc" not in vae and vae["test/neg_elbo"] > 0
    assert "hparams/test_auc" in next(r for r in rows if r["model"] == "sc")


@pytest.mark.skipif(check.browser_available() is not None, reason="no Playwright or Chromium")
def test_a_browser_shows_each_runs_settings_and_scores_by_default(served):
    url, expected, _ = served
    header, rows = check.browser_table(url, len(expected))
    assert check.check_browser(header, rows, expected) == []
    assert header[2:7] == ["batch_size", "dataset", "epochs", "latent_dim", "model"]


def test_a_run_added_later_joins_the_table(served, planted):
    # no experiment summary to rewrite: TensorBoard infers the table again on reload
    from graphae import TrainConfig, train

    url, expected, logdir = served
    config = TrainConfig(latent_dim=4, epochs=3, runs_dir=str(logdir), quiet=True, figures=False)
    run = train(config, data=planted).run_dir
    deadline = time.monotonic() + 60
    while True:
        _, rows = check.api_table(url)
        if len(rows) > len(expected) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    (new,) = [r for r in rows if r["trial_id"].endswith(run.name)]
    assert (new["latent_dim"], new["epochs"], new["model"]) == (4, 3, "vgae")
    assert len(rows) == len(expected) + 1
