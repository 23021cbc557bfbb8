"""Leaky ReLU activation for corenn."""

import numpy as np

import corenn


@corenn.component
class LeakyReLU(corenn.Module):
    """Leaky ReLU: y = x if x > 0 else slope * x; dx = dy * (1 if x > 0 else slope).

    Shapes: x (..., D) -> y (..., D). The small fixed slope for x < 0 keeps a gradient
    flowing where ReLU's is 0, the tutorial's fix for "dying ReLU" units
    (f(x) = max(0.01x, x), "Leaky ReLU").
    """

    name = "leaky_relu"

    slope: float = corenn.hyperparameter(0.01, doc="slope (and gradient) for x <= 0", check=corenn.validators.non_negative)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        y = x * float(self.slope)
        np.copyto(y, x, where=self._positive)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = dy * float(self.slope)
        np.copyto(dx, dy, where=corenn.from_forward(self, "_positive"))
        return dx


@corenn.hookimpl
def corenn_activations():
    return [LeakyReLU]
