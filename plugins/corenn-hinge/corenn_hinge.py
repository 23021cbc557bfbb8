"""Multiclass SVM (hinge) loss for corenn."""

import numpy as np

import corenn


@corenn.component
class Hinge:
    """Multiclass SVM (hinge) loss: mean over the batch of sum_{j != y} max(0, s_j - s_y + margin).

    CS231n's multiclass SVM loss: ``L_i = sum_{j != y_i} max(0, s_ij - s_iy_i + margin)``,
    ``L = mean_i L_i``. The score of the correct class should beat every other
    by at least ``margin``; classes that do contribute nothing. Gradient: for
    each violating ``j`` (``s_ij - s_iy_i + margin > 0``), ``+1/N`` on ``s_ij``
    and ``-1/N`` on ``s_iy_i``. Shapes: scores ``(N, C)`` float, y ``(N,)``
    integer class indices in ``[0, C)``; ``backward()`` returns dscores
    ``(N, C)`` of the scores' dtype (a buffer reused between calls with the same
    shape and dtype).
    """

    name = "hinge"

    margin: float = corenn.hyperparameter(1.0, doc="how far the correct class's score must beat the others (delta)",
                                          check=corenn.validators.non_negative)

    def __attrs_post_init__(self):
        self._margins = self._grad = self._y = None

    def forward(self, scores, y):
        scores = corenn.as_float_array(scores, f"{self.name}: scores", ndim=2)
        n, c = scores.shape
        y = corenn.as_labels(y, f"{self.name}: labels", n=n, num_classes=c)
        if self._margins is None or self._margins.shape != scores.shape or self._margins.dtype != scores.dtype:
            self._margins = np.empty_like(scores)
            self._grad = np.empty_like(scores)
        margins, rows = self._margins, np.arange(n)
        np.subtract(scores, scores[rows, y][:, None], out=margins)
        margins += scores.dtype.type(self.margin)
        margins[rows, y] = 0
        np.maximum(margins, 0, out=margins)
        self._y = y
        return float(margins.sum(dtype=np.float64) / n)

    def backward(self):
        if self._y is None:
            raise corenn.InvalidInput(f"{self.name}: call forward(scores, y) before backward()")
        grad, n = self._grad, len(self._y)
        np.greater(self._margins, 0, out=grad)
        grad[np.arange(n), self._y] = -grad.sum(axis=1)
        grad /= n
        return grad


@corenn.hookimpl
def corenn_losses():
    return [Hinge]
