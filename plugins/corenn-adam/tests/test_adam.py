import numpy as np
import pytest

from corenn.optim import Packed
from corenn.testing import check_component
from corenn.testing.optimizer import check_update_rule
from corenn_adam import Adam


def test_adam_passes_the_conformance_kit():
    check_component(Adam)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_is_bias_corrected_momentum_over_rms(dtype):
    lr, beta1, beta2, eps = 0.01, 0.8, 0.95, 1e-6

    def formula(x, dx, state, t):
        t = t + 1  # counted from 1
        state["m"] = beta1 * state.get("m", np.zeros_like(x)) + (1 - beta1) * dx
        state["v"] = beta2 * state.get("v", np.zeros_like(x)) + (1 - beta2) * dx**2
        mhat = state["m"] / (1 - beta1**t)
        vhat = state["v"] / (1 - beta2**t)
        return x - lr * mhat / (np.sqrt(vhat) + eps)

    check_update_rule(Adam(lr=lr, beta1=beta1, beta2=beta2, eps=eps), formula, dtype=dtype)


def test_bias_correction_makes_the_first_step_lr_in_every_coordinate():
    opt = Adam(lr=0.001)
    x = [np.zeros(3)]
    opt.step(x, [np.array([1e-4, -2.0, 300.0])])
    np.testing.assert_allclose(x[0], [-0.001, 0.001, -0.001], rtol=1e-3)


class PerParameterAdam(Adam):
    """Adam that keeps to the per-parameter update (it overrides update, not update_packed)."""

    def update(self, x, dx, slots, scratch, hp):
        super().update(x, dx, slots, scratch, hp)


@pytest.mark.parametrize("block_bytes", [None, 40])  # the default (one block) and blocks that cut rows
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_packed_step_gives_the_per_parameter_numbers_bit_for_bit(dtype, block_bytes, monkeypatch):
    if block_bytes is not None:
        monkeypatch.setattr(Packed, "BLOCK_BYTES", block_bytes)
    shapes = [(5, 3), (3,), (2, 2, 2), ()]
    runs = []
    for cls in (Adam, PerParameterAdam):
        rng, grads = np.random.default_rng(0), np.random.default_rng(1)
        opt, x = cls(lr=0.01), [rng.standard_normal(s).astype(dtype) for s in shapes]
        for step in range(6):
            if step == 3:  # a checkpoint round trip midway continues exactly
                state = opt.state_dict()
                opt = cls(lr=0.01)
                opt.load_state_dict(state)
            opt.step(x, [grads.standard_normal(s).astype(dtype) for s in shapes])
        runs.append((x, opt.state_dict()))
    assert Adam(lr=0.01)._has_packed_update() and not PerParameterAdam(lr=0.01)._has_packed_update()
    (x1, s1), (x2, s2) = runs
    for a, b in zip(x1, x2):
        np.testing.assert_array_equal(a, b)
    for k in ("m", "v"):
        for a, b in zip(s1["slots"][k], s2["slots"][k]):
            assert a.shape == b.shape and a.dtype == b.dtype == dtype
            np.testing.assert_array_equal(a, b)
    assert s1["steps"] == s2["steps"] == 6
