import numpy as np
import pytest

import corenn
from corenn.testing import check_component, check_module_gradients
from corenn_maxout import Maxout


def test_maxout_passes_the_conformance_kit():
    check_component(Maxout)
    check_component(Maxout(k=3))


def test_maxout_takes_the_max_of_each_group_of_consecutive_features():
    x = np.array([[1.0, 5.0, 3.0, 2.0, -1.0, -4.0]], dtype=np.float32)
    y2 = Maxout(k=2).forward(x)
    assert y2.dtype == np.float32
    np.testing.assert_array_equal(y2, [[5.0, 3.0, -1.0]])
    np.testing.assert_array_equal(Maxout(k=3).forward(x), [[5.0, 2.0]])
    np.testing.assert_array_equal(Maxout(k=6).forward(x), [[5.0]])


def test_maxout_routes_the_gradient_only_to_each_groups_argmax():
    act = Maxout(k=2)
    act.forward(np.array([[1.0, 5.0, 3.0, 2.0, -1.0, -4.0], [0.0, -1.0, 7.0, 8.0, 2.0, 2.0]]))
    dx = act.backward(np.array([[10.0, 20.0, 30.0], [1.0, 2.0, 3.0]]))
    # ties (2.0, 2.0) send the gradient to the first of the tied entries only
    np.testing.assert_array_equal(dx, [[0, 10, 20, 0, 30, 0], [1, 0, 0, 2, 3, 0]])


def test_maxout_gradient_passes_the_numeric_check():
    x = np.random.default_rng(0).standard_normal((4, 12))
    check_module_gradients(Maxout(k=3), x, training=None)
    check_module_gradients(Maxout(k=4), x, training=None)


def test_maxout_works_on_any_number_of_leading_axes():
    x = np.random.default_rng(1).standard_normal((2, 3, 8))
    act = Maxout(k=4)
    y = act.forward(x)
    np.testing.assert_array_equal(y, x.reshape(2, 3, 2, 4).max(axis=-1))
    assert act.backward(np.ones_like(y)).shape == x.shape


def test_maxout_rejects_a_width_not_divisible_by_k():
    with pytest.raises(corenn.InvalidInput, match=r"\(2, 6\).*k=4"):
        Maxout(k=4).forward(np.zeros((2, 6)))


def test_maxout_rejects_a_k_below_one():
    with pytest.raises(corenn.InvalidHyperparameter, match="k"):
        Maxout(k=0)
