import math

import numpy as np
import pytest

import corenn
from corenn.testing import check_component, check_module_gradients
from corenn_elu import ELU


def test_elu_passes_the_conformance_kit():
    check_component(ELU)
    check_component(ELU(alpha=0.5))


def test_elu_values_follow_the_formula():
    x = np.array([[-2.0, -1.0, 0.0, 1e-9, 2.0]])
    y = ELU(alpha=1.5).forward(x)
    np.testing.assert_allclose(y, [[1.5 * (math.exp(-2) - 1), 1.5 * (math.exp(-1) - 1), 0.0, 1e-9, 2.0]], rtol=1e-14)


def test_elu_is_accurate_for_tiny_negative_inputs():
    # expm1, not exp(x) - 1: alpha * (e**x - 1) ~ alpha * x for tiny x
    np.testing.assert_allclose(ELU().forward(np.array([-1e-12])), [math.expm1(-1e-12)], rtol=1e-14)


def test_elu_gradient_is_one_for_positives_and_alpha_exp_x_for_negatives():
    act = ELU(alpha=2.0)
    act.forward(np.array([[-1.0, 0.0, 3.0]]))
    dx = act.backward(np.array([[1.0, 1.0, 5.0]]))
    np.testing.assert_allclose(dx, [[2.0 * math.exp(-1.0), 2.0, 5.0]], rtol=1e-14)
    check_module_gradients(ELU(alpha=0.7), np.linspace(-4, 4, 24).reshape(4, 6) + 0.05, training=None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elu_saturates_at_minus_alpha_and_never_overflows(dtype):
    act = ELU(alpha=0.5)
    with np.errstate(over="raise", invalid="raise"):
        y = act.forward(np.array([[-1000.0, 1000.0]], dtype=dtype))
        dx = act.backward(np.ones_like(y))
    assert y.dtype == dtype and dx.dtype == dtype
    np.testing.assert_array_equal(y, [[-0.5, 1000.0]])
    np.testing.assert_array_equal(dx, [[0.0, 1.0]])


def test_elu_rejects_a_negative_alpha():
    with pytest.raises(corenn.InvalidHyperparameter, match="alpha"):
        ELU(alpha=-1.0)
