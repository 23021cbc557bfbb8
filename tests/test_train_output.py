"""What `corenn train` prints where (a bar on a terminal, a line per epoch in a log, --quiet, --json),
honest resumed runs (stopped, total seconds, extending a finished run), `predict --proba` and the
advice `corenn evaluate` gives for a run that diverged."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

import corenn
from corenn import run as runs
from corenn.cli import main
from corenn.cli.train import ProgressBar, compact
from corenn.files import load_arrays
from corenn.trainer import Callback

QUICK = ["--dataset", "spiral", "--hidden", "16", "--batch-size", "32", "--no-default-callbacks"]


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_piped_train_prints_one_line_per_epoch_with_loss_accuracies_and_time(tmp_path, capsys):
    out = cli(capsys, "train", *QUICK, "--epochs", "3", "--out", tmp_path / "run")
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    history = json.loads((tmp_path / "run" / "history.json").read_text())["epochs"]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    for line, epoch in zip(lines, history):
        assert f"loss {compact(epoch['loss'])}" in line and f"val acc {compact(epoch['val_acc'])}" in line
        assert "train acc" in line and line.endswith(" s")


def test_quiet_prints_only_the_result_line_and_no_progress_prints_no_epoch_lines(tmp_path, capsys):
    out = cli(capsys, "train", *QUICK, "--epochs", "2", "--quiet", "--out", tmp_path / "quiet")
    assert out.count("\n") == 1 and out.startswith("test accuracy")
    out = cli(capsys, "train", *QUICK, "--epochs", "2", "--no-progress", "--out", tmp_path / "silent")
    assert "epoch 1/2" not in out and "test accuracy" in out


def test_the_bar_shows_the_epochs_running_mean_loss_in_few_characters():
    bar = ProgressBar(epochs=2, steps_per_epoch=3)
    bar.on_train_begin(SimpleNamespace(step=0, epoch=0))
    try:
        bar.on_epoch_begin(None, 0)
        for step, loss in enumerate([1.0, 3.0]):
            bar.on_batch_end(None, step, {"loss": loss})
        assert bar.progress.tasks[0].fields["loss"] == compact(2.0)
        bar.on_epoch_begin(None, 1)
        bar.on_batch_end(None, 3, {"loss": 1.2345678e30})
        assert bar.progress.tasks[0].fields["loss"] == "1.235e+30"
    finally:
        bar.close()


def test_train_json_is_the_summary_with_the_folder_and_reports(tmp_path, capsys):
    doc = json.loads(cli(capsys, "train", *QUICK, "--epochs", "2", "--json", "--out", tmp_path / "run"))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert doc == {"folder": str(tmp_path / "run"), **summary, "reports": []}
    assert doc["epochs"] == 2 and doc["stopped"] is None and set(doc["test"]) == {"loss", "accuracy", "n"}


def ctrl_c_after(step):
    """A callback (any object with the event methods) that stops training as Ctrl-C does, after ``step``."""
    def on_batch_end(trainer, at, logs):
        if at == step:
            raise KeyboardInterrupt
    return SimpleNamespace(on_batch_end=on_batch_end)


def test_a_resumed_run_that_finishes_is_not_interrupted_and_counts_all_its_time(tmp_path, capsys):
    folder = tmp_path / "run"
    cfg = runs.RunConfig.from_mapping({"dataset": "spiral", "hidden": [16], "epochs": 3, "batch_size": 32,
                                       "default_callbacks": False})
    with pytest.raises(KeyboardInterrupt):
        runs.train(cfg, folder, callbacks=[ctrl_c_after(12)])
    first = json.loads((folder / "history.json").read_text())
    assert first["stopped"] == "interrupted" and first["seconds"] > 0
    cli(capsys, "train", "--resume", folder, "--no-progress")
    final = json.loads((folder / "history.json").read_text())
    assert final["stopped"] is None
    assert final["seconds"] > first["seconds"]
    assert json.loads((folder / "summary.json").read_text())["seconds"] == final["seconds"]


def test_resume_with_more_epochs_extends_a_finished_run_bit_for_bit(tmp_path, capsys):
    cli(capsys, "train", *QUICK, "--epochs", "2", "--dropout", "0.8", "--out", tmp_path / "extended")
    cli(capsys, "train", "--resume", tmp_path / "extended", "--epochs", "4")
    cli(capsys, "train", *QUICK, "--epochs", "4", "--dropout", "0.8", "--out", tmp_path / "whole")
    a, _ = load_arrays(tmp_path / "whole" / "model.npz")
    b, _ = load_arrays(tmp_path / "extended" / "model.npz")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    whole, extended = (json.loads((tmp_path / f / "history.json").read_text()) for f in ("whole", "extended"))
    assert whole["loss"] == extended["loss"] and len(extended["epochs"]) == 4
    assert "epochs = 4" in (tmp_path / "extended" / "config.toml").read_text()


def test_resume_refuses_fewer_epochs_than_trained_and_other_options(tmp_path, capsys):
    cli(capsys, "train", *QUICK, "--epochs", "3", "--out", tmp_path / "run")
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2"]) == 2
    assert "it has trained 3 already; give --epochs 4 or more" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "run"), "--hidden", "8"]) == 2
    assert "other than --epochs" in capsys.readouterr().err


class StopAfterFirstEpoch(Callback):
    def on_epoch_end(self, trainer, epoch, logs):
        trainer.stop_training = True

    def on_train_end(self, trainer, history):
        history.stopped = "stopped by the test's callback"


def test_a_run_that_stopped_early_is_not_extended_and_says_why(tmp_path):
    folder = tmp_path / "run"
    cfg = runs.RunConfig.from_mapping({"dataset": "spiral", "hidden": [16], "epochs": 3, "default_callbacks": False})
    runs.train(cfg, folder, callbacks=[StopAfterFirstEpoch()])
    longer = runs.RunConfig.from_mapping({**cfg.to_dict(), "epochs": 5})
    with pytest.raises(runs.InvalidConfig, match=r"stopped early \(stopped by the test's callback\)"):
        runs.train(longer, folder, resume=True)


def test_predict_proba_writes_the_softmax_of_the_scores(tmp_path, capsys):
    cli(capsys, "train", *QUICK, "--epochs", "1", "--quiet", "--out", tmp_path / "run")
    X = corenn.create("dataset", "spiral").load(seed=0).X_test[:5]
    np.save(tmp_path / "x.npy", X)
    cli(capsys, "predict", tmp_path / "run", tmp_path / "x.npy", "--proba", "--out", tmp_path / "p.npy")
    proba = np.load(tmp_path / "p.npy")
    _, model, fitted, classes = runs.open_run(tmp_path / "run")
    scores = model.forward(corenn.preprocessing.apply_preprocessors(fitted, X.astype(np.float32)), training=False)
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected, rtol=1e-5)
    assert proba.shape == (5, len(classes))
    doc = json.loads(cli(capsys, "predict", tmp_path / "run", tmp_path / "x.npy", "--json"))
    assert doc["labels"] == list(np.argmax(proba, axis=1)) and doc["classes"] == classes


def test_evaluate_on_a_diverged_run_advises_a_new_run_not_resuming(tmp_path, capsys):
    folder = tmp_path / "run"
    assert main(["train", *QUICK, "--epochs", "2", "--optimizer", "sgd:lr=1e12", "--out", str(folder)]) == 2
    capsys.readouterr()
    assert main(["evaluate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "diverged" in err and "smaller learning rate" in err and "resume" not in err
