"""Constant initializer for corenn."""

import numpy as np

import corenn


@corenn.component
class Constant:
    """Every entry set to one value: W = value (e.g. a 0.01 bias for ReLU units).

    Shape: any. Like zeros, a constant breaks no symmetry, so it is for biases (and
    batchnorm's gamma/beta), not weights. ``rng`` is accepted and ignored.
    """

    name = "constant"

    value: float = corenn.hyperparameter(0.0, doc="the value of every entry", check=corenn.validators.number)

    def __call__(self, shape, rng=None, dtype=np.float32) -> np.ndarray:
        return np.full(shape, self.value, dtype=corenn.resolve_dtype(dtype))


@corenn.hookimpl
def corenn_initializers():
    return [Constant]
