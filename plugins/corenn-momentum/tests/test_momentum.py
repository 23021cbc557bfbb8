import numpy as np
import pytest

from corenn.testing import check_component
from corenn.testing.optimizer import check_update_rule
from corenn_momentum import Momentum


def test_momentum_passes_the_conformance_kit():
    check_component(Momentum)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_momentum_is_v_mu_v_minus_lr_dx_then_x_plus_v(dtype):
    lr, mu = 0.05, 0.8

    def formula(x, dx, state, t):
        v = state.get("v", np.zeros_like(x))
        v = mu * v - lr * dx
        state["v"] = v
        return x + v

    check_update_rule(Momentum(lr=lr, mu=mu), formula, dtype=dtype)


def test_the_tutorial_momentum_ramp_as_a_schedule():
    # mu from 0.5 to 0.99 (what the linear schedule gives); here written as a plain callable
    ramp = lambda t: 0.5 + (0.99 - 0.5) * min(t, 4) / 4  # noqa: E731

    def formula(x, dx, state, t):
        state["v"] = ramp(t) * state.get("v", 0.0) - 0.1 * dx
        return x + state["v"]

    opt = Momentum(lr=0.1, mu=ramp)
    check_update_rule(opt, formula, steps=6)
    assert opt.current("mu") == 0.99


def test_the_ball_keeps_rolling_when_the_slope_vanishes():
    opt = Momentum(lr=0.1, mu=0.9)
    x = [np.zeros(1)]
    opt.step(x, [np.ones(1)])          # v = -0.1
    opt.step(x, [np.zeros(1)])         # no force: v = 0.9 * v
    np.testing.assert_allclose(x[0], [-0.1 - 0.09])
    np.testing.assert_allclose(opt.state_dict()["slots"]["v"][0], [-0.09])
