"""SiLU (swish) activation for corenn."""

import numpy as np

import corenn


@corenn.component
class SiLU(corenn.Module):
    """Sigmoid-weighted linear unit (swish): y = x * sigmoid(x).

    dx = dy * s * (1 + x * (1 - s)) with s = sigmoid(x). Shapes: x (..., D) -> y (..., D).
    Elfwing et al. 2017 / Ramachandran et al. 2017: smooth and non-monotonic near 0,
    linear for large x like ReLU and tends to 0 for very negative x (minimum -0.278 at
    x = -1.278). s is computed in the overflow-free form e / (1 + e) or 1 / (1 + e)
    with e = exp(-|x|).
    """

    name = "silu"

    def forward(self, x: np.ndarray) -> np.ndarray:
        s = np.abs(x)
        np.negative(s, out=s)
        e = np.exp(s, out=s)  # exp(-|x|), in (0, 1]
        s = np.reciprocal(e + 1)
        np.multiply(s, e, out=s, where=x < 0)  # sigmoid(x) for either sign of x
        self._x, self._s = x, s
        return x * s

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x, s = corenn.from_forward(self, "_x", "_s")
        dx = np.subtract(1, s)
        dx *= x
        dx += 1
        dx *= s
        dx *= dy
        return dx


@corenn.hookimpl
def corenn_activations():
    return [SiLU]
