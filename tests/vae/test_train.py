import pytest
import torch

from graphae.errors import ConfigError
from graphae.vae import VAE, VAEConfig, fit_vae, load_images
from graphae.vae.train import kl_weight, scheduled_lr


@pytest.fixture(scope="module")
def digits():
    return load_images("digits")


@pytest.mark.parametrize("optimizer", ["adagrad", "adam"])
def test_loss_falls_on_digits_in_a_few_epochs(digits, optimizer):
    torch.manual_seed(0)
    model = VAE(digits.shape, latent_dim=2)
    before = fit_vae(model, digits.train_x, digits.test_x, epochs=1, optimizer=optimizer)
    after = fit_vae(model, digits.train_x, digits.test_x, epochs=4, optimizer=optimizer)
    first, last = before.history[0], after.history[-1]
    assert last["train/neg_elbo"] < first["train/neg_elbo"] - 2.0
    assert last["test/neg_elbo"] < first["test/neg_elbo"]
    for h in after.history:
        assert h["test/neg_elbo"] == pytest.approx(h["test/recon"] + h["test/kl"])
        assert h["train/neg_elbo"] == pytest.approx(h["train/recon"] + h["train/kl"])


def test_same_seed_same_numbers(digits):
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = VAE(digits.shape, latent_dim=2, hidden=(32,))
        runs.append(fit_vae(model, digits.train_x, digits.test_x, epochs=2, seed=3).history)
    strip = [{k: v for k, v in h.items() if k != "epoch_seconds"} for h in runs[0]]
    assert strip == [{k: v for k, v in h.items() if k != "epoch_seconds"} for h in runs[1]]


def test_warmup_and_schedule():
    assert [kl_weight(e, 3) for e in (1, 2, 3, 4, 10)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert kl_weight(1, 0) == 1.0
    assert scheduled_lr(0.1, 1, 10, "cosine") == pytest.approx(0.1)
    assert scheduled_lr(0.1, 10, 10, "cosine") == pytest.approx(0.001)
    assert scheduled_lr(0.1, 5, 10, "constant") == 0.1


def test_config_defaults_and_validation():
    config = VAEConfig(dataset="Fashion-MNIST", latent_dim=20, epochs=20)
    assert config.run_name == "vae_fashion-mnist_20d_20ep"
    assert config.lr == 0.01 and config.hidden == (500, 250) and config.batch_size == 100
    assert VAEConfig(optimizer="adam").lr == 0.001
    assert VAEConfig.from_dict(config.to_dict()) == config
    for bad in ({"latent_dim": 0}, {"optimizer": "sgd"}, {"lr": -1.0}, {"hidden": (0,)}):
        with pytest.raises(ConfigError):
            VAEConfig(**bad)
