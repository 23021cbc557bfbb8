"""Conformance checks for datasets.

A dataset that needs files (downloaded data, a folder the user points to)
cannot be loaded by the kit as it is. Such a class provides a class method
``example_files(folder) -> dict``: it writes a tiny valid dataset into
``folder`` (an empty temporary folder) and returns the hyperparameters that
load it. The kit then loads through those. A dataset whose ``load`` ignores
the seed declares ``randomized = False`` (a class attribute); every other one
must give a different split for a different seed.
"""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np

from ..data import Data
from ._kit import Subject, register_check

SPLITS = ("train", "val", "test")


def _load(subject: Subject, seed: Any) -> Data:
    """``load(seed)`` of a fresh instance, through ``example_files`` where the class has it."""
    example_files = getattr(subject.cls, "example_files", None)
    if example_files is None:
        return subject.make().load(seed=seed)
    with tempfile.TemporaryDirectory(prefix="corenn-kit-") as folder:
        kwargs = example_files(folder)
        assert isinstance(kwargs, dict), f"example_files() must return a dict of hyperparameters, got {kwargs!r}"
        return subject.make(**kwargs).load(seed=seed)


def _arrays(data: Data) -> list[np.ndarray]:
    return [getattr(data, f"{part}_{split}") for split in SPLITS for part in ("X", "y")]


@register_check("dataset")
def check_load_gives_valid_data(subject: Subject) -> None:
    """load(seed=0) gives a corenn.Data: float32 X (N, F) with the same F in every
    split, int64 y of matching length, labels in range, finite values, named classes,
    non-empty train and test parts."""
    data = _load(subject, 0)
    assert isinstance(data, Data), f"load() must return corenn.Data, got {type(data).__name__}"
    assert len(data.classes) >= 2, f"a classification dataset needs at least 2 classes, got {data.classes!r}"
    assert len(set(data.classes)) == len(data.classes), f"class names repeat: {data.classes!r}"
    features = data.X_train.shape[1:]
    for split in SPLITS:
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        assert X.dtype == np.float32, f"X_{split} has dtype {X.dtype}, want float32"
        assert y.dtype == np.int64 and y.ndim == 1, f"y_{split} has dtype {y.dtype} and shape {y.shape}, want int64 (N,)"
        assert X.ndim >= 2 and X.shape[1:] == features, f"X_{split} has shape {X.shape}, train has features {features}"
        assert len(X) == len(y), f"X_{split} has {len(X)} rows but y_{split} has {len(y)} labels"
        assert np.isfinite(X).all(), f"X_{split} holds NaN or inf"
        if y.size:
            assert 0 <= y.min() and y.max() < len(data.classes), f"y_{split} outside [0, {len(data.classes)})"
    assert len(data.X_train) > 0 and len(data.X_test) > 0, "the train and test parts must not be empty"


@register_check("dataset")
def check_same_seed_same_data(subject: Subject) -> None:
    """Two loads with the same seed give identical arrays, bit for bit."""
    first, second = _load(subject, 0), _load(subject, 0)
    assert first.classes == second.classes, "classes differ between two loads with seed 0"
    for a, b, name in zip(_arrays(first), _arrays(second), [f"{p}_{s}" for s in SPLITS for p in "Xy"]):
        assert a.shape == b.shape and np.array_equal(a, b), f"{name} differs between two loads with seed 0"


@register_check("dataset")
def check_different_seed_different_split(subject: Subject) -> None:
    """A different seed gives a different split (unless the class sets ``randomized = False``);
    the number of examples stays the same."""
    first, second = _load(subject, 0), _load(subject, 1)
    for split in SPLITS:
        a, b = getattr(first, f"X_{split}"), getattr(second, f"X_{split}")
        assert a.shape == b.shape, f"X_{split} has shape {a.shape} with seed 0 but {b.shape} with seed 1"
    if getattr(subject.cls, "randomized", True):
        same = all(np.array_equal(a, b) for a, b in zip(_arrays(first), _arrays(second)))
        assert not same, "seeds 0 and 1 give identical data; use the seed, or declare randomized = False"
