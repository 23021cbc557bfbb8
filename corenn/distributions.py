"""Which first-party distribution provides which component and command.

``distributions.json`` (next to this module) describes every distribution under
the repository's ``plugins/`` folder: its entry point, the components it
registers, the commands it adds and the requirements it declares. It is
generated, never edited by hand::

    python3 dev.py python -m corenn.build_distributions   # rewrites corenn/distributions.json

from the plugins installed in the development environment (all of them); a
test checks that regenerating it gives the same content. The core reads it to
say what to install when a name is missing ("provided by corenn-adam: install
it with `corenn install adam`"), and ``corenn install`` to turn names into
distributions. This module imports nothing else of corenn at load time, so that
the registry and the errors can use it (no import cycle).
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
    return "corenn install " + " ".join((first_party().get(d) or {}).get("plugin") or d for d in distributions)


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
            raise UnknownComponent("", given, sorted(info["plugin"] for info in table.values() if info["plugin"]),
                                   what="first-party plugin")
        if len(found) > 1:
            from .errors import PluginError

            raise PluginError(f"{given!r} is provided by {', '.join(found)}; name the one you want")
        if found[0] not in out:
            out.append(found[0])
    return out
