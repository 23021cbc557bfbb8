#!/usr/bin/env python3
"""Set up corenn's development environment, then run a command inside it.

    python3 dev.py corenn train      # any command: it runs with .venv/bin first on PATH
    python3 dev.py pytest -x

Needs only Python 3.11+. The first call installs uv (into .tools/) and lets it
create .venv with the core and every plugin under plugins/ installed in editable
mode (`uv sync --all-packages`, the uv workspace declared in pyproject.toml).
Later calls re-sync, which takes well under a second when nothing changed.
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


def _uv() -> str:
    uv = TOOLS / BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        print("dev.py: installing uv into .tools/ (first run only)", file=sys.stderr)
        venv.create(TOOLS, with_pip=True)
        subprocess.run([str(TOOLS / BIN / "python"), "-m", "pip", "install", "--quiet", "uv"], check=True)
    return str(uv)


def sync() -> None:
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(VENV))
    subprocess.run(
        [_uv(), "sync", "--all-packages", "--quiet", "--python", sys.executable],
        cwd=ROOT, env=env, check=True,
    )


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        sys.exit("dev.py: corenn needs Python 3.11 or newer")
    if not argv:
        sys.exit(__doc__)
    sync()
    env = dict(os.environ, VIRTUAL_ENV=str(VENV), PATH=f"{VENV / BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("PYTHONHOME", None)
    return subprocess.run(argv, cwd=os.getcwd(), env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
