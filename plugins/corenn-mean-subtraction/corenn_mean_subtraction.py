"""Mean subtraction preprocessing for corenn."""

import numpy as np

import corenn
from corenn.preprocessing import PreprocessorBase

_REDUCE = {"feature": (0,), "channel": (0, 2, 3), "global": None}


@corenn.component
class MeanSubtraction(PreprocessorBase):
    """Mean subtraction: X - mean(X_train), zero-centering the data.

    The tutorial's most common preprocessing step (CS231n ``X -= np.mean(X, axis=0)``).
    ``axis="feature"``: one mean per feature, i.e. the mean image for flattened
    images, ``mean`` of shape ``X.shape[1:]``; ``"channel"``: for ``(N, C, H, W)``
    input one mean per channel (as VGG does), ``mean`` of shape ``(C,)``;
    ``"global"``: one scalar over all of X_train. The mean comes from fit's data
    only. Shapes: ``(N, D)`` or ``(N, C, H, W)`` in and out (``"channel"`` needs
    rank 4). ``inverse_transform`` adds the mean back.
    """

    name = "mean_subtraction"
    statistics = ("mean",)

    axis: str = corenn.hyperparameter(
        "feature", doc="what one mean covers: 'feature' (mean image), 'channel' ((N, C, H, W) input) or 'global'",
        check=corenn.validators.one_of("feature", "channel", "global"))

    @property
    def accepted_ranks(self):
        return (4,) if self.axis == "channel" else (2, 4)

    @property
    def conformance_input_shape(self):
        """Images for the conformance kit when the mean is per channel."""
        return (40, 3, 2, 2) if self.axis == "channel" else None

    def _fit(self, X):
        return {"mean": np.mean(X, axis=_REDUCE[self.axis], dtype=np.float64)}

    def _statistic_shapes(self):
        shape = self.feature_shape
        return {"mean": {"feature": shape, "channel": shape[:1], "global": ()}[self.axis]}

    def _broadcast_mean(self, dtype):
        mean = self.stat("mean", dtype)
        return mean.reshape(-1, 1, 1) if self.axis == "channel" else mean

    def _transform(self, X):
        return np.subtract(X, self._broadcast_mean(X.dtype), dtype=X.dtype)

    def inverse_transform(self, X2):
        """X2 + mean: the data back in its original position."""
        X2 = self.check_input(X2, "inverse_transform")
        return np.add(X2, self._broadcast_mean(X2.dtype), dtype=X2.dtype)


@corenn.hookimpl
def corenn_preprocessors():
    return [MeanSubtraction]
