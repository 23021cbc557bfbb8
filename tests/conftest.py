"""Shared fixtures: uv, and one temporary virtual environment for the tests that install plugins.

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


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for commands run in the temporary venv: none of the
    project venv's variables, no plugins switched off, wide tables."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CORENN_DISABLE_PLUGINS", "UV_PROJECT_ENVIRONMENT")}
    env.update(COLUMNS="240", NO_COLOR="1")
    env.update(extra)
    return env


class Uv:
    """The uv executable; :meth:`run` tries offline (uv's cache) first, then with the network."""

    def __init__(self, path: str):
        self.path = path

    def run(self, command: str, *args: str, network: bool = True, cwd: Path = ROOT) -> str:
        errors = []
        for extra in (["--offline"], []) if network else (["--offline"],):
            proc = subprocess.run([self.path, command, *extra, *args], capture_output=True, text=True,
                                  env=clean_env(), cwd=cwd)
            if proc.returncode == 0:
                return proc.stdout
            errors.append(proc.stderr.strip())
        pytest.fail(f"uv {command} {' '.join(args)} failed:\n" + "\n---\n".join(errors))


@pytest.fixture(scope="session")
def uv() -> Uv:
    local = ROOT / ".tools" / BIN / ("uv.exe" if os.name == "nt" else "uv")
    path = str(local) if local.exists() else shutil.which("uv")
    if path is None:
        pytest.skip("uv not found (python3 dev.py installs it into .tools/)")
    return Uv(path)


class PluginEnv:
    """A virtual environment with corenn and corenn-relu (editable) and pytest."""

    def __init__(self, path: Path, uv: Uv):
        self.path, self.uv = path, uv
        self.bin = path / BIN
        self.python = str(self.bin / "python")

    def install(self, *requirements: str) -> None:
        self.uv.run("pip", "install", "--quiet", "--python", self.python, *requirements)

    def uninstall(self, *names: str) -> None:
        self.uv.run("pip", "uninstall", "--quiet", "--python", self.python, *names, network=False)

    def run(self, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
        """Run ``<venv>/bin/<args[0]> args[1:]``; ``env`` adds environment variables."""
        return subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True,
                              env=clean_env(**env), cwd=cwd or self.path)

    def corenn(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return self.run("corenn", *args, **env)

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


def third_party_env(uv: Uv, base: Path) -> PluginEnv:
    """A new venv at ``base/venv`` with corenn's third-party requirements and pytest, in the
    versions of uv.lock (from the cache dev.py filled), and no corenn distribution yet."""
    env = PluginEnv(base / "venv", uv)
    uv.run("venv", "--quiet", "--python", sys.executable, str(env.path), network=False)
    lock = base / "pylock.toml"
    exported = subprocess.run([uv.path, "export", "--frozen", "--quiet", "--format", "pylock.toml",
                               "--package", "corenn", "--no-emit-workspace", "--group", "dev", "-o", str(lock)],
                              capture_output=True, text=True, env=clean_env(), cwd=ROOT)
    if exported.returncode == 0:  # the locked versions, from the cache dev.py filled
        env.install("--preview-features", "pylock", "-r", str(lock))
    else:  # an older uv: let it resolve
        env.install("pytest")
    return env


@pytest.fixture(scope="session")
def new_env(uv):
    """Makes a third_party_env in a folder of its own: ``new_env(base)``."""
    return lambda base: third_party_env(uv, base)


@pytest.fixture(scope="session")
def plugin_env(uv):
    """One temporary environment per session: corenn and corenn-relu (editable), pytest, and the
    three distributions under tests/external_plugins/ (softsign, broken, relu_clone)."""
    # A folder of its own (not pytest's numbered tmp folders, which a concurrent pytest run may prune).
    base = Path(tempfile.mkdtemp(prefix="corenn-plugin-env-"))
    try:
        env = third_party_env(uv, base)
        externals = sorted(d for d in EXTERNAL.iterdir() if (d / "pyproject.toml").exists())
        env.install("-e", str(ROOT), "-e", str(ROOT / "plugins" / "corenn-relu"),
                    *(arg for d in externals for arg in ("-e", str(d))))
        yield env
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def assert_same_run():
    """``assert_same_run(a, b)``: two run folders hold the same model, bit for bit, and the same losses."""
    import numpy as np

    from corenn.files import load_arrays

    def check(a: Path, b: Path) -> None:
        first, _ = load_arrays(a / "model.npz")
        second, _ = load_arrays(b / "model.npz")
        assert first.keys() == second.keys() and all(np.array_equal(first[k], second[k]) for k in first)
        losses = [json.loads((folder / "history.json").read_text())["loss"] for folder in (a, b)]
        assert losses[0] == losses[1]

    return check
