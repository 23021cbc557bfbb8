"""SGD: x -= lr * dx, with a number or a schedule as lr."""

import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn.testing.optimizer import check_update_rule
from corenn_sgd import SGD


def test_sgd_passes_the_conformance_kit():
    check_component(SGD)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_is_x_minus_lr_dx(dtype):
    lr = 0.05

    def formula(x, dx, state, t):
        return x - lr * dx

    check_update_rule(SGD(lr=lr), formula, dtype=dtype)


def test_a_scheduled_lr_is_evaluated_at_the_step_counter_and_logged_by_current():
    opt = SGD(lr=lambda t: 0.1 / (1 + t))

    def formula(x, dx, state, t):
        return x - 0.1 / (1 + t) * dx

    check_update_rule(opt, formula, steps=4)
    assert opt.steps == 4
    assert opt.current("lr") == pytest.approx(0.1 / 5)


def test_a_scheduled_lr_may_reach_zero_but_below_zero_fails_when_reached_naming_the_step():
    opt = SGD(lr=lambda t: 0.1 - 0.05 * t)
    x, g = [np.ones(3)], [np.ones(3)]
    opt.step(x, g)
    opt.step(x, g)
    before = x[0].copy()
    opt.step(x, g)  # lr = 0 at step 2 (the end of a decay to 0, the start of a warmup): no update
    np.testing.assert_array_equal(x[0], before)
    with pytest.raises(corenn.InvalidHyperparameter, match=r"sgd: lr=-0.05\d* .*must be in \[0, inf\).*step 3"):
        opt.step(x, g)
    with pytest.raises(corenn.InvalidHyperparameter, match="lr=0"):
        SGD(lr=0.0)  # a constant lr of 0 is a mistake


def test_sgd_accepts_a_schedule_spec_when_a_schedule_plugin_is_installed():
    if "step" not in corenn.available("schedule"):
        pytest.skip("corenn-step is not installed")
    opt = corenn.create("optimizer", "sgd:lr='step:initial=0.1,factor=0.5,every=2'")
    x, g = [np.zeros(2)], [np.ones(2)]
    lrs = []
    for _ in range(5):
        lrs.append(opt.current("lr"))
        opt.step(x, g)
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.025]
    np.testing.assert_allclose(x[0], -sum(lrs))
