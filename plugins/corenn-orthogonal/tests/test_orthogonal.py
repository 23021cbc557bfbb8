import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_orthogonal import Orthogonal


def test_orthogonal_passes_the_conformance_kit():
    check_component(Orthogonal)
    check_component(Orthogonal(gain=2.0))


@pytest.mark.parametrize("gain", [1.0, 1.5])
def test_tall_orthogonal_has_orthonormal_columns_times_gain(gain):
    w = Orthogonal(gain=gain)((300, 100), np.random.default_rng(0), np.float64)
    np.testing.assert_allclose(w.T @ w, gain**2 * np.eye(100), atol=1e-12)


def test_wide_orthogonal_has_orthonormal_rows():
    w = Orthogonal(gain=2.0)((100, 300), np.random.default_rng(1), np.float64)
    np.testing.assert_allclose(w @ w.T, 4.0 * np.eye(100), atol=1e-12)


def test_square_orthogonal_is_an_orthogonal_matrix_that_preserves_norms():
    w = Orthogonal()((64, 64), np.random.default_rng(2), np.float64)
    np.testing.assert_allclose(w.T @ w, np.eye(64), atol=1e-12)
    np.testing.assert_allclose(w @ w.T, np.eye(64), atol=1e-12)
    x = np.random.default_rng(3).standard_normal((10, 64))
    np.testing.assert_allclose(np.linalg.norm(x @ w, axis=1), np.linalg.norm(x, axis=1), rtol=1e-12)


def test_orthogonal_float32_is_orthogonal_to_float32_precision():
    w = Orthogonal()((200, 50), np.random.default_rng(4), np.float32)
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.T.astype(np.float64) @ w, np.eye(50), atol=1e-6)


def test_orthogonal_vector_and_receptive_field_shapes():
    v = Orthogonal(gain=3.0)((10,), np.random.default_rng(5), np.float64)
    assert np.linalg.norm(v) == pytest.approx(3.0, rel=1e-14)
    k = Orthogonal()((4, 3, 5), np.random.default_rng(6), np.float64)  # rows 4, the other axes flattened: 4 x 15
    flat = k.reshape(4, 15)
    np.testing.assert_allclose(flat @ flat.T, np.eye(4), atol=1e-12)


def test_orthogonal_is_the_gram_schmidt_of_a_gaussian_matrix():
    # QR with R's diagonal made positive is unique: Q's columns are Gram-Schmidt of A's columns
    a = np.random.default_rng(7).standard_normal((30, 8))
    w = Orthogonal()((30, 8), np.random.default_rng(7), np.float64)
    r = w.T @ a
    np.testing.assert_allclose(np.tril(r, -1), 0, atol=1e-12)
    assert np.all(np.diagonal(r) > 0)


def test_orthogonal_signs_are_unbiased():
    # without the sign correction from R's diagonal, LAPACK's QR fixes the sign of W[0, 0]
    corner = [Orthogonal()((6, 4), np.random.default_rng(seed), np.float64)[0, 0] for seed in range(400)]
    assert 0.4 < np.mean(np.array(corner) > 0) < 0.6


def test_orthogonal_rejects_a_non_positive_gain():
    with pytest.raises(corenn.InvalidHyperparameter, match="gain"):
        Orthogonal(gain=0.0)
