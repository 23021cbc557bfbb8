import numpy as np
import pytest

from corenn.testing import check_component
from corenn.testing.optimizer import check_update_rule
from corenn_rmsprop import RMSProp


def test_rmsprop_passes_the_conformance_kit():
    check_component(RMSProp)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rmsprop_divides_by_the_root_of_a_moving_average_of_squares(dtype):
    lr, decay, eps = 0.01, 0.9, 1e-6

    def formula(x, dx, state, t):
        state["c"] = decay * state.get("c", np.zeros_like(x)) + (1 - decay) * dx**2
        return x - lr * dx / (np.sqrt(state["c"]) + eps)

    check_update_rule(RMSProp(lr=lr, decay=decay, eps=eps), formula, dtype=dtype)


def test_unlike_adagrad_the_rate_does_not_die_out():
    opt = RMSProp(lr=0.01, decay=0.9)
    x = [np.zeros(1)]
    for _ in range(200):
        before = x[0].copy()
        opt.step(x, [np.array([5.0])])
    # c -> dx**2, so the step tends to lr itself (AdaGrad's would be lr / sqrt(200))
    np.testing.assert_allclose(before - x[0], [0.01], rtol=1e-6)
