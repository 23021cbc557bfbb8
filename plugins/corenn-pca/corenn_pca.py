"""PCA preprocessing for corenn, and :func:`principal_axes`, the covariance
eigenbasis it shares with corenn-whitening (which depends on this distribution)."""

import numpy as np

import corenn
from corenn.preprocessing import PreprocessorBase


def principal_axes(X: np.ndarray, mean: np.ndarray, *, chunk: int = 1 << 22) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of the (biased, ``/N``) covariance of ``X`` ``(N, D)`` about ``mean``.

    Returns ``(eigenvalues (D,), components (D, D))`` in float64, eigenvalues in
    decreasing order (negative round-off clipped to 0), ``components[:, i]`` the
    unit eigenvector of ``eigenvalues[i]``. Sign convention (deterministic): the
    entry of largest magnitude in each eigenvector is positive. The covariance
    is accumulated over row chunks of about ``chunk`` elements, so float32 data
    is never copied whole into float64.
    """
    n, d = X.shape
    cov = np.zeros((d, d), dtype=np.float64)
    rows = max(1, chunk // max(d, 1))
    for start in range(0, n, rows):
        block = X[start:start + rows].astype(np.float64)
        block -= mean
        cov += block.T @ block
    cov /= n
    values, vectors = np.linalg.eigh(cov)
    values = np.clip(values[::-1], 0.0, None)
    vectors = np.ascontiguousarray(vectors[:, ::-1])
    biggest = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[biggest, np.arange(d)])
    signs[signs == 0] = 1.0
    vectors *= signs
    return values, vectors


@corenn.component
class PCA(PreprocessorBase):
    """PCA: center, rotate into the covariance eigenbasis, keep the top components.

    As in the tutorial (CS231n ``cov = X.T @ X / N; U = eig(cov); Xrot = X @ U``):
    ``X2 = (X - mean) @ components``, where ``components`` ``(D, k)`` holds the
    unit eigenvectors of the training covariance ``(X - mean).T @ (X - mean) / N``
    sorted by decreasing ``eigenvalues`` ``(k,)``, the variance along each. The
    transformed data are decorrelated: their training covariance is
    ``diag(eigenvalues)``. Sign convention, so results are reproducible: the
    largest-magnitude entry of each eigenvector is positive. Shapes: ``(N, D)``
    in, ``(N, k)`` out with ``k = n_components`` (all D when None).
    ``inverse_transform`` maps back, ``X2 @ components.T + mean``: exact when
    all components are kept, the best rank-k reconstruction otherwise.
    """

    name = "pca"
    statistics = ("mean", "components", "eigenvalues")

    n_components: int | None = corenn.hyperparameter(
        None, doc="how many top components to keep (None: all; at most the number of features)",
        check=corenn.validators.optional(corenn.validators.integer(1)))

    @property
    def accepted_ranks(self):
        return (2,)

    @property
    def lossless(self) -> bool:
        """Whether inverse_transform reconstructs the input exactly (all components kept)."""
        return self.n_components is None or (self.fitted and self.n_components == self.feature_shape[0])

    def _keep(self, d):
        if self.n_components is not None and self.n_components > d:
            raise corenn.InvalidInput(f"pca.fit: n_components={self.n_components} but the data have only {d} "
                                      f"features; use n_components <= {d}")
        return d if self.n_components is None else self.n_components

    def _fit(self, X):
        k = self._keep(X.shape[1])
        mean = np.mean(X, axis=0, dtype=np.float64)
        values, vectors = principal_axes(X, mean)
        return {"mean": mean, "components": vectors[:, :k], "eigenvalues": values[:k]}

    def _statistic_shapes(self):
        (d,) = self.feature_shape
        k = self._keep(d)
        return {"mean": (d,), "components": (d, k), "eigenvalues": (k,)}

    def _transformed_shape(self):
        return (self._state["components"].shape[1],)

    def _transform(self, X):
        centered = np.subtract(X, self.stat("mean", X.dtype), dtype=X.dtype)
        return centered @ self.stat("components", X.dtype)

    def inverse_transform(self, X2):
        """X2 @ components.T + mean (exact when all components are kept)."""
        X2 = self.check_input(X2, "inverse_transform")
        out = X2 @ self.stat("components", X2.dtype).T
        out += self.stat("mean", X2.dtype)
        return out


@corenn.hookimpl
def corenn_preprocessors():
    return [PCA]
