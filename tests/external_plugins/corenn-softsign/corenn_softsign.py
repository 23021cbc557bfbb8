"""Softsign activation for corenn, written as a third party would: public API only."""

import numpy as np

import corenn


@corenn.component
class Softsign(corenn.Module):
    """Softsign: y = x / (1 + |x|); dx = dy / (1 + |x|)^2.

    Shapes: x (N, D) -> y (N, D), same dtype. Like tanh it saturates to (-1, 1),
    but polynomially, so its gradient vanishes more slowly.
    """

    name = "softsign"

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._denominator = 1 + np.abs(x)
        return x / self._denominator

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy / corenn.from_forward(self, "_denominator") ** 2


@corenn.hookimpl
def corenn_activations():
    return [Softsign]
