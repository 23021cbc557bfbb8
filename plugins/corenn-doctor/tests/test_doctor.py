"""The training doctor: each rule on a run built to trigger it, a healthy run, and `corenn train`'s report."""

import json

import numpy as np
import pytest

import corenn
from corenn.cli import main
from corenn.run import RunConfig, build_model, build_trainer, load_data
from corenn.testing import check_component
from corenn.trainer import History, TrainingDiverged
from corenn_doctor import Doctor, diagnose, format_report


def doctor_run(**config):
    """Train a config (spiral by default) with a doctor; the doctor's findings by rule."""
    cfg = RunConfig.from_mapping({"dataset": "spiral", "hidden": [32], "default_callbacks": False, **config})
    data, _ = load_data(cfg)
    doctor = Doctor()
    trainer = build_trainer(cfg, build_model(cfg, data.num_features, data.num_classes), callbacks=[doctor])
    try:
        trainer.fit(data.X_train, data.y_train, validation=(data.X_val, data.y_val))
    except TrainingDiverged:
        pass
    return {f["rule"]: f for f in doctor.diagnose()}, doctor


def test_the_doctor_is_a_registered_default_callback_with_checked_hyperparameters():
    check_component(Doctor, "callback")
    assert corenn.get("callback", "doctor") is Doctor and Doctor.enabled_by_default
    assert corenn.create("callback", "doctor:gap=0.2").gap == 0.2
    with pytest.raises(corenn.InvalidHyperparameter, match="tolerance"):
        Doctor(tolerance=0.5)


def test_nan_loss_is_diagnosed_as_a_learning_rate_far_too_high():
    found, doctor = doctor_run(dataset="digits", hidden=[128, 64], optimizer="sgd:lr=20.0", epochs=1)
    assert doctor.trainer.history.stopped == "diverged"
    assert "learning rate is too high" in found["diverged"]["advice"]
    assert "exploding" not in found  # one diagnosis for one cause
    assert "NaN" in doctor.report()


def test_a_spiking_loss_is_diagnosed_as_exploding():
    found, doctor = doctor_run(optimizer="adam:lr=1.0", epochs=10)
    assert doctor.trainer.history.stopped is None  # it stayed finite
    e = found["exploding"]["evidence"]
    assert e["peak_loss"] > 3 * e["first_loss"]
    assert "lower" in found["exploding"]["advice"]


def test_a_slow_near_linear_decrease_is_diagnosed_as_a_learning_rate_too_low():
    found, _ = doctor_run(optimizer="sgd:lr=0.003", epochs=30)
    e = found["slow"]["evidence"]
    assert e["start_loss"] > e["middle_loss"] > e["end_loss"] > 0.5 * e["start_loss"]
    assert e["curvature"] >= 0.5  # the second half fell at least half as much as the first
    assert "raise" in found["slow"]["advice"]


def test_tiny_updates_everywhere_are_a_learning_rate_too_low_not_a_plateau():
    found, _ = doctor_run(optimizer="sgd:lr=0.0001", epochs=10)
    assert "plateau" not in found
    assert "barely moves" in found["slow"]["problem"]
    assert all(r < 1e-4 for r in found["ratio_low"]["evidence"]["ratios"].values())
    assert found["ratio_low"]["advice"].startswith("raise the learning rate")


def test_an_early_plateau_points_at_the_initialization():
    # four relu layers with std 0.01 weights: the signal is ~1e-6 and adam needs many steps to find it
    found, doctor = doctor_run(dataset="spiral:points_per_class=200", hidden=[64, 64, 64], init="normal:std=0.01",
                               optimizer="adam:lr=0.001", epochs=20)
    e = found["plateau"]["evidence"]
    assert e["flat_steps"] >= 0.1 * e["steps"] and e["end_loss"] < 0.95 * e["start_loss"]
    assert "initialization" in found["plateau"]["advice"]
    assert "slow" not in found


def test_a_wide_train_val_gap_is_overfitting():
    rng = np.random.default_rng(0)
    X, Xv = rng.standard_normal((100, 20)), rng.standard_normal((300, 20))
    y, yv = rng.integers(0, 2, 100), rng.integers(0, 2, 300)  # random labels: nothing to generalize
    doctor = Doctor()
    trainer = corenn.Trainer(corenn.mlp([20, 128, 2], seed=0), optimizer="adam:lr=0.01", batch_size=25, epochs=60,
                             callbacks=[doctor])
    trainer.fit(X, y, validation=(Xv, yv))
    found = {f["rule"]: f for f in doctor.diagnose()}
    e = found["overfitting"]["evidence"]
    assert e["train_acc"] > 0.95 and e["val_acc"] < 0.7 and e["gap"] > 0.1
    assert "regularization" in found["overfitting"]["advice"]


def test_no_gap_at_a_low_accuracy_asks_for_more_capacity():
    found, _ = doctor_run(hidden=[], optimizer="adam:lr=0.05", epochs=30)  # a linear model on spirals
    e = found["underfitting"]["evidence"]
    assert e["train_acc"] < 0.7 and e["gap"] < 0.02
    assert "capacity" in found["underfitting"]["advice"]


def test_large_update_ratios_ask_for_a_lower_learning_rate():
    found, _ = doctor_run(optimizer="sgd:lr=2.0", epochs=20)
    assert "exploding" not in found and "diverged" not in found
    ratios = found["ratio_high"]["evidence"]["ratios"]
    assert set(ratios) <= {"0.dense.W", "2.dense.W"} and all(r > 1e-2 for r in ratios.values())
    assert found["ratio_high"]["advice"] == "lower the learning rate"


def test_a_healthy_run_gets_a_clean_bill():
    found, doctor = doctor_run(dataset="digits", hidden=[32], epochs=8)
    assert found == {}
    assert doctor.report().startswith("doctor: nothing looks wrong")


def test_the_rules_apply_to_any_history_and_need_enough_steps():
    assert diagnose(History()) == []
    short = History(loss=[2.3, 2.2, 2.1])
    assert diagnose(short) == []  # too short to judge a curve, and the report says so
    assert "too few steps to judge the loss curve" in " ".join(format_report([], short).split())
    spike = History(loss=[2.3, 50.0, 2.2])
    assert [f["rule"] for f in diagnose(spike)] == ["exploding"]
    assert Doctor().report() == ""  # never ran


def test_corenn_train_ends_with_the_diagnosis_and_writes_doctor_json(tmp_path, capsys):
    quick = ["--dataset", "spiral", "--hidden", "16", "--no-progress"]
    assert main(["train", *quick, "--epochs", "5", "--optimizer", "sgd:lr=0.0001", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "doctor:" in out and "learning rate is too low" in out
    doc = json.loads((tmp_path / "a" / "doctor.json").read_text())
    assert "slow" in [f["rule"] for f in doc["findings"]] and doc["summary"]["steps"] == 20

    assert main(["train", *quick, "--epochs", "2", "--no-default-callbacks", "--out", str(tmp_path / "b")]) == 0
    assert "doctor:" not in capsys.readouterr().out and not (tmp_path / "b" / "doctor.json").exists()


def test_corenn_train_explains_a_divergence_before_the_error(tmp_path, capsys):
    code = main(["train", "--hidden", "128,64", "--no-progress", "--epochs", "1", "--optimizer", "sgd:lr=20.0",
                 "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2 and "loss became nan" in captured.err
    assert "doctor:" in captured.out and "learning rate is too high" in captured.out
    doc = json.loads((tmp_path / "doctor.json").read_text())
    assert doc["findings"][0]["rule"] == "diverged" and doc["summary"]["stopped"] == "diverged"


# -- the curves read as the tutorial reads them, on constructed histories --------------------------------------


def per_step(epoch_losses, steps_per_epoch=21, noise=0.01, seed=0):
    """A per-step loss curve through the given per-epoch means, with minibatch noise."""
    knots = np.asarray(epoch_losses, dtype=float)
    t = np.arange(len(knots) * steps_per_epoch) / steps_per_epoch - 0.5
    curve = np.interp(t, np.arange(len(knots)), knots)
    return list(curve + noise * np.random.default_rng(seed).standard_normal(curve.size))


def epochs(**series):
    """Per-epoch rows from equally long lists, e.g. epochs(train_acc=[...], val_loss=[...])."""
    n = len(next(iter(series.values())))
    return [{"epoch": i, **{k: v[i] for k, v in series.items()}} for i in range(n)]


def rules(history, **thresholds):
    return {f["rule"]: f for f in diagnose(history, **thresholds)}


def test_the_issue_s_steady_slow_decline_is_slow_not_a_plateau():
    # sgd:lr=0.003 for 5 epochs on digits: per-epoch loss 2.278, 2.238, 2.199, 2.167, 2.128
    losses = [2.278, 2.238, 2.199, 2.167, 2.128]
    found = rules(History(loss=per_step(losses), epochs=epochs(loss=losses)))
    assert "plateau" not in found
    assert found["slow"]["advice"].startswith("the learning rate is too low: raise it")


def test_a_flat_start_followed_by_a_knee_is_a_plateau_pointing_at_the_initialization():
    losses = [1.099] * 6 + [1.09, 1.0, 0.9, 0.8, 0.72, 0.66, 0.62, 0.6]
    found = rules(History(loss=per_step(losses, noise=0.002)))
    e = found["plateau"]["evidence"]
    assert e["flat_steps"] >= 0.3 * e["steps"] and e["knee"] >= 2
    assert "initialization" in found["plateau"]["advice"] and "slow" not in found


def test_a_flat_loss_while_accuracy_rises_is_explained_not_blamed_on_the_initialization():
    losses = [2.30, 2.29, 2.29, 2.28, 2.28, 2.27]
    acc = [0.10, 0.16, 0.22, 0.28, 0.33, 0.38]
    found = rules(History(loss=per_step(losses, noise=0.003), epochs=epochs(loss=losses, train_acc=acc)))
    assert "plateau" not in found
    e = found["flat_loss_rising_accuracy"]["evidence"]
    assert e["first_acc"] == 0.10 and e["last_acc"] == 0.38 and e["drop"] < 0.1
    assert "not a sign of a bad initialization" in found["flat_loss_rising_accuracy"]["problem"]
    # without the accuracy the same curve is an early plateau that never fell
    assert "never fell" in rules(History(loss=per_step(losses, noise=0.003)))["plateau"]["problem"]


def test_rising_validation_loss_while_training_loss_falls_is_the_onset_of_overfitting():
    # like 784-256-256-10 adam on mnist: validation loss bottoms after epoch 5, then climbs
    train = [0.30, 0.12, 0.08, 0.05, 0.035, 0.025, 0.018, 0.012, 0.009, 0.007]
    val = [0.14, 0.10, 0.085, 0.078, 0.075, 0.079, 0.084, 0.090, 0.095, 0.101]
    history = History(loss=per_step(train, noise=0.002), epochs=epochs(
        loss=train, val_loss=val, train_acc=[0.95, 0.97, 0.98, 0.985, 0.99, 0.993, 0.995, 0.997, 0.998, 0.999],
        val_acc=[0.96, 0.97, 0.975, 0.977, 0.979, 0.979, 0.979, 0.978, 0.979, 0.978]))
    found = rules(history)
    e = found["overfitting_onset"]["evidence"]
    assert e["best_epoch"] == int(np.argmin(val)) + 1 == 5 and e["last_val_loss"] == val[-1]
    assert "early_stopping" in found["overfitting_onset"]["advice"]
    assert "overfitting" not in found  # the accuracy gap (0.021) is still small: only the loss tells
    # a validation loss that only wobbles, or one that rises while the training loss rises too, is no onset
    wobble = [0.1, 0.09, 0.085, 0.084, 0.086, 0.0855]
    assert "overfitting_onset" not in rules(History(epochs=epochs(loss=train[:6], val_loss=wobble)))
    assert "overfitting_onset" not in rules(History(epochs=epochs(loss=train[::-1], val_loss=val)))


def test_the_thresholds_are_the_doctor_s_fields_and_nowhere_else():
    import inspect

    params = inspect.signature(diagnose).parameters
    assert not [p for p in params.values() if isinstance(p.default, (int, float)) and p.default is not None]
    losses = [1.099] * 6 + [1.09, 1.0, 0.9, 0.8, 0.72, 0.66, 0.62, 0.6]
    history = History(loss=per_step(losses, noise=0.002))
    assert "plateau" in rules(history) and "plateau" not in rules(history, knee=100.0)
    assert diagnose(history, Doctor(knee=100.0)) == diagnose(history, knee=100.0)
    with pytest.raises(corenn.InvalidHyperparameter, match="rising_epochs"):
        diagnose(history, rising_epochs=0)


def test_a_layer_whose_units_died_is_named_with_the_tutorial_s_remedies():
    rows = [{"step": 0, "1.relu": 0.05, "3.relu": 0.02}, {"step": 50, "1.relu": 0.6, "3.relu": 0.1},
            {"step": 100, "1.relu": 0.83, "3.relu": 0.12}]
    found = rules(History(loss=[2.3] * 5, series={"dead_units": rows}))
    f = found["dead_units"]
    assert f["evidence"]["dead"] == {"1.relu": 0.83} and "1.relu 83% (from 5% at step 0)" in f["problem"]
    assert all(word in f["advice"] for word in ("lower the learning rate", "he", "leaky_relu"))
    assert "dead_units" not in rules(History(series={"dead_units": rows}), dead=0.9)


def test_a_real_run_at_a_far_too_high_learning_rate_gets_the_dead_units_finding():
    found, doctor = doctor_run(dataset="digits", hidden=[64], optimizer="sgd:lr=10.0", epochs=1,
                               callbacks=["dead_units:every=5"])
    assert "1.relu" in found["dead_units"]["evidence"]["dead"]
