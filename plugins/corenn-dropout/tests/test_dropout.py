import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_dropout import Dropout

X = np.full((400, 250), 2.0, dtype=np.float32)


def test_dropout_passes_the_conformance_kit():
    check_component(Dropout)
    check_component(Dropout(keep_prob=0.8, mode="vanilla"))


@pytest.mark.parametrize("keep_prob", [0.2, 0.5, 0.8])
def test_inverted_dropout_keeps_a_fraction_keep_prob_scaled_by_one_over_keep_prob(keep_prob):
    layer = Dropout(keep_prob=keep_prob, seed=0)
    y = layer.forward(X, training=True)
    kept = y != 0
    assert kept.mean() == pytest.approx(keep_prob, abs=0.01)
    np.testing.assert_allclose(y[kept], 2.0 / keep_prob, rtol=1e-6)
    # the expected output at training equals the (untouched) output at inference
    assert y.mean() == pytest.approx(2.0, rel=0.03)
    assert layer.forward(X, training=False) is X


@pytest.mark.parametrize("keep_prob", [0.3, 0.5])
def test_vanilla_dropout_masks_at_training_and_scales_by_keep_prob_at_inference(keep_prob):
    layer = Dropout(keep_prob=keep_prob, mode="vanilla", seed=0)
    y = layer.forward(X, training=True)
    kept = y != 0
    assert kept.mean() == pytest.approx(keep_prob, abs=0.01)
    np.testing.assert_array_equal(y[kept], 2.0)
    test = layer.forward(X, training=False)
    np.testing.assert_allclose(test, 2.0 * keep_prob, rtol=1e-6)
    assert y.mean() == pytest.approx(test.mean(), rel=0.03)
    np.testing.assert_allclose(layer.backward(np.ones_like(X)), keep_prob, rtol=1e-6)


def test_backward_uses_the_mask_of_the_last_forward():
    layer = Dropout(keep_prob=0.5, seed=3)
    x = np.random.default_rng(0).standard_normal((8, 5))
    y = layer.forward(x)
    factor = np.where(y != 0, 2.0, 0.0)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), factor)
    assert layer.forward(x).dtype == np.float64


def test_masks_come_from_the_rng_attribute():
    a, b = Dropout(seed=5), Dropout(seed=5)
    np.testing.assert_array_equal(a.forward(X), b.forward(X))
    first, second = a.forward(X), a.forward(X)
    assert not np.array_equal(first, second)  # a fresh mask each call
    a.rng, b.rng = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_array_equal(a.forward(X[:3]), b.forward(X[:3]))  # smaller batch: reused buffer


def test_keep_prob_one_is_the_identity():
    layer = Dropout(keep_prob=1.0, seed=0)
    np.testing.assert_array_equal(layer.forward(X), X)


@pytest.mark.parametrize("bad", [{"keep_prob": 0.0}, {"keep_prob": 1.5}, {"keep_prob": True}, {"mode": "scaled"}])
def test_bad_hyperparameters_fail_at_construction(bad):
    with pytest.raises(corenn.InvalidHyperparameter):
        Dropout(**bad)
