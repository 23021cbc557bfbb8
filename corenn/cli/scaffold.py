"""``corenn new-plugin KIND NAME``: render the plugin template into a new distribution.

The template ships inside the core package (``corenn/templates/plugin/``) and is
filled in with :class:`string.Template`. What comes out is the shape every
corenn plugin has, ready to install and test::

    corenn-<name>/
        pyproject.toml          name corenn-<name>, one entry point in the group corenn
        corenn_<name>.py        a small working component of KIND and its hookimpl
        tests/test_<name>.py    the conformance kit plus a test of the formula
"""

from __future__ import annotations

import keyword
import os
import re
import sys
from importlib import resources
from pathlib import Path
from string import Template

import typer

from ..errors import CorennError, UnknownComponent
from ..registry import ALL_KINDS, HOOK_OF_KIND, registry
from .install import _source_tree

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class ScaffoldError(CorennError, ValueError):
    """A plugin name that cannot be used, or a target folder that already exists."""


def _template(path: str) -> Template:
    return Template(resources.files("corenn").joinpath("templates", "plugin", path).read_text(encoding="utf-8"))


def _check(kind: str, name: str) -> str:
    if kind not in ALL_KINDS:
        if kind.endswith("s") and kind[:-1] in ALL_KINDS:
            kind = kind[:-1]  # 'activations' reads as 'activation', as in 'corenn list'
        else:
            raise UnknownComponent("", kind, ALL_KINDS, what="kind")
    if not _NAME.match(name) or name.endswith("_") or "__" in name:
        raise ScaffoldError(f"plugin name {name!r} must be a lower-case identifier such as 'softsign' or "
                            f"'leaky_relu' (letters, digits and single underscores, starting with a letter)")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"plugin name {name!r} is a Python keyword; pick another")
    return kind


def names(kind: str, name: str) -> dict[str, str]:
    """The values the template is filled with."""
    kind = _check(kind, name)
    words = name.split("_")
    return {
        "kind": kind,
        "name": name,
        "dist": "corenn-" + name.replace("_", "-"),
        "module": f"corenn_{name}",
        "cls": "".join(w.capitalize() for w in words),
        "title": " ".join(words).capitalize(),
        "hook": HOOK_OF_KIND[kind],
    }


def render_plugin(kind: str, name: str, out: str | Path = ".") -> Path:
    """Write the distribution ``corenn-<name>`` for a component of ``kind`` under ``out``; returns its folder."""
    values = names(kind, name)
    target = Path(out) / values["dist"]
    if target.exists():
        raise ScaffoldError(f"{target} already exists; remove it or choose another --out folder or name")
    kind = values["kind"]
    example = _template(f"kinds/{kind}_test.py.tmpl").substitute(values)
    files = {
        "pyproject.toml": _template("pyproject.toml.tmpl").substitute(values),
        f"{values['module']}.py": _template(f"kinds/{kind}.py.tmpl").substitute(values),
        f"tests/test_{name}.py": _template("test.py.tmpl").substitute(values, example_test=example),
    }
    (target / "tests").mkdir(parents=True)
    for relative, text in files.items():
        (target / relative).write_text(text, encoding="utf-8")
    return target


def new_plugin(kind: str = typer.Argument(..., help=f"Component kind, one of: {', '.join(ALL_KINDS)}."),
               name: str = typer.Argument(..., help="Registry name of the component, e.g. softsign."),
               out: Path = typer.Option(Path("."), "--out", help="Folder to create the distribution in.")) -> None:
    """Create a ready plugin distribution corenn-NAME: pyproject, module and tests."""
    target = render_plugin(kind, name, out)
    values = names(kind, name)
    print(f"created {target}/ with pyproject.toml, {values['module']}.py and tests/test_{name}.py")
    for line in _next_steps(target, values["kind"]):
        print(line)
    taken = registry().entries.get((values["kind"], name))
    if taken is not None:
        print(f"note: {values['kind']} {name!r} is already registered by {taken.distribution}; with both installed, "
              f"neither is usable until one is switched off (CORENN_DISABLE_PLUGINS) or renamed")


def _next_steps(target: Path, kind: str) -> list[str]:
    """How to install and test the new plugin, in commands that work where this corenn runs:
    through dev.py in a corenn checkout's .venv (no pip there; uv on dev.py's PATH), else pip."""
    tree = _source_tree()
    if tree is not None and Path(sys.prefix).resolve() == (tree / ".venv").resolve():
        dev_py = str(tree / "dev.py")
        if Path.cwd().resolve().is_relative_to(tree):  # run from inside the checkout: a short path
            dev_py = os.path.relpath(dev_py)
        dev = f"python3 {dev_py}"
        return ["next: install it into corenn's development environment (it stays installed) and check it:",
                f"  {dev} uv pip install -e {target}",
                f"  {dev} corenn list {kind}",
                f"  {dev} pytest {target / 'tests'}",
                "(to ship it with corenn, put it under plugins/ instead: dev.py installs every folder there)"]
    return ["next: install it into the environment that has corenn, and check it:",
            f"  pip install -e {target}    (or: uv pip install -e {target})",
            f"  corenn list {kind}",
            f"  pytest {target / 'tests'}"]


def register(app: typer.Typer) -> None:
    app.command("new-plugin")(new_plugin)
