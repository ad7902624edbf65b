"""The variational autoencoder of Kingma & Welling (2014) on images.

"Auto-Encoding Variational Bayes", https://arxiv.org/abs/1312.6114: the
VAE that the VGAE applies to graphs, here on MNIST, Fashion-MNIST and
scikit-learn's 8x8 digits, sharing graphae's run directories and trackers.
"""

from graphae.vae.checkpoint import load_vae, save_vae
from graphae.vae.config import VAEConfig
from graphae.vae.data import ImageData, load_images
from graphae.vae.idx import read_idx, write_idx
from graphae.vae.loss import bernoulli_nll, gaussian_kl, neg_elbo_terms
from graphae.vae.model import VAE, VAEOutput
from graphae.vae.pipeline import VAERunResult, train_vae
from graphae.vae.sizes import train_sizes
from graphae.vae.train import evaluate, fit_vae

__all__ = [
    "VAE",
    "ImageData",
    "VAEConfig",
    "VAEOutput",
    "VAERunResult",
    "bernoulli_nll",
    "evaluate",
    "fit_vae",
    "gaussian_kl",
    "load_images",
    "load_vae",
    "neg_elbo_terms",
    "read_idx",
    "save_vae",
    "train_sizes",
    "train_vae",
    "write_idx",
]
