import math
import warnings

import numpy as np
import pytest

from corenn.testing import check_component, check_module_gradients
from corenn_sigmoid import Sigmoid


def sigma(v):
    return 1.0 / (1.0 + math.exp(-v))


def test_sigmoid_passes_the_conformance_kit():
    check_component(Sigmoid)


def test_sigmoid_values_follow_the_formula():
    x = np.array([[0.0, math.log(3.0), -math.log(3.0), 2.0, -5.0]])
    y = Sigmoid().forward(x)
    np.testing.assert_allclose(y, [[0.5, 0.75, 0.25, sigma(2.0), sigma(-5.0)]], rtol=1e-15)


def test_sigmoid_gradient_is_y_times_one_minus_y():
    act = Sigmoid()
    x = np.array([[0.0, math.log(3.0), -2.0]])
    act.forward(x)
    dx = act.backward(np.array([[1.0, 2.0, 1.0]]))
    np.testing.assert_allclose(dx, [[0.25, 2 * 0.75 * 0.25, sigma(-2.0) * (1 - sigma(-2.0))]], rtol=1e-14)
    check_module_gradients(Sigmoid(), np.linspace(-6, 6, 24).reshape(4, 6), training=None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_exactly_at_plus_minus_1000_without_warnings(dtype):
    act = Sigmoid()
    x = np.array([[-1000.0, 1000.0, -1e30, 1e30]], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = act.forward(x)
        dx = act.backward(np.ones_like(y))
    assert y.dtype == dtype and dx.dtype == dtype
    np.testing.assert_array_equal(y, [[0.0, 1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 0.0, 0.0]])


def test_sigmoid_keeps_relative_precision_in_the_negative_tail():
    # the naive 1 - sigmoid(-x) or (1 + tanh(x/2)) / 2 forms lose every digit here
    y = Sigmoid().forward(np.array([-30.0, -700.0]))
    np.testing.assert_allclose(y, [math.exp(-30.0) / (1 + math.exp(-30.0)), math.exp(-700.0)], rtol=1e-14)


def test_sigmoid_float32_stays_float32_and_matches_float64():
    x = np.random.default_rng(0).standard_normal((8, 5)) * 4
    y32 = Sigmoid().forward(x.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, Sigmoid().forward(x), rtol=1e-6)
