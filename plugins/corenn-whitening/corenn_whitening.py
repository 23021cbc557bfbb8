"""PCA and ZCA whitening preprocessing for corenn."""

import numpy as np

import corenn
from corenn.preprocessing import PreprocessorBase
from corenn_pca import principal_axes


@corenn.component
class Whitening(PreprocessorBase):
    """Whitening: PCA, then each component divided by sqrt(eigenvalue + eps); identity covariance.

    As in the tutorial (CS231n ``Xwhite = Xrot / np.sqrt(S + 1e-5)``): with the
    training mean and the covariance eigenbasis ``components`` ``(D, D)`` and
    ``eigenvalues`` ``(D,)`` (decreasing; sign convention as in ``pca``),
    ``method="pca"`` gives ``X2 = (X - mean) @ U / sqrt(eigenvalues + eps)`` and
    ``method="zca"`` rotates that back, ``X2 = (X - mean) @ U diag(1/sqrt(eigenvalues + eps)) U.T``,
    the whitening closest to the original data (for images: still images).
    Either way the training covariance becomes ``eigenvalues / (eigenvalues + eps)``
    on the diagonal, the identity up to eps, which also keeps directions of
    (near-)zero variance from being blown up without bound. Shapes: ``(N, D)``
    in and out. ``inverse_transform`` undoes it exactly.
    """

    name = "whitening"
    statistics = ("mean", "components", "eigenvalues")

    eps: float = corenn.hyperparameter(1e-5, doc="added to each eigenvalue before the square root (smoothing)",
                                       check=corenn.validators.positive)
    method: str = corenn.hyperparameter("pca", doc="'pca' (whitened eigenbasis coordinates) or 'zca' (rotated back)",
                                        check=corenn.validators.one_of("pca", "zca"))

    @property
    def accepted_ranks(self):
        return (2,)

    def _fit(self, X):
        mean = np.mean(X, axis=0, dtype=np.float64)
        values, vectors = principal_axes(X, mean)
        return {"mean": mean, "components": vectors, "eigenvalues": values}

    def _statistic_shapes(self):
        (d,) = self.feature_shape
        return {"mean": (d,), "components": (d, d), "eigenvalues": (d,)}

    def _prepare(self):
        U, values = self._state["components"], self._state["eigenvalues"]
        if (values < 0).any():
            raise corenn.InvalidInput("eigenvalues must not be negative")
        root = np.sqrt(values + self.eps)
        whiten, color = U / root, U.T * root[:, None]  # U diag(1/root), diag(root) U.T
        if self.method == "zca":
            whiten, color = whiten @ U.T, U @ color
        return {"whiten": whiten, "color": color}

    def _transform(self, X):
        centered = np.subtract(X, self.stat("mean", X.dtype), dtype=X.dtype)
        return centered @ self.stat("whiten", X.dtype)

    def inverse_transform(self, X2):
        """X2 times the inverse of the whitening matrix, plus the mean: the original data."""
        X2 = self.check_input(X2, "inverse_transform")
        out = X2 @ self.stat("color", X2.dtype)
        out += self.stat("mean", X2.dtype)
        return out


@corenn.hookimpl
def corenn_preprocessors():
    return [Whitening]
