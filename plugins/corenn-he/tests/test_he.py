import math

import numpy as np
import pytest

from corenn.testing import check_component
from corenn_he import He
from corenn_xavier import Xavier


def test_he_passes_the_conformance_kit():
    check_component(He)
    check_component(He(mode="fan_out", distribution="uniform"))


def test_he_default_is_the_tutorials_randn_over_sqrt_half_fan_in():
    expected = np.random.default_rng(2).standard_normal((600, 300)) / math.sqrt(600 / 2)
    np.testing.assert_allclose(He()((600, 300), np.random.default_rng(2), np.float64), expected, rtol=1e-14)


@pytest.mark.parametrize(("hyper", "variance"), [
    ({}, 2 / 1000),
    ({"distribution": "uniform"}, 2 / 1000),
    ({"mode": "fan_out"}, 2 / 500),
    ({"mode": "fan_avg", "distribution": "uniform"}, 4 / 1500),
])
def test_he_variance_is_twice_xaviers(hyper, variance):
    w = He(**hyper)((1000, 500), np.random.default_rng(1), np.float64)
    # 500k draws: the sample variance is within 0.5%; the modes and xavier's 1/fan differ by 33% or more
    assert w.var() == pytest.approx(variance, rel=0.02)
    assert abs(w.mean()) < 5 * math.sqrt(variance / w.size)
    if hyper.get("distribution") == "uniform":
        assert np.abs(w).max() <= math.sqrt(3 * variance)


def relu_depth_profile(init, layers=10, width=400, seed=0):
    """The tutorial's experiment: std of the pre-activations of each layer of a deep ReLU net."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((200, width))
    stds = []
    for _ in range(layers):
        z = h @ init((width, width), rng, np.float64)
        stds.append(z.std())
        h = np.maximum(z, 0)
    return np.array(stds)


def test_he_keeps_a_deep_relu_networks_activations_at_scale_where_xavier_lets_them_vanish():
    he, xavier = relu_depth_profile(He()), relu_depth_profile(Xavier())
    assert 0.7 < he[-1] / he[0] < 1.4
    # xavier halves the variance at every ReLU: std falls by sqrt(2) per layer, 2**-4.5 over 9
    assert xavier[-1] / xavier[0] == pytest.approx(2**-4.5, rel=0.3)
