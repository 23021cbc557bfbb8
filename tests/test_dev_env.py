"""The plugin guide's flow in the environment ``dev.py`` builds: the commands of the guide's
section "Writing a plugin in corenn's development environment" run, as written, in a copy of
the repository (the core, corenn-relu and dev.py, with the shared uv of .tools/), offline.
The plugin they install stays installed through later ``python3 dev.py`` calls, even one
that re-syncs; and dev.py says what it does on first use.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugin-guide.md"
SECTION = "## Writing a plugin in corenn's development environment"


def _guide_commands() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    block = re.search(r"^```console\n(.*?)^```", section, re.MULTILINE | re.DOTALL).group(1)
    return [line[2:].split("  #")[0].strip() for line in block.splitlines() if line.startswith("$ ")]


@pytest.fixture(scope="module")
def checkout():
    """A copy of the repository with only the core and corenn-relu, no .venv yet."""
    tools = (ROOT / ".tools").resolve()
    if not (tools / "bin" / "uv").exists():
        pytest.skip("uv not found in .tools/ (python3 dev.py installs it)")
    base = Path(tempfile.mkdtemp(prefix="corenn-dev-env-"))
    try:
        copy = base / "corenn"
        copy.mkdir()
        for name in ("dev.py", "pyproject.toml", "uv.lock", "README.md"):
            shutil.copy2(ROOT / name, copy / name)
        shutil.copytree(ROOT / "corenn", copy / "corenn", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "plugins" / "corenn-relu", copy / "plugins" / "corenn-relu",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (copy / ".tools").symlink_to(tools)
        yield copy
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "CORENN_DISABLE_PLUGINS")}
    env.update(UV_OFFLINE="1", COLUMNS="200", NO_COLOR="1")
    command = command.replace("python3 dev.py", f"{sys.executable} dev.py", 1)
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_guide_installs_a_plugin_in_the_dev_environment_that_stays_installed(checkout):
    commands = _guide_commands()
    assert commands[0].startswith("python3 dev.py corenn new-plugin activation isru")
    results = []
    for command in commands:
        proc = _run(command, checkout)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        results.append(proc)
    assert "dev.py: first run: creating .venv with corenn and its 1 plugin (" in results[0].stderr
    assert f"  {commands[1]}\n" in results[0].stdout  # new-plugin advises the guide's install command
    listed = next(p.stdout for c, p in zip(commands, results) if "corenn list activation" in c)
    assert re.search(r"isru\s+corenn-isru", listed) and "relu" in listed

    (checkout / "pyproject.toml").touch()  # the next call re-syncs, and says so
    again = _run("python3 dev.py corenn list activation", checkout)
    assert "dev.py: syncing .venv (pyproject.toml changed)" in again.stderr
    assert re.search(r"isru\s+corenn-isru", again.stdout), again.stdout
    quiet = _run("python3 dev.py corenn list activation", checkout)
    assert quiet.stderr == "" and re.search(r"isru\s+corenn-isru", quiet.stdout)


def test_dev_py_puts_uv_on_the_path_of_the_commands_it_runs(checkout):
    proc = _run("python3 dev.py uv --version", checkout)
    assert proc.returncode == 0 and proc.stdout.startswith("uv ")
