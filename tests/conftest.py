"""Shared fixtures: one temporary virtual environment for the tests that install plugins.

The project's own ``.venv`` never sees the distributions under
``tests/external_plugins/`` or the ones ``corenn new-plugin`` renders: they are
installed into a separate environment, built once per test session with uv
(the ``.tools/bin/uv`` that ``dev.py`` installs). Its third-party packages come
from ``uv.lock`` (exported as a pylock file), so the build works offline once
``dev.py`` has synced the project; where the cache lacks something, uv is asked
again with the network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = Path(__file__).resolve().parent / "external_plugins"
BIN = "Scripts" if os.name == "nt" else "bin"

# The plugin distributions under external_plugins/ are installed into the
# temporary environment, never collected as part of this suite.
collect_ignore_glob = ["external_plugins/*"]


def find_uv() -> str | None:
    local = ROOT / ".tools" / BIN / ("uv.exe" if os.name == "nt" else "uv")
    return str(local) if local.exists() else shutil.which("uv")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for commands run in the temporary venv: none of the
    project venv's variables, no plugins switched off, wide tables."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CORENN_DISABLE_PLUGINS", "UV_PROJECT_ENVIRONMENT")}
    env.update(COLUMNS="240", NO_COLOR="1")
    env.update(extra)
    return env


class PluginEnv:
    """A virtual environment with corenn and corenn-relu (editable) and pytest."""

    def __init__(self, path: Path, uv: str):
        self.path, self.uv = path, uv
        self.bin = path / BIN
        self.python = str(self.bin / "python")

    def uv_run(self, *args: str, network_fallback: bool = True) -> None:
        """``uv <args>`` offline first (uv's cache), then, if that fails, with the network."""
        tries = [["--offline"], []] if network_fallback else [["--offline"]]
        errors = []
        for extra in tries:
            proc = subprocess.run([self.uv, *args[:2], *extra, *args[2:]], capture_output=True, text=True,
                                  env=clean_env(), cwd=ROOT)
            if proc.returncode == 0:
                return
            errors.append(proc.stderr.strip())
        pytest.fail(f"uv {' '.join(args)} failed:\n" + "\n---\n".join(errors))

    def install(self, *requirements: str) -> None:
        self.uv_run("pip", "install", "--quiet", "--python", self.python, *requirements)

    def uninstall(self, *names: str) -> None:
        self.uv_run("pip", "uninstall", "--quiet", "--python", self.python, *names, network_fallback=False)

    def run(self, *args: str, check: bool = False, **env: str) -> subprocess.CompletedProcess:
        """Run ``<venv>/bin/<args[0]> args[1:]``; ``env`` adds environment variables."""
        proc = subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True,
                              env=clean_env(**env), cwd=self.path)
        if check and proc.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def corenn(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return self.run("corenn", *args, **env)

    def corenn_json(self, *args: str, **env: str):
        proc = self.corenn(*args, "--json", **env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def python_c(self, code: str, **env: str) -> subprocess.CompletedProcess:
        return self.run("python", "-c", code, **env)

    def probe(self, code: str, **env: str) -> dict:
        """Run ``code`` in one Python process of the environment and return its ``result`` dict.

        ``code`` may call ``cli(*argv)``, which runs ``corenn.cli.main(argv)`` in that
        process and gives ``{"code", "out", "err"}``, and ``error(call)``, which gives
        ``"ExceptionType: message"`` for what ``call()`` raises (or None). One process
        for many questions keeps these tests fast.
        """
        proc = self.python_c(PROBE_PRELUDE + code + "\nprint(json.dumps(result))", **env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.splitlines()[-1])


PROBE_PRELUDE = """
import contextlib, io, json
import corenn
from corenn.cli import main as _main

def cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _main(list(argv))
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}

def error(call):
    try:
        call()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None

"""


@pytest.fixture(scope="session")
def plugin_env():
    """One temporary environment per session: corenn and corenn-relu (editable), pytest, and the
    three distributions under tests/external_plugins/ (softsign, broken, relu_clone)."""
    uv = find_uv()
    if uv is None:
        pytest.skip("uv not found (python3 dev.py installs it into .tools/)")
    # A folder of its own (not pytest's numbered tmp folders, which a concurrent pytest run may prune).
    base = Path(tempfile.mkdtemp(prefix="corenn-plugin-env-"))
    try:
        yield from _build(base, uv)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _build(base: Path, uv: str):
    env = PluginEnv(base / "venv", uv)
    env.uv_run("venv", "--quiet", "--python", sys.executable, str(env.path), network_fallback=False)
    lock = base / "pylock.toml"
    exported = subprocess.run([uv, "export", "--frozen", "--quiet", "--format", "pylock.toml", "--package", "corenn",
                               "--no-emit-workspace", "--group", "dev", "-o", str(lock)],
                              capture_output=True, text=True, env=clean_env(), cwd=ROOT)
    if exported.returncode == 0:  # the locked versions, from the cache dev.py filled
        env.install("--preview-features", "pylock", "-r", str(lock))
    else:  # an older uv: let it resolve
        env.install("pytest")
    env.install("-e", str(ROOT), "-e", str(ROOT / "plugins" / "corenn-relu"),
                *(arg for d in sorted(EXTERNAL.iterdir()) if (d / "pyproject.toml").exists()
                  for arg in ("-e", str(d))))
    yield env
