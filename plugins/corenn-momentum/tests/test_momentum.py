import numpy as np
import pytest

from corenn.optim import Packed
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


class PerParameterMomentum(Momentum):
    """Momentum that keeps to the per-parameter update (it overrides update, not update_packed)."""

    def update(self, x, dx, slots, scratch, hp):
        super().update(x, dx, slots, scratch, hp)


@pytest.mark.parametrize("block_bytes", [None, 40])  # the default (one block) and blocks that cut rows
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_packed_step_gives_the_per_parameter_numbers_bit_for_bit(dtype, block_bytes, monkeypatch):
    if block_bytes is not None:
        monkeypatch.setattr(Packed, "BLOCK_BYTES", block_bytes)
    shapes = [(5, 3), (3,), (2, 2, 2), ()]
    runs = []
    for cls in (Momentum, PerParameterMomentum):
        rng, grads = np.random.default_rng(0), np.random.default_rng(1)
        opt, x = cls(lr=0.05, mu=0.8), [rng.standard_normal(s).astype(dtype) for s in shapes]
        for step in range(6):
            if step == 3:  # a checkpoint round trip midway continues exactly
                state = opt.state_dict()
                opt = cls(lr=0.05, mu=0.8)
                opt.load_state_dict(state)
            opt.step(x, [grads.standard_normal(s).astype(dtype) for s in shapes])
        runs.append((x, opt.state_dict()["slots"]["v"]))
    assert Momentum()._has_packed_update() and not PerParameterMomentum()._has_packed_update()
    (x1, v1), (x2, v2) = runs
    for a, b in zip(x1 + v1, x2 + v2):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)
