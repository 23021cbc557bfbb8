"""Which first-party distribution provides which component and command, and what a spec needs.

``distributions.json`` (next to this module) describes every distribution under
the repository's ``plugins/`` folder: its entry point, the components it
registers, the commands it adds and the requirements it declares. It is
generated, never edited by hand::

    python3 dev.py python -m corenn.distributions      # rewrites corenn/distributions.json

from the plugins installed in the development environment (all of them); a
test checks that regenerating it gives the same content. The core reads it to
say what to install when a name is missing ("provided by corenn-adam: install
it with `corenn install adam`"), and ``corenn install`` to turn names into
distributions.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("distributions.json")
CORE = "corenn"


@functools.lru_cache(maxsize=1)
def first_party() -> dict[str, dict[str, Any]]:
    """Distribution name -> {plugin, summary, components [[kind, name]], commands, requires}."""
    try:
        return json.loads(DATA.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a damaged installation: lose the hints, keep working
        return {}


def requirement_name(requirement: str) -> str:
    """The normalized project name of a PEP 508 requirement: ``'scikit-learn>=1.3'`` -> ``'scikit-learn'``."""
    name = re.split(r"[\s<>=!~;\[(@]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def is_first_party(name: str) -> bool:
    return name == CORE or name in first_party()


def providers(kind: str, name: str) -> list[str]:
    """The first-party distributions that register the component (kind, name)."""
    return [dist for dist, info in first_party().items() if [kind, name] in info["components"]]


def command_providers(command: str) -> list[str]:
    """The first-party distributions that add the CLI command ``command``."""
    return [dist for dist, info in first_party().items() if command in info["commands"]]


def install_command(distributions: Iterable[str]) -> str:
    """The ``corenn install`` line that installs these first-party distributions."""
    return "corenn install " + " ".join(first_party()[d]["plugin"] if d in first_party() else d
                                        for d in distributions)


def install_hint(kind: str, name: str) -> str | None:
    """``"provided by corenn-adam: install it with `corenn install adam`"``, or None for a name
    no first-party distribution provides."""
    dists = providers(kind, name)
    if not dists:
        return None
    return f"provided by {' or '.join(dists)}: install it with `{install_command(dists[:1])}`"


def first_party_requirements(distribution: str) -> list[str]:
    """The first-party distributions ``distribution`` declares (without the core)."""
    info = first_party().get(distribution, {"requires": []})
    return [n for n in map(requirement_name, info["requires"]) if n in first_party()]


def third_party_requirements(distributions: Iterable[str]) -> list[str]:
    """The requirement strings of these distributions that name no first-party distribution."""
    reqs = {r for d in distributions for r in first_party().get(d, {"requires": []})["requires"]}
    return sorted(r for r in reqs if not is_first_party(requirement_name(r)))


def closure(distributions: Iterable[str]) -> list[str]:
    """These first-party distributions and every one they need, directly or not."""
    todo, seen = list(distributions), set()
    while todo:
        dist = todo.pop()
        if dist not in seen:
            seen.add(dist)
            todo.extend(first_party_requirements(dist))
    return sorted(seen)


def resolve(names: Iterable[str]) -> list[str]:
    """First-party distributions for names given as a distribution (``corenn-adam``), a plugin
    (``adam``, ``mean-subtraction``), a component or a command name."""
    from .errors import UnknownComponent

    table = first_party()
    out: list[str] = []
    for given in names:
        name = given.strip().lower()
        plugin = name.replace("-", "_")
        found = [d for d in (name, f"corenn-{name}") if d in table] \
            or [d for d, info in table.items() if info["plugin"] == plugin] \
            or sorted({d for d, info in table.items() if any(n == plugin for _, n in info["components"])}) \
            or command_providers(name)
        if not found:
            raise UnknownComponent("", given, sorted(info["plugin"] for info in table.values()),
                                   what="first-party plugin")
        if len(found) > 1:
            from .errors import PluginError

            raise PluginError(f"{given!r} is provided by {', '.join(found)}; name the one you want")
        if found[0] not in out:
            out.append(found[0])
    return out


# -- what a spec needs ---------------------------------------------------------
def spec_hyperparameters(cls: type) -> list[tuple[str, str, Any]]:
    """(field, kind, default) of each hyperparameter whose value is a spec of another component
    (declared with ``check=corenn.validators.spec_of(kind)``)."""
    from .component import NOTHING, hyperparameters

    out = []
    for field in hyperparameters(cls):
        kind = getattr(field.validator, "spec_kind", None)
        if kind is not None:
            out.append((field.name, kind, None if field.default is NOTHING else field.default))
    return out


def needed_components(wanted: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Every (kind, name) the specs in ``wanted`` need: their own names, and, for the installed
    ones, the components their spec-valued hyperparameters name (given or by default), recursively.
    Component instances need nothing more."""
    from .registry import registry
    from .spec import parse_spec

    reg = registry()
    todo, seen, order = list(wanted), set(), []
    while todo:
        kind, spec = todo.pop(0)
        if not isinstance(spec, (str, Mapping)):
            continue
        name, params = parse_spec(spec)
        if (kind, name) in seen:
            continue
        seen.add((kind, name))
        order.append((kind, name))
        entry = reg.entries.get((kind, name))
        if entry is not None:
            todo.extend((k, params.get(field, default)) for field, k, default in spec_hyperparameters(entry.cls))
    return order


def missing_components(wanted: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """The components ``wanted`` needs that no installed plugin registers (a failed, disabled
    or conflicting plugin raises its own PluginError here)."""
    from .errors import UnknownComponent
    from .registry import registry

    missing = []
    for kind, name in needed_components(wanted):
        try:
            registry().entry(kind, name)
        except UnknownComponent:
            missing.append((kind, name))
    return missing


# -- generating distributions.json ------------------------------------------------
def _command_names(hookimpl: Any) -> list[str]:
    import typer
    from typer.main import get_command_name

    app = typer.Typer()
    hookimpl.function(app=app)
    names = [c.name or get_command_name(c.callback.__name__) for c in app.registered_commands]
    return sorted(names + [g.name or g.typer_instance.info.name for g in app.registered_groups])


def generate(plugins_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The content of distributions.json for the distributions under ``plugins_dir``, read from
    their pyproject.toml files and from the registry (so every one must be installed and load)."""
    from .registry import Registry

    reg = Registry()
    table = {}
    for pyproject in sorted(Path(plugins_dir).glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        (plugin, _), = project["entry-points"]["corenn"].items()
        info = reg.plugins.get(plugin)
        if info is None or info.status != "ok" or info.distribution != project["name"]:
            state = "not installed" if info is None else f"{info.distribution}: {info.status} {info.error or ''}"
            raise RuntimeError(f"cannot describe {project['name']}: its plugin {plugin!r} is {state}; "
                               "run this in the environment dev.py builds, with no plugin switched off")
        commands = [n for impl in reg.pm.hook.corenn_commands.get_hookimpls() if impl.plugin_name == plugin
                    for n in _command_names(impl)]
        table[project["name"]] = {
            "plugin": plugin,
            "summary": project["description"],
            "components": sorted([kind, name] for kind, name in info.components),
            "commands": sorted(commands),
            "requires": list(project["dependencies"]),
        }
    return table


def render(table: Mapping[str, Any]) -> str:
    """JSON with one line per distribution, so that a change shows as a one-line diff."""
    lines = [f" {json.dumps(dist)}: {json.dumps(table[dist], sort_keys=True)}" for dist in sorted(table)]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv: list[str]) -> int:
    plugins_dir = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "plugins"
    table = generate(plugins_dir)
    DATA.write_text(render(table), encoding="utf-8")
    print(f"wrote {DATA} ({len(table)} distributions)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
