"""Standardization preprocessing for corenn."""

import numpy as np

import corenn
from corenn.preprocessing import PreprocessorBase


@corenn.component
class Standardize(PreprocessorBase):
    """Standardize: (X - mean) / std per feature, zero mean and unit variance.

    The tutorial's normalization by the standard deviation (CS231n
    ``X -= np.mean(X, axis=0); X /= np.std(X, axis=0)``), with ``mean`` and the
    biased ``std`` of each feature taken from fit's data only. A constant
    feature (max == min on the training data) is not divided: its ``scale`` is
    1, so it is left at exactly 0 on the training data, with no division by
    zero and no warning. Statistics ``mean`` and ``scale`` have the shape of one
    sample. Shapes: ``(N, D)`` or ``(N, C, H, W)`` in and out (each element of a
    sample is a feature). ``inverse_transform`` gives ``X2 * scale + mean``.
    """

    name = "standardize"
    statistics = ("mean", "scale")

    def _fit(self, X):
        mean = np.mean(X, axis=0, dtype=np.float64)
        std = np.std(X, axis=0, dtype=np.float64)
        constant = np.max(X, axis=0) == np.min(X, axis=0)
        # exactly the constant (not its rounded mean) and no division: those features become exactly 0
        mean = np.where(constant, X[0], mean)
        scale = np.where(constant, 1.0, std)
        return {"mean": mean, "scale": scale}

    def _statistic_shapes(self):
        return {"mean": self.feature_shape, "scale": self.feature_shape}

    def _prepare(self):
        if (self._state["scale"] <= 0).any():
            raise corenn.InvalidInput("scale must be positive")
        return {"inverse_scale": 1.0 / self._state["scale"]}

    def _transform(self, X):
        out = np.subtract(X, self.stat("mean", X.dtype), dtype=X.dtype)
        out *= self.stat("inverse_scale", X.dtype)
        return out

    def inverse_transform(self, X2):
        """X2 * scale + mean: the data in its original units."""
        X2 = self.check_input(X2, "inverse_transform")
        out = np.multiply(X2, self.stat("scale", X2.dtype), dtype=X2.dtype)
        out += self.stat("mean", X2.dtype)
        return out


@corenn.hookimpl
def corenn_preprocessors():
    return [Standardize]
