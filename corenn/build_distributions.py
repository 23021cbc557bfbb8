"""Writes ``corenn/distributions.json`` from the distributions under ``plugins/``.

    python3 dev.py python -m corenn.build_distributions

Run it in the environment dev.py builds (every plugin installed, none switched
off) after adding or changing a plugin; a test fails while the file is stale.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .distributions import DATA
from .registry import Registry


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
    reg = Registry()
    table = {}
    for pyproject in sorted(Path(plugins_dir).glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        entry_points = project.get("entry-points", {}).get("corenn")
        if not entry_points:  # a helper distribution (code plugins share), no components of its own
            table[project["name"]] = {"plugin": None, "summary": project["description"], "components": [],
                                      "commands": [], "requires": list(project["dependencies"])}
            continue
        (plugin, _), = entry_points.items()
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
