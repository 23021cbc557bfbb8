"""Xavier (Glorot) initializer for corenn, and the variance-scaling base it shares with he."""

import math
from typing import ClassVar

import numpy as np

import corenn


@corenn.component
class VarianceScaling:
    """Zero-mean draws with variance ``scale / fan`` (not registered; xavier and he subclass it).

    fan is fan_in, fan_out or their mean (``corenn.fans``: the first two axes of a
    (fan_in, fan_out) weight, times any receptive-field axes). ``"normal"`` draws
    std * randn; ``"uniform"`` draws from U(-limit, limit) with limit = sqrt(3 * variance),
    which has the same variance. Draws in float64 and rounds to ``dtype``, so float32 and
    float64 agree for the same seed.
    """

    scale: ClassVar[float] = 1.0

    mode: str = corenn.hyperparameter("fan_in", doc='fan the variance is divided by: "fan_in", "fan_out" or "fan_avg" (their mean)', check=corenn.validators.one_of("fan_in", "fan_out", "fan_avg"))
    distribution: str = corenn.hyperparameter("normal", doc='"normal" (Gaussian) or "uniform" (same variance)', check=corenn.validators.one_of("normal", "uniform"))

    def variance(self, shape) -> float:
        """``scale / fan`` for this weight shape (an empty shape's fan of 0 counts as 1)."""
        fan_in, fan_out = corenn.fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(fan, 1)

    def __call__(self, shape, rng=None, dtype=np.float32) -> np.ndarray:
        dtype = corenn.resolve_dtype(dtype)
        rng = corenn.as_generator(rng)
        std = math.sqrt(self.variance(shape))
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std
            w = rng.uniform(-limit, limit, shape)
        else:
            w = rng.standard_normal(shape)
            w *= std
        return w.astype(dtype, copy=False)


@corenn.component
class Xavier(VarianceScaling):
    """Xavier/Glorot: zero mean, variance 1 / fan_in, i.e. the tutorial's randn(fan_in, fan_out) / sqrt(fan_in).

    Glorot & Bengio 2010. Keeps the variance of a layer's output equal to its input's
    for a linear (or tanh near 0) unit, so signals neither vanish nor explode with depth.
    ``mode="fan_avg"`` is Glorot's 2 / (fan_in + fan_out), ``"fan_out"`` 1 / fan_out;
    ``distribution="uniform"`` draws U(-sqrt(3 var), sqrt(3 var)). Shape: (fan_in, fan_out),
    a bias (n,) (fan n), or with trailing receptive-field axes.
    """

    name = "xavier"
    scale: ClassVar[float] = 1.0


@corenn.hookimpl
def corenn_initializers():
    return [Xavier]
