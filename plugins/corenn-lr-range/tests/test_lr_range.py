"""`corenn lr-range`: the sweep's schedule, its suggestion on a real run, the four curves and the figure."""

import numpy as np
import pytest

from corenn.cli import main
from corenn.run import RunConfig
from corenn_lr_range import CURVE_FACTORS, ExponentialSweep, lr_sweep, plot_sweep

DIGITS = {"dataset": "digits", "hidden": [32]}


def test_the_learning_rate_grows_geometrically_from_start_to_end():
    sweep = ExponentialSweep(1e-6, 1.0, 7)
    rates = np.array([sweep(t) for t in range(7)])
    np.testing.assert_allclose(rates, np.logspace(-6, 0, 7))
    assert sweep(100) == pytest.approx(1.0)  # held at the end


@pytest.fixture(scope="module")
def digits_sweep():
    return lr_sweep(RunConfig.from_mapping({**DIGITS, "optimizer": "adam"}), steps=60, end=10.0, curves=True)


def test_the_sweep_stops_when_the_loss_blows_up_and_suggests_a_tenth_of_the_best_rate(digits_sweep):
    s = digits_sweep
    assert s.stopped in ("exploded", "diverged") and len(s.lrs) < 60 and s.lrs[-1] < 10.0
    assert np.all(np.diff(s.lrs) > 0) and s.lrs[0] == pytest.approx(1e-6)
    assert s.suggested == pytest.approx(s.minimum / 10)
    assert 1e-3 < s.suggested < 0.3  # adam on standardized digits: around 1e-2
    assert s.steepest is not None and s.steepest <= s.minimum
    low = int(np.argmin(np.abs(s.lrs - s.minimum)))
    assert s.smoothed[low] < 0.8 * s.smoothed[0]  # the loss fell on the way to the minimum ...
    assert s.smoothed[-1] > 1.5 * s.smoothed[low]  # ... and rose after it


def test_the_suggested_rate_trains_better_than_a_low_or_a_very_high_one(digits_sweep):
    curves = digits_sweep.curves
    assert list(curves) == list(CURVE_FACTORS)
    final = {name: (np.mean(losses[-10:]) if len(losses) == 60 else np.inf) for name, (rate, losses) in curves.items()}
    assert final["good"] < 0.5 * final["low"]
    assert final["good"] < final["high"] < final["very high"]
    assert curves["high"][0] == pytest.approx(10 * digits_sweep.suggested)


def test_the_figure_is_a_real_picture(tmp_path, digits_sweep):
    import matplotlib.image

    image = matplotlib.image.imread(plot_sweep(digits_sweep, tmp_path / "lr.png"))
    assert image.shape[1] > 1000 and image[..., :3].std() > 0.05


def test_the_command_prints_the_suggestion_and_writes_the_figure_for_a_config(tmp_path, capsys):
    config = tmp_path / "spiral.toml"
    config.write_text('dataset = "spiral"\nhidden = [32]\noptimizer = "adam"\n')
    assert main(["lr-range", str(config), "--steps", "40", "--end", "10", "--no-curves", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "suggested learning rate:" in out and "--optimizer adam:lr=" in out
    assert "regularization held at l2:strength=1e-06" in out
    assert (tmp_path / "lr-range.png").stat().st_size > 10_000


@pytest.mark.parametrize("args", [["--start", "0"], ["--start", "1", "--end", "0.1"], ["--steps", "3"]])
def test_a_bad_range_is_a_one_line_error(tmp_path, capsys, args):
    assert main(["lr-range", "--dataset", "spiral", *args, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: lr-range")


def test_the_command_runs_on_the_default_data(tmp_path, capsys):
    assert main(["lr-range", "--hidden", "16", "--steps", "40", "--end", "10", "--no-curves",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "suggested learning rate:" in out and "adam:lr=" in out  # digits with the default optimizer
    assert (tmp_path / "lr-range.png").is_file()


def test_the_sweep_trains_with_the_trainer_and_a_tiny_regularization_as_the_tutorial_advises(digits_sweep):
    import corenn
    from corenn.run import build_model, load_data

    cfg = RunConfig.from_mapping({**DIGITS, "optimizer": "adam", "regularizer": "l2:strength=0.1"})
    sweep = lr_sweep(cfg, steps=20, end=1e-3)
    assert sweep.regularizer == "l2:strength=1e-06"
    # the same steps by hand with corenn.Trainer: the same losses, bit for bit
    data, _ = load_data(cfg)
    held = RunConfig.from_mapping({**DIGITS, "optimizer": "adam", "regularizer": "l2:strength=1e-6"})
    from corenn_lr_range import ExponentialSweep as Rates

    trainer = corenn.Trainer(build_model(held, data.num_features, data.num_classes), loss=held.loss,
                             optimizer=corenn.create("optimizer", "adam", lr=Rates(1e-6, 1e-3, 20)),
                             regularizer=held.regularizer, batch_size=held.batch_size, epochs=1, seed=held.seed)
    trainer.fit(data.X_train, data.y_train)
    assert list(sweep.losses) == trainer.history.loss[:20]
    assert lr_sweep(cfg, steps=20, end=1e-3, regularizer="config").regularizer == "l2:strength=0.1"


def test_a_sweep_that_never_blows_up_warns_that_the_range_was_too_narrow_and_suggests_nothing(tmp_path, capsys):
    sweep = lr_sweep(RunConfig.from_mapping({**DIGITS, "optimizer": "adam"}), steps=20, end=0.1)
    assert sweep.stopped == "end" and "too narrow" in sweep.warning
    assert sweep.suggested is None and sweep.minimum == pytest.approx(sweep.lrs[-1], rel=0.5)
    assert main(["lr-range", "--dataset", "digits", "--hidden", "32", "--steps", "20", "--end", "0.1",
                 "--no-curves", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "warning: the loss never blew up up to lr 0.1: the range was too narrow" in out
    assert "still falling at the end" in out and "suggested learning rate" not in out
    assert main(["lr-range", "--dataset", "digits", "--hidden", "32", "--steps", "20", "--end", "1e-3",
                 "--no-curves", "--out", str(tmp_path)]) == 0
    assert "no suggestion: the loss never fell" in capsys.readouterr().out


def test_json_output_holds_the_sweep_and_the_suggestion(tmp_path, capsys):
    import json

    assert main(["lr-range", "--hidden", "16", "--steps", "40", "--end", "10", "--json", "--out", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["lrs"]) == len(doc["losses"]) < 40 and doc["stopped"] in ("exploded", "diverged")
    assert doc["suggested"] == pytest.approx(doc["minimum"] / 10)
    assert set(doc["curves"]) == {"low", "good", "high", "very high"}
    assert doc["regularizer"] == "l2:strength=1e-06" and doc["figure"].endswith("lr-range.png")


def test_a_config_with_several_regularizers_is_swept_holding_all_of_them(tmp_path, capsys):
    cfg = RunConfig.from_mapping({"dataset": "spiral", "hidden": [8], "regularizer": ["l2", "max_norm"]})
    sweep = lr_sweep(cfg, steps=10, regularizer="config")
    assert sweep.regularizer == ["l2", "max_norm"] and len(sweep.losses) == 10
    assert main(["lr-range", "--dataset", "spiral", "--hidden", "8", "--regularizer", "l2", "--regularizer",
                 "max_norm", "--sweep-regularizer", "config", "--steps", "10", "--no-curves", "--out",
                 str(tmp_path)]) == 0
    assert "regularization held at l2 + max_norm during the sweep" in capsys.readouterr().out
