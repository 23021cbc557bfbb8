"""ELU activation for corenn."""

import numpy as np

import corenn


@corenn.component
class ELU(corenn.Module):
    """Exponential linear unit: y = x if x > 0 else alpha * (exp(x) - 1).

    dx = dy if x > 0 else dy * alpha * exp(x) (= dy * (y + alpha)). Shapes: x (..., D)
    -> y (..., D). Clevert et al. 2015 (tutorial, "ELU"): ReLU's benefits, no dead
    units, outputs closer to zero mean; saturates smoothly to -alpha; costs an exp().
    exp is taken of min(x, 0) only, so large inputs never overflow.
    """

    name = "elu"

    alpha: float = corenn.hyperparameter(1.0, doc="value the output saturates to (-alpha) for x -> -inf", check=corenn.validators.non_negative)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        y = np.minimum(x, 0)
        np.expm1(y, out=y)
        y *= float(self.alpha)
        np.copyto(y, x, where=self._positive)
        self._y = y
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = np.add(corenn.from_forward(self, "_y"), float(self.alpha))  # alpha * exp(x) where x <= 0
        np.copyto(dx, 1, where=self._positive)
        dx *= dy
        return dx


@corenn.hookimpl
def corenn_activations():
    return [ELU]
