"""`corenn check`: each sanity check passes on a sound setup and fails, with advice, where it should."""

import json
import math

import numpy as np
import pytest

import corenn
from corenn.cli import main
from corenn.registry import Registry
from corenn.run import RunConfig, load_data
from corenn_check import check_gradients, check_initial_loss, check_overfit, check_regularization, run_checks

SPIRAL = 'dataset = "spiral"\nhidden = [32]\noptimizer = "adam:lr=0.01"\n'


def spiral(**changes):
    cfg = RunConfig.from_mapping({"dataset": "spiral", "hidden": [32], "optimizer": "adam:lr=0.01", **changes})
    return cfg, load_data(cfg)[0]


def test_a_sound_setup_passes_every_check_with_its_numbers():
    cfg, data = spiral()
    initial, reg, grads, overfit = run_checks(cfg)
    assert initial.passed and abs(initial.numbers["loss"] - math.log(3)) < 0.25 * math.log(3)
    assert reg.passed and reg.numbers["total"] > reg.numbers["data_loss"] and "l2:strength=0.001" in reg.message
    assert grads.passed and set(grads.numbers["relative_errors"]) == {"0.dense.W", "0.dense.b", "2.dense.W", "2.dense.b"}
    assert max(grads.numbers["relative_errors"].values()) < 1e-5
    assert overfit.passed and overfit.numbers["train_acc"] == 1.0 and overfit.numbers["steps"] <= 300


def test_weights_initialized_far_too_large_fail_the_initial_loss_check():
    cfg, data = spiral(init="normal:std=10.0")
    check = check_initial_loss(cfg, data)
    assert check.passed is False and check.numbers["loss"] > 3 * math.log(3)
    assert "weights start too big" in check.advice


def test_the_hinge_loss_is_compared_with_c_minus_one_margins():
    cfg, data = spiral(loss="hinge", init="normal:std=0.001")  # scores ~0: every margin violated by exactly 1
    check = check_initial_loss(cfg, data)
    assert check.passed and check.numbers["expected"] == 2.0 and abs(check.numbers["loss"] - 2.0) < 0.01


def test_the_configured_regularizer_is_the_one_checked():
    cfg, data = spiral(regularizer="l2:strength=0.1")
    check = check_regularization(cfg, data)
    assert check.passed and "l2:strength=0.1" in check.message
    # the penalty is 0.5 * 0.1 * sum(W^2) over the dense weights
    assert check.numbers["penalty"] > 0.1


def test_a_model_that_cannot_memorize_20_samples_fails_the_overfit_check():
    cfg, data = spiral(optimizer="sgd:lr=0.000001")
    check = check_overfit(cfg, data, steps=50)
    assert check.passed is False and check.numbers["steps"] == 50 and check.numbers["train_acc"] < 1.0
    assert "raise the learning rate" in check.advice



@corenn.component
class WrongReLU(corenn.Module):
    """ReLU whose backward forgets the mask (a classic bug)."""

    name = "wrong_relu"

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, dy):
        return dy


class WrongPlugin:
    @staticmethod
    @corenn.hookimpl
    def corenn_activations():
        return [WrongReLU]


@pytest.fixture
def wrong_relu(monkeypatch):
    reg = Registry()
    monkeypatch.setattr(corenn.registry, "_registry", reg)
    corenn.register_plugin(WrongPlugin, name="wrong")
    return reg


def test_a_wrong_backward_fails_the_gradient_check(wrong_relu):
    cfg, data = spiral(activation="wrong_relu")
    check = check_gradients(cfg, data)
    assert check.passed is False and "relative error" in check.message and "backward()" in check.advice


def test_the_command_prints_pass_lines_and_exits_0_on_a_config(tmp_path, capsys):
    config = tmp_path / "spiral.toml"
    config.write_text(SPIRAL)
    assert main(["check", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 4 and "4 passed, 0 failed" in out and "ln(3)" in out


def test_the_command_exits_1_with_advice_when_a_check_fails(tmp_path, capsys):
    config = tmp_path / "spiral.toml"
    config.write_text(SPIRAL)
    code = main(["check", str(config), "--init", "normal:std=10.0", "--json"])
    results = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert code == 1
    assert results["initial loss"]["passed"] is False and results["initial loss"]["advice"]
    assert results["gradients"]["passed"] is True


def test_bad_options_are_one_line_errors(capsys):
    assert main(["check", "--dataset", "spirall"]) == 2
    assert "spiral" in capsys.readouterr().err
    assert main(["check", "--dataset", "spiral", "--samples", "0"]) == 2


def test_the_command_runs_on_the_default_data(capsys):
    assert main(["check", "--hidden", "16"]) == 0  # digits, the default model made small
    out = capsys.readouterr().out
    assert "dataset digits" in out and "ln(10)" in out and "4 passed" in out


def test_several_regularizers_are_checked_together_with_their_penalties_added():
    cfg, data = spiral(regularizer=["l2:strength=0.001", "l1:strength=0.001", "max_norm:max_value=3"])
    one, _ = spiral(regularizer="l2:strength=0.001")
    both, alone = check_regularization(cfg, data), check_regularization(one, data)
    assert both.passed and both.numbers["penalty"] > alone.numbers["penalty"] > 0
    assert "l2:strength=0.001 + l1:strength=0.001 + max_norm:max_value=3" in both.message
    grads = check_gradients(cfg, data)
    assert grads.passed and "with l2:strength=0.001 + l1" in grads.message


def test_a_constraint_alone_adds_no_penalty_and_is_skipped():
    cfg, data = spiral(regularizer=["max_norm:max_value=3"])
    assert check_regularization(cfg, data).passed is None
