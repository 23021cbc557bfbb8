"""Third parties need not touch the core: plugin distributions that live outside
``plugins/`` (``tests/external_plugins/``) are installed into a temporary
environment (the ``plugin_env`` fixture of conftest.py) next to corenn and
corenn-relu, and checked there through the ``corenn`` command and the Python API.

Installed there: corenn-softsign (a new activation), corenn-broken (raises at
import) and corenn-relu-clone (registers 'relu' a second time).

Each Python process costs most of a second, so every environment setting
(``CORENN_DISABLE_PLUGINS``) is asked its questions in one process (a probe)
and the tests below read the answers.
"""

from __future__ import annotations

import json

import pytest

import corenn

BROKEN_CAUSE = "RuntimeError: corenn-broken cannot start: its lookup table is missing"


@pytest.fixture(scope="module")
def installed(plugin_env) -> dict:
    """Everything asked with all three third-party plugins installed and none switched off."""
    return plugin_env.probe("""
import numpy as np
from corenn.testing import check_component
x = np.array([[-3.0, -0.5, 0.0, 1.0, 1000.0]])
act = corenn.create("activation", "softsign")
y = act.forward(x)
result = {
    "available": corenn.available("activation"),
    "softsign_y": y[0].tolist(),
    "softsign_dx": act.backward(np.ones_like(x))[0].tolist(),
    "softsign_conformance": error(lambda: check_component(corenn.get("activation", "softsign"))),
    "broken": error(lambda: corenn.get("activation", "broken")),
    "relu": error(lambda: corenn.get("activation", "relu")),
    "list_json": cli("list", "activation", "--json"),
    "plugins_json": cli("plugins", "--json"),
    "list_all": cli("list"),
}
""")


@pytest.fixture(scope="module")
def plugins_text(plugin_env) -> str:
    """What the ``corenn plugins`` command of the environment prints."""
    proc = plugin_env.corenn("plugins")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def plugins_by_entry_point(answer: dict) -> dict[str, dict]:
    assert answer["code"] == 0, answer["err"]
    return {p["plugin"]: p for p in json.loads(answer["out"])}


def test_a_new_activation_is_listed_with_its_distribution(plugin_env, installed):
    proc = plugin_env.corenn("list", "activation")
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if " softsign " in f" {line} ")
    assert "corenn-softsign" in row and "y = x / (1 + |x|)" in row
    assert {"kind": "activation", "name": "softsign", "distribution": "corenn-softsign", "version": "0.1.0",
            "summary": "Softsign: y = x / (1 + |x|); dx = dy / (1 + |x|)^2."} in json.loads(installed["list_json"]["out"])


def test_the_new_activation_passes_the_conformance_kit_and_computes_softsign(installed):
    assert installed["softsign_conformance"] is None
    x = [-3.0, -0.5, 0.0, 1.0, 1000.0]
    assert installed["softsign_y"] == pytest.approx([v / (1 + abs(v)) for v in x], rel=1e-12)
    assert installed["softsign_dx"] == pytest.approx([1 / (1 + abs(v)) ** 2 for v in x], rel=1e-12)


def test_a_plugin_that_fails_at_import_is_reported_by_corenn_plugins(installed, plugins_text):
    plugins = plugins_by_entry_point(installed["plugins_json"])
    broken = plugins["broken"]
    assert (broken["distribution"], broken["status"], broken["error"]) == ("corenn-broken", "failed", BROKEN_CAUSE)
    assert plugins["softsign"]["status"] == plugins["relu"]["status"] == "ok"
    row = next(line for line in plugins_text.splitlines() if line.split()[:1] == ["broken"])
    assert "corenn-broken" in row and "failed" in row
    assert f"corenn-broken (broken): {BROKEN_CAUSE}" in plugins_text


def test_everything_else_keeps_working_beside_a_broken_plugin(installed):
    listing = installed["list_all"]
    assert listing["code"] == 0, listing["err"]
    assert "softsign" in listing["out"]
    assert "1 plugin(s) failed to load: corenn-broken; see 'corenn plugins'" in listing["out"]
    assert "softsign" in installed["available"]
    assert installed["softsign_y"][1] == -0.5 / 1.5


def test_asking_for_a_broken_plugins_component_names_the_distribution_and_the_cause(plugin_env, installed):
    assert installed["broken"].startswith(
        "PluginError: activation 'broken' comes from corenn-broken, which failed to load")
    assert BROKEN_CAUSE in installed["broken"]
    cli = plugin_env.corenn("info", "activation", "broken")
    assert cli.returncode == 2
    assert cli.stderr.startswith("error: activation 'broken' comes from corenn-broken")
    assert "Traceback" not in cli.stderr and len(cli.stderr.strip().splitlines()) == 1


def test_a_name_registered_twice_is_reported_naming_both_distributions(installed):
    plugins = plugins_by_entry_point(installed["plugins_json"])
    for plugin in ("relu", "relu_clone"):
        assert plugins[plugin]["conflicts"] == [
            {"kind": "activation", "name": "relu", "distributions": ["corenn-relu", "corenn-relu-clone"]}]
    assert "relu" not in installed["available"]
    message = installed["relu"]
    assert message.startswith("PluginError: activation 'relu' is registered by both")
    assert "corenn-relu 0.1.0 (entry point 'relu')" in message
    assert "corenn-relu-clone 0.2.0 (entry point 'relu_clone')" in message
    assert "CORENN_DISABLE_PLUGINS" in message
    assert "left out: activation 'relu' is registered by both corenn-relu" in installed["list_all"]["out"]


def test_corenn_plugins_prints_the_conflict(plugins_text):
    conflict = next(line for line in plugins_text.splitlines() if line.startswith("conflict:"))
    assert "corenn-relu 0.1.0" in conflict and "corenn-relu-clone 0.2.0" in conflict


PROBE_RELU = """
result = {
    "module": corenn.get("activation", "relu").__module__,
    "distribution": corenn.describe("activation", "relu").distribution,
    "plugins_json": cli("plugins", "--json"),
}
"""


@pytest.mark.parametrize(("disabled", "module", "distribution"), [
    ("relu_clone", "corenn_relu", "corenn-relu"),
    ("relu", "corenn_relu_clone", "corenn-relu-clone"),
])
def test_switching_one_of_the_two_off_resolves_the_conflict(plugin_env, disabled, module, distribution):
    answer = plugin_env.probe(PROBE_RELU, CORENN_DISABLE_PLUGINS=disabled)
    assert (answer["module"], answer["distribution"]) == (module, distribution)
    plugins = plugins_by_entry_point(answer["plugins_json"])
    assert plugins[disabled]["status"] == "disabled" and plugins[disabled]["components"] == []
    assert all(p["conflicts"] == [] for p in plugins.values())


def test_switched_off_plugins_are_not_loaded_and_the_message_says_how_to_switch_them_on(plugin_env):
    answer = plugin_env.probe("""
result = {
    "available": corenn.available("activation"),
    "plugins_json": cli("plugins", "--json"),
    "list": cli("list", "activation"),
    "info": cli("info", "activation", "softsign"),
}
""", CORENN_DISABLE_PLUGINS=" softsign, broken")
    plugins = plugins_by_entry_point(answer["plugins_json"])
    assert plugins["softsign"]["status"] == plugins["broken"]["status"] == "disabled"
    assert plugins["relu"]["status"] == "ok"
    assert "softsign" not in answer["available"]
    assert answer["list"]["code"] == 0
    assert "softsign" not in answer["list"]["out"] and "failed to load" not in answer["list"]["out"]
    assert answer["info"]["code"] == 2
    assert answer["info"]["err"].strip() == (
        "error: activation 'softsign' comes from corenn-softsign, which is switched off by "
        "CORENN_DISABLE_PLUGINS; remove 'softsign' from it to use it")


def test_the_core_with_only_corenn_relu_gives_relu_and_nothing_else(plugin_env):
    answer = plugin_env.probe("""
import numpy as np
result = {
    "everything": {kind: corenn.available(kind) for kind in corenn.KINDS},
    "relu": corenn.create("activation", "relu").forward(np.array([[-1.0, 2.0]])).tolist(),
    "adam": error(lambda: corenn.get("optimizer", "adam")),
}
""", CORENN_DISABLE_PLUGINS="softsign,broken,relu_clone")
    assert answer["everything"] == {kind: (["relu"] if kind == "activation" else []) for kind in corenn.KINDS}
    assert answer["relu"] == [[0.0, 2.0]]
    assert "unknown optimizer 'adam'" in answer["adam"]
