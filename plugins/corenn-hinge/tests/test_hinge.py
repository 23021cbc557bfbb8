import numpy as np
import pytest

import corenn
from corenn.testing import ConformanceError, check_component
from corenn_hinge import Hinge

# CS231n's worked example: three images (cat, car, frog), three classes
SCORES = np.array([[3.2, 5.1, -1.7],
                   [1.3, 4.9, 2.0],
                   [2.2, 2.5, -3.1]])
LABELS = np.array([0, 1, 2])


def test_passes_the_conformance_kit():
    check_component(Hinge)


def test_is_registered_under_its_contract_name():
    assert corenn.create("loss", "hinge:margin=2.0").margin == 2.0
    assert corenn.describe("loss", "hinge").distribution == "corenn-hinge"


def test_cs231n_worked_example():
    # cat: max(0, 5.1-3.2+1) + max(0, -1.7-3.2+1) = 2.9; car: 0; frog: 6.3 + 6.6 = 12.9
    loss = Hinge()
    assert loss.forward(SCORES, LABELS) == pytest.approx((2.9 + 0.0 + 12.9) / 3)
    # gradient: +1/N on each violating class, -(number of violations)/N on the right class
    np.testing.assert_allclose(loss.backward(), np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3)


def test_matches_the_loop_definition_for_any_margin():
    rng = np.random.default_rng(0)
    scores, y = rng.standard_normal((9, 4)) * 2, rng.integers(0, 4, 9)
    for margin in (0.0, 0.5, 1.0, 3.0):
        want = np.mean([sum(max(0.0, scores[i, j] - scores[i, y[i]] + margin) for j in range(4) if j != y[i])
                        for i in range(9)])
        assert Hinge(margin=margin).forward(scores, y) == pytest.approx(want, rel=1e-12)


def test_correct_class_ahead_by_the_margin_costs_nothing():
    loss = Hinge(margin=1.0)
    assert loss.forward(np.array([[5.0, 3.9, -2.0]]), [0]) == 0.0
    np.testing.assert_array_equal(loss.backward(), 0)
    assert loss.forward(np.array([[5.0, 4.5, -2.0]]), [0]) == pytest.approx(0.5)


def test_float32_in_float32_out_and_extreme_scores():
    loss = Hinge()
    scores = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    assert loss.forward(scores, [1]) == pytest.approx(2e4 + 1 + 1e4 + 1)
    grad = loss.backward()
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [[1, -2, 1]])


def test_negative_margin_is_rejected():
    with pytest.raises(corenn.InvalidHyperparameter, match="margin"):
        Hinge(margin=-1.0)


def test_the_kit_catches_a_wrong_gradient():
    class WrongSign(Hinge):  # same loss, gradient pointing the wrong way
        def backward(self):
            return -super().backward()

    with pytest.raises(ConformanceError, match="check_gradient_float64"):
        check_component(WrongSign, "loss")
