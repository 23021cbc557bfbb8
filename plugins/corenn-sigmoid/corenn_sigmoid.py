"""Sigmoid activation for corenn."""

import numpy as np

import corenn


@corenn.component
class Sigmoid(corenn.Module):
    """Logistic sigmoid: y = 1 / (1 + exp(-x)); dx = dy * y * (1 - y).

    Shapes: x (..., D) -> y (..., D). Computed as 1 / (1 + e) for x >= 0 and
    e / (1 + e) for x < 0 with e = exp(-|x|) <= 1, so it never overflows and keeps
    full relative precision in both tails (sigmoid(-1000) is exactly 0, sigmoid(1000)
    exactly 1). Squashes to (0, 1); saturates (vanishing gradient, at most 1/4) and its
    output is not zero-centred (tutorial, "Sigmoid").
    """

    name = "sigmoid"

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.abs(x)
        np.negative(e, out=e)
        np.exp(e, out=e)  # e = exp(-|x|), in (0, 1]
        y = np.add(e, 1)
        np.reciprocal(y, out=y)  # 1 / (1 + e): sigmoid(|x|)
        np.multiply(y, e, out=y, where=x < 0)  # e / (1 + e): sigmoid(-|x|)
        self._y = y
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y = corenn.from_forward(self, "_y")
        dx = np.subtract(1, y)
        dx *= y
        dx *= dy
        return dx


@corenn.hookimpl
def corenn_activations():
    return [Sigmoid]
