"""Min-max scaling preprocessing for corenn."""

import numpy as np

import corenn
from corenn.preprocessing import PreprocessorBase


def _above_low(instance, attribute, value):
    # attrs runs validators after every field is set, and low's (declared first) before this one
    corenn.validators.number(instance, attribute, value)
    if not value > instance.low:
        raise corenn.InvalidHyperparameter(instance.name, attribute.name, value,
                                           f"must be greater than low={instance.low!r}")


@corenn.component
class MinMax(PreprocessorBase):
    """Min-max scaling: each feature mapped linearly from its training range onto low..high.

    The tutorial's second normalization, scaling every dimension into [-1, 1]
    by default: ``X2 = low + (X - min) * (high - low) / (max - min)``, with
    ``min`` and ``max`` per feature from fit's data only (so other data may land
    outside [low, high]). A constant feature (max == min) maps to the middle of
    the range, ``(low + high) / 2``, and is shifted, not scaled, so nothing is
    divided by zero. Statistics ``min`` and ``max`` have the shape of one sample.
    Shapes: ``(N, D)`` or ``(N, C, H, W)`` in and out. ``inverse_transform``
    undoes the map.
    """

    name = "min_max"
    statistics = ("min", "max")

    low: float = corenn.hyperparameter(-1.0, doc="value the training minimum of each feature maps to",
                                       check=corenn.validators.number)
    high: float = corenn.hyperparameter(1.0, doc="value the training maximum of each feature maps to (high > low)",
                                        check=_above_low)

    def _fit(self, X):
        return {"min": np.min(X, axis=0).astype(np.float64), "max": np.max(X, axis=0).astype(np.float64)}

    def _statistic_shapes(self):
        return {"min": self.feature_shape, "max": self.feature_shape}

    def _prepare(self):
        lo, hi = self._state["min"], self._state["max"]
        if (hi < lo).any():
            raise corenn.InvalidInput("max must not be below min")
        constant = hi == lo
        span = np.where(constant, 1.0, hi - lo)
        scale = np.where(constant, 1.0, (self.high - self.low) / span)
        target = np.where(constant, (self.low + self.high) / 2, self.low)
        return {"scale": scale, "target": target}

    def _transform(self, X):
        out = np.subtract(X, self.stat("min", X.dtype), dtype=X.dtype)
        out *= self.stat("scale", X.dtype)
        out += self.stat("target", X.dtype)
        return out

    def inverse_transform(self, X2):
        """min + (X2 - low) / scale: the data in its original units."""
        X2 = self.check_input(X2, "inverse_transform")
        out = np.subtract(X2, self.stat("target", X2.dtype), dtype=X2.dtype)
        out /= self.stat("scale", X2.dtype)
        out += self.stat("min", X2.dtype)
        return out


@corenn.hookimpl
def corenn_preprocessors():
    return [MinMax]
