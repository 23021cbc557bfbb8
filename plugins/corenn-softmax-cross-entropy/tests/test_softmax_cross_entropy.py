import math

import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_softmax_cross_entropy import SoftmaxCrossEntropy


def reference(scores, y):
    """-log softmax in float64, straight from the definition (fine for moderate scores)."""
    s = np.asarray(scores, np.float64)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    onehot = np.eye(s.shape[1])[y]
    return -np.mean(np.log(p[np.arange(len(y)), y])), (p - onehot) / len(y)


def test_passes_the_conformance_kit():
    check_component(SoftmaxCrossEntropy)


def test_is_registered_under_its_contract_name():
    assert type(corenn.create("loss", "softmax_cross_entropy")) is SoftmaxCrossEntropy
    assert corenn.describe("loss", "softmax_cross_entropy").distribution == "corenn-softmax-cross-entropy"


def test_loss_and_gradient_match_the_definition():
    rng = np.random.default_rng(0)
    scores, y = rng.standard_normal((7, 5)) * 2, rng.integers(0, 5, 7)
    loss = SoftmaxCrossEntropy()
    want_loss, want_grad = reference(scores, y)
    assert loss.forward(scores, y) == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), want_grad, rtol=1e-10, atol=1e-15)


def test_hand_computed_example():
    # scores 1, 2, 3 and the right class is the last: -log(e^3 / (e + e^2 + e^3))
    value = SoftmaxCrossEntropy().forward(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
    assert value == pytest.approx(math.log(math.e + math.e**2 + math.e**3) - 3, rel=1e-12)


@pytest.mark.parametrize("classes", [2, 10, 100])
def test_equal_scores_give_ln_c_the_initial_loss_sanity_value(classes):
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.zeros((4, classes), np.float32), np.arange(4) % classes) == pytest.approx(math.log(classes))
    # small random scores (random small weights) stay close to ln(C)
    small = np.random.default_rng(1).standard_normal((500, classes)) * 1e-3
    assert loss.forward(small, np.arange(500) % classes) == pytest.approx(math.log(classes), abs=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scores_of_magnitude_1e4_are_exact_not_overflowing(dtype):
    loss = SoftmaxCrossEntropy()
    scores = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]], dtype=dtype)
    # right class far ahead: loss ~ 0; right class 1e4 behind the best: loss = 1e4
    assert loss.forward(scores[:1], [0]) == pytest.approx(0.0, abs=1e-6)
    assert loss.forward(scores[:1], [1]) == pytest.approx(1e4, rel=1e-6)
    value = loss.forward(scores, [0, 2])
    assert value == pytest.approx((0.0 + 2e4) / 2, rel=1e-6)
    grad = loss.backward()
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, [[0, 0, 0], [0.5, 0, -0.5]], atol=1e-6)


def test_adding_a_constant_to_a_row_changes_nothing():
    rng = np.random.default_rng(2)
    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss = SoftmaxCrossEntropy()
    a = loss.forward(scores, y)
    ga = loss.backward().copy()
    b = loss.forward(scores + rng.uniform(-50, 50, (6, 1)), y)
    assert b == pytest.approx(a, rel=1e-10)
    np.testing.assert_allclose(loss.backward(), ga, atol=1e-12)


def test_gradient_rows_sum_to_zero_and_buffer_is_reused():
    rng = np.random.default_rng(3)
    loss = SoftmaxCrossEntropy()
    loss.forward(rng.standard_normal((8, 3)).astype(np.float32), rng.integers(0, 3, 8))
    first = loss.backward()
    np.testing.assert_allclose(first.sum(axis=1), 0, atol=1e-7)
    loss.forward(rng.standard_normal((8, 3)).astype(np.float32), rng.integers(0, 3, 8))
    assert loss.backward() is first  # same shape and dtype: no new allocation
    scores, y = rng.standard_normal((2, 3)), np.array([0, 1])
    loss.forward(scores, y)  # a new shape gets a new, correct buffer
    np.testing.assert_allclose(loss.backward(), reference(scores, y)[1], atol=1e-15)


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(corenn.InvalidInput, match="forward"):
        SoftmaxCrossEntropy().backward()


def test_label_errors_name_the_loss_and_the_range():
    loss = SoftmaxCrossEntropy()
    with pytest.raises(corenn.InvalidInput, match=r"softmax_cross_entropy.*\[0, 3\)"):
        loss.forward(np.zeros((2, 3)), [0, 3])
    with pytest.raises(corenn.InvalidInput, match="softmax_cross_entropy.*3 labels for 2 samples"):
        loss.forward(np.zeros((2, 3)), [0, 1, 2])
