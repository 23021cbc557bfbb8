import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_l1 import L1


def test_l1_passes_the_conformance_kit():
    check_component(L1)


def test_penalty_is_strength_times_the_sum_of_absolute_values():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    reg = L1(strength=0.1)
    assert reg.penalty(w) == pytest.approx(0.1 * 3.5)
    np.testing.assert_allclose(reg.gradient(w), [[0.1, -0.1], [0.1, 0.0]])  # 0 at w = 0
    assert L1().strength == 1e-4


def test_gradient_keeps_dtype_and_can_write_into_a_buffer():
    w = np.array([3.0, -1.0, 0.0], dtype=np.float32)
    out = np.empty_like(w)
    assert L1(strength=0.5).gradient(w, out=out) is out
    np.testing.assert_array_equal(out, [0.5, -0.5, 0.0])
    assert L1(strength=0.5).gradient(w).dtype == np.float32


def test_the_pull_towards_zero_does_not_depend_on_the_size_of_a_weight():
    reg = L1(strength=0.01)
    np.testing.assert_allclose(reg.gradient(np.array([1e-3, 1e3])), [0.01, 0.01])


def test_negative_strength_is_rejected():
    with pytest.raises(corenn.InvalidHyperparameter, match="strength"):
        L1(strength=-0.5)
