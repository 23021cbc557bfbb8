"""Normal (Gaussian) initializer for corenn."""

import numpy as np

import corenn


@corenn.component
class Normal:
    """Gaussian draws: W = mean + std * randn(shape), by default the tutorial's 0.01 * randn.

    Shape: any. Breaks symmetry, but a fixed scale ignores the layer width: in a deep
    tanh network with std 0.01 the activations shrink towards 0 layer after layer (and
    with std 1 they saturate), which is why xavier/he scale by the fan-in. Draws in
    float64 and rounds to ``dtype``, so float32 and float64 agree for the same seed.
    """

    name = "normal"

    mean: float = corenn.hyperparameter(0.0, doc="mean of the Gaussian", check=corenn.validators.number)
    std: float = corenn.hyperparameter(0.01, doc="standard deviation of the Gaussian", check=corenn.validators.non_negative)

    def __call__(self, shape, rng=None, dtype=np.float32) -> np.ndarray:
        dtype = corenn.resolve_dtype(dtype)
        w = corenn.as_generator(rng).standard_normal(shape)
        w *= self.std
        w += self.mean
        return w.astype(dtype, copy=False)


@corenn.hookimpl
def corenn_initializers():
    return [Normal]
