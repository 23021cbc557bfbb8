import warnings

import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_standardize import Standardize

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 5)) * [0.01, 1, 10, 100, 1000] + [5, -5, 0, 1e3, 3]


def test_passes_the_conformance_kit():
    check_component(Standardize)


def test_registered_from_its_own_distribution():
    assert corenn.describe("preprocessor", "standardize").distribution == "corenn-standardize"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_mean_unit_variance_per_feature(dtype):
    data = X.astype(dtype)
    out = Standardize().fit_transform(data)
    assert out.dtype == dtype
    # float32 rounds 5 +- 0.01 to ~5e-7, i.e. ~5e-5 standard deviations of feature 0
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=tol)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=tol)
    ref = data.astype(np.float64)
    np.testing.assert_allclose(out, (ref - ref.mean(0)) / ref.std(0), rtol=tol, atol=tol)


def test_constant_features_are_left_at_zero_without_warnings():
    data = np.column_stack([X[:, 0], np.full(60, 0.1), np.zeros(60), np.full(60, -7.3)]).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            pre = Standardize().fit(data)
            out = pre.transform(data)
    np.testing.assert_array_equal(out[:, 1:], 0)  # exactly 0, even for 0.1 whose mean rounds
    np.testing.assert_array_equal(pre.state_dict()["scale"][1:], 1)
    # other data: the constant is subtracted, nothing divided
    np.testing.assert_allclose(pre.transform(data[:2] + 1)[:, 1:], 1, rtol=1e-6)


def test_other_data_use_the_training_statistics():
    pre = Standardize().fit(X)
    other = X[:7] * 3 + 50
    np.testing.assert_allclose(pre.transform(other), (other - X.mean(0)) / X.std(0), rtol=1e-10)
    np.testing.assert_allclose(pre.inverse_transform(pre.transform(other)), other, rtol=1e-10)


def test_images_are_standardized_per_pixel():
    images = RNG.uniform(0, 255, (30, 3, 2, 2))
    out = Standardize().fit_transform(images)
    assert out.shape == images.shape
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-12)
