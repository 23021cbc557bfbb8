"""Maxout activation for corenn."""

import numpy as np

import corenn


@corenn.component
class Maxout(corenn.Module):
    """Maxout: the max over consecutive groups of k features, y[..., j] = max(x[..., j*k:(j+1)*k]).

    Goodfellow et al. 2013 (tutorial, "Maxout"): after a dense layer of width k*D this is
    max(w_1^T x + b_1, ..., w_k^T x + b_k), which generalises ReLU and leaky ReLU (k = 2 with
    one piece fixed at 0 or at slope * x) and has no dead units, at k times the parameters.
    Shapes: x (..., D) -> y (..., D / k); D must be divisible by k. The gradient goes
    only to each group's argmax (the first one on ties).
    """

    name = "maxout"

    k: int = corenn.hyperparameter(2, doc="group size: how many consecutive features each output takes the max of", check=corenn.validators.integer(1))

    def forward(self, x: np.ndarray) -> np.ndarray:
        width = x.shape[-1] if x.ndim else None
        if width is None or width % self.k:
            raise corenn.InvalidInput(
                f"maxout: the input's last axis (shape {x.shape}) must split into groups of k={self.k}; "
                f"make the preceding layer's width a multiple of {self.k} or change k")
        groups = x.reshape(*x.shape[:-1], width // self.k, self.k)
        self._argmax = groups.argmax(axis=-1)[..., None]
        self._shape = x.shape
        return np.take_along_axis(groups, self._argmax, axis=-1)[..., 0]

    def output_width(self, input_width: int) -> int:
        """``D / k``; a width D not divisible by k is an error."""
        if input_width % self.k:
            raise corenn.InvalidInput(f"maxout: an input width of {input_width} does not split into groups of "
                                      f"k={self.k}; make the preceding layer's width a multiple of {self.k}")
        return input_width // self.k

    def input_width_for(self, output_width: int) -> int:
        """``k * D``: the width of the layer before that gives ``output_width`` units after maxout."""
        return self.k * output_width

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = np.zeros((*dy.shape, self.k), dtype=dy.dtype)
        np.put_along_axis(dx, corenn.from_forward(self, "_argmax"), dy[..., None], axis=-1)
        return dx.reshape(self._shape)


@corenn.hookimpl
def corenn_activations():
    return [Maxout]
