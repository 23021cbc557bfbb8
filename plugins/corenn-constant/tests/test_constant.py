import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_constant import Constant


def test_constant_passes_the_conformance_kit():
    check_component(Constant)
    check_component(Constant(value=0.01))


def test_constant_fills_every_entry_with_the_value():
    w = Constant(value=0.25)((3, 5), dtype=np.float64)
    assert w.shape == (3, 5) and w.dtype == np.float64
    np.testing.assert_array_equal(w, np.full((3, 5), 0.25))
    b = Constant(value=0.01)((7,))
    assert b.dtype == np.float32 and np.all(b == np.float32(0.01))


def test_constant_default_is_zero_and_it_is_built_from_a_spec():
    assert not Constant()((2, 2)).any()
    np.testing.assert_array_equal(corenn.create("initializer", "constant:value=-1.5")((2,)), [-1.5, -1.5])


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), "one"])
def test_constant_rejects_a_non_finite_or_non_numeric_value(bad):
    with pytest.raises(corenn.InvalidHyperparameter, match="value"):
        Constant(value=bad)
