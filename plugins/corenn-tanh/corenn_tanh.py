"""Tanh activation for corenn."""

import numpy as np

import corenn


@corenn.component
class Tanh(corenn.Module):
    """Hyperbolic tangent: y = tanh(x) = 2 * sigmoid(2x) - 1; dx = dy * (1 - y**2).

    Shapes: x (..., D) -> y (..., D). Squashes to (-1, 1) like a rescaled sigmoid, so it
    saturates too, but its output is zero-centred, which is why the tutorial prefers it
    to the sigmoid ("Tanh").
    """

    name = "tanh"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = np.square(corenn.from_forward(self, "_y"))
        np.subtract(1, dx, out=dx)
        dx *= dy
        return dx


@corenn.hookimpl
def corenn_activations():
    return [Tanh]
