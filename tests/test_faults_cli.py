"""Faults seen from the command line: misbehaving plugins, Ctrl-C in full-batch runs, locked run folders,
search workers whose parent dies, foreign and damaged files."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

CORENN = Path(sys.executable).parent / "corenn"


def plugin_site(tmp_path: Path, plugins: dict[str, str]) -> Path:
    """A folder for PYTHONPATH with one plugin distribution per (name, module source): corenn finds each
    through its entry point, as if it were installed."""
    site = tmp_path / "site"
    for name, source in plugins.items():
        (site / f"corenn_{name}.py").parent.mkdir(parents=True, exist_ok=True)
        (site / f"corenn_{name}.py").write_text(textwrap.dedent(source))
        info = site / f"corenn_{name}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: corenn-{name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[corenn]\n{name} = corenn_{name}\n")
    return site


def corenn(*args, site=None, extra_env=(), **kw):
    env = dict(os.environ) | dict(extra_env)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run([CORENN, *map(str, args)], capture_output=True, text=True, env=env, timeout=120, **kw)


def test_a_plugin_that_exits_or_raises_keyboard_interrupt_at_import_fails_alone(tmp_path):
    site = plugin_site(tmp_path, {"exits": "import sys\nsys.exit(3)\n",
                                  "interrupts": "raise KeyboardInterrupt\n"})
    listing = corenn("plugins", "--json", site=site)
    assert listing.returncode == 0, listing.stderr
    plugins = {p["distribution"]: p for p in json.loads(listing.stdout)}
    assert plugins["corenn-exits"]["status"] == "failed" and "SystemExit: 3" in plugins["corenn-exits"]["error"]
    assert plugins["corenn-interrupts"]["status"] == "failed"
    assert "KeyboardInterrupt" in plugins["corenn-interrupts"]["error"]
    assert plugins["corenn-relu"]["status"] == "ok"
    works = corenn("info", "activation", "relu", site=site)
    assert works.returncode == 0, works.stderr


def test_a_real_ctrl_c_while_plugins_load_still_interrupts(tmp_path):
    site = plugin_site(tmp_path, {"slow": "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"})
    result = corenn("plugins", "--json", site=site)
    assert result.returncode == 130, (result.returncode, result.stdout, result.stderr)


def test_unknown_names_in_corenn_disable_plugins_are_warned_about():
    result = corenn("list", extra_env={"CORENN_DISABLE_PLUGINS": "relu,no_such_plugin"})
    assert result.returncode == 0
    assert "no_such_plugin" in result.stderr and "'relu'" not in result.stderr
