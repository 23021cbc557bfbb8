import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_pca import PCA

RNG = np.random.default_rng(0)
# correlated data with clearly separated variances along 5 directions
BASIS = np.linalg.qr(RNG.standard_normal((5, 5)))[0]
X = (RNG.standard_normal((200, 5)) * [5.0, 3.0, 2.0, 1.0, 0.3]) @ BASIS.T + [1, -2, 3, 0, 10]


def covariance(Z):
    Zc = Z - Z.mean(axis=0)
    return Zc.T @ Zc / len(Z)


def test_passes_the_conformance_kit():
    check_component(PCA)
    check_component(PCA(n_components=2))


def test_registered_from_its_own_distribution():
    assert corenn.describe("preprocessor", "pca").distribution == "corenn-pca"


def test_decorrelates_with_decreasing_variances():
    pre = PCA().fit(X)
    out = pre.transform(X)
    values = pre.state_dict()["eigenvalues"]
    assert np.all(np.diff(values) < 0)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(covariance(out), np.diag(values), atol=1e-10)
    # the eigenvalues are those of the training covariance, i.e. the squared singular values / N
    singular = np.linalg.svd(X - X.mean(0), compute_uv=False)
    np.testing.assert_allclose(values, singular**2 / len(X), rtol=1e-10)


def test_components_are_orthonormal_with_the_sign_convention():
    U = PCA().fit(X).state_dict()["components"]
    np.testing.assert_allclose(U.T @ U, np.eye(5), atol=1e-12)
    largest = U[np.argmax(np.abs(U), axis=0), np.arange(5)]
    assert np.all(largest > 0)


def test_results_are_reproducible_whatever_the_sample_order():
    a = PCA().fit(X).state_dict()
    b = PCA().fit(X[::-1].copy()).state_dict()
    np.testing.assert_allclose(b["components"], a["components"], atol=1e-10)
    np.testing.assert_array_equal(PCA().fit(X).state_dict()["components"], a["components"])


def test_keeping_k_components_is_the_top_k_and_reconstructs_best():
    full, top = PCA().fit(X), PCA(n_components=2).fit(X)
    out = top.transform(X)
    assert out.shape == (200, 2)
    np.testing.assert_allclose(out, full.transform(X)[:, :2], atol=1e-12)
    assert not top.lossless and full.lossless
    # mean squared reconstruction error = the variance left out (sum of the dropped eigenvalues)
    error = np.mean(np.sum((top.inverse_transform(out) - X) ** 2, axis=1))
    assert error == pytest.approx(full.state_dict()["eigenvalues"][2:].sum(), rel=1e-10)


def test_all_components_invert_exactly_in_float32_too():
    data = X.astype(np.float32)
    pre = PCA().fit(data)
    out = pre.transform(data)
    assert out.dtype == np.float32
    np.testing.assert_allclose(pre.inverse_transform(out), data, rtol=1e-5, atol=1e-4)


def test_too_many_components_and_images_are_clear_errors():
    with pytest.raises(corenn.InvalidInput, match="n_components=6.*5 features"):
        PCA(n_components=6).fit(X)
    with pytest.raises(corenn.InvalidInput, match=r"pca\.fit.*2-d"):
        PCA().fit(X.reshape(200, 5, 1, 1))
    with pytest.raises(corenn.InvalidHyperparameter):
        PCA(n_components=0)
    with pytest.raises(corenn.InvalidInput, match=r"pca\.inverse_transform"):
        PCA(n_components=2).fit(X).inverse_transform(X)
