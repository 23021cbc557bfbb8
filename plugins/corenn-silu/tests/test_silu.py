import math

import numpy as np
from corenn.testing import check_component, check_module_gradients
from corenn_silu import SiLU


def silu(v):
    return v / (1.0 + math.exp(-v))


def test_silu_passes_the_conformance_kit():
    check_component(SiLU)


def test_silu_values_follow_the_formula():
    x = np.array([[0.0, 1.0, -1.0, 2.5, -30.0]])
    np.testing.assert_allclose(SiLU().forward(x), [[0.0, silu(1.0), silu(-1.0), silu(2.5), silu(-30.0)]], rtol=1e-14)


def test_silu_gradient_follows_the_formula_and_the_numeric_check():
    act = SiLU()
    act.forward(np.array([[0.0, 2.0]]))
    s = 1 / (1 + math.exp(-2.0))
    np.testing.assert_allclose(act.backward(np.array([[1.0, 1.0]])), [[0.5, s * (1 + 2.0 * (1 - s))]], rtol=1e-14)
    check_module_gradients(SiLU(), np.linspace(-5, 5, 24).reshape(4, 6), training=None)


def test_silu_has_its_minimum_near_minus_1_278():
    x = np.linspace(-3, 1, 40001)
    y = SiLU().forward(x)
    assert abs(x[np.argmin(y)] - (-1.2785)) < 1e-3
    assert abs(y.min() - (-0.27846)) < 1e-4


def test_silu_is_the_identity_for_large_x_and_zero_for_very_negative_x():
    # (the conformance kit checks that |x| = 1000 overflows nowhere, in both dtypes)
    act = SiLU()
    np.testing.assert_array_equal(act.forward(np.array([-1000.0, 40.0, 1000.0], dtype=np.float32)), [0.0, 40.0, 1000.0])
    np.testing.assert_array_equal(act.backward(np.ones(3, dtype=np.float32)), [0.0, 1.0, 1.0])
