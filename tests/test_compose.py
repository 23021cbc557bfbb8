"""Composing models and runs: layer lists with inferred widths, mlp as shorthand, several
regularizers, shuffle off, no preprocessing, and a third-party layer through `corenn train --layer`."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest

import corenn
import corenn.registry
from corenn.cli import main
from corenn.files import load_arrays
from corenn.model import classifier, compute_loss, evaluate, from_specs
from corenn.testing import check_component

SPIRAL = ["--dataset", "spiral", "--epochs", "2", "--no-progress", "--no-default-callbacks"]


def run_cli(*args):
    return main([str(a) for a in args])


@corenn.component
class FeatureScale(corenn.Module):
    """A third party's layer: y = x * scale + shift, one learned scale and shift per feature."""

    name = "feature_scale"
    input_width_field: ClassVar[str] = "features"
    conformance_kwargs: ClassVar[dict] = {"features": 6}

    features: int = corenn.hyperparameter(doc="width of the input and output", check=corenn.validators.integer(1))

    def __attrs_post_init__(self) -> None:
        self.params.update(scale=np.ones(self.features, np.float32), shift=np.zeros(self.features, np.float32))
        self.grads.update(scale=np.zeros(self.features, np.float32), shift=np.zeros(self.features, np.float32))

    def forward(self, x, training=True):
        x = corenn.as_layer_input(x, "feature_scale", self.features, np.float32, "build it with features={got}")
        self._x = x
        return x * self.params["scale"].astype(x.dtype) + self.params["shift"].astype(x.dtype)

    def backward(self, dy):
        self.grads["scale"][...] = (dy * corenn.from_forward(self, "_x")).sum(axis=0)
        self.grads["shift"][...] = dy.sum(axis=0)
        return dy * self.params["scale"].astype(dy.dtype)


@corenn.component
class Undeclared(corenn.Module):
    """A layer that needs its width but does not say which hyperparameter takes it."""

    name = "undeclared"
    size: int = corenn.hyperparameter(doc="input width", check=corenn.validators.integer(1))

    def forward(self, x, training=True):
        return x

    def backward(self, dy):
        return dy


class ThirdParty:
    @corenn.hookimpl
    def corenn_layers(self):
        return [FeatureScale, Undeclared]


@pytest.fixture
def third_party(monkeypatch):
    """The installed plugins plus an in-process third-party plugin, for this test only."""
    monkeypatch.setattr(corenn.registry, "_registry", None)
    corenn.register_plugin(ThirdParty(), "third-party")


def data(n=40, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, classes, n)


# -- layer lists ------------------------------------------------------------------

def test_a_layer_list_infers_each_input_width_from_the_element_before():
    model = from_specs(["dense:out_features=16", "maxout:k=2", "dropout:keep_prob=0.5", "dense:out_features=3"],
                       in_features=6, seed=0)
    assert [el.name for el in model.layers] == ["dense", "maxout", "dropout", "dense"]
    assert (model[0].in_features, model[3].in_features) == (6, 8)
    assert model.in_features == 6 and model.out_features == 3
    assert model.forward(data()[0]).shape == (40, 3)


def test_the_seeds_of_a_list_are_plain_ints_kept_in_the_config_so_it_rebuilds_exactly():
    specs = ["dense:out_features=8", "relu", "dropout", "dense:out_features=3"]
    a, b = from_specs(specs, 6, seed=3), from_specs(specs, 6, seed=3)
    assert all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not np.array_equal(a.parameters()[0], from_specs(specs, 6, seed=4).parameters()[0])
    rebuilt = corenn.Sequential.from_config(json.loads(json.dumps(a.config())))
    assert all(np.array_equal(p, q) for p, q in zip(a.parameters(), rebuilt.parameters()))
    assert isinstance(a.config()["layers"][2]["spec"]["seed"], int)


@pytest.mark.parametrize(("specs", "message"), [
    (["dense:out_features=8", "nope"], "layers[1] 'nope': unknown layer or activation 'nope'"),
    (["dense:out_features=7", "maxout:k=2"], "layers[1] 'maxout:k=2' cannot take input of width 7"),
    (["dense"], "layers[0] 'dense': dense: out_features is required"),
    (["dense:in_features=5,out_features=2"], "layers[0] 'dense:in_features=5,out_features=2': in_features=5 but "
                                             "the input has width 6"),
])
def test_a_bad_list_is_an_error_naming_the_item(specs, message):
    with pytest.raises(corenn.CorennError) as info:
        from_specs(specs, 6)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_a_layer_that_does_not_declare_its_width_field_cannot_be_inferred(third_party):
    with pytest.raises(corenn.InvalidInput, match=r"layers\[1\] 'undeclared': its width cannot be inferred"):
        from_specs(["dense:out_features=4", "undeclared"], 6)


def test_a_third_party_layer_passes_the_kit_and_composes_with_no_change_to_the_core(third_party):
    check_component(FeatureScale)
    model = from_specs(["feature_scale", "dense:out_features=3"], 6)
    assert model[0].features == 6 and model.forward(data()[0]).shape == (40, 3)


# -- mlp ------------------------------------------------------------------------------

def test_the_default_mlp_keeps_the_initial_weights_of_earlier_versions():
    sizes, seed = [6, 16, 8, 3], 5
    states = np.random.SeedSequence(seed).generate_state(2 * (len(sizes) - 1))
    model = corenn.mlp(sizes, seed=seed)
    denses = [el for el in model.layers if el.name == "dense"]
    for j, (el, fan_in, fan_out) in enumerate(zip(denses, sizes[:-1], sizes[1:])):
        expected = corenn.create("layer", {"name": "dense", "in_features": fan_in, "out_features": fan_out,
                                           "seed": int(states[2 * j])})
        np.testing.assert_array_equal(el.params["W"], expected.params["W"])


def test_a_hidden_width_counts_the_units_after_maxout():
    model = corenn.mlp([4, 8, 3], activation="maxout:k=2")
    assert model[0].out_features == 16 and model[2].in_features == 8


def test_mlp_takes_input_dropout_per_layer_keep_probabilities_and_a_bias_init():
    model = corenn.mlp([6, 8, 5, 3], input_dropout=0.8, dropout=[0.5, None], bias_init="constant:value=0.01")
    assert [el.name for el in model.layers] == ["dropout", "dense", "relu", "dropout", "dense", "relu", "dense"]
    assert (model[0].keep_prob, model[3].keep_prob) == (0.8, 0.5)
    assert np.all(model[1].params["b"] == np.float32(0.01))
    with pytest.raises(corenn.InvalidHyperparameter, match="dropout"):
        corenn.mlp([6, 8, 5, 3], dropout=[0.5])


def test_mlp_takes_its_roles_as_specs_checked_by_protocol(third_party):
    model = corenn.mlp([6, 8, 3], batchnorm=True, norm="feature_scale")
    assert [el.name for el in model.layers] == ["dense", "feature_scale", "relu", "dense"]
    with pytest.raises(corenn.InvalidHyperparameter, match="does not declare its output width field"):
        corenn.mlp([6, 8, 3], dense="feature_scale")


def test_a_classifier_appends_the_output_layer_and_gives_init_defaults_to_layers_that_take_them():
    model = classifier(["dense:out_features=8", "relu"], 6, 3, bias_init="constant:value=0.5")
    assert model.out_features == 3 and [el.name for el in model.layers] == ["dense", "relu", "dense"]
    assert np.all(model[0].params["b"] == 0.5) and np.all(model[2].params["b"] == 0.5)


# -- dtype ----------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "spec"), [("layer", "dense:in_features=6,out_features=4"),
                                            ("layer", "batchnorm:num_features=6"), ("activation", "prelu")])
def test_a_float64_input_through_a_default_float32_layer_is_computed_in_float64(kind, spec):
    from corenn.testing import check_gradient

    element = corenn.create(kind, spec)
    x = np.random.default_rng(0).standard_normal((5, 6))
    run = (lambda: element.forward(x)) if kind == "activation" else (lambda: element.forward(x, training=True))
    G = np.random.default_rng(1).standard_normal(run().shape)
    assert run().dtype == np.float64
    dx = element.backward(G)
    assert dx.dtype == np.float64
    check_gradient(lambda: float(np.sum(run() * G)), x, dx, tol=1e-5, where=spec)  # the kit's float64 tolerance


# -- regularizers, shuffle, evaluate --------------------------------------------------

def test_several_regularizers_add_their_penalties_and_gradients():
    X, y = data()
    loss = corenn.create("loss", "softmax_cross_entropy")
    specs = ["l2:strength=0.1", "l1:strength=0.01"]
    parts = []
    for spec in specs:
        model = corenn.mlp([6, 8, 3], seed=1)
        _, reg = compute_loss(model, loss, X, y, regularizer=spec)
        parts.append((reg, [g.copy() for g in model.gradients()]))
    plain = corenn.mlp([6, 8, 3], seed=1)
    compute_loss(plain, loss, X, y)
    both = corenn.mlp([6, 8, 3], seed=1)
    _, reg = compute_loss(both, loss, X, y, regularizer=specs)
    assert reg == pytest.approx(parts[0][0] + parts[1][0])
    for g, g0, g1, g2 in zip(both.gradients(), plain.gradients(), parts[0][1], parts[1][1]):
        np.testing.assert_allclose(g, g1 + g2 - g0, rtol=1e-5, atol=1e-7)


def test_constraints_apply_in_the_order_given():
    model = corenn.mlp([6, 8, 3], seed=0)
    model[0].params["W"] *= 100
    corenn.apply_constraints(model, ["max_norm:max_value=1", "max_norm:max_value=3"])
    norms = np.linalg.norm(model[0].params["W"], axis=0)
    np.testing.assert_allclose(norms, 1, rtol=1e-5)  # the second (looser) one leaves the first's result


def test_dropout_with_l2_and_max_norm_trains():
    X, y = data(200)
    model = corenn.mlp([6, 32, 3], input_dropout=0.8, dropout=0.5, seed=0)
    trainer = corenn.Trainer(model, optimizer="adam:lr=0.01", regularizer=["l2:strength=1e-4", "max_norm:max_value=3"],
                             epochs=5, batch_size=20)
    history = trainer.fit(X, y)
    assert history.loss[-1] < history.loss[0] and all(r > 0 for r in history.reg_loss)
    assert np.linalg.norm(model[1].params["W"], axis=0).max() <= 3 + 1e-5


def test_a_regularizer_list_with_an_unknown_name_names_the_item():
    with pytest.raises(corenn.UnknownComponent, match=r"regularizer\[1\] 'nope': unknown regularizer 'nope'"):
        corenn.Trainer(corenn.mlp([6, 3]), regularizer=["l2", "nope"])


def test_without_shuffle_the_batches_come_in_dataset_order():
    X, y = data(30)
    model = corenn.mlp([6, 3], seed=0)
    first = model[0]
    inputs = []
    original = first.forward

    def spy(x, training=True):
        if training:
            inputs.append(np.array(x, copy=True))
        return original(x, training)

    first.forward = spy
    corenn.Trainer(model, optimizer="sgd", batch_size=10, epochs=2, shuffle=False).fit(X, y)
    assert len(inputs) == 6
    for b, x in enumerate(inputs):
        np.testing.assert_array_equal(x, X[(b % 3) * 10:(b % 3 + 1) * 10])


def test_evaluate_is_a_function_that_needs_no_optimizer():
    X, y = data()
    model = corenn.mlp([6, 3], seed=0)
    result = evaluate(model, "softmax_cross_entropy", X, y)
    assert result == corenn.Trainer(model, optimizer="sgd").evaluate(X, y)
    assert result["n"] == 40 and 0 <= result["accuracy"] <= 1


# -- runs and the command line --------------------------------------------------------

def test_preprocess_none_means_no_preprocessing():
    from corenn.run import RunConfig

    for value in ("none", ["none"], []):
        assert RunConfig.from_mapping({"preprocess": value}).preprocess == []


def test_a_third_party_layer_trains_through_corenn_train_layer(third_party, tmp_path):
    out = tmp_path / "run"
    assert run_cli("train", *SPIRAL, "--layer", "feature_scale", "--layer", "dense:out_features=16",
                   "--layer", "relu", "--out", out) == 0
    _, doc = load_arrays(out / "model.npz")
    assert [e["spec"]["name"] for e in doc["layers"]] == ["feature_scale", "dense", "relu", "dense"]
    assert run_cli("evaluate", out) == 0


@pytest.mark.parametrize("shuffle", ["--no-shuffle", "--shuffle"])
def test_a_run_described_by_a_layer_list_resumes_bit_identically(tmp_path, shuffle, assert_same_run):
    args = ["train", "--dataset", "spiral", "--no-progress", "--no-default-callbacks", shuffle,
            "--layer", "dense:out_features=16", "--layer", "maxout:k=2", "--layer", "dropout:keep_prob=0.8",
            "--regularizer", "l2:strength=1e-3", "--regularizer", "max_norm:max_value=2",
            "--bias-init", "constant:value=0.01"]
    assert run_cli(*args, "--epochs", "4", "--out", tmp_path / "whole") == 0
    assert run_cli(*args, "--epochs", "2", "--out", tmp_path / "part") == 0
    config = (tmp_path / "part" / "config.toml").read_text()
    assert 'layers = ["dense:out_features=16", "maxout:k=2", "dropout:keep_prob=0.8"]' in config
    (tmp_path / "part" / "config.toml").write_text(config.replace("epochs = 2", "epochs = 4"))
    assert run_cli("train", "--resume", tmp_path / "part", "--no-progress") == 0
    assert_same_run(tmp_path / "whole", tmp_path / "part")


@pytest.mark.parametrize(("args", "message"), [
    (["--layer", "nope"], "error: layers[0] 'nope': unknown layer or activation"),
    (["--layer", "dense:out_features=7", "--layer", "maxout:k=2"], "error: layers[1] 'maxout:k=2' cannot take"),
    (["--regularizer", "l2", "--regularizer", "nope"], "error: regularizer[1] 'nope': unknown regularizer"),
    (["--layer", "relu", "--dropout", "0.5"], "error: options: dropout=0.5 is invalid: is not used with layers"),
])
def test_a_bad_list_at_the_command_line_exits_2_with_one_line_naming_the_item(args, message, tmp_path, capsys):
    assert run_cli("train", *SPIRAL, *args, "--out", tmp_path / "bad") == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err
    assert not (tmp_path / "bad").exists()


def test_the_command_line_reaches_every_new_knob(tmp_path):
    out = tmp_path / "run"
    assert run_cli("train", *SPIRAL, "--hidden", "8,6", "--activation", "maxout", "--input-dropout", "0.9",
                   "--dropout", "0.5,0.7", "--bias-init", "constant:value=0.01", "--preprocess", "none",
                   "--no-shuffle", "--regularizer", "l1:strength=1e-5", "--out", out) == 0
    from corenn.run import open_run

    cfg, model, fitted, _ = open_run(out)
    assert (cfg.dropout, cfg.input_dropout, cfg.preprocess, cfg.shuffle) == ([0.5, 0.7], 0.9, [], False)
    assert cfg.regularizer == "l1:strength=1e-5" and fitted == []
    assert [el.name for el in model.layers][:3] == ["dropout", "dense", "maxout"] and model[1].out_features == 16


# -- search ---------------------------------------------------------------------------

def test_search_reaches_list_items_their_hyperparameters_and_bias_init():
    space = pytest.importorskip("corenn_search.space")
    from corenn.run import RunConfig

    base = RunConfig.from_mapping({"layers": ["dense:out_features=64", "maxout:k=2"], "bias_init": "constant",
                                   "regularizer": ["l2:strength=1e-4", "max_norm:max_value=3"]}).to_dict()
    params = space.parse_params(["layers.0.out_features=int:32..256", "regularizer.1.max_value=uniform:1..4",
                                 "bias_init.value=uniform:0..0.1", "layers.1.k=int:2..4"])
    space.check_space(base, params)
    config = space.apply_params(base, {"layers.0.out_features": 128, "regularizer.1.max_value": 2.0,
                                       "bias_init.value": 0.01})
    assert config["layers"][0] == {"name": "dense", "out_features": 128} and config["layers"][1] == "maxout:k=2"
    assert config["regularizer"] == ["l2:strength=1e-4", {"name": "max_norm", "max_value": 2.0}]
    assert config["bias_init"] == {"name": "constant", "value": 0.01}
    mlp = RunConfig().to_dict()
    assert space.apply_params(mlp, {"dropout.1": 0.6, "hidden.0": 32})["dropout"] == [None, 0.6]
    for param, message in (("layers.5.k=int:2..4", "has 2 item"), ("regularizer.strength=log:1e-5..1e-3",
                                                                      "is a list; name the item"),
                           ("layers.0.units=int:2..4", "has no hyperparameter 'units'")):
        with pytest.raises(corenn.CorennError, match=message):
            space.check_space(base, space.parse_params([param]))


def test_a_per_layer_dropout_list_with_gaps_survives_the_run_folders_config(tmp_path):
    from corenn.run import RunConfig, read_config

    cfg = RunConfig.from_mapping({"dropout": [None, 0.6]})
    (tmp_path / "config.toml").write_text(cfg.to_toml())
    assert RunConfig.from_mapping(read_config(tmp_path / "config.toml")).dropout == [None, 0.6]


def test_corenn_evaluate_works_with_the_sgd_plugin_switched_off(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert run_cli("train", *SPIRAL, "--hidden", "8", "--out", out) == 0
    monkeypatch.setenv("CORENN_DISABLE_PLUGINS", "sgd")
    monkeypatch.setattr(corenn.registry, "_registry", None)  # read the variable again, for this test only
    assert "sgd" not in corenn.available("optimizer")
    capsys.readouterr()
    assert run_cli("evaluate", out) == 0
    assert capsys.readouterr().out.startswith("test accuracy")
