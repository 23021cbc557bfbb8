import numpy as np
import pytest

import corenn
from corenn.testing import check_component, check_module_gradients
from corenn_prelu import PReLU


def test_prelu_passes_the_conformance_kit():
    check_component(PReLU)
    check_component(PReLU(num_parameters=6, alpha=0.1))  # the kit's inputs are 6 wide


def test_prelu_has_a_learnable_alpha_of_shape_num_parameters():
    act = PReLU(alpha=0.3, num_parameters=4)
    assert act.params["alpha"].shape == (4,) and act.params["alpha"].dtype == np.float32
    np.testing.assert_allclose(act.params["alpha"], 0.3, rtol=1e-7)
    assert act.grads["alpha"].shape == (4,)
    assert PReLU(dtype="float64").params["alpha"].dtype == np.float64


def test_prelu_forward_and_input_gradient_use_alpha_for_non_positive_inputs():
    act = PReLU(alpha=0.25)
    x = np.array([[-2.0, 3.0], [-1.0, -4.0]])
    np.testing.assert_allclose(act.forward(x), [[-0.5, 3.0], [-0.25, -1.0]])
    dx = act.backward(np.array([[1.0, 1.0], [2.0, 0.5]]))
    np.testing.assert_allclose(dx, [[0.25, 1.0], [0.5, 0.125]])


def test_prelu_alpha_gradient_sums_dy_times_x_over_negative_inputs():
    x = np.array([[-2.0, 3.0], [-1.0, -4.0]])
    dy = np.array([[1.0, 1.0], [2.0, 0.5]])
    shared = PReLU(dtype="float64")
    shared.forward(x)
    shared.backward(dy)
    np.testing.assert_allclose(shared.grads["alpha"], [-2.0 * 1 - 1.0 * 2 - 4.0 * 0.5])  # = -6
    per_feature = PReLU(num_parameters=2, dtype="float64")
    per_feature.forward(x)
    per_feature.backward(dy)
    np.testing.assert_allclose(per_feature.grads["alpha"], [-2.0 - 2.0, -2.0])


def test_prelu_per_feature_slopes_broadcast_over_the_last_axis():
    act = PReLU(num_parameters=3)
    act.params["alpha"][:] = [0.0, 0.5, 1.0]
    x = -np.ones((2, 5, 3), dtype=np.float32)  # leading axes are all batch-like
    y = act.forward(x)
    assert y.dtype == np.float32 and y.shape == (2, 5, 3)
    np.testing.assert_array_equal(y, np.broadcast_to([-0.0, -0.5, -1.0], (2, 5, 3)))
    act.backward(np.ones_like(x))
    np.testing.assert_allclose(act.grads["alpha"], [-10.0, -10.0, -10.0])


def test_prelu_gradients_pass_the_numeric_check_for_shared_and_per_feature_slopes():
    x = np.random.default_rng(3).standard_normal((5, 4))
    for act in (PReLU(alpha=0.2, dtype="float64"), PReLU(alpha=0.2, num_parameters=4, dtype="float64")):
        act.params["alpha"][:] = np.linspace(0.1, 0.4, act.num_parameters)
        errors = check_module_gradients(act, x, training=None)
        assert set(errors) == {"input", "alpha"}


def test_prelu_grads_array_is_reused_across_steps():
    act = PReLU()
    grad = act.grads["alpha"]
    for seed in range(2):
        act.forward(np.random.default_rng(seed).standard_normal((3, 2)).astype(np.float32))
        act.backward(np.ones((3, 2), dtype=np.float32))
        assert act.grads["alpha"] is grad
    assert grad.dtype == np.float32 and grad[0] != 0


def test_prelu_outputs_keep_the_input_dtype_whatever_the_param_dtype():
    act = PReLU(dtype="float64")
    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    y = act.forward(x)
    dx = act.backward(np.ones_like(y))
    assert y.dtype == np.float32 and dx.dtype == np.float32
    assert act.grads["alpha"].dtype == np.float64


def test_prelu_rejects_an_input_whose_width_does_not_match_num_parameters():
    act = PReLU(num_parameters=3)
    with pytest.raises(corenn.InvalidInput, match=r"num_parameters=3.*\(4, 5\)"):
        act.forward(np.zeros((4, 5), dtype=np.float32))


@pytest.mark.parametrize("bad", [{"num_parameters": 0}, {"num_parameters": 1.5}, {"alpha": float("nan")}, {"dtype": "int32"}])
def test_prelu_rejects_bad_hyperparameters(bad):
    with pytest.raises(corenn.InvalidHyperparameter, match=next(iter(bad))):
        PReLU(**bad)
