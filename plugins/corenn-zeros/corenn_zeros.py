"""Zeros initializer for corenn."""

import numpy as np

import corenn


@corenn.component
class Zeros:
    """All zeros: W = 0; the usual bias initialization.

    Shape: any. Never use it for weights: every unit of a layer would compute the same
    output and receive the same gradient, so they would stay identical (tutorial,
    "all-zero initialization"). ``rng`` is accepted and ignored.
    """

    name = "zeros"

    def __call__(self, shape, rng=None, dtype=np.float32) -> np.ndarray:
        return np.zeros(shape, dtype=corenn.resolve_dtype(dtype))


@corenn.hookimpl
def corenn_initializers():
    return [Zeros]
