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

import numpy as np
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
    assert result.stderr.startswith("warning: CORENN_DISABLE_PLUGINS names 'no_such_plugin', which no installed")
    assert len(result.stderr.splitlines()) == 1, result.stderr  # one line: no file:line prefix, no source line


def one_line_error(result):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def test_a_model_too_big_for_the_machine_is_a_one_line_error(tmp_path):
    error = one_line_error(corenn("train", "--hidden", "10000000000", "--epochs", "1", "--out", tmp_path / "r"))
    assert "choose smaller hidden widths" in error and not (tmp_path / "r").exists()


def test_an_npy_input_that_declares_a_huge_shape_is_a_one_line_error(tmp_path):
    import numpy as np

    path = tmp_path / "inputs.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 64)})
    error = one_line_error(corenn("predict", tmp_path / "no-run", path))
    assert "declares shape (1000000000, 64)" in error


TRAIN = ["--dataset", "spiral", "--hidden", "16", "--batch-size", "32", "--no-progress", "--no-default-callbacks"]


def test_a_resumed_run_with_a_damaged_checkpoint_is_a_one_line_error(tmp_path):
    from corenn.files import load_arrays, save_arrays

    run = tmp_path / "run"
    assert corenn("train", *TRAIN, "--epochs", "2", "--out", run).returncode == 0
    arrays, doc = load_arrays(run / "checkpoint.npz")
    doc.update(epoch=1, batch=-3)
    arrays["position/perm"] = np.arange(5)
    save_arrays(run / "checkpoint.npz", arrays, doc)
    error = one_line_error(corenn("train", "--resume", run))
    assert "batch is -3" in error


def test_resuming_a_finished_run_says_so_and_writes_nothing(tmp_path):
    run = tmp_path / "run"
    assert corenn("train", *TRAIN, "--epochs", "2", "--out", run).returncode == 0
    model = (run / "model.npz").read_bytes()
    result = corenn("train", "--resume", run, "--no-progress")
    assert result.returncode == 0 and "already finished after 2 epochs" in result.stdout and "nothing to do" in result.stdout
    assert (run / "model.npz").read_bytes() == model


def test_out_together_with_resume_is_refused(tmp_path):
    error = one_line_error(corenn("train", "--resume", tmp_path / "a", "--out", tmp_path / "b"))
    assert "--resume" in error and "--out" in error


def test_a_second_trainer_in_a_run_folder_gets_exit_2_naming_the_first(tmp_path):
    run = tmp_path / "run"
    first = subprocess.Popen([CORENN, "train", *TRAIN, "--epochs", "100000", "--out", run],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (run / "checkpoint.npz").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        error = one_line_error(corenn("train", *TRAIN, "--epochs", "1", "--out", run))
        assert f"in use by process {first.pid}" in error
        error = one_line_error(corenn("train", "--resume", run))
        assert f"in use by process {first.pid}" in error
    finally:
        first.kill()
        first.communicate()
    error = one_line_error(corenn("train", *TRAIN, "--epochs", "1", "--out", run))  # the lock went with it
    assert "already holds a run" in error


def test_ctrl_c_ends_a_full_batch_lbfgs_run_with_exit_130(tmp_path):
    run = tmp_path / "run"
    process = subprocess.Popen([CORENN, "train", *TRAIN, "--optimizer", "lbfgs", "--epochs", "100000",
                                "--out", run], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (run / "checkpoint.npz").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "--resume" in stdout and "Traceback" not in stderr
