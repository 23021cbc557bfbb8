"""Rows that are flattened images (``Data.sample_shape``) and preprocessors that work on images."""

import numpy as np
import pytest

import corenn
from corenn.preprocessing import apply_preprocessors, fit_preprocessors, preprocess_data


def images_as_rows(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 3, 4, 5)) + np.array([1.0, -2.0, 5.0]).reshape(3, 1, 1)).astype(np.float32)


def test_an_image_only_preprocessor_is_fitted_on_the_declared_images_and_gives_back_rows():
    images = images_as_rows(30)
    rows = images.reshape(30, -1)
    fitted = fit_preprocessors(["mean_subtraction:axis=channel"], rows, sample_shape=(3, 4, 5))
    np.testing.assert_allclose(fitted[0].stat("mean"), images.astype(np.float64).mean(axis=(0, 2, 3)), rtol=1e-12)
    out = apply_preprocessors(fitted, rows[:7])
    assert out.shape == (7, 60) and out.dtype == np.float32
    np.testing.assert_array_equal(out, fitted[0].transform(images[:7]).reshape(7, 60))
    np.testing.assert_array_equal(apply_preprocessors(fitted, images[:7]), fitted[0].transform(images[:7]))


def test_preprocessors_that_take_rows_still_see_rows():
    rows = images_as_rows(30).reshape(30, -1)
    fitted = fit_preprocessors(["mean_subtraction", "mean_subtraction:axis=channel"], rows, sample_shape=(3, 4, 5))
    assert fitted[0].feature_shape == (60,) and fitted[1].feature_shape == (3, 4, 5)


def test_preprocess_data_uses_and_keeps_the_datas_sample_shape():
    X = images_as_rows(60, seed=1).reshape(60, -1)
    y = np.arange(60) % 3
    data = corenn.Data(X[:40], y[:40], X[40:50], y[40:50], X[50:], y[50:], ("a", "b", "c"), sample_shape=(3, 4, 5))
    new, fitted = preprocess_data(data, ["mean_subtraction:axis=channel"])
    assert new.sample_shape == (3, 4, 5) and new.X_test.shape == (10, 60)
    centered = X[50:].reshape(10, 3, 4, 5) - X[:40].reshape(40, 3, 4, 5).astype(np.float64).mean(axis=(0, 2, 3),
                                                                                                   keepdims=True)[0]
    np.testing.assert_allclose(new.X_test, centered.reshape(10, 60), atol=1e-5)


def test_an_image_only_preprocessor_on_rows_without_a_declared_shape_says_what_is_missing():
    rows = images_as_rows(10).reshape(10, -1)
    with pytest.raises(corenn.InvalidInput, match=r"mean_subtraction works on data of rank \(4,\).*row of 60"):
        fit_preprocessors(["mean_subtraction:axis=channel"], rows)
    with pytest.raises(corenn.InvalidInput, match=r"not the declared image shape \(3, 4, 4\)"):
        fit_preprocessors(["mean_subtraction:axis=channel"], rows, sample_shape=(3, 4, 4))


def test_a_sample_shape_that_does_not_fit_the_rows_is_refused():
    X, y = np.zeros((4, 60), np.float32), np.zeros(4, np.int64)
    with pytest.raises(corenn.InvalidInput, match="sample_shape"):
        corenn.Data(X, y, X, y, X, y, ("a",), sample_shape=(3, 4, 4))
