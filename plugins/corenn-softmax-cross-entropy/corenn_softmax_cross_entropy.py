"""Softmax cross-entropy loss for corenn."""

import numpy as np

import corenn


@corenn.component
class SoftmaxCrossEntropy:
    """Softmax cross-entropy: mean over the batch of -log softmax(scores)[y].

    ``L = mean_i( log(sum_j exp(s_ij)) - s_iy_i )``, computed stably with the
    log-sum-exp shift (``s - max_j s_ij``), so scores of magnitude 1e4 give a
    finite, correct loss in float32 too. ``dL/ds = (softmax(s) - onehot(y)) / N``.
    With random small weights every class is equally likely and the loss starts
    near ``ln(C)`` (2.30 for 10 classes), the tutorial's sanity check. Shapes:
    scores ``(N, C)`` float, y ``(N,)`` integer class indices in ``[0, C)``;
    ``backward()`` returns dscores ``(N, C)`` of the scores' dtype (a buffer
    reused between calls with the same shape and dtype).
    """

    name = "softmax_cross_entropy"

    def __attrs_post_init__(self):
        self._probs = self._grad = self._y = self._rows = None

    def forward(self, scores, y):
        scores = corenn.as_float_array(scores, f"{self.name}: scores", ndim=2)
        y = corenn.as_labels(y, f"{self.name}: labels", n=scores.shape[0], num_classes=scores.shape[1])
        return self.forward_trusted(scores, y)

    def forward_trusted(self, scores, y):
        """:meth:`forward` without its checks, for a caller that has made sure that ``scores``
        is a 2-d float array and ``y`` an int64 vector of its length with values in ``[0, C)``
        (the trainer checks the labels once per fit). Scores are not checked for NaN:
        non-finite scores give a non-finite loss."""
        probs = self._probs
        if probs is None or probs.shape != scores.shape or probs.dtype != scores.dtype:
            probs = self._probs = np.empty_like(scores)
            self._grad = np.empty_like(scores)
            self._rows = np.arange(scores.shape[0])
            self._columns = np.empty(scores.shape[::-1], scores.dtype)  # scores.T, for few classes
            self._per_row = np.empty((scores.shape[0], 1), scores.dtype)
        np.subtract(scores, self._row_reduce(np.maximum, scores), out=probs)  # shifted: max 0 per row
        correct = probs[self._rows, y]
        np.exp(probs, out=probs)
        sums = self._row_reduce(np.add, probs)
        probs /= sums
        sums = sums[:, 0]
        self._y = y
        losses = np.log(sums, dtype=np.float64)
        losses -= correct
        return float(np.add.reduce(losses)) / len(losses)

    def _row_reduce(self, ufunc, a):
        """``ufunc.reduce(a, axis=1, keepdims=True)`` into a buffer. Over a few columns numpy
        reduces rows slowly, one short row at a time (the max of 256 rows of 10: ~25 us); down
        a contiguous transposed copy it runs one vector operation per column (~3 us)."""
        out = self._per_row
        if a.shape[1] > 32:
            return ufunc.reduce(a, axis=1, keepdims=True, out=out)
        np.copyto(self._columns, a.T)
        ufunc.reduce(self._columns, axis=0, out=out[:, 0])
        return out

    def backward(self):
        if self._y is None:
            raise corenn.InvalidInput(f"{self.name}: call forward(scores, y) before backward()")
        grad = self._grad
        share = 1.0 / len(self._y)
        np.multiply(self._probs, share, out=grad)  # (softmax - onehot) / N in two passes, not three
        grad[self._rows, self._y] -= share
        return grad


@corenn.hookimpl
def corenn_losses():
    return [SoftmaxCrossEntropy]
