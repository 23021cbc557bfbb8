"""`corenn train`, `corenn evaluate`, `corenn predict`: run folders, configs, resume, bad input."""

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from corenn.cli import main
from corenn.files import load_arrays

CORENN = Path(sys.executable).parent / "corenn"
QUICK = ["--dataset", "spiral", "--hidden", "16", "--epochs", "2", "--no-progress", "--no-default-callbacks"]


def run_cli(*args):
    return main([str(a) for a in args])


def test_train_writes_a_complete_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", *QUICK, "--optimizer", "adam:lr=0.01", "--out", out) == 0
    assert {p.name for p in out.iterdir()} >= {"config.toml", "checkpoint.npz", "model.npz", "preprocess.npz",
                                                 "history.json", "history.csv", "iterations.csv", "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 2 and 0 <= summary["test"]["accuracy"] <= 1
    assert "test accuracy" in capsys.readouterr().out
    config = tomllib.loads((out / "config.toml").read_text())
    assert config["optimizer"] == "adam:lr=0.01" and config["hidden"] == [16] and config["dataset"] == "spiral"
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,loss,train_acc,val_acc") and len(history) == 3


def test_a_config_file_holds_every_choice_and_options_override_it(tmp_path):
    config = tmp_path / "exp.toml"
    config.write_text('dataset = "spiral"\nhidden = [8, 8]\nepochs = 3\noptimizer = "sgd:lr=0.5"\n'
                      'regularizer = "l2:strength=0.001"\nprogress_is_not_a_key = 1\n')
    assert run_cli("train", config, "--out", tmp_path / "bad") == 2  # unknown key
    config.write_text('dataset = "spiral"\nhidden = [8, 8]\nepochs = 3\noptimizer = "sgd:lr=0.5"\n'
                      'regularizer = "l2:strength=0.001"\ndefault_callbacks = false\n')
    assert run_cli("train", config, "--epochs", "1", "--no-progress", "--out", tmp_path / "run") == 0
    resolved = tomllib.loads((tmp_path / "run" / "config.toml").read_text())
    assert resolved["epochs"] == 1 and resolved["hidden"] == [8, 8] and resolved["regularizer"] == "l2:strength=0.001"
    # the resolved config trains again as it is
    assert run_cli("train", tmp_path / "run" / "config.toml", "--no-progress", "--out", tmp_path / "again") == 0
    a, _ = load_arrays(tmp_path / "run" / "model.npz")
    b, _ = load_arrays(tmp_path / "again" / "model.npz")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("args", "message"), [
    (["missing.toml"], "does not exist"),
    (["--optimizer", "adamm"], "did you mean 'adam'"),
    (["--optimizer", "adam:lr=-1"], "lr=-1"),
    (["--dataset", "mnist:path='/nonexistent/mnist'"], "/nonexistent/mnist"),
    (["--epochs", "-1"], "epochs"),
    (["--hidden", "0"], "hidden"),
    (["--hidden", "64,abc"], "hidden"),
])
def test_bad_input_is_one_line_and_exit_code_2_and_leaves_nothing_behind(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert run_cli("train", *args, "--no-progress", "--out", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not out.exists()


def test_a_malformed_config_and_an_unwritable_folder_are_clear_errors(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3")
    assert run_cli("train", bad) == 2
    assert "not valid TOML" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run_cli("train", *QUICK, "--out", blocker / "run") == 2
    assert "cannot write the run folder" in capsys.readouterr().err


def test_a_run_folder_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", *QUICK, "--out", out) == 0
    assert run_cli("train", *QUICK, "--out", out) == 2
    assert "--resume" in capsys.readouterr().err


def test_evaluate_and_predict_use_the_runs_model_and_preprocessing(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli("train", *QUICK, "--epochs", "20", "--optimizer", "adam:lr=0.02", "--out", out) == 0
    summary = json.loads((out / "summary.json").read_text())
    capsys.readouterr()
    assert run_cli("evaluate", out, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == pytest.approx(summary["test"]["accuracy"])
    import corenn

    data = corenn.create("dataset", "spiral").load(seed=0)
    np.save(tmp_path / "x.npy", data.X_test)
    assert run_cli("predict", out, tmp_path / "x.npy", "--out", tmp_path / "pred.npy") == 0
    predicted = np.load(tmp_path / "pred.npy")
    assert np.mean(predicted == data.y_test) == pytest.approx(summary["test"]["accuracy"])
    np.save(tmp_path / "wrong.npy", data.X_test[:, :1])
    assert run_cli("predict", out, tmp_path / "wrong.npy") == 2
    assert run_cli("evaluate", tmp_path / "nowhere") == 2


def test_a_run_whose_preprocessing_file_is_not_corenns_is_a_clear_error(tmp_path, capsys):
    from corenn.files import save_arrays

    out = tmp_path / "run"
    assert run_cli("train", *QUICK, "--out", out) == 0
    save_arrays(out / "preprocess.npz", {}, ["not", "a", "mapping"])
    capsys.readouterr()
    assert run_cli("evaluate", out) == 2
    err = capsys.readouterr().err
    assert "preprocess.npz" in err and "Traceback" not in err


def test_a_run_killed_with_sigkill_resumes_to_exactly_the_uninterrupted_result(tmp_path, assert_same_run):
    args = ["train", "--dataset", "digits", "--hidden", "64", "--epochs", "8", "--batch-size", "16",
            "--dropout", "0.9", "--no-progress", "--no-default-callbacks"]
    subprocess.run([CORENN, *args, "--out", tmp_path / "whole"], check=True, capture_output=True)

    victim = subprocess.Popen([CORENN, *args, "--out", tmp_path / "killed"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "killed" / "checkpoint.npz"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.01)
    time.sleep(0.05)  # into the next epoch
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    _, doc = load_arrays(checkpoint)
    assert doc["epoch"] < 8

    subprocess.run([CORENN, "train", "--resume", tmp_path / "killed", "--no-progress"], check=True,
                   capture_output=True)
    assert_same_run(tmp_path / "whole", tmp_path / "killed")


def test_ctrl_c_writes_a_checkpoint_and_exits_cleanly(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([CORENN, "train", "--dataset", "digits", "--hidden", "64", "--epochs", "200",
                             "--batch-size", "8", "--no-progress", "--no-default-callbacks", "--out", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "--resume" in stdout and "Traceback" not in stderr
    _, doc = load_arrays(out / "checkpoint.npz")
    assert doc["batch"] is not None or doc["epoch"] >= 1


@pytest.mark.parametrize("values", [{"hidden": [True]}, {"dropout": True}, {"epochs": False}])
def test_booleans_are_not_numbers_in_a_config(values):
    from corenn.run import InvalidConfig, RunConfig

    with pytest.raises(InvalidConfig, match=next(iter(values))):
        RunConfig.from_mapping(values)


def test_schedule_and_a_schedule_inside_the_optimizer_give_the_same_learning_rates(tmp_path):
    shorthand, spelled_out = tmp_path / "shorthand", tmp_path / "spelled-out"
    assert run_cli("train", *QUICK, "--optimizer", "sgd", "--schedule", "step:initial=0.01,every=1",
                   "--out", shorthand) == 0
    assert run_cli("train", *QUICK, "--optimizer", "sgd:lr='step:initial=0.01,every=1,unit=\"epoch\"'",
                   "--out", spelled_out) == 0
    lrs = [json.loads((folder / "history.json").read_text())["lr"] for folder in (shorthand, spelled_out)]
    assert lrs[0] == lrs[1] and sorted(set(lrs[0]), reverse=True) == [0.01, 0.005]


def test_an_lr_in_the_optimizer_and_a_schedule_is_a_one_line_error_naming_both(tmp_path, capsys):
    assert run_cli("train", *QUICK, "--optimizer", "sgd:lr=0.1", "--schedule", "step:initial=0.01",
                   "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lr=0.1" in err and "schedule step:initial=0.01" in err
    assert not (tmp_path / "run").exists()


def test_callback_is_a_repeatable_option_and_callbacks_its_alias(tmp_path):
    out, alias = tmp_path / "run", tmp_path / "alias"
    assert run_cli("train", *QUICK, "--callback", "early_stopping:patience=7", "--callback", "doctor:gap=0.3",
                   "--out", out) == 0
    assert tomllib.loads((out / "config.toml").read_text())["callbacks"] == ["early_stopping:patience=7",
                                                                           "doctor:gap=0.3"]
    assert run_cli("train", *QUICK, "--callbacks", "early_stopping:patience=7", "--out", alias) == 0
    assert tomllib.loads((alias / "config.toml").read_text())["callbacks"] == ["early_stopping:patience=7"]
