"""The dropout layer for corenn."""

from typing import ClassVar

import numpy as np

import corenn
from corenn import validators as v


@corenn.component
class Dropout(corenn.Module):
    """Dropout: keep each unit with probability keep_prob at training, an ensemble average at inference.

    ``mode="inverted"`` (the tutorial's inverted dropout, the default): at
    training y = x * m / keep_prob with m ~ Bernoulli(keep_prob) drawn anew each
    forward; at inference y = x (nothing to do at prediction time).
    ``mode="vanilla"``: at training y = x * m; at inference y = x * keep_prob
    (the expected value of the training output). Backward multiplies dy by the
    same factor as forward. Shapes: (N, D) -> (N, D); the output keeps x's
    dtype. Masks are drawn from the attribute ``rng`` (a Generator made from
    ``seed``; Sequential and the trainer replace it with one derived from their
    own seed).
    """

    name = "dropout"
    #: the hyperparameter mlp sets to each keep probability
    keep_prob_field: ClassVar[str] = "keep_prob"

    keep_prob: float = corenn.hyperparameter(0.5, doc="probability of keeping a unit (the tutorial's p)",
                                             check=v.probability)
    mode: str = corenn.hyperparameter("inverted", doc="'inverted' (scale at training) or 'vanilla' "
                                      "(scale at inference)", check=v.one_of("inverted", "vanilla"))
    seed: int | None = corenn.hyperparameter(None, doc="seed of the mask generator (None: a fresh one)",
                                             check=v.optional(v.integer(0)))

    def __attrs_post_init__(self) -> None:
        self.rng = corenn.as_generator(self.seed)
        self.check_input = True  # Sequential turns this off: it checks the model input once
        self._buffer = np.empty((0, 0))  # reused for the masks; grows, never shrinks
        self._factor = None  # the mask of the last forward (an array), or a scalar factor

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if self.check_input:
            x = corenn.as_float_array(x, "dropout.forward", ndim=2)
        if not training:
            self._factor = 1.0 if self.mode == "inverted" else self.keep_prob
            return x if self._factor == 1.0 else x * x.dtype.type(self._factor)
        self._factor = mask = self._mask(x.shape, x.dtype)
        return x * mask

    def _mask(self, shape, dtype) -> np.ndarray:
        n, d = shape
        buf = self._buffer
        if buf.dtype != dtype or buf.shape[1] != d or buf.shape[0] < n:
            buf = self._buffer = np.empty((max(n, buf.shape[0] if buf.shape[1] == d else 0), d), dtype)
        mask = buf[:n]  # rows of a C-ordered array: contiguous, so the generator can fill it in place
        self.rng.random(dtype=mask.dtype, out=mask)
        np.less(mask, self.keep_prob, out=mask)  # 1.0 where kept, 0.0 where dropped
        if self.mode == "inverted" and self.keep_prob != 1.0:
            mask *= 1.0 / self.keep_prob
        return mask

    def output_width(self, input_width: int) -> int:
        """Dropping units keeps the width."""
        return input_width

    def backward(self, dy: np.ndarray) -> np.ndarray:
        factor = corenn.from_forward(self, "_factor")
        if isinstance(factor, np.ndarray):
            return dy * factor
        return dy if factor == 1.0 else dy * dy.dtype.type(factor)


@corenn.hookimpl
def corenn_layers():
    return [Dropout]
