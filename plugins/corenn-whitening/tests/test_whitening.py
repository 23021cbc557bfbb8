import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_whitening import Whitening

RNG = np.random.default_rng(0)
BASIS = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
X = (RNG.standard_normal((300, 4)) * [4.0, 2.0, 1.0, 0.5]) @ BASIS.T + [3, -1, 0, 5]


def covariance(Z):
    Zc = Z - Z.mean(axis=0)
    return Zc.T @ Zc / len(Z)


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_passes_the_conformance_kit(method):
    check_component(Whitening(method=method))


def test_registered_from_its_own_distribution():
    assert corenn.describe("preprocessor", "whitening").distribution == "corenn-whitening"


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_whitened_training_data_have_identity_covariance_up_to_eps(method):
    eps = 1e-5
    pre = Whitening(eps=eps, method=method).fit(X)
    out = pre.transform(X)
    values = pre.state_dict()["eigenvalues"]
    shrink = values / (values + eps)  # the exact effect of eps on each component's variance
    if method == "pca":
        np.testing.assert_allclose(covariance(out), np.diag(shrink), atol=1e-10)
    else:
        U = pre.state_dict()["components"]
        np.testing.assert_allclose(covariance(out), U @ np.diag(shrink) @ U.T, atol=1e-10)
    np.testing.assert_allclose(covariance(out), np.eye(4), atol=1e-4)


def test_pca_whitening_is_pca_divided_by_the_root_eigenvalues():
    pre = Whitening(eps=1e-3).fit(X)
    s = pre.state_dict()
    rotated = (X - s["mean"]) @ s["components"]
    np.testing.assert_allclose(pre.transform(X), rotated / np.sqrt(s["eigenvalues"] + 1e-3), rtol=1e-10)


def test_zca_rotates_back_with_a_symmetric_matrix_and_stays_closest_to_the_data():
    zca, pca = Whitening(method="zca").fit(X), Whitening(method="pca").fit(X)
    centered = X - X.mean(axis=0)
    # the zca map is linear: read its matrix off the identity
    W = zca.transform(np.eye(4) + X.mean(axis=0))
    np.testing.assert_allclose(W, W.T, atol=1e-12)
    Xz, Xp = zca.transform(X), pca.transform(X)
    np.testing.assert_allclose(Xz, Xp @ zca.state_dict()["components"].T, atol=1e-10)
    # among whitenings (any rotation of a whitened set is one), zca moves the data least
    distance = np.linalg.norm(Xz - centered)
    assert distance < np.linalg.norm(Xp - centered)
    for seed in range(20):
        R = np.linalg.qr(np.random.default_rng(seed).standard_normal((4, 4)))[0]
        assert distance <= np.linalg.norm(Xz @ R - centered) + 1e-9


def test_eps_keeps_zero_variance_directions_bounded():
    flat = np.column_stack([X[:, :3], X[:, 0] + X[:, 1]])  # rank 3: one direction has no variance
    pre = Whitening(eps=1e-2).fit(flat)
    out = pre.transform(flat)
    assert np.isfinite(out).all()
    assert np.abs(out).max() < 10
    np.testing.assert_allclose(pre.inverse_transform(out), flat, atol=1e-9)


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_inverse_is_exact_and_float32_stays_float32(method):
    data = X.astype(np.float32)
    pre = Whitening(method=method).fit(data)
    out = pre.transform(data)
    assert out.dtype == np.float32
    np.testing.assert_allclose(pre.inverse_transform(out), data, rtol=1e-4, atol=1e-4)


def test_bad_hyperparameters_are_rejected():
    with pytest.raises(corenn.InvalidHyperparameter, match="eps"):
        Whitening(eps=0.0)
    with pytest.raises(corenn.InvalidHyperparameter, match="method"):
        Whitening(method="pcaa")
