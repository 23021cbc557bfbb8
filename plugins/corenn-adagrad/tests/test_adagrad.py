import numpy as np
import pytest

from corenn.testing import check_component
from corenn.testing.optimizer import check_update_rule
from corenn_adagrad import AdaGrad


def test_adagrad_passes_the_conformance_kit():
    check_component(AdaGrad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adagrad_divides_by_the_root_of_the_summed_squares(dtype):
    lr, eps = 0.05, 1e-6

    def formula(x, dx, state, t):
        state["c"] = state.get("c", np.zeros_like(x)) + dx**2
        return x - lr * dx / (np.sqrt(state["c"]) + eps)

    check_update_rule(AdaGrad(lr=lr, eps=eps), formula, dtype=dtype)


def test_the_rate_shrinks_as_one_over_root_t_under_a_constant_gradient():
    opt = AdaGrad(lr=0.1, eps=1e-12)
    x = [np.zeros(2)]
    sizes = []
    for _ in range(5):
        before = x[0].copy()
        opt.step(x, [np.array([3.0, 0.001])])
        sizes.append(before - x[0])
    # step t (from 1) has size lr / sqrt(t) whatever the gradient's scale
    np.testing.assert_allclose(sizes, [[0.1 / np.sqrt(t)] * 2 for t in range(1, 6)], rtol=1e-9)
