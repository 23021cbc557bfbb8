"""``corenn.Data``: the splits a dataset loader returns."""

from __future__ import annotations

import attrs
import numpy as np

from .arrays import as_float_array, as_labels


def _features(x):
    return np.ascontiguousarray(as_float_array(x, "Data.X", ndim=(2, 4), dtype=np.float32, allow_empty=True))


def _labels(y):
    return as_labels(y, "Data.y")


@attrs.define(eq=False)
class Data:
    """Train, validation and test splits: X float32 ``(N, features)``, y int64 ``(N,)``;
    ``classes`` names the classes, index i naming label i."""

    X_train: np.ndarray = attrs.field(converter=_features)
    y_train: np.ndarray = attrs.field(converter=_labels)
    X_val: np.ndarray = attrs.field(converter=_features)
    y_val: np.ndarray = attrs.field(converter=_labels)
    X_test: np.ndarray = attrs.field(converter=_features)
    y_test: np.ndarray = attrs.field(converter=_labels)
    classes: tuple = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        for split in ("train", "val", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            as_labels(y, f"Data.y_{split}", n=X.shape[0], num_classes=len(self.classes))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))
