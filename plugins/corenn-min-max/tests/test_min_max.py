import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_min_max import MinMax

RNG = np.random.default_rng(0)
X = RNG.uniform(0, 255, (40, 4)) * [1, 0.1, 10, 2] - [0, 5, 100, 3]


def test_passes_the_conformance_kit():
    check_component(MinMax)
    check_component(MinMax(low=0.0, high=1.0))


def test_registered_from_its_own_distribution():
    assert corenn.describe("preprocessor", "min_max").distribution == "corenn-min-max"
    assert [h.name for h in corenn.describe("preprocessor", "min_max").hyperparameters] == ["low", "high"]


@pytest.mark.parametrize(("low", "high"), [(-1.0, 1.0), (0.0, 1.0), (2.0, 7.5)])
def test_training_range_maps_onto_low_high(low, high):
    pre = MinMax(low=low, high=high).fit(X)
    out = pre.transform(X)
    np.testing.assert_allclose(out.min(axis=0), low, atol=1e-12)
    np.testing.assert_allclose(out.max(axis=0), high, atol=1e-12)
    want = low + (X - X.min(0)) * (high - low) / (X.max(0) - X.min(0))
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


def test_other_data_may_fall_outside_the_range():
    pre = MinMax().fit(X)
    beyond = pre.transform(X.max(axis=0, keepdims=True) + (X.max(0) - X.min(0)))
    np.testing.assert_allclose(beyond, 3.0)  # one range past the max: -1 + 2 * 2


def test_constant_features_map_to_the_middle_of_the_range():
    data = np.column_stack([X[:, 0], np.full(40, 4.2)]).astype(np.float32)
    pre = MinMax(low=0.0, high=10.0).fit(data)
    out = pre.transform(data)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 1], 5.0)
    np.testing.assert_allclose(pre.inverse_transform(out), data, rtol=1e-6)


def test_low_must_be_below_high():
    for low, high in ((1.0, 1.0), (2.0, -1.0)):
        with pytest.raises(corenn.InvalidHyperparameter, match="high"):
            MinMax(low=low, high=high)
    with pytest.raises(corenn.InvalidHyperparameter, match="low"):
        MinMax(low=float("nan"))
    with pytest.raises(corenn.InvalidHyperparameter):
        corenn.create("preprocessor", "min_max:low=1,high=0")
