import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_max_norm import MaxNorm


def test_max_norm_passes_the_conformance_kit():
    check_component(MaxNorm)
    check_component(MaxNorm(max_value=0.5, axis=1))


def test_constrain_rescales_exactly_the_columns_above_max_value():
    w = np.array([[3.0, 0.6, 0.0],
                  [4.0, 0.8, 2.0]])  # column norms 5, 1, 2
    MaxNorm(max_value=2.0).constrain(w)
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), [2.0, 1.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(w[:, 0], [3.0 * 2 / 5, 4.0 * 2 / 5], rtol=1e-12)  # direction kept
    np.testing.assert_array_equal(w[:, 1:], [[0.6, 0.0], [0.8, 2.0]])  # at or under the bound: untouched


def test_axis_one_bounds_the_rows_and_float32_stays_float32():
    w = np.array([[3.0, 4.0], [0.3, 0.4]], dtype=np.float32)
    MaxNorm(max_value=1.0, axis=1).constrain(w)
    assert w.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), [1.0, 0.5], rtol=1e-6)


def test_no_penalty_and_no_gradient():
    reg = MaxNorm()
    w = np.full((3, 2), 10.0)
    assert reg.penalty(w) == 0.0
    np.testing.assert_array_equal(reg.gradient(w), 0)
    out = np.ones_like(w)
    assert reg.gradient(w, out=out) is out and not out.any()
    assert reg.max_value == 3.0 and reg.axis == 0


def test_an_axis_the_weights_lack_is_a_clear_error():
    with pytest.raises(corenn.InvalidInput, match="axis=2"):
        MaxNorm(axis=2).constrain(np.ones((2, 2)))


@pytest.mark.parametrize("bad", [{"max_value": 0.0}, {"max_value": -1.0}, {"axis": 0.5}])
def test_bad_hyperparameters_fail_at_construction(bad):
    with pytest.raises(corenn.InvalidHyperparameter):
        MaxNorm(**bad)
