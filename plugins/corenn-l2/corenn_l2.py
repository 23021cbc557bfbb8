"""The L2 weight penalty for corenn."""

import numpy as np

import corenn
from corenn import validators as v


@corenn.component
class L2:
    """L2 penalty (weight decay): penalty = 0.5 * strength * sum(w**2), gradient = strength * w.

    The contract's (and the tutorial's) form with the 1/2, so that the gradient
    is exactly strength * w: every step pulls each weight linearly towards 0 and
    large weights are punished most, spreading the weight over all inputs.
    Any shape of w; the gradient has w's shape and dtype. No constraint.
    """

    name = "l2"

    strength: float = corenn.hyperparameter(1e-4, doc="regularization strength (the tutorial's lambda)",
                                            check=v.non_negative)

    def penalty(self, w: np.ndarray) -> float:
        w = np.ravel(w)
        return 0.5 * self.strength * float(np.dot(w, w))

    def gradient(self, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.multiply(w, self.strength, out=out)

    def constrain(self, w: np.ndarray) -> None:
        return None


@corenn.hookimpl
def corenn_regularizers():
    return [L2]
