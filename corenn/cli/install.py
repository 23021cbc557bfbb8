"""``corenn install NAME...``: install first-party plugins into the running environment.

The wheels of corenn's own distributions come from a wheelhouse (``--wheelhouse``
or ``CORENN_WHEELHOUSE``), or are built from the source tree corenn runs from,
and are installed with ``--no-index --find-links``: no package index is ever
asked for a ``corenn`` or ``corenn-*`` name, which anyone could publish there
(dependency confusion). Only third-party requirements (matplotlib, scikit-learn,
...) that are not installed yet come from the index.

An unknown command that a first-party plugin provides says which one to install.
"""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup
from typer.models import DefaultPlaceholder

from ..distributions import closure, command_providers, first_party, install_command, requirement_name, resolve, \
    third_party_requirements
from ..errors import CorennError, InvalidFile

BUILD_WHEELHOUSE = "python3 dev.py uv build --all-packages --wheel --out-dir wheelhouse"


class InstallFailed(CorennError):
    """The installer (uv or pip) stopped with an error."""


def _source_tree() -> Path | None:
    """The corenn checkout this corenn runs from (an editable install), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "plugins").is_dir() and (root / "pyproject.toml").is_file() else None


def _uv() -> str | None:
    tree = _source_tree()
    local = tree / ".tools" / ("Scripts" if os.name == "nt" else "bin") / "uv" if tree else None
    return shutil.which("uv") or (str(local) if local and local.exists() else None)


def _installer() -> list[str]:
    """``uv pip install`` into this interpreter's environment, or ``python -m pip install``."""
    uv = _uv()
    if uv:
        return [uv, "pip", "install", "--python", sys.executable]
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip", "install"]
    raise InstallFailed("corenn install needs uv (on PATH) or pip in this environment; install one of them")


def _run(command: list[str]) -> None:
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    if subprocess.run(command).returncode != 0:
        raise InstallFailed(f"the installer failed (see its message above): {' '.join(command[:3])} ...")


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _build_wheels(tree: Path, distributions: list[str], out: Path) -> None:
    """Wheels of these first-party distributions, built from the source tree into ``out``."""
    uv = _uv()
    for dist in distributions:
        source = tree / "plugins" / dist
        if not (source / "pyproject.toml").is_file():
            raise InvalidFile(f"the source tree {tree} has no plugins/{dist}; give --wheelhouse")
        build = [uv, "build", "--wheel", "--quiet", "--out-dir", str(out), str(source)] if uv else \
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)]
        _run(build)


def install(names: list[str], wheelhouse: Path | None = None) -> list[str]:
    """Install the first-party distributions ``names`` stand for, with every first-party one they
    need; returns those that were not installed before."""
    wanted = closure(resolve(names))
    todo = [d for d in wanted if not _installed(d)]
    if not todo:
        return []
    tree = _source_tree() if wheelhouse is None else None
    if wheelhouse is None and tree is None:
        raise InvalidFile("corenn is not installed from a source tree: give the folder of corenn's wheels "
                          f"with --wheelhouse DIR (build it in a corenn checkout with `{BUILD_WHEELHOUSE}`)")
    if wheelhouse is not None and not Path(wheelhouse).is_dir():
        raise InvalidFile(f"wheelhouse {str(wheelhouse)!r} is not a folder; build it with `{BUILD_WHEELHOUSE}`")
    installer = _installer()
    third = [r for r in third_party_requirements(todo) if not _installed(requirement_name(r))]
    if third:
        _run([*installer, *third])  # third-party names only
    with tempfile.TemporaryDirectory(prefix="corenn-wheels-") as built:
        if tree is not None:
            wheelhouse = Path(built)
            _build_wheels(tree, todo, wheelhouse)
        _run([*installer, "--no-index", "--find-links", str(wheelhouse), *todo])
    return todo


def install_plugins(
    names: list[str] = typer.Argument(..., help="Plugins by component name (adam), plugin or distribution "
                                                "name (mean-subtraction, corenn-adam) or command (check)."),
    wheelhouse: Optional[Path] = typer.Option(None, "--wheelhouse", envvar="CORENN_WHEELHOUSE",
                                              help="Folder of corenn's wheels (default: build them from the "
                                                   "source tree corenn runs from)."),
) -> None:
    """Install first-party plugins, never asking a package index for corenn's own names."""
    done = install(names, wheelhouse)
    if not done:
        print("already installed: " + ", ".join(resolve(names)))
        return
    table = first_party()
    for dist in done:
        provides = [f"{kind} {name}" for kind, name in table[dist]["components"]]
        provides += [f"command {name}" for name in table[dist]["commands"]]
        print(f"installed {dist}: {', '.join(provides) or 'no components'}")


class HintingGroup(TyperGroup):
    """The root command group: an unknown command that a first-party plugin adds says which one."""

    def resolve_command(self, ctx, args: list[str]):
        name = args[0] if args else ""
        dists = command_providers(name)
        if dists and self.get_command(ctx, name) is None:
            if _installed(dists[0]):
                ctx.fail(f"No such command {name!r}: it comes from {dists[0]}, which is installed but switched "
                         "off or failed to load; see `corenn plugins`")
            ctx.fail(f"No such command {name!r}: it is provided by {dists[0]}, which is not installed; "
                     f"install it with `{install_command(dists[:1])}`")
        return super().resolve_command(ctx, args)


def register(app: typer.Typer) -> None:
    """Add ``corenn install`` (the root app's :class:`HintingGroup` gives the hint for commands of
    plugins not installed)."""
    app.command("install")(install_plugins)
