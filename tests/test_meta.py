"""Meta-tests in the style of datasette's: they keep many small distributions
honest. Every hook is documented and exercised; every plugin distribution has the
one uniform shape; the README's commands are the ones CI runs."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from corenn import hookspecs
from corenn.registry import HOOK_OF_KIND

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))
HOOKSPECS = sorted(name for name, f in vars(hookspecs).items()
                   if inspect.isfunction(f) and hasattr(f, "corenn_spec"))


def test_there_is_one_hookspec_per_kind_plus_commands_and_callbacks():
    assert set(HOOKSPECS) == {*HOOK_OF_KIND.values(), "corenn_commands"}
    assert "corenn_callbacks" in HOOKSPECS


@pytest.mark.parametrize("hook", HOOKSPECS)
def test_every_hookspec_has_a_docstring_a_plugin_author_can_write_against(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert len(doc.split()) >= 6, f"{hook} needs a docstring saying what to return or do"
    first = doc.splitlines()[0]
    assert first.startswith(("Return", "Add")), f"{hook}: start the docstring with what the hook does: {first!r}"


def _python_files_other_than_this_one():
    here = Path(__file__).resolve()
    for folder in (ROOT / "plugins", ROOT / "tests"):
        for path in folder.rglob("*.py"):
            if path.resolve() != here and ".venv" not in path.parts:
                yield path


@pytest.mark.parametrize("hook", HOOKSPECS)
def test_every_hookspec_is_implemented_by_a_plugin_or_a_test(hook):
    pattern = re.compile(rf"^\s*def {hook}\(", re.MULTILINE)
    users = [p.relative_to(ROOT).as_posix() for p in _python_files_other_than_this_one()
             if pattern.search(p.read_text(encoding="utf-8"))]
    assert users, f"no plugin module or test implements {hook}; add a test that registers an implementation"


def _requirement_names(project: dict) -> list[str]:
    return [re.split(r"[<>=!~; \[]", r, maxsplit=1)[0] for r in project.get("dependencies", [])]


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]


#: distributions with no entry point: helper code that plugins depend on (as corenn-he depends on corenn-xavier)
HELPERS = sorted(p.name for p in PLUGINS if not _project(p).get("entry-points"))


@pytest.mark.parametrize("helper", HELPERS)
def test_a_helper_distribution_is_a_dependency_of_a_plugin_and_declared_as_a_workspace_source(helper):
    users = [p.name for p in PLUGINS if helper in _requirement_names(_project(p))]
    assert users, f"{helper} registers nothing and no plugin depends on it; fold it into its user or remove it"
    for user in users:
        config = tomllib.loads((ROOT / "plugins" / user / "pyproject.toml").read_text(encoding="utf-8"))
        assert helper in config.get("tool", {}).get("uv", {}).get("sources", {}), \
            f"{user} depends on {helper}: add '{helper} = {{ workspace = true }}' under [tool.uv.sources]"


def test_every_plugin_distribution_is_found():
    assert len(PLUGINS) >= 15, "plugins/ should hold the 9 activations and 6 initializers at least"


@pytest.mark.parametrize("folder", PLUGINS, ids=[p.name for p in PLUGINS])
def test_plugin_distribution_has_the_uniform_shape(folder):
    config = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    project = config["project"]
    assert project["name"] == folder.name and folder.name.startswith("corenn-"), \
        f"the distribution is named like its folder, corenn-<technique>; got {project['name']!r} in {folder.name}"
    assert project["version"] == "0.1.0"
    assert project["description"].strip() and "\n" not in project["description"]
    assert project["requires-python"] == ">=3.11"
    assert "corenn" in _requirement_names(project), "every plugin depends on corenn"
    technique = folder.name.removeprefix("corenn-").replace("-", "_")
    module = f"corenn_{technique}"
    entry_points = project.get("entry-points", {})
    if folder.name in HELPERS:  # a helper distribution: code that plugins share, registering nothing
        assert project["description"].startswith("corenn helper:"), \
            "a distribution without an entry point is a helper; say so: 'corenn helper: ...'"
    else:
        assert list(entry_points) == ["corenn"], f"entry points only in the group 'corenn', got {list(entry_points)}"
        (name, target), = entry_points["corenn"].items()  # exactly one
        assert name == technique, f"the entry point is named after the technique: {technique!r}, got {name!r}"
        assert target.split(":")[0] == module, f"the entry point names the module {module}, got {target!r}"
    assert (folder / f"{module}.py").is_file() or (folder / module / "__init__.py").is_file(), \
        f"the module {module} (a {module}.py, or a package) is missing"
    assert config["build-system"]["build-backend"] == "hatchling.build"
    tests = sorted((folder / "tests").glob("test_*.py"))
    assert tests, f"{folder.name} has no tests/test_*.py"


def test_test_file_names_are_unique_across_the_repository():
    names = Counter(p.name for p in _python_files_other_than_this_one() if p.name.startswith("test_"))
    names[Path(__file__).name] += 1
    assert [n for n, c in names.items() if c > 1] == []


def _readme_first_code_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no code block"
    return match.group(1).splitlines()


def test_readme_opens_with_two_commands():
    lines = _readme_first_code_block()
    assert len(lines) == 2 and all(line.strip() for line in lines), lines
    assert lines[0].startswith("python3 dev.py ") and lines[1].startswith("python3 dev.py ")
    assert "pytest" in lines[1]


def test_ci_runs_the_readme_test_command():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK), ".ci/run must be executable"
    text = script.read_text(encoding="utf-8")
    extraction = next(line for line in text.splitlines() if line.startswith("test_command="))
    assert 'eval "$test_command"' in text
    proc = subprocess.run(["bash", "-c", f'set -euo pipefail; {extraction}; printf "%s" "$test_command"'],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == _readme_first_code_block()[1]
