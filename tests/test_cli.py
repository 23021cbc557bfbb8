"""The ``corenn`` command line: list, info and plugins (tables and ``--json``),
plugin-added commands, and bad input (exit code 2, one ``error:`` line, no
traceback unless ``--debug``).

Most tests call ``corenn.cli.main(argv)`` in this process (it returns the exit
code); two run the installed ``corenn`` script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest
import typer

import corenn
import corenn.registry
from corenn.registry import ALL_KINDS
from corenn.cli import main
from corenn.registry import Registry

CORENN = Path(sys.executable).parent / "corenn"


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_one_line_error(err: str, starts: str) -> None:
    assert err.startswith(f"error: {starts}"), err
    assert err.count("\n") == 1 and "Traceback" not in err, err


# -- list ------------------------------------------------------------------------------

def listed(out: str) -> list[tuple[str, list[str]]]:
    """The lines of ``corenn list`` as (kind, words): a kind's header line, then its indented components."""
    rows, kind = [], None
    for line in out.splitlines():
        if line and not line.startswith(" "):
            kind = line.strip()
        elif line.strip():
            rows.append((kind, line.split()))
    return rows


def test_list_shows_every_registered_component(capsys):
    code, out, err = run(capsys, "list")
    assert code == 0, err
    rows = listed(out)
    for kind in corenn.KINDS:
        for name in corenn.available(kind):
            d = corenn.describe(kind, name)
            assert (kind, [name, d.distribution, *d.summary.split()]) in rows, (kind, name)


@pytest.mark.parametrize("columns", ["60", "80"])
def test_list_is_one_line_per_component_plus_a_header_per_kind_at_any_width(capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    code, out, err = run(capsys, "list")
    lines = out.splitlines()
    components = [(k, n) for k in ALL_KINDS for n in corenn.available(k)]
    kinds = {k for k, _ in components}
    assert len(lines) <= len(components) + len(kinds) and max(map(len, lines)) <= int(columns)
    if "adam" in corenn.available("optimizer"):
        adam = [line for line in lines if "adam" in line.split()[:1]]
        assert adam and adam[0].split()[:2] == ["adam", corenn.describe("optimizer", "adam").distribution]


def test_list_json_is_every_component_as_plain_data(capsys):
    rows = run_json(capsys, "list")
    assert [(r["kind"], r["name"]) for r in rows] == [(k, n) for k in corenn.registry.ALL_KINDS for n in corenn.available(k)]
    for row in rows:
        d = corenn.describe(row["kind"], row["name"])
        assert row == {"kind": d.kind, "name": d.name, "distribution": d.distribution, "version": d.version,
                       "summary": d.summary}


@pytest.mark.parametrize("kind", ["activation", "activations"])
def test_list_of_one_kind(capsys, kind):
    rows = run_json(capsys, "list", kind)
    assert {r["kind"] for r in rows} <= {"activation"}
    assert [r["name"] for r in rows] == corenn.available("activation")


def test_list_of_a_kind_with_the_relu_plugin_names_its_distribution(capsys):
    if "relu" not in corenn.available("activation"):
        pytest.skip("corenn-relu is not installed")
    code, out, _ = run(capsys, "list", "activation")
    row = next(line for line in out.splitlines() if line.split()[:1] == ["relu"])
    assert "corenn-relu" in row and "Rectified linear unit" in row


# -- info ------------------------------------------------------------------------------

@pytest.fixture
def toys(monkeypatch) -> Registry:
    """A fresh global registry holding one toy plugin (put back after the test)."""
    import attrs

    from corenn import validators as v

    @corenn.component
    class Wobble:
        """Wobble schedule: value * (1 + amplitude * (-1)**t).

        Alternates above and below ``value``.
        """

        name = "wobble"
        value: float = corenn.hyperparameter(doc="the centre value", check=v.number)
        amplitude: float = corenn.hyperparameter(0.1, doc="relative size of the wobble", check=v.non_negative)

        def __call__(self, t):
            return self.value * (1 + self.amplitude * (-1) ** t)

    assert attrs.has(Wobble)
    module = types.ModuleType("toy_cli_plugin")
    module.corenn_schedules = corenn.hookimpl(lambda: [Wobble])
    module.corenn_schedules.__name__ = "corenn_schedules"
    fresh = Registry(load_entry_points=False)
    fresh.register(module)
    monkeypatch.setattr(corenn.registry, "_registry", fresh)
    return fresh


def test_info_shows_summary_doc_and_hyperparameters(capsys, toys):
    code, out, err = run(capsys, "info", "schedule", "wobble")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "schedule wobble  (toy_cli_plugin (in-process))"
    assert "Alternates above and below value." in out  # plain text, no reST literals
    value = next(line for line in lines if line.split()[:1] == ["value"])
    assert value.split()[:3] == ["value", "float", "(required)"] and "the centre value" in value
    amplitude = next(line for line in lines if line.split()[:1] == ["amplitude"])
    assert amplitude.split()[:3] == ["amplitude", "float", "0.1"] and "relative size of the wobble" in amplitude
    assert lines[-1] == "spec: wobble:amplitude=0.1"


def test_info_json_is_describe_as_plain_data(capsys, toys):
    data = run_json(capsys, "info", "schedule", "wobble")
    assert data == json.loads(json.dumps(corenn.describe("schedule", "wobble").to_dict()))
    assert [h["name"] for h in data["hyperparameters"]] == ["value", "amplitude"]
    assert data["hyperparameters"][0] == {"name": "value", "type": "float", "default": None,
                                          "doc": "the centre value", "required": True, "schedulable": False}


def test_info_of_a_component_without_hyperparameters(capsys):
    if "relu" not in corenn.available("activation"):
        pytest.skip("corenn-relu is not installed")
    code, out, _ = run(capsys, "info", "activation", "relu")
    assert code == 0 and out.splitlines()[-1] == "no hyperparameters"
    assert run_json(capsys, "info", "activation", "relu")["hyperparameters"] == []


# -- plugins -----------------------------------------------------------------------------

def test_plugins_json_lists_every_plugin_and_what_it_registers(capsys):
    rows = run_json(capsys, "plugins")
    assert {r["plugin"] for r in rows} == {p.plugin for p in corenn.plugins()}
    for row in rows:
        assert set(row) == {"plugin", "distribution", "version", "module", "status", "error", "components",
                            "conflicts"}
    registered = {(c["kind"], c["name"]) for r in rows for c in r["components"]}
    assert registered >= {(k, n) for k in corenn.KINDS for n in corenn.available(k)}
    if "relu" in corenn.available("activation"):
        relu = next(r for r in rows if r["plugin"] == "relu")
        assert relu == {"plugin": "relu", "distribution": "corenn-relu", "version": "0.1.0", "module": "corenn_relu",
                        "status": "ok", "error": None, "components": [{"kind": "activation", "name": "relu"}],
                        "conflicts": []}


def test_plugins_table_and_failures(capsys, monkeypatch):
    fresh = Registry(load_entry_points=False)
    broken = types.ModuleType("broken_cli_plugin")
    broken.corenn_activations = corenn.hookimpl(lambda: [42])
    broken.corenn_activations.__name__ = "corenn_activations"
    with pytest.raises(corenn.PluginError):
        fresh.register(broken)
    monkeypatch.setattr(corenn.registry, "_registry", fresh)
    code, out, err = run(capsys, "plugins")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["entry", "point", "distribution", "version", "status", "registers"]
    assert "broken_cli_plugin (in-process) (broken_cli_plugin): PluginError: broken_cli_plugin (in-process) " \
           "(hook corenn_activations) returned 42, which is not a class" in out
    code, out, err = run(capsys, "list")
    assert code == 0 and "no components registered" in out
    assert "1 plugin(s) failed to load: broken_cli_plugin (in-process); see 'corenn plugins'" in out


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "message"), [
    (["list", "activatoin"], "unknown kind 'activatoin'; did you mean 'activation'? (known: activation, callback, dataset,"),
    (["list", "nonsense", "--json"], "unknown kind 'nonsense' (known: activation"),
    (["info", "activatoin", "relu"], "unknown kind 'activatoin'; did you mean 'activation'?"),
    (["info", "activation", "no_such_thing"], "unknown activation 'no_such_thing'"),
    (["info", "activation", "no_such_thing", "--json"], "unknown activation 'no_such_thing'"),
])
def test_bad_input_is_exit_2_with_one_error_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert_one_line_error(err, message)
    assert out == ""


def test_an_unknown_name_suggests_the_closest(capsys, toys):
    code, _, err = run(capsys, "info", "schedule", "wobbel")
    assert code == 2
    assert err == "error: unknown schedule 'wobbel'; did you mean 'wobble'? (installed: wobble)\n"


def test_debug_shows_the_traceback(capsys):
    code, _, err = run(capsys, "--debug", "info", "activation", "no_such_thing")
    assert code == 2
    assert err.startswith("Traceback (most recent call last):")
    assert "corenn.errors.UnknownComponent: unknown activation 'no_such_thing'" in err
    assert err.splitlines()[-1].startswith("error: unknown activation 'no_such_thing'")


@pytest.mark.parametrize("argv", [["info", "activation"], ["list", "--no-such-option"], ["no-such-command"]])
def test_usage_errors_are_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "Traceback" not in err


def test_help_and_no_arguments(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("list", "info", "plugins", "new-plugin"):
        assert command in out
    code, out, err = run(capsys)
    assert code in (0, 2) and "Usage" in out + err


# -- commands from plugins ------------------------------------------------------------------

def test_a_plugin_adds_a_command_through_corenn_commands(capsys, monkeypatch):
    class Plugin:
        @corenn.hookimpl
        def corenn_commands(self, app: typer.Typer):
            @app.command("greet")
            def greet(name: str = typer.Argument(..., help="who"), times: int = typer.Option(1, "--times")):
                """Say hello."""
                if times < 1:
                    raise corenn.InvalidInput(f"greet: --times must be >= 1, got {times}")
                print(" ".join([f"hello {name}"] * times))

    fresh = Registry(load_entry_points=False)
    fresh.register(Plugin(), name="greeter")
    monkeypatch.setattr(corenn.registry, "_registry", fresh)
    assert run(capsys, "greet", "ada", "--times", "2")[:2] == (0, "hello ada hello ada\n")
    code, _, err = run(capsys, "greet", "ada", "--times", "0")
    assert code == 2 and err == "error: greet: --times must be >= 1, got 0\n"
    assert "greet" in run(capsys, "--help")[1]


def test_a_warning_from_corenn_is_one_line_and_others_keep_pythons_format(capsys, monkeypatch):
    class Plugin:
        @corenn.hookimpl
        def corenn_commands(self, app: typer.Typer):
            @app.command("warn")
            def warn():
                """Warn once from the core and once from elsewhere."""
                warnings.warn_explicit("3 scores are NaN", UserWarning, corenn.registry.__file__, 1)
                warnings.warn_explicit("an old option", UserWarning, "/site-packages/otherlib/api.py", 7)

    fresh = Registry(load_entry_points=False)
    fresh.register(Plugin(), name="warner")
    monkeypatch.setattr(corenn.registry, "_registry", fresh)
    shown = []  # what Python's own display gets
    monkeypatch.setattr(warnings, "showwarning", lambda message, category, filename, *rest: shown.append(filename))
    assert run(capsys, "warn") == (0, "", "warning: 3 scores are NaN\n")
    assert shown == ["/site-packages/otherlib/api.py"]
    shown.clear()
    assert run(capsys, "warn", "--debug") == (0, "", "")  # --debug: every warning with its file and line
    assert shown == [corenn.registry.__file__, "/site-packages/otherlib/api.py"]


def test_a_plugin_whose_commands_fail_does_not_break_the_cli(capsys, monkeypatch):
    class Plugin:
        @corenn.hookimpl
        def corenn_commands(self, app):
            raise RuntimeError("no terminal")

    fresh = Registry(load_entry_points=False)
    fresh.register(Plugin(), name="noisy")
    monkeypatch.setattr(corenn.registry, "_registry", fresh)
    code, out, err = run(capsys, "plugins", "--json")
    assert code == 0
    assert err.startswith("warning: plugin 'noisy' could not add its commands:") and "no terminal" in err
    (row,) = json.loads(out)
    assert row["status"] == "failed" and row["error"] == "RuntimeError: no terminal"
    assert run(capsys, "list", "--json")[0] == 0


def command_plugin(command: str, said: str):
    class Plugin:
        @corenn.hookimpl
        def corenn_commands(self, app):
            @app.command(command)
            def say():
                """Say something."""
                print(said)

    return Plugin()


def test_a_plugin_command_named_like_a_core_command_is_refused_naming_both(capsys, monkeypatch):
    fresh = Registry(load_entry_points=False)
    fresh.register(command_plugin("train", "hijacked"), name="hijack")
    monkeypatch.setattr(corenn.registry, "_registry", fresh)
    code, out, err = run(capsys, "plugins", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["status"] == "failed"
    assert "the command 'train' is added by both corenn (the core) and tests.test_cli (in-process) (plugin 'hijack')" in row["error"]
    assert "could not add its commands" in err
    assert "hijacked" not in run(capsys, "train", "--help")[1]


def test_two_plugins_adding_one_command_name_is_an_error_naming_both(capsys, monkeypatch):
    fresh = Registry(load_entry_points=False)
    fresh.register(command_plugin("hello", "first"), name="first")
    fresh.register(command_plugin("hello", "second"), name="second")
    monkeypatch.setattr(corenn.registry, "_registry", fresh)
    assert run(capsys, "hello")[:2] == (0, "first\n")
    failed = [p for p in fresh.plugins.values() if p.status == "failed"]
    assert [p.plugin for p in failed] == ["second"]
    assert failed[0].error == ("PluginError: the command 'hello' is added by both tests.test_cli (in-process) "
                               "(plugin 'first') and tests.test_cli (in-process) (plugin 'second'); the latter's "
                               "commands are left out (rename one, or switch a plugin off with CORENN_DISABLE_PLUGINS)")


def test_the_core_commands_come_through_the_commands_hook():
    from corenn.cli import build_app, default_plugins

    app = build_app()
    pm = corenn.registry.registry().pm
    assert pm.has_plugin(default_plugins.PLUGIN_NAME)
    names = [c.name for c in app.registered_commands]
    assert names[:7] == ["list", "info", "plugins", "new-plugin", "train", "evaluate", "predict"]


def test_version_short_help_and_completion(capsys):
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"corenn {corenn.__version__}\n")
    code, out, _ = run(capsys, "-h")
    assert code == 0 and "--install-completion" in out and "--version" in out
    code, out, _ = run(capsys, "info", "-h")
    assert code == 0 and "Describe a component" in out


def test_debug_after_the_command_name_shows_the_traceback_too(capsys):
    code, _, err = run(capsys, "info", "activation", "no_such_thing", "--debug")
    assert code == 2 and err.startswith("Traceback (most recent call last):")


def test_main_can_run_many_times_in_one_process(capsys):
    for _ in range(3):
        assert run(capsys, "list", "--json")[0] == 0


# -- the installed script ---------------------------------------------------------------------

@pytest.mark.skipif(not CORENN.exists(), reason="the corenn script is not installed next to this Python")
def test_the_installed_script(tmp_path):
    env = {"COLUMNS": "200", "PATH": str(CORENN.parent)}
    ok = subprocess.run([str(CORENN), "list", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)) == sum(len(corenn.available(k)) for k in corenn.registry.ALL_KINDS)
    bad = subprocess.run([str(CORENN), "info", "activation", "no_such_thing"], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert_one_line_error(bad.stderr, "unknown activation 'no_such_thing'")


def test_info_reflows_a_docstrings_paragraphs_and_keeps_indented_blocks():
    from corenn.cli.discover import reflow

    doc = "First line of a\nparagraph that goes on.\n\n    y = f(x)   (kept as written)\n- a list item\nlast"
    assert reflow(doc) == "First line of a paragraph that goes on.\n\n    y = f(x)   (kept as written)\n- a list item\nlast"


def test_a_warning_is_one_line_that_starts_with_warning():
    env = {**__import__("os").environ, "CORENN_DISABLE_PLUGINS": "nosuch_plugin"}
    proc = subprocess.run([sys.executable, "-c", "from corenn.cli import main; main()", "list", "loss"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("warning: CORENN_DISABLE_PLUGINS names 'nosuch_plugin'")
    assert proc.stderr.count("\n") == 1 and ".py:" not in proc.stderr
