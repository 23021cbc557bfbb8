import math

import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_xavier import Xavier

FAN_IN, FAN_OUT = 1000, 500  # 500k draws: a sample variance is within ~0.5% of the true one


def draw(seed=0, **hyper):
    return Xavier(**hyper)((FAN_IN, FAN_OUT), np.random.default_rng(seed), np.float64)


def test_xavier_passes_the_conformance_kit():
    check_component(Xavier)
    check_component(Xavier(mode="fan_avg", distribution="uniform"))


def test_xavier_default_is_the_tutorials_randn_over_sqrt_fan_in():
    expected = np.random.default_rng(4).standard_normal((FAN_IN, FAN_OUT)) / math.sqrt(FAN_IN)
    np.testing.assert_allclose(draw(seed=4), expected, rtol=1e-14)


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
@pytest.mark.parametrize(("mode", "variance"), [
    ("fan_in", 1 / FAN_IN),
    ("fan_out", 1 / FAN_OUT),
    ("fan_avg", 2 / (FAN_IN + FAN_OUT)),  # Glorot & Bengio's variance
])
def test_xavier_variance_matches_the_formula_for_each_mode(mode, distribution, variance):
    w = draw(mode=mode, distribution=distribution)
    assert abs(w.mean()) < 5 * math.sqrt(variance / w.size)
    # the modes' variances differ by 33% or more; 2% cannot be met by the wrong one
    assert w.var() == pytest.approx(variance, rel=0.02)


def test_xavier_uniform_is_bounded_by_sqrt_3_var_and_flat():
    limit = math.sqrt(3 * 2 / (FAN_IN + FAN_OUT))  # Glorot's sqrt(6 / (fan_in + fan_out))
    w = draw(mode="fan_avg", distribution="uniform")
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit
    counts, _ = np.histogram(w, bins=10, range=(-limit, limit))
    assert counts.min() > 0.97 * w.size / 10 and counts.max() < 1.03 * w.size / 10
    kurtosis = (w**4).mean() / w.var() ** 2
    assert kurtosis == pytest.approx(1.8, rel=0.02)  # uniform: 9/5; a Gaussian would give 3


def test_xavier_normal_is_gaussian():
    w = draw()
    assert (w**4).mean() / w.var() ** 2 == pytest.approx(3.0, rel=0.03)


def test_xavier_fans_of_a_bias_and_of_a_receptive_field_shape():
    b = Xavier()((20000,), np.random.default_rng(0), np.float64)
    assert b.var() == pytest.approx(1 / 20000, rel=0.05)  # a vector's fan is its length
    k = Xavier()((40, 30, 5), np.random.default_rng(0), np.float64)
    assert k.var() == pytest.approx(1 / (40 * 5), rel=0.05)  # trailing axes multiply the fans


def test_xavier_float32_and_float64_agree_for_the_same_seed():
    w32 = Xavier(distribution="uniform")((30, 20), np.random.default_rng(9), np.float32)
    w64 = Xavier(distribution="uniform")((30, 20), np.random.default_rng(9), np.float64)
    assert w32.dtype == np.float32
    np.testing.assert_array_equal(w32, w64.astype(np.float32))


@pytest.mark.parametrize("bad", [{"mode": "fan_sum"}, {"distribution": "truncated"}])
def test_xavier_rejects_unknown_modes_and_distributions(bad):
    with pytest.raises(corenn.InvalidHyperparameter, match=next(iter(bad))):
        Xavier(**bad)
