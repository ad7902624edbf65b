import torch
from torch.distributions import Normal, kl_divergence

from graphae.losses import kl_divergence as graph_kl_term
from graphae.nn.reparameterize import gaussian_sample


def test_sample_and_kl_match_the_plain_expressions():
    g = torch.Generator().manual_seed(0)
    n, d = 50, 6
    out = torch.randn(n, 2 * d, generator=g, requires_grad=True)  # halves as the encoder returns
    mu, logstd = out.split(d, dim=1)
    z, kl = gaussian_sample(mu, logstd, torch.Generator().manual_seed(1))

    out2 = out.detach().clone().requires_grad_()
    mu2, logstd2 = out2.split(d, dim=1)
    eps = torch.randn(n, d, generator=torch.Generator().manual_seed(1))
    z2 = mu2 + eps * torch.exp(logstd2)
    kl2 = kl_divergence(Normal(mu2, torch.exp(logstd2)), Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(z, z2)
    torch.testing.assert_close(kl, kl2)
    # the objective's KL term (tkipf/gae scaling) is this mean divided by N
    torch.testing.assert_close(kl / n, graph_kl_term(mu.detach(), logstd.detach()))

    weights = torch.randn(n, d, generator=g)
    ((z * weights).sum() + 3.0 * kl).backward()
    ((z2 * weights).sum() + 3.0 * kl2).backward()
    torch.testing.assert_close(out.grad, out2.grad)


def test_samples_have_the_posterior_moments():
    mu = torch.full((20_000, 2), 1.5)
    logstd = torch.log(torch.full((20_000, 2), 0.5))
    z, _ = gaussian_sample(mu, logstd, torch.Generator().manual_seed(0))
    assert abs(z.mean().item() - 1.5) < 0.02
    assert abs(z.std().item() - 0.5) < 0.02
