import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_normal import Normal


def test_normal_passes_the_conformance_kit():
    check_component(Normal)
    check_component(Normal(mean=1.0, std=2.0))


def test_normal_default_is_the_tutorials_small_random_numbers():
    w = Normal()((1000, 500), np.random.default_rng(0), np.float64)
    # 500k draws: the sample std is within 0.3% of the true one with overwhelming probability
    assert abs(w.mean()) < 1e-4  # standard error 0.01 / sqrt(5e5) = 1.4e-5
    assert w.std() == pytest.approx(0.01, rel=0.01)


def test_normal_mean_and_std_are_honoured():
    w = Normal(mean=3.0, std=0.5)((1000, 500), np.random.default_rng(1), np.float64)
    assert w.mean() == pytest.approx(3.0, abs=0.005)
    assert w.std() == pytest.approx(0.5, rel=0.01)
    assert abs(((w - 3.0) ** 3).mean() / 0.5**3) < 0.02  # symmetric (skewness 0)
    assert ((w - 3.0) ** 4).mean() / 0.5**4 == pytest.approx(3.0, rel=0.03)  # Gaussian kurtosis


def test_normal_float32_and_float64_agree_for_the_same_seed():
    w32 = Normal(std=1.0)((50, 20), np.random.default_rng(3), np.float32)
    w64 = Normal(std=1.0)((50, 20), np.random.default_rng(3), np.float64)
    np.testing.assert_array_equal(w32, w64.astype(np.float32))


def test_normal_rejects_a_negative_std():
    with pytest.raises(corenn.InvalidHyperparameter, match="std"):
        Normal(std=-0.01)
