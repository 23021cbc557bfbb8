"""``corenn new-plugin KIND NAME`` renders a ready plugin distribution: installable,
listed, conformance-checked and tested, for every kind (the template is tested
like simonw/llm-plugin's cookiecutter)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import corenn
from corenn.cli import main
from corenn.cli.scaffold import render_plugin
from corenn.registry import ALL_KINDS
from corenn.testing import check_component

ROOT = Path(__file__).resolve().parents[1]
HOOKS = {"activation": "corenn_activations", "initializer": "corenn_initializers",
         "regularizer": "corenn_regularizers", "optimizer": "corenn_optimizers", "schedule": "corenn_schedules",
         "layer": "corenn_layers", "loss": "corenn_losses", "preprocessor": "corenn_preprocessors",
         "dataset": "corenn_datasets", "callback": "corenn_callbacks"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """One plugin per kind, named scaffold_<kind>, rendered through the CLI."""
    out = tmp_path_factory.mktemp("rendered")
    folders = {}
    for kind in ALL_KINDS:
        assert main(["new-plugin", kind, f"scaffold_{kind}", "--out", str(out)]) == 0
        folders[kind] = out / f"corenn-scaffold-{kind}"
    return folders


def load_module(folder: Path, module: str):
    spec = importlib.util.spec_from_file_location(module, folder / f"{module}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_hooks_here_are_the_core_hooks():
    from corenn.registry import HOOK_OF_KIND

    assert HOOKS == {kind: HOOK_OF_KIND[kind] for kind in ALL_KINDS}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_rendered_plugin_has_the_uniform_shape(rendered, kind):
    folder = rendered[kind]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        f"corenn_scaffold_{kind}.py", "pyproject.toml", f"tests/test_scaffold_{kind}.py"]
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"corenn-scaffold-{kind}"
    assert project["project"]["version"] == "0.1.0"
    assert project["project"]["requires-python"] == ">=3.11"
    assert project["project"]["dependencies"] == ["corenn"]
    assert project["project"]["entry-points"] == {"corenn": {f"scaffold_{kind}": f"corenn_scaffold_{kind}"}}
    assert project["build-system"]["build-backend"] == "hatchling.build"


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_rendered_component_passes_the_conformance_kit(rendered, kind):
    module = load_module(rendered[kind], f"corenn_scaffold_{kind}")
    (cls,) = getattr(module, HOOKS[kind])()
    assert cls.name == f"scaffold_{kind}" and cls.__name__ == f"Scaffold{kind.capitalize()}"
    summary = cls.__doc__.strip().splitlines()[0]
    assert summary.startswith(f"Scaffold {kind} {kind}:")
    check_component(cls, kind)


def test_the_rendered_tests_pass(rendered):
    """Each plugin's own tests (the kit and a check of its numbers), run by pytest."""
    paths = [str(folder) for folder in rendered.values()]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
                           "-W", "error::RuntimeWarning", *(f"{p}/tests" for p in paths)],
                          capture_output=True, text=True, cwd=next(iter(rendered.values())).parent,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert f"{2 * len(ALL_KINDS)} passed" in proc.stdout


def test_a_plural_kind_is_accepted(tmp_path, capsys):
    assert main(["new-plugin", "activations", "plural", "--out", str(tmp_path)]) == 0
    assert "the plural activation." in (tmp_path / "corenn-plural" / "pyproject.toml").read_text()
    assert f"created {tmp_path / 'corenn-plural'}/" in capsys.readouterr().out


def test_the_next_steps_are_commands_that_work_where_corenn_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "prefix", str(ROOT / ".venv"))  # corenn's development environment: no pip there
    assert main(["new-plugin", "activation", "first", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"  python3 dev.py uv pip install -e {tmp_path / 'corenn-first'}\n" in out
    assert "  python3 dev.py corenn list activation\n" in out and "pip install -e" not in out.replace("uv pip", "")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))  # any other environment that has corenn
    assert main(["new-plugin", "activation", "second", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"  pip install -e {tmp_path / 'corenn-second'}" in out and "dev.py" not in out


def test_a_name_that_is_already_registered_gets_a_note(tmp_path, capsys):
    if "relu" not in corenn.available("activation"):
        pytest.skip("corenn-relu is not installed")
    assert main(["new-plugin", "activation", "relu", "--out", str(tmp_path)]) == 0
    assert ("note: activation 'relu' is already registered by corenn-relu; with both installed, neither is usable"
            in capsys.readouterr().out)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_an_unknown_kind_is_exit_2_with_a_suggestion(tmp_path, capsys):
    assert main(["new-plugin", "activatoin", "softsign", "--out", str(tmp_path)]) == 2
    assert one_line_error(capsys).startswith("error: unknown kind 'activatoin'; did you mean 'activation'?")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["SoftSign", "soft-sign", "2relu", "soft sign", "relu_", "soft__sign", "class", ""])
def test_a_bad_name_is_exit_2(tmp_path, capsys, name):
    assert main(["new-plugin", "activation", name, "--out", str(tmp_path)]) == 2
    message = one_line_error(capsys)
    assert repr(name) in message
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path, capsys):
    target = tmp_path / "corenn-softsign"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    assert main(["new-plugin", "activation", "softsign", "--out", str(tmp_path)]) == 2
    assert one_line_error(capsys) == (f"error: {target} already exists; remove it or choose another "
                                      f"--out folder or name")
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    with pytest.raises(corenn.CorennError):
        render_plugin("activation", "softsign", tmp_path)


def test_the_templates_ship_in_the_core_wheel(uv, tmp_path):
    uv.run("build", "--quiet", "--wheel", "--out-dir", str(tmp_path), str(ROOT))
    (wheel,) = tmp_path.glob("corenn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"corenn/templates/plugin/pyproject.toml.tmpl", "corenn/templates/plugin/test.py.tmpl"}
    for kind in ALL_KINDS:
        expected |= {f"corenn/templates/plugin/kinds/{kind}.py.tmpl", f"corenn/templates/plugin/kinds/{kind}_test.py.tmpl"}
    assert expected <= names, sorted(expected - names)


def test_a_rendered_plugin_installs_lists_and_passes_its_tests(plugin_env, tmp_path):
    folder = render_plugin("activation", "scaffold_linear", tmp_path)
    plugin_env.install(str(folder))  # a real wheel build, not an editable install
    try:
        tests = plugin_env.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=folder)
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert "2 passed" in tests.stdout
        listing = plugin_env.corenn("list", "activation", "--json")
        assert listing.returncode == 0, listing.stderr
        listed = {row["name"]: row for row in json.loads(listing.stdout)}
        answer = plugin_env.probe("""
from corenn.testing import check_component
result = {"info": cli("info", "activation", "scaffold_linear"),
          "kit": error(lambda: check_component(corenn.get("activation", "scaffold_linear")))}
""")
        assert listed["scaffold_linear"]["distribution"] == "corenn-scaffold-linear"
        assert listed["scaffold_linear"]["summary"] == "Scaffold linear activation: y = scale * x."
        assert answer["info"]["code"] == 0 and "slope of the line y = scale * x" in answer["info"]["out"]
        assert answer["kit"] is None
    finally:
        plugin_env.uninstall("corenn-scaffold-linear")
