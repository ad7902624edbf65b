import pytest

from graphae.config import TrainConfig
from graphae.errors import ConfigError


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latent_dim", 0, "latent-dim"),
        ("hidden_dim", -1, "hidden-dim"),
        ("epochs", 0, "epochs"),
        ("lr", 0.0, "lr"),
        ("lr", float("nan"), "lr"),
        ("dropout", 1.0, "dropout"),
        ("model", "vae", "model"),
        ("objective", "exact", "objective"),
        ("val_fraction", 0.0, "val-fraction"),
        ("test_fraction", 0.96, "val-fraction"),
        ("seed", -1, "seed"),
        ("eval_every", 0, "eval-every"),
        ("name", "a/b", "name"),
        ("test_graph", "val", "test-graph"),
    ],
)
def test_invalid_settings_are_rejected(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{field: value})


def test_defaults_are_the_papers():
    c = TrainConfig()
    assert (c.hidden_dim, c.latent_dim, c.epochs, c.lr, c.dropout) == (32, 16, 200, 0.01, 0.0)
    assert (c.val_fraction, c.test_fraction) == (0.05, 0.10)
    assert c.test_graph == "train"  # the encoder never sees held-out edges


def test_run_name_reads_at_a_glance():
    assert (
        TrainConfig(model="gae", dataset="CiteSeer", latent_dim=2, epochs=100).run_name
        == "gae_citeseer_2d_100ep"
    )
    assert TrainConfig(model="VGAE", features=False).run_name == "vgae_nofeat_cora_16d_200ep"
    assert TrainConfig(name="x").run_name == "x"


def test_dict_roundtrip_ignores_unknown_keys():
    c = TrainConfig(model="gae", latent_dim=8)
    assert TrainConfig.from_dict({**c.to_dict(), "future_option": 1}) == c
