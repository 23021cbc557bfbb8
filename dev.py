#!/usr/bin/env python3
"""Set up corenn's development environment, then run a command inside it.

    python3 dev.py corenn train      # any command: it runs with .venv/bin, then .tools/bin, first on PATH
    python3 dev.py pytest -x
    python3 dev.py uv pip install -e ../corenn-mine     # a plugin of your own: it stays installed

Needs only Python 3.11+. The first call installs uv (into .tools/) and lets it
create .venv with the core and every plugin under plugins/ installed in editable
mode (`uv sync --all-packages`, the uv workspace declared in pyproject.toml;
every corenn-* name comes from the workspace, never from a package index).
Later calls re-sync, which takes well under a second when nothing changed, and
shows uv's progress when a pyproject.toml or uv.lock changed since the last sync.
The sync is inexact: what you installed yourself (`uv pip install -e ...`) stays.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
VENV = ROOT / ".venv"
BIN = "Scripts" if os.name == "nt" else "bin"
STAMP = VENV / ".dev-py-synced"  # touched after each sync that had something to do


def _say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def _uv() -> str:
    uv = TOOLS / BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        _say("first run: installing uv into .tools/ (with pip, from the package index)")
        venv.create(TOOLS, with_pip=True)
        subprocess.run([str(TOOLS / BIN / "python"), "-m", "pip", "install", "--progress-bar", "on", "uv"],
                       check=True)
    return str(uv)


def _changed_since_last_sync() -> list[str]:
    """The project files newer than the last sync (all of them before the first)."""
    files = [ROOT / "pyproject.toml", ROOT / "uv.lock", *sorted(ROOT.glob("plugins/*/pyproject.toml"))]
    if not STAMP.exists():
        return [str(f.relative_to(ROOT)) for f in files]
    synced = STAMP.stat().st_mtime
    return [str(f.relative_to(ROOT)) for f in files if f.exists() and f.stat().st_mtime > synced]


def sync() -> None:
    uv = _uv()
    changed = _changed_since_last_sync()
    if not VENV.exists():
        plugins = len(list(ROOT.glob("plugins/*/pyproject.toml")))
        _say(f"first run: creating .venv with corenn and its {plugins} plugin{'s' * (plugins != 1)} "
             "(uv sync --all-packages); "
             "this takes a minute or two, later calls well under a second")
    elif changed:
        _say(f"syncing .venv ({', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''} changed)")
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(VENV))
    quiet = [] if changed else ["--quiet"]
    subprocess.run([uv, "sync", "--all-packages", "--inexact", *quiet, "--python", sys.executable],
                   cwd=ROOT, env=env, check=True)
    if changed:
        STAMP.touch()
        _say("ready")


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        sys.exit("dev.py: corenn needs Python 3.11 or newer")
    if not argv:
        sys.exit(__doc__)
    sync()
    path = os.pathsep.join([str(VENV / BIN), str(TOOLS / BIN), os.environ.get("PATH", "")])
    env = dict(os.environ, VIRTUAL_ENV=str(VENV), PATH=path)
    env.pop("PYTHONHOME", None)
    return subprocess.run(argv, cwd=os.getcwd(), env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
