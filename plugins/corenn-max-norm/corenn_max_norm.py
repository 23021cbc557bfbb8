"""The max-norm constraint for corenn."""

import numpy as np

import corenn
from corenn import validators as v


@corenn.component
class MaxNorm:
    """Max-norm constraint: after each update, rescale each unit's weight vector to L2 norm <= max_value.

    ``constrain(w)`` computes the L2 norm of every slice of w along ``axis``
    (axis=0: each unit's incoming weights, the columns of a (fan_in, fan_out)
    matrix) and scales the slices whose norm exceeds ``max_value`` down to
    exactly ``max_value``, in place; the others are left alone. It adds nothing
    to the loss: penalty 0, gradient 0. The weights cannot blow up even with a
    large learning rate (Srivastava et al. 2014 use it with dropout).
    """

    name = "max_norm"

    max_value: float = corenn.hyperparameter(3.0, doc="largest L2 norm a slice may have", check=v.positive)
    axis: int = corenn.hyperparameter(0, doc="axis the norm is taken over (0: each column of W)",
                                      check=v.integer())

    def penalty(self, w: np.ndarray) -> float:
        return 0.0

    def gradient(self, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            return np.zeros_like(w)
        out[...] = 0
        return out

    def constrain(self, w: np.ndarray) -> None:
        if not -w.ndim <= self.axis < w.ndim:
            raise corenn.InvalidInput(f"max_norm: axis={self.axis} does not exist for weights of shape {w.shape}")
        norms = np.linalg.norm(w, axis=self.axis, keepdims=True)
        over = norms > self.max_value
        if over.any():
            w *= np.where(over, self.max_value / np.where(over, norms, 1), 1).astype(w.dtype)


@corenn.hookimpl
def corenn_regularizers():
    return [MaxNorm]
