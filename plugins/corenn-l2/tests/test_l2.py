import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_l2 import L2


def test_l2_passes_the_conformance_kit():
    check_component(L2)


def test_penalty_is_half_strength_times_the_sum_of_squares():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    reg = L2(strength=0.1)
    assert reg.penalty(w) == pytest.approx(0.5 * 0.1 * (1 + 4 + 0.25))
    np.testing.assert_allclose(reg.gradient(w), 0.1 * w)
    assert L2().strength == 1e-4


def test_gradient_keeps_dtype_and_can_write_into_a_buffer():
    w = np.array([3.0, -1.0], dtype=np.float32)
    out = np.empty_like(w)
    assert L2(strength=2.0).gradient(w, out=out) is out
    np.testing.assert_array_equal(out, [6.0, -2.0])
    assert L2(strength=2.0).gradient(w).dtype == np.float32


def test_constrain_leaves_the_weights_alone():
    w = np.array([100.0, -100.0])
    L2(strength=1.0).constrain(w)
    np.testing.assert_array_equal(w, [100.0, -100.0])


@pytest.mark.parametrize("bad", [-1e-3, float("nan"), "big"])
def test_negative_or_non_numeric_strength_is_rejected(bad):
    with pytest.raises(corenn.InvalidHyperparameter, match="strength"):
        L2(strength=bad)
