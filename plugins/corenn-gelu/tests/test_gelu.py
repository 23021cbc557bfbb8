import math

import numpy as np
import pytest

import corenn
from corenn.testing import check_component, check_module_gradients
from corenn_gelu import GELU


def phi_cdf(v):
    return 0.5 * (1.0 + math.erf(v / math.sqrt(2.0)))


def gelu_tanh(v):
    return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3)))


def test_gelu_passes_the_conformance_kit_in_both_forms():
    check_component(GELU)
    check_component(GELU(approximate="tanh"))


def test_exact_gelu_is_x_times_the_normal_cdf():
    x = np.array([[0.0, 1.0, -1.0, 2.5, -3.0]])
    expected = [[v * phi_cdf(v) for v in x[0]]]
    np.testing.assert_allclose(GELU().forward(x), expected, rtol=1e-14)
    np.testing.assert_allclose(GELU().forward(np.array([1.0])), [0.8413447460685429], rtol=1e-15)


def test_tanh_gelu_follows_its_formula_and_stays_close_to_the_exact_form():
    x = np.linspace(-4, 4, 17)
    approx = GELU(approximate="tanh").forward(x)
    np.testing.assert_allclose(approx, [gelu_tanh(v) for v in x], rtol=1e-12, atol=1e-15)  # 1 + tanh cancels for x << 0
    exact = GELU().forward(x)
    assert 1e-5 < np.max(np.abs(approx - exact)) < 1e-3  # close, but a different function


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradient_passes_the_numeric_check(approximate):
    x = np.linspace(-4, 4, 24).reshape(4, 6)
    check_module_gradients(GELU(approximate=approximate), x, training=None)


def test_exact_gelu_gradient_is_cdf_plus_x_times_density():
    act = GELU()
    act.forward(np.array([0.0, 1.0]))
    density = math.exp(-0.5) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(act.backward(np.array([1.0, 1.0])), [0.5, phi_cdf(1.0) + density], rtol=1e-14)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_is_the_identity_for_large_x_and_zero_for_very_negative_x(approximate):
    act = GELU(approximate=approximate)
    y = act.forward(np.array([-1000.0, -40.0, 40.0, 1000.0]))
    dx = act.backward(np.ones(4))
    np.testing.assert_array_equal(y, [0.0, 0.0, 40.0, 1000.0])
    np.testing.assert_array_equal(dx, [0.0, 0.0, 1.0, 1.0])


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(corenn.InvalidHyperparameter, match="approximate"):
        GELU(approximate="sigmoid")
