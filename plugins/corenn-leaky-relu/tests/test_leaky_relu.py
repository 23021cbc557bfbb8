import numpy as np
import pytest

import corenn
from corenn.testing import check_component, check_module_gradients
from corenn_leaky_relu import LeakyReLU


def test_leaky_relu_passes_the_conformance_kit():
    check_component(LeakyReLU)
    check_component(LeakyReLU(slope=0.3))


def test_leaky_relu_scales_negatives_by_the_slope_and_passes_positives():
    act = LeakyReLU(slope=0.1)
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]], dtype=np.float32)
    y = act.forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[-0.2, -0.05, 0.0, 0.5, 3.0]], rtol=1e-7)
    dx = act.backward(np.full_like(x, 2.0))
    np.testing.assert_allclose(dx, [[0.2, 0.2, 0.2, 2.0, 2.0]], rtol=1e-7)


def test_leaky_relu_default_slope_is_one_hundredth():
    assert LeakyReLU().slope == 0.01
    np.testing.assert_allclose(LeakyReLU().forward(np.array([-100.0, 100.0])), [-1.0, 100.0])


def test_leaky_relu_keeps_a_gradient_where_relu_has_none():
    act = LeakyReLU()
    act.forward(-np.ones((3, 4)))
    assert np.all(act.backward(np.ones((3, 4))) == 0.01)
    check_module_gradients(LeakyReLU(slope=0.2), np.linspace(-3, 3, 24).reshape(4, 6) + 0.05, training=None)


def test_leaky_relu_rejects_a_negative_slope():
    with pytest.raises(corenn.InvalidHyperparameter, match="slope"):
        LeakyReLU(slope=-0.1)
