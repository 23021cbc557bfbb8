"""The plugins are real distributions: each declares every first-party distribution its
defaults and code use, the core knows which distribution provides each name
(corenn/distributions.json, generated from plugins/), and no first-party name is
ever resolved from a package index.

These tests read the source tree and the development environment's registry; the
tests that install wheels into fresh environments are in test_wheelhouse.py.
"""

from __future__ import annotations

import ast
import inspect
import tomllib
from pathlib import Path

import attrs
import pytest
import typer

import corenn
from corenn import build_distributions, distributions
from corenn.distributions import first_party, requirement_name
from corenn.needs import needed_components, spec_hyperparameters
from corenn.registry import registry
from corenn.run import RunConfig, wanted_components

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))
#: command options whose value is a spec of this kind (as in corenn train)
OPTION_KINDS = {"dataset": "dataset", "activation": "activation", "init": "initializer", "loss": "loss",
                "optimizer": "optimizer", "schedule": "schedule", "regularizer": "regularizer"}


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _declared_closure(dist: str) -> set[str]:
    """The distribution and every first-party one it declares, directly or not, read from plugins/."""
    projects = {_project(f)["name"]: _project(f) for f in PLUGINS}
    todo, seen = [dist], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in projects:
            continue
        seen.add(name)
        todo += [requirement_name(r) for r in projects[name]["dependencies"]]
    return seen


def _imported_plugin_modules(folder: Path) -> set[str]:
    """Top-level ``corenn_*`` modules the distribution's code (not its tests) imports."""
    modules = set()
    for path in folder.rglob("*.py"):
        if "tests" in path.relative_to(folder).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m.startswith("corenn_")}


def _commands(app: typer.Typer) -> list:
    """The commands of a typer app, those of its groups included."""
    return [*app.registered_commands, *(c for g in app.registered_groups for c in _commands(g.typer_instance))]


def _command_defaults(plugin: str) -> list[tuple[str, object]]:
    """(kind, spec) named by the defaults of the plugin's commands: a command with the run options
    of corenn train runs RunConfig's defaults; an option named like a kind runs its default."""
    wanted = []
    for impl in registry().pm.hook.corenn_commands.get_hookimpls():
        if impl.plugin_name != plugin:
            continue
        app = typer.Typer()
        impl.function(app=app)
        for command in _commands(app):
            params = inspect.signature(command.callback).parameters
            if {a.name for a in attrs.fields(RunConfig)} <= set(params):
                wanted += wanted_components(RunConfig())
            for name, param in params.items():
                default = getattr(param.default, "default", param.default)
                if name in OPTION_KINDS and isinstance(default, str):
                    wanted.append((OPTION_KINDS[name], default))
    return wanted


def _needs(folder: Path) -> list[tuple[str, str, str]]:
    """(kind, name, why) of every component the distribution needs from first-party plugins."""
    dist = _project(folder)["name"]
    info = first_party()[dist]
    needs = []
    for kind, name in info["components"]:
        cls = registry().entry(kind, name).cls
        for field, spec_kind, default in spec_hyperparameters(cls):
            needs += [(k, n, f"{name}.{field}={default!r}") for k, n in needed_components([(spec_kind, default)])]
    modules = {f"corenn_{d['plugin']}": (kind_name, d) for d in first_party().values()
               for kind_name in d["components"][:1]}
    for module in _imported_plugin_modules(folder):
        if module in modules and modules[module][1] is not info:
            (kind, name), _ = modules[module]
            needs.append((kind, name, f"import {module}"))
    for kind, name in needed_components(_command_defaults(info["plugin"])):
        needs.append((kind, name, f"a default of its command {', '.join(info['commands'])}"))
    return needs


def test_distributions_json_is_what_regenerating_it_from_plugins_gives():
    generated = build_distributions.render(build_distributions.generate(ROOT / "plugins"))
    assert generated == distributions.DATA.read_text(encoding="utf-8"), \
        "corenn/distributions.json is stale: run 'python3 dev.py python -m corenn.build_distributions' and commit it"


def test_distributions_json_describes_every_plugin_folder():
    assert sorted(first_party()) == sorted(_project(f)["name"] for f in PLUGINS)


@pytest.mark.parametrize("folder", PLUGINS, ids=[p.name for p in PLUGINS])
def test_every_component_a_plugin_needs_comes_from_a_distribution_it_declares(folder):
    dist = _project(folder)["name"]
    closure = _declared_closure(dist)
    undeclared = []
    for kind, name, why in _needs(folder):
        provided_by = distributions.providers(kind, name)
        if provided_by and not closure & set(provided_by):
            undeclared.append(f"{kind} {name!r} ({why}) comes from {' or '.join(provided_by)}")
    assert not undeclared, f"{dist} needs, but does not declare in its dependencies: " + "; ".join(undeclared)


def test_the_check_finds_what_dense_needs_by_default():
    needs = {(k, n) for k, n, _ in _needs(ROOT / "plugins" / "corenn-dense")}
    assert {("initializer", "he"), ("initializer", "zeros")} <= needs


def test_a_plugin_that_imports_another_is_seen_to_need_it():
    needs = {(k, n) for k, n, _ in _needs(ROOT / "plugins" / "corenn-adamw")}
    assert ("optimizer", "adam") in needs


def test_every_first_party_requirement_has_a_workspace_source():
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    sources = root["tool"]["uv"]["sources"]
    for folder in PLUGINS:
        config = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
        own = config.get("tool", {}).get("uv", {}).get("sources", {})
        for requirement in config["project"]["dependencies"]:
            name = requirement_name(requirement)
            if distributions.is_first_party(name):
                source = own.get(name, sources.get(name))
                assert source == {"workspace": True}, \
                    f"{folder.name} requires {name}: add '{name} = {{ workspace = true }}' to [tool.uv.sources] " \
                    "in the root pyproject.toml, or uv looks it up on the package index"


def test_uv_lock_takes_no_first_party_name_from_an_index():
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    first = {p["name"]: p["source"] for p in lock["package"] if distributions.is_first_party(p["name"])}
    assert set(first) == {"corenn", *first_party()}
    from_index = sorted(name for name, source in first.items() if not set(source) & {"editable", "virtual"})
    assert from_index == []


def test_unknown_component_names_the_distribution_that_provides_it():
    from corenn.registry import Registry

    empty = Registry(load_entry_points=False)  # as if no plugin were installed
    with pytest.raises(corenn.UnknownComponent) as adam:
        empty.entry("optimizer", "adam")
    assert str(adam.value).startswith("unknown optimizer 'adam' (installed: none)")
    assert "provided by corenn-adam: install it with `corenn install adam`" in str(adam.value)
    with pytest.raises(corenn.UnknownComponent) as nosuch:
        empty.entry("optimizer", "nosuch")
    assert "provided by" not in str(nosuch.value)


def test_install_names_resolve_by_plugin_distribution_component_and_command():
    assert distributions.resolve(["adam", "corenn-sgd", "mean-subtraction", "mean_subtraction", "check"]) == \
        ["corenn-adam", "corenn-sgd", "corenn-mean-subtraction", "corenn-check"]
    assert distributions.closure(["corenn-dense"]) == ["corenn-dense", "corenn-he", "corenn-xavier", "corenn-zeros"]
    with pytest.raises(corenn.UnknownComponent, match="unknown first-party plugin 'nosuch'"):
        distributions.resolve(["nosuch"])


def test_corenn_install_asks_an_index_only_for_third_party_names(monkeypatch):
    from corenn.cli import install as installing

    commands: list[list[str]] = []
    monkeypatch.setattr(installing, "_run", commands.append)
    monkeypatch.setattr(installing, "_installed", lambda name: name in {"corenn-relu", "corenn-xavier"})
    done = installing.install(["check"])  # from the source tree: corenn runs from this checkout here
    assert done == sorted(set(distributions.closure(["corenn-check"])) - {"corenn-relu", "corenn-xavier"})
    assert "corenn-digits" in done and "corenn-relu" not in done
    third_party, *builds, last = commands
    assert third_party[-1:] == ["scikit-learn>=1.3"] and not any("corenn" in arg for arg in third_party[-1:])
    assert sorted(Path(b[-1]).name for b in builds) == done  # one wheel per distribution to install, built here
    assert all("build" in b or "wheel" in b for b in builds)
    assert "--no-index" in last and last[last.index("--find-links") + 1] and last[-len(done):] == done


def test_corenn_install_of_installed_plugins_does_nothing(monkeypatch):
    from corenn.cli import install as installing

    monkeypatch.setattr(installing, "_run", lambda command: pytest.fail(f"ran {command}"))
    assert installing.install(["adam", "corenn-sgd"]) == []  # the development environment has every plugin


def test_a_run_names_all_its_missing_components_in_one_error_before_building_anything(tmp_path, monkeypatch):
    from corenn.errors import MissingComponents
    from corenn.run import train

    table = dict(first_party(), **{"corenn-nosuch-opt": {  # one of ours, not installed here
        "plugin": "nosuch_opt", "summary": "", "components": [["optimizer", "nosuch_opt"]], "commands": [],
        "requires": ["corenn"]}})
    monkeypatch.setattr(distributions, "first_party", lambda: table)
    cfg = RunConfig(dataset="nosuch_data", init="nosuch_init", optimizer="nosuch_opt:lr=0.1",
                    callbacks=["nosuch_callback"], epochs=1)
    with pytest.raises(MissingComponents) as caught:
        train(cfg, tmp_path / "run")
    assert caught.value.missing == [("dataset", "nosuch_data"), ("initializer", "nosuch_init"),
                                    ("optimizer", "nosuch_opt"), ("callback", "nosuch_callback")]
    assert str(caught.value).startswith("this run needs components that are not installed: dataset 'nosuch_data' "
                                        "(no first-party plugin provides it)")
    assert "optimizer 'nosuch_opt' (corenn-nosuch-opt)" in str(caught.value)
    assert not (tmp_path / "run").exists()


def test_a_run_whose_only_missing_names_are_typos_gets_the_builders_error_naming_the_item(tmp_path):
    from corenn.run import train

    with pytest.raises(corenn.CorennError, match=r"regularizer\[1\] 'nosuch'"):
        train(RunConfig(dataset="spiral", regularizer=["l2", "nosuch"], epochs=1), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_components_a_spec_needs_include_its_installed_parts_defaults():
    assert needed_components([("layer", {"name": "dense", "weight_init": "xavier"})]) == \
        [("layer", "dense"), ("initializer", "xavier"), ("initializer", "zeros")]


def test_corenn_install_from_a_wheelhouse_that_is_not_a_folder_says_how_to_build_one(monkeypatch, tmp_path):
    from corenn.cli import install as installing

    monkeypatch.setattr(installing, "_run", lambda command: pytest.fail(f"ran {command}"))
    monkeypatch.setattr(installing, "_installed", lambda name: False)
    with pytest.raises(corenn.InvalidFile, match="is not a folder; build it with `python3 dev.py uv build --all"):
        installing.install(["adam"], wheelhouse=tmp_path / "missing")


@pytest.mark.parametrize(("command", "what"), [
    (["check", "--steps", "5"], "this check"), (["lr-range", "--steps", "10", "--no-curves"], "this range test"),
    (["search", "--trials", "1", "--workers", "0"], "this search")])
def test_check_lr_range_and_search_name_every_missing_component_in_one_error(command, what, tmp_path, monkeypatch,
                                                                             capsys):
    from corenn.cli import main

    table = dict(first_party(), **{"corenn-nosuch-opt": {
        "plugin": "nosuch_opt", "summary": "", "components": [["optimizer", "nosuch_opt"]], "commands": [],
        "requires": ["corenn"]}})
    monkeypatch.setattr(distributions, "first_party", lambda: table)
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--dataset", "spiral", "--init", "nosuch_init", "--optimizer", "nosuch_opt"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {what} needs components that are not installed: initializer 'nosuch_init'")
    assert "optimizer 'nosuch_opt' (corenn-nosuch-opt)" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing was built or written
