import numpy as np
import pytest

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
