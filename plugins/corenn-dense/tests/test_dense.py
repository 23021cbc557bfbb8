import numpy as np
import pytest

import corenn
from corenn.testing import check_component, check_module_gradients
from corenn_dense import Dense


def test_dense_passes_the_conformance_kit():
    check_component(Dense)


def test_dense_computes_x_w_plus_b_with_the_documented_shapes():
    layer = Dense(in_features=3, out_features=2, seed=0)
    assert layer.params["W"].shape == (3, 2) and layer.params["b"].shape == (2,)
    layer.params["W"][...] = [[1, 2], [3, 4], [5, 6]]
    layer.params["b"][...] = [0.5, -1]
    x = np.array([[1, 0, -1], [2, 1, 0]], dtype=np.float32)
    y = layer.forward(x)
    np.testing.assert_allclose(y, [[1 - 5 + 0.5, 2 - 6 - 1], [2 + 3 + 0.5, 4 + 4 - 1]])
    dy = np.array([[1, 0], [0, 2]], dtype=np.float32)
    dx = layer.backward(dy)
    np.testing.assert_allclose(layer.grads["W"], x.T @ dy)
    np.testing.assert_allclose(layer.grads["b"], [1, 2])
    np.testing.assert_allclose(dx, dy @ layer.params["W"].T)


def test_dense_draws_w_from_the_initializer_spec_and_zero_bias():
    he = Dense(in_features=400, out_features=300, seed=1)
    assert he.params["W"].dtype == np.float32
    # He: variance 2 / fan_in
    assert he.params["W"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.03)
    np.testing.assert_array_equal(he.params["b"], 0)
    small = Dense(in_features=400, out_features=300, weight_init="normal:std=0.01", seed=1) \
        if "normal" in corenn.available("initializer") else None
    if small is not None:
        assert small.params["W"].std() == pytest.approx(0.01, rel=0.03)
    const = Dense(in_features=2, out_features=3, weight_init="zeros", bias_init="zeros")
    np.testing.assert_array_equal(const.params["W"], np.zeros((2, 3)))


def test_the_same_seed_gives_the_same_weights():
    a, b = (Dense(in_features=5, out_features=4, seed=7) for _ in range(2))
    c = Dense(in_features=5, out_features=4, seed=8)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert not np.array_equal(a.params["W"], c.params["W"])


def test_backward_writes_into_the_same_grad_arrays():
    layer = Dense(in_features=4, out_features=3, seed=0)
    grads = dict(layer.grads)
    rng = np.random.default_rng(0)
    for _ in range(2):
        y = layer.forward(rng.standard_normal((6, 4)).astype(np.float32))
        layer.backward(np.ones_like(y))
        assert all(layer.grads[k] is grads[k] for k in grads)


def test_float64_layer_and_gradients():
    layer = Dense(in_features=3, out_features=2, dtype="float64", seed=0)
    x = np.random.default_rng(1).standard_normal((4, 3))
    assert layer.forward(x).dtype == np.float64
    errors = check_module_gradients(layer, x)
    assert set(errors) == {"input", "W", "b"} and max(errors.values()) < 1e-7


def test_only_the_weights_are_regularized():
    assert Dense.regularized == ("W",)


@pytest.mark.parametrize("bad", [{"in_features": 0, "out_features": 2}, {"in_features": 2, "out_features": 2.5},
                                 {"in_features": 2, "out_features": 2, "dtype": "float16"},
                                 {"in_features": 2, "out_features": 2, "weight_init": "no_such_init"}])
def test_bad_hyperparameters_fail_at_construction(bad):
    with pytest.raises(corenn.InvalidHyperparameter):
        Dense(**bad)


def test_wrong_width_names_the_layer_and_both_shapes():
    layer = Dense(in_features=3, out_features=2)
    with pytest.raises(corenn.InvalidInput, match=r"dense.*\(4, 5\).*\(N, 3\)"):
        layer.forward(np.ones((4, 5)))
