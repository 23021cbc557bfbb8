"""The L1 weight penalty for corenn."""

import numpy as np

import corenn
from corenn import validators as v


@corenn.component
class L1:
    """L1 penalty: penalty = strength * sum(|w|), gradient = strength * sign(w).

    Pushes every weight towards 0 by the same amount whatever its size, so many
    weights end exactly at (or near) 0: sparse weights that select a few inputs
    and ignore the noisy rest. The subgradient at w = 0 is 0. Any shape of w; the
    gradient has w's shape and dtype. No constraint.
    """

    name = "l1"

    strength: float = corenn.hyperparameter(1e-4, doc="regularization strength (the tutorial's lambda)",
                                            check=v.non_negative)

    def penalty(self, w: np.ndarray) -> float:
        return self.strength * float(np.abs(w).sum())

    def gradient(self, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.sign(w, out=out)
        out *= self.strength
        return out

    def constrain(self, w: np.ndarray) -> None:
        return None


@corenn.hookimpl
def corenn_regularizers():
    return [L1]
