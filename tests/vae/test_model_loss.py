import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from graphae.vae import VAE, bernoulli_nll, gaussian_kl, neg_elbo_terms
from graphae.vae.train import evaluate


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    q = Normal(mu, torch.exp(0.5 * logvar))
    direct = kl_divergence(q, Normal(torch.zeros(5), torch.ones(5))).sum(1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), direct)
    assert torch.all(gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)) == 0)


def test_bernoulli_nll_is_summed_bce():
    g = torch.Generator().manual_seed(1)
    logits, x = torch.randn(4, 9, generator=g), torch.rand(4, 9, generator=g)
    p = torch.sigmoid(logits)
    manual = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(1)
    torch.testing.assert_close(bernoulli_nll(logits, x), manual)
    binary = (x > 0.5).float()
    torch.testing.assert_close(
        bernoulli_nll(logits, binary), -Bernoulli(logits=logits).log_prob(binary).sum(1)
    )


def test_neg_elbo_is_recon_plus_kl_and_matches_a_direct_computation():
    torch.manual_seed(0)
    model = VAE((4, 4), latent_dim=3, hidden=(8,))
    x = torch.rand(50, 16)
    result = evaluate(model, x, seed=5)
    assert math.isclose(result["neg_elbo"], result["recon"] + result["kl"], rel_tol=1e-9)
    # the same numbers by hand, with the same noise
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(5))
        logits = model.decode(mu + torch.exp(0.5 * logvar) * eps)
        recon, _ = neg_elbo_terms(logits, x, mu, logvar)
        direct_kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1)
    assert result["kl"] == pytest.approx(float(direct_kl.mean()), rel=1e-5)
    assert result["recon"] == pytest.approx(float(recon.mean()), rel=1e-5)
    assert evaluate(model, x, seed=5) == result  # deterministic


def test_shapes_and_default_architecture():
    model = VAE((28, 28), latent_dim=20)
    widths = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [500, 250, 40, 250, 500, 784]
    out = model(torch.rand(5, 784))
    assert out.logits.shape == (5, 784) and out.mu.shape == out.logvar.shape == (5, 20)


def test_samples_have_image_shape_and_range():
    model = VAE((8, 8), latent_dim=2, hidden=(16,))
    with torch.no_grad():  # push the logits far out: the range must still hold
        model.decoder[-1].bias.fill_(30.0)
    samples = model.sample(64, torch.Generator().manual_seed(0))
    assert samples.shape == (64, 1, 8, 8)
    assert float(samples.min()) >= 0.0 and float(samples.max()) <= 1.0
    assert model.reconstruct(torch.rand(3, 64)).shape == (3, 1, 8, 8)
    a = model.sample(4, torch.Generator().manual_seed(1))
    b = model.sample(4, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_reparameterisation_passes_gradients_to_mu_and_sigma():
    mu = torch.zeros(3, 2, requires_grad=True)
    logvar = torch.zeros(3, 2, requires_grad=True)
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    (z**2).sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    assert float(logvar.grad.abs().sum()) > 0
