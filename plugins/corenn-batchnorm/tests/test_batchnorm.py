import numpy as np
import pytest

import corenn
from corenn.testing import check_component, check_module_gradients
from corenn_batchnorm import BatchNorm


def _batch(n=256, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)) * [1.0, 10.0, 0.1] + [5.0, -3.0, 100.0]).astype(np.float32)


def test_batchnorm_passes_the_conformance_kit():
    check_component(BatchNorm)
    check_component(BatchNorm(num_features=6, momentum=0.5, eps=1e-3, dtype="float64"))


def test_training_output_has_zero_mean_and_unit_variance_per_feature():
    layer = BatchNorm(num_features=3, eps=1e-5)
    x = _batch()  # features with offsets up to 1000 standard deviations, in float32
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-4)
    var = x.astype(np.float64).var(axis=0)  # biased, as the layer uses: the output variance is 1 up to eps
    np.testing.assert_allclose(y.var(axis=0, dtype=np.float64), var / (var + 1e-5), rtol=1e-4)


def test_gamma_and_beta_scale_and_shift():
    layer = BatchNorm(num_features=3, dtype="float64")
    layer.params["gamma"][...] = [2.0, 0.5, 1.0]
    layer.params["beta"][...] = [1.0, 0.0, -4.0]
    y = layer.forward(_batch().astype(np.float64))
    np.testing.assert_allclose(y.mean(axis=0), [1, 0, -4], atol=1e-9)
    np.testing.assert_allclose(y.std(axis=0), [2, 0.5, 1], rtol=1e-3)


def test_running_averages_follow_the_momentum_formula():
    layer = BatchNorm(num_features=3, momentum=0.8, dtype="float64")
    np.testing.assert_array_equal(layer.buffers["running_mean"], 0)
    np.testing.assert_array_equal(layer.buffers["running_var"], 1)
    mean, var = np.zeros(3), np.ones(3)
    for seed in range(3):
        x = _batch(seed=seed).astype(np.float64)
        layer.forward(x, training=True)
        mean = 0.8 * mean + 0.2 * x.mean(axis=0)
        var = 0.8 * var + 0.2 * x.var(axis=0)  # biased: divided by N
        np.testing.assert_allclose(layer.buffers["running_mean"], mean, rtol=1e-12)
        np.testing.assert_allclose(layer.buffers["running_var"], var, rtol=1e-12)


def test_inference_uses_the_running_statistics():
    layer = BatchNorm(num_features=3, eps=1e-5, dtype="float64")
    layer.buffers["running_mean"][...] = [1.0, 2.0, 3.0]
    layer.buffers["running_var"][...] = [4.0, 9.0, 16.0]
    x = np.array([[3.0, 2.0, -1.0]])
    np.testing.assert_allclose(layer.forward(x, training=False),
                               [[2 / np.sqrt(4 + 1e-5), 0, -4 / np.sqrt(16 + 1e-5)]], rtol=1e-12)
    np.testing.assert_array_equal(layer.buffers["running_mean"], [1, 2, 3])


def test_gradients_at_training_and_inference_and_in_place():
    layer = BatchNorm(num_features=4, dtype="float64")
    layer.params["gamma"][...] = [0.5, 1.5, -1.0, 2.0]
    layer.params["beta"][...] = [0.1, 0.2, 0.3, 0.4]
    grads = dict(layer.grads)
    x = np.random.default_rng(2).standard_normal((7, 4)) * 3
    for training in (True, False):
        errors = check_module_gradients(layer, x, training=training)
        assert max(errors.values()) < 1e-6
        assert all(layer.grads[k] is grads[k] for k in grads)


def test_large_offsets_do_not_lose_precision():
    x = np.random.default_rng(0).standard_normal((64, 2)) + 1e6
    y = BatchNorm(num_features=2, dtype="float64").forward(x)
    np.testing.assert_allclose(y.std(axis=0), 1, rtol=1e-4)


@pytest.mark.parametrize("bad", [{"num_features": 0}, {"num_features": 3, "momentum": 1.5},
                                 {"num_features": 3, "eps": 0.0}, {"num_features": 3, "dtype": "int32"}])
def test_bad_hyperparameters_fail_at_construction(bad):
    with pytest.raises(corenn.InvalidHyperparameter):
        BatchNorm(**bad)
