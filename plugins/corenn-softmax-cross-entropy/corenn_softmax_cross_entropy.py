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
        self._probs = self._grad = self._y = None

    def forward(self, scores, y):
        scores = corenn.as_float_array(scores, f"{self.name}: scores", ndim=2)
        n, c = scores.shape
        y = corenn.as_labels(y, f"{self.name}: labels", n=n, num_classes=c)
        if self._probs is None or self._probs.shape != scores.shape or self._probs.dtype != scores.dtype:
            self._probs = np.empty_like(scores)
            self._grad = np.empty_like(scores)
        probs, rows = self._probs, np.arange(n)
        np.subtract(scores, scores.max(axis=1, keepdims=True), out=probs)  # shifted: max 0 per row
        correct = probs[rows, y].astype(np.float64)
        np.exp(probs, out=probs)
        sums = probs.sum(axis=1, keepdims=True)
        probs /= sums
        self._y = y
        return float(np.mean(np.log(sums[:, 0], dtype=np.float64) - correct))

    def backward(self):
        if self._y is None:
            raise corenn.InvalidInput(f"{self.name}: call forward(scores, y) before backward()")
        grad, n = self._grad, len(self._y)
        np.copyto(grad, self._probs)
        grad[np.arange(n), self._y] -= 1
        grad /= n
        return grad


@corenn.hookimpl
def corenn_losses():
    return [SoftmaxCrossEntropy]
