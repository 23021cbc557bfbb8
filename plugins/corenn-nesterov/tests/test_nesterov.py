import numpy as np
import pytest

from corenn.testing import check_component
from corenn.testing.optimizer import check_update_rule
from corenn_nesterov import Nesterov


def test_nesterov_passes_the_conformance_kit():
    check_component(Nesterov)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nesterov_is_the_contracts_look_ahead_update(dtype):
    lr, mu = 0.05, 0.8

    def formula(x, dx, state, t):
        v_prev = state.get("v", np.zeros_like(x))
        v = mu * v_prev - lr * dx
        state["v"] = v
        return x + (-mu * v_prev + (1 + mu) * v)

    check_update_rule(Nesterov(lr=lr, mu=mu), formula, dtype=dtype)


def test_it_is_momentum_with_the_gradient_taken_at_the_look_ahead_point():
    # tutorial form on f(x) = 0.5 * a * x**2: x_ahead = x + mu*v; v = mu*v - lr*f'(x_ahead); x += v.
    # The implemented form tracks phi = x_ahead, so phi after each step is the tutorial's x + mu*v.
    a, lr, mu = 3.0, 0.1, 0.9
    x_t, v_t = 2.0, 0.0
    phi = [np.array([2.0])]
    opt = Nesterov(lr=lr, mu=mu)
    for _ in range(5):
        x_ahead = x_t + mu * v_t
        v_t = mu * v_t - lr * a * x_ahead
        x_t += v_t
        opt.step(phi, [a * phi[0]])
        np.testing.assert_allclose(phi[0], [x_t + mu * v_t], rtol=1e-12)
