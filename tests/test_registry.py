"""The registry: available / get / create / describe, in-process plugins, broken and
duplicate plugins, and the errors a person can act on.

Most tests use a fresh ``Registry(load_entry_points=False)`` holding only the toy
plugins defined here; the ones that go through ``corenn.register_plugin`` swap a
fresh registry in for the global one and put the original back afterwards, so no
other test sees these toys.
"""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

import corenn
import corenn.registry
from corenn import validators as v
from corenn.registry import Registry


@corenn.component
class Square(corenn.Module):
    """Square: y = x**2.

    Shapes: (N, D) -> (N, D).
    """

    name = "square"

    def forward(self, x):
        self._x = x
        return x * x

    def backward(self, dy):
        return 2 * self._x * dy


@corenn.component
class Toy:
    """Toy optimizer: x -= lr * dx, repeated `repeat` times."""

    name = "toy"

    repeat: int = corenn.hyperparameter(doc="how many times to apply the step", check=v.integer(1))
    lr: float = corenn.hyperparameter(0.1, doc="learning rate", check=v.positive, schedulable=True)
    mode: str = corenn.hyperparameter("plain", doc="plain or signed", check=v.one_of("plain", "signed"))
    sizes: tuple = corenn.hyperparameter((1, 2), doc="a tuple default")

    def __attrs_post_init__(self):
        self.t = 0

    def step(self, params, grads, closure=None):
        lr = corenn.value_at(self.lr, self.t)
        for p, g in zip(params, grads):
            p -= self.repeat * lr * (np.sign(g) if self.mode == "signed" else g)
        self.t += 1

    def state_dict(self):
        return {"t": self.t}

    def load_state_dict(self, state):
        self.t = state["t"]


@corenn.component
class Halving:
    """Halving schedule: initial / 2**t."""

    name = "halving"
    initial: float = corenn.hyperparameter(1.0, doc="value at t = 0", check=v.positive)

    def __call__(self, t):
        return self.initial / 2 ** t


@corenn.component
class Counter:
    """Counter callback: counts epochs."""

    name = "counter"

    def on_epoch_end(self, trainer, epoch, logs):
        pass


def plugin(name: str, **hooks) -> types.ModuleType:
    """A module-like plugin object whose hooks return the given classes."""
    module = types.ModuleType(name)
    for hook, classes in hooks.items():
        def impl(classes=classes):
            return list(classes)
        impl.__name__ = hook
        setattr(module, hook, corenn.hookimpl(impl))
    return module


@pytest.fixture
def reg() -> Registry:
    r = Registry(load_entry_points=False)
    r.register(plugin("toys", corenn_activations=[Square], corenn_optimizers=[Toy], corenn_schedules=[Halving],
                      corenn_callbacks=[Counter]))
    return r


@pytest.fixture
def global_registry(monkeypatch) -> Registry:
    """A fresh, empty registry standing in for the global one during one test."""
    fresh = Registry(load_entry_points=False)
    monkeypatch.setattr(corenn.registry, "_registry", fresh)
    return fresh


# -- in-process plugins ----------------------------------------------------------

def test_an_in_process_plugin_registers_its_components(reg):
    info = reg.plugins["toys"]
    assert (info.status, info.error) == ("ok", None)
    assert sorted(info.components) == [("activation", "square"), ("callback", "counter"),
                                       ("optimizer", "toy"), ("schedule", "halving")]
    assert reg.available("activation") == ["square"]
    assert reg.available("callback") == ["counter"]
    assert reg.entry("optimizer", "toy").cls is Toy


def test_a_plugin_may_be_an_object_with_hookimpl_methods():
    class Plugin:
        @corenn.hookimpl
        def corenn_activations(self):
            return [Square]

    r = Registry(load_entry_points=False)
    info = r.register(Plugin(), name="object_plugin")
    assert info.components == [("activation", "square")]


def test_register_plugin_uses_the_global_registry(global_registry):
    corenn.register_plugin(plugin("mine", corenn_activations=[Square]))
    assert corenn.available("activation") == ["square"]
    assert corenn.get("activation", "square") is Square
    assert [p.plugin for p in corenn.plugins()] == ["mine"]


def test_the_global_registry_is_not_left_polluted():
    assert "square" not in corenn.available("activation")


def test_the_same_plugin_name_twice_is_an_error(reg):
    with pytest.raises(corenn.PluginError, match="a plugin named 'toys' is already registered"):
        reg.register(plugin("toys", corenn_activations=[Square]))


def test_a_misspelled_hook_is_an_error_not_silence():
    r = Registry(load_entry_points=False)
    with pytest.raises(corenn.PluginError, match="corenn_activation is not a corenn hook; "
                                                 "did you mean 'corenn_activations'"):
        r.register(plugin("typo", corenn_activation=[Square]))
    assert r.plugins["typo"].status == "failed"
    assert r.pm.get_plugins() == set()


# -- broken plugins --------------------------------------------------------------

def test_a_hook_that_raises_fails_its_plugin_and_no_other(reg):
    def explode():
        raise RuntimeError("table missing")

    broken = types.ModuleType("broken")
    broken.corenn_activations = corenn.hookimpl(lambda: explode())
    broken.corenn_activations.__name__ = "corenn_activations"
    with pytest.raises(corenn.PluginError, match="plugin 'broken' failed: RuntimeError: table missing"):
        reg.register(broken)
    info = reg.plugins["broken"]
    assert info.status == "failed" and info.error == "RuntimeError: table missing"
    assert "Traceback" in info.traceback and isinstance(info.exception, RuntimeError)
    assert reg.available("activation") == ["square"]
    assert isinstance(reg.create("activation", "square"), Square)


def test_asking_for_a_failed_plugins_component_names_the_distribution_and_the_cause(reg):
    with pytest.raises(corenn.PluginError):
        reg.register(plugin("broken", corenn_activations=["not a class"]))
    with pytest.raises(corenn.PluginError) as info:
        reg.entry("activation", "broken")
    message = str(info.value)
    assert message.startswith("activation 'broken' comes from broken (in-process), which failed to load")
    assert "returned 'not a class', which is not a class" in message


def test_a_plugin_with_one_bad_component_registers_none_of_them(reg):
    @corenn.component
    class Cube(Square):
        """Cube."""
        name = "cube"

    with pytest.raises(corenn.PluginError, match="not a class"):
        reg.register(plugin("half", corenn_activations=[Cube], corenn_optimizers=["not a class"]))
    assert reg.available("activation") == ["square"]
    with pytest.raises(corenn.UnknownComponent):
        reg.entry("activation", "cube")


@pytest.mark.parametrize("spec", [None, 3, 0.5, ["adam"], Toy])
def test_something_that_is_neither_a_spec_nor_an_instance_is_refused(reg, spec):
    with pytest.raises(corenn.InvalidSpec, match="optimizer"):
        reg.create("optimizer", spec)


@pytest.mark.parametrize(("returned", "message"), [
    ("not a class", r"returned 'not a class', which is not a class"),
    (type("Nameless", (), {"__doc__": "x"}), r"Nameless.name must be a lower-case identifier, got None"),
    (type("Upper", (), {"name": "Upper"}), r"Upper.name must be a lower-case identifier, got 'Upper'"),
    (type("Plain", (), {"name": "plain"}), r"Plain is not an attrs class; decorate it with @corenn.component"),
])
def test_what_a_hook_returns_is_checked(returned, message):
    r = Registry(load_entry_points=False)
    with pytest.raises(corenn.PluginError, match=message):
        r.register(plugin("bad", corenn_activations=[returned]))
    assert "corenn_activations" in r.plugins["bad"].error


# -- duplicates ------------------------------------------------------------------

@corenn.component
class OtherSquare(Square):
    """Another square."""


def test_two_plugins_registering_one_name_are_reported_naming_both(reg):
    reg.register(plugin("rival", corenn_activations=[OtherSquare]))
    assert reg.available("activation") == []
    with pytest.raises(corenn.PluginError) as info:
        reg.entry("activation", "square")
    message = str(info.value)
    assert message.startswith("activation 'square' is registered by both")
    assert "toys (in-process)" in message and "rival (in-process)" in message
    assert "CORENN_DISABLE_PLUGINS" in message
    assert reg.conflict_message("activation", "square") == message


def test_the_same_class_from_two_plugins_is_not_a_conflict(reg):
    reg.register(plugin("again", corenn_activations=[Square]))
    assert reg.entry("activation", "square").cls is Square


def test_a_disabled_entry_point_is_not_loaded(monkeypatch):
    monkeypatch.setenv("CORENN_DISABLE_PLUGINS", "relu, nonexistent")
    with pytest.warns(UserWarning, match="names 'nonexistent', which no installed plugin is called"):
        r = Registry()
    assert r.plugins["relu"].status == "disabled" and r.plugins["relu"].components == []
    monkeypatch.setenv("CORENN_DISABLE_PLUGINS", "sigmod")
    with pytest.warns(UserWarning, match="names 'sigmod', which no installed plugin is called; did you mean .*sigmoid"):
        Registry()
    assert "relu" not in r.available("activation")
    with pytest.raises(corenn.PluginError, match="switched off by CORENN_DISABLE_PLUGINS; remove 'relu' from it"):
        r.entry("activation", "relu")


# -- unknown kinds and names -----------------------------------------------------

def test_an_unknown_kind_says_which_kinds_exist(reg):
    with pytest.raises(corenn.UnknownComponent) as info:
        reg.available("activatoin")
    assert str(info.value) == ("unknown kind 'activatoin'; did you mean 'activation'? (known: activation, callback, dataset, "
                               "initializer, layer, loss, optimizer, preprocessor, regularizer, schedule)")
    assert isinstance(info.value, LookupError)


def test_an_unknown_name_suggests_the_closest_and_lists_what_is_installed(reg):
    with pytest.raises(corenn.UnknownComponent) as info:
        reg.create("activation", "sqare")
    assert str(info.value) == "unknown activation 'sqare'; did you mean 'square'? (installed: square)"
    assert (info.value.kind, info.value.name, info.value.known) == ("activation", "sqare", ["square"])


def test_an_unknown_name_with_nothing_close(reg):
    with pytest.raises(corenn.UnknownComponent, match=r"^unknown optimizer 'adam' \(installed: toy\); provided by "
                                                      r"corenn-adam: install it with `corenn install adam`$"):
        reg.entry("optimizer", "adam")


# -- create ------------------------------------------------------------------------

def test_create_from_a_name_a_string_a_mapping_and_overrides(reg):
    assert reg.create("optimizer", "toy:repeat=2").repeat == 2
    toy = reg.create("optimizer", "toy:repeat=2,lr=0.5,mode=signed")
    assert (toy.repeat, toy.lr, toy.mode) == (2, 0.5, "signed")
    toy = reg.create("optimizer", {"name": "toy", "repeat": 3, "lr": 0.25})
    assert (toy.repeat, toy.lr) == (3, 0.25)
    toy = reg.create("optimizer", "toy:repeat=1,lr=0.5", lr=0.125, mode="signed")
    assert (toy.repeat, toy.lr, toy.mode) == (1, 0.125, "signed")
    x = np.array([1.0, 1.0])
    toy.step([x], [np.array([3.0, -3.0])])
    np.testing.assert_allclose(x, [0.875, 1.125])


def test_an_instance_passes_through_create(reg):
    toy = Toy(repeat=1)
    assert reg.create("optimizer", toy) is toy


def test_overrides_need_a_spec_not_an_instance(reg):
    with pytest.raises(corenn.InvalidHyperparameter, match="overrides need a spec"):
        reg.create("optimizer", Toy(repeat=1), lr=0.5)


def test_an_unknown_hyperparameter_is_rejected_with_a_suggestion(reg):
    with pytest.raises(corenn.InvalidHyperparameter) as info:
        reg.create("optimizer", "toy:repeat=1,lrr=0.1")
    err = info.value
    assert (err.component, err.field, err.value) == ("toy", "lrr", 0.1)
    assert str(err) == ("toy: lrr=0.1 is invalid: unknown hyperparameter; did you mean 'lr'? "
                        "toy takes: repeat, lr, mode, sizes")


def test_a_component_without_hyperparameters_says_so(reg):
    with pytest.raises(corenn.InvalidHyperparameter, match="square takes: no hyperparameters"):
        reg.create("activation", "square:alpha=1")


def test_a_missing_required_hyperparameter_says_how_to_give_it(reg):
    with pytest.raises(corenn.InvalidHyperparameter) as info:
        reg.create("optimizer", "toy")
    assert info.value.field == "repeat"
    assert str(info.value) == "toy: repeat is required (how many times to apply the step); give it as toy:repeat=..."


@pytest.mark.parametrize(("spec", "field", "value", "rule"), [
    ("toy:repeat=0", "repeat", 0, "must be an integer in [1, None]"),
    ("toy:repeat=1.5", "repeat", 1.5, "must be an integer"),
    ("toy:repeat=True", "repeat", True, "must be an integer"),
    ("toy:repeat=1,lr=-0.1", "lr", -0.1, v.positive.__doc__),  # "must be in (0, inf)"
    ("toy:repeat=1,lr=0", "lr", 0, v.positive.__doc__),
    ({"name": "toy", "repeat": 1, "lr": float("inf")}, "lr", float("inf"), "must be a finite number"),
    ("toy:repeat=1,mode=fancy", "mode", "fancy", "must be one of 'plain', 'signed'"),
])
def test_a_bad_value_names_component_field_value_and_rule(reg, spec, field, value, rule):
    with pytest.raises(corenn.InvalidHyperparameter) as info:
        reg.create("optimizer", spec)
    err = info.value
    assert (err.component, err.field, err.value, err.rule) == ("toy", field, value, rule)
    assert str(err) == f"toy: {field}={value!r} is invalid: {rule}"
    assert isinstance(err, ValueError) and isinstance(err, corenn.CorennError)


def test_bad_values_fail_at_construction_too():
    with pytest.raises(corenn.InvalidHyperparameter, match=r"toy: lr=-1 is invalid"):
        Toy(repeat=1, lr=-1)


def test_a_schedulable_hyperparameter_takes_a_schedule_object():
    toy = Toy(repeat=1, lr=Halving(initial=0.5))
    assert [corenn.value_at(toy.lr, t) for t in range(3)] == [0.5, 0.25, 0.125]
    assert corenn.is_schedule(toy.lr) and not corenn.is_schedule(0.5)


def test_a_schedule_given_as_a_spec_is_built_from_the_registry(global_registry):
    global_registry.register(plugin("toys", corenn_optimizers=[Toy], corenn_schedules=[Halving]))
    for lr in ("halving:initial=0.5", {"name": "halving", "initial": 0.5}):
        toy = corenn.create("optimizer", {"name": "toy", "repeat": 1, "lr": lr})
        assert isinstance(toy.lr, Halving) and toy.lr(1) == 0.25
    toy = corenn.create("optimizer", "toy:repeat=1,lr='halving:initial=0.5'")
    assert toy.lr(2) == 0.125
    toy = corenn.create("optimizer", "toy:repeat=1,lr={'name': 'halving', 'initial': 4.0}")
    assert toy.lr(2) == 1.0
    assert corenn.hyperparameter_values(toy) == {"repeat": 1, "lr": {"name": "halving", "initial": 4.0},
                                                 "mode": "plain", "sizes": [1, 2]}
    with pytest.raises(corenn.InvalidHyperparameter, match="halving: initial=-1 is invalid"):
        corenn.create("optimizer", "toy:repeat=1,lr='halving:initial=-1'")


def test_schedules_nest_with_the_real_plugins():
    if not {"sgd", "momentum"} <= set(corenn.available("optimizer")) or \
            not {"step", "linear"} <= set(corenn.available("schedule")):
        pytest.skip("needs the sgd, momentum, step and linear plugins")
    sgd = corenn.create("optimizer", "sgd:lr='step:initial=0.1,every=5'")
    assert [corenn.value_at(sgd.lr, t) for t in (0, 4, 5, 10)] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    momentum = corenn.create("optimizer", {"name": "momentum", "mu": {"name": "linear", "start": 0.5, "end": 0.99,
                                                                      "steps": 1000}})
    assert momentum.mu(0) == pytest.approx(0.5) and momentum.mu(5000) == pytest.approx(0.99)


# -- describe ----------------------------------------------------------------------

def test_describe_is_plain_data(reg):
    d = reg.describe("optimizer", "toy")
    assert (d.name, d.kind, d.summary) == ("toy", "optimizer", "Toy optimizer: x -= lr * dx, repeated `repeat` times.")
    assert d.distribution == "toys (in-process)"
    rows = [(h.name, h.type, h.default, h.doc, h.required, h.schedulable) for h in d.hyperparameters]
    assert rows == [
        ("repeat", "int", None, "how many times to apply the step", True, False),
        ("lr", "float", 0.1, "learning rate", False, True),
        ("mode", "str", "plain", "plain or signed", False, False),
        ("sizes", "tuple", (1, 2), "a tuple default", False, False),
    ]
    data = d.to_dict()
    assert json.loads(json.dumps(data)) == {**data, "hyperparameters": [
        {**h, "default": list(h["default"]) if isinstance(h["default"], tuple) else h["default"]}
        for h in data["hyperparameters"]]}
    assert data["doc"].startswith("Toy optimizer")


def test_describe_of_a_component_without_hyperparameters(reg):
    d = reg.describe("activation", "square")
    assert d.hyperparameters == () and d.summary == "Square: y = x**2."
    assert d.doc == "Square: y = x**2.\n\nShapes: (N, D) -> (N, D)."


def test_describe_names_the_installed_distribution_and_version():
    if "relu" not in corenn.available("activation"):
        pytest.skip("corenn-relu is not installed")
    d = corenn.describe("activation", "relu")
    assert (d.distribution, d.version, d.kind, d.name) == ("corenn-relu", "0.1.0", "activation", "relu")
    assert d.summary == corenn.get("activation", "relu").__doc__.strip().splitlines()[0]


def test_describe_of_an_unknown_name_is_unknown_component(reg):
    with pytest.raises(corenn.UnknownComponent, match="did you mean 'toy'"):
        reg.describe("optimizer", "tyo")


# -- the module-level API ------------------------------------------------------------

def test_kinds_are_the_nine_of_the_contract():
    assert corenn.KINDS == ("activation", "initializer", "regularizer", "optimizer", "schedule",
                            "layer", "loss", "preprocessor", "dataset")


def test_every_registered_name_is_sorted_and_gettable():
    for kind in corenn.KINDS:
        names = corenn.available(kind)
        assert names == sorted(names)
        for name in names:
            assert corenn.get(kind, name).name == name


def test_reload_rebuilds_the_registry(monkeypatch):
    monkeypatch.setattr(corenn.registry, "_registry", None)
    first = corenn.registry.registry()
    assert corenn.registry.registry() is first
    second = corenn.reload()
    assert second is not first and second.available("activation") == first.available("activation")
