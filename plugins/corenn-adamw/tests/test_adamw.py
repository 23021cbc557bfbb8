import numpy as np
import pytest

from corenn.testing import check_component
from corenn.testing.optimizer import check_update_rule
from corenn_adamw import AdamW


def test_adamw_passes_the_conformance_kit():
    check_component(AdamW)


def test_defaults_are_those_of_loshchilov_and_hutter_as_pytorch_has_them():
    opt = AdamW()
    assert (opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay) == (0.001, 0.9, 0.999, 1e-8, 0.01)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adamw_decays_the_weights_apart_from_the_adam_step(dtype):
    lr, beta1, beta2, eps, wd = 0.01, 0.8, 0.95, 1e-6, 0.1

    def formula(x, dx, state, t):
        t = t + 1
        x = x * (1 - lr * wd)
        state["m"] = beta1 * state.get("m", np.zeros_like(x)) + (1 - beta1) * dx
        state["v"] = beta2 * state.get("v", np.zeros_like(x)) + (1 - beta2) * dx**2
        return x - lr * (state["m"] / (1 - beta1**t)) / (np.sqrt(state["v"] / (1 - beta2**t)) + eps)

    check_update_rule(AdamW(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=wd), formula, dtype=dtype)


def test_the_decay_does_not_pass_through_the_gradient_scaling():
    # zero gradients: Adam would not move; AdamW shrinks x by (1 - lr*wd) per step
    opt = AdamW(lr=0.1, weight_decay=0.5)
    x = [np.array([2.0, -4.0])]
    for _ in range(3):
        opt.step(x, [np.zeros(2)])
    np.testing.assert_allclose(x[0], np.array([2.0, -4.0]) * 0.95**3, rtol=1e-12)
    np.testing.assert_array_equal(opt.state_dict()["slots"]["m"][0], [0.0, 0.0])


def test_weight_decay_must_be_non_negative():
    import corenn

    with pytest.raises(corenn.InvalidHyperparameter, match="weight_decay"):
        AdamW(weight_decay=-0.1)
