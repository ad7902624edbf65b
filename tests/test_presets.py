"""Model defaults per model and data set, resolved once, overridable by flags."""

import dataclasses

import pytest

from graphae.cli import build_parser
from graphae.config import TrainConfig
from graphae.errors import ConfigError
from graphae.presets import KIPF2016, MASKGAE, MODEL_DEFAULTS, model_defaults

FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def _from_cli(*args: str) -> TrainConfig:
    parsed = vars(build_parser().parse_args(["train", *args]))
    return TrainConfig(**{k: v for k, v in parsed.items() if k in FIELDS})


def test_every_default_names_a_setting_and_every_model_has_all():
    for defaults in MODEL_DEFAULTS.values():
        assert set(defaults) <= FIELDS
        assert set(defaults) == set(KIPF2016)


def test_the_2016_models_keep_the_papers_settings():
    for model in ("gae", "vgae"):
        c = TrainConfig(model=model)
        assert (c.hidden_dim, c.latent_dim, c.epochs, c.lr, c.dropout, c.bias) == (
            32, 16, 200, 0.01, 0.0, False,
        )  # fmt: skip
        assert (c.decoder, c.mask, c.layers, c.degree_weight, c.weight_decay) == (
            "inner", "none", 2, 0.0, 0.0,
        )  # fmt: skip
        assert not c.masked_objective and c.run_name == f"{model}_cora_16d_200ep"
    assert _from_cli("--model", "gae") == TrainConfig(model="gae")


def test_maskgae_takes_its_defaults_and_pubmed_its_dropout():
    c = TrainConfig(model="maskgae")
    assert {k: getattr(c, k) for k in MASKGAE if k != "walk_length"} == {
        k: v for k, v in MASKGAE.items() if k != "walk_length"
    }
    assert c.walk_length == c.layers + 1 and c.masked_objective
    assert c.run_name == "maskgae_cora_128d_500ep"
    assert TrainConfig(model="maskgae", dataset="PubMed").dropout == 0.2
    assert model_defaults("maskgae", "pubmed")["dropout"] == 0.2
    assert TrainConfig(model="maskgae", dataset="CiteSeer").dropout == MASKGAE["dropout"]


def test_given_settings_win_on_the_command_line_and_in_python():
    c = _from_cli("--model", "maskgae", "--epochs", "300", "--no-bias", "--mask", "path")
    assert (c.epochs, c.bias, c.mask, c.latent_dim) == (300, False, "path", 128)
    assert TrainConfig(model="maskgae", dataset="PubMed", dropout=0.5).dropout == 0.5
    c = _from_cli("--model", "gae", "--decoder", "mlp", "--mask", "edge", "--mask-ratio", "0.4")
    assert (c.latent_dim, c.decoder, c.mask_ratio) == (16, "mlp", 0.4)
    assert c.run_name == "gae_mlpdec_edgemask_cora_16d_200ep"


def test_with_overrides_takes_the_new_models_defaults_but_keeps_given_ones():
    c = TrainConfig(epochs=50).with_overrides(model="maskgae")
    assert (c.latent_dim, c.epochs, c.decoder) == (128, 50, "mlp")
    back = c.with_overrides(model="gae")
    assert (back.latent_dim, back.epochs, back.decoder) == (16, 50, "inner")
    later = TrainConfig(model="maskgae").with_overrides(dataset="PubMed")
    assert later.dropout == 0.2  # the data set's default follows the name
    saved = TrainConfig.from_dict(c.to_dict())  # a saved config: every value given
    assert saved == c and saved.with_overrides(model="gae").latent_dim == 128


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(model="maskgae", objective="dense"), "objective masked"),
        (dict(decoder="mlp", objective="sampled"), "objective masked"),
        (dict(mask="node"), "mask"),
        (dict(mask="edge", mask_ratio=0.0), "mask-ratio"),
        (dict(norm="group"), "norm"),
        (dict(layers=0), "layers"),
        (dict(propagate_after=-1), "propagate-after"),
        (dict(decoder_dropout=1.0), "decoder-dropout"),
        (dict(weight_decay=-1e-3), "weight-decay"),
        (dict(encoder="gat"), "encoder"),
    ],
)
def test_invalid_model_settings_are_rejected(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**settings)
