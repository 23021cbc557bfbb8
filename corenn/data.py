"""``corenn.Data``: the splits a dataset loader returns."""

from __future__ import annotations

import attrs
import numpy as np

from .arrays import as_float_array, as_labels
from .errors import InvalidInput


def _features(x):
    return np.ascontiguousarray(as_float_array(x, "Data.X", ndim=(2, 4), dtype=np.float32, allow_empty=True))


def _labels(y):
    return as_labels(y, "Data.y")


def _sample_shape(shape):
    return None if shape is None else tuple(int(s) for s in shape)


@attrs.define(eq=False)
class Data:
    """Train, validation and test splits: X float32 ``(N, features)``, y int64 ``(N,)``;
    ``classes`` names the classes, index i naming label i.

    ``sample_shape`` (optional) is the shape each row of X flattens in C order, such as
    ``(3, 32, 32)`` for CIFAR-10's channel-major rows: ``X.reshape(-1, *sample_shape)``
    gives the images, and preprocessors that work on images only (per-channel means) see them
    so (:func:`corenn.preprocessing.fit_preprocessors`).
    """

    X_train: np.ndarray = attrs.field(converter=_features)
    y_train: np.ndarray = attrs.field(converter=_labels)
    X_val: np.ndarray = attrs.field(converter=_features)
    y_val: np.ndarray = attrs.field(converter=_labels)
    X_test: np.ndarray = attrs.field(converter=_features)
    y_test: np.ndarray = attrs.field(converter=_labels)
    classes: tuple = attrs.field(converter=tuple)
    sample_shape: tuple | None = attrs.field(default=None, converter=_sample_shape, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.sample_shape is not None:
            shape, flat = self.sample_shape, self.X_train.ndim == 2
            if (not shape or min(shape) < 1
                    or (int(np.prod(shape)) != self.num_features if flat else shape != self.X_train.shape[1:])):
                raise InvalidInput(f"Data.sample_shape={shape} does not fit samples of shape {self.X_train.shape[1:]}; "
                                   "give the shape whose C-order flattening is one row of X (or none)")
        for split in ("train", "val", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            as_labels(y, f"Data.y_{split}", n=X.shape[0], num_classes=len(self.classes))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))
