import math

import numpy as np

from corenn.testing import check_component, check_module_gradients
from corenn_tanh import Tanh


def test_tanh_passes_the_conformance_kit():
    check_component(Tanh)


def test_tanh_values_follow_the_formula():
    # tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6
    x = np.array([[0.0, math.log(2.0), -math.log(2.0), 1.5]])
    y = Tanh().forward(x)
    np.testing.assert_allclose(y, [[0.0, 0.6, -0.6, (math.exp(3) - 1) / (math.exp(3) + 1)]], rtol=1e-14, atol=1e-300)


def test_tanh_equals_twice_the_sigmoid_of_2x_minus_one():
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(Tanh().forward(x), 2 / (1 + np.exp(-2 * x)) - 1, rtol=1e-12, atol=1e-15)


def test_tanh_gradient_is_one_minus_y_squared():
    act = Tanh()
    act.forward(np.array([[0.0, math.log(2.0), 30.0]]))
    dx = act.backward(np.array([[2.0, 1.0, 1.0]]))
    np.testing.assert_allclose(dx, [[2.0, 1 - 0.36, 0.0]], rtol=1e-14, atol=1e-300)
    check_module_gradients(Tanh(), np.linspace(-3, 3, 24).reshape(4, 6), training=None)


def test_tanh_saturates_at_plus_minus_one_and_keeps_float32():
    act = Tanh()
    y = act.forward(np.array([[-1000.0, 1000.0]], dtype=np.float32))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[-1.0, 1.0]])
    np.testing.assert_array_equal(act.backward(np.ones_like(y)), [[0.0, 0.0]])
