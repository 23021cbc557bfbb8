"""Helpers for checking and converting arrays, shared by the core and plugins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .component import component_name
from .errors import InvalidInput

FLOAT_DTYPES = (np.float32, np.float64)


def resolve_dtype(dtype: Any) -> np.dtype:
    """``"float32"``/``"float64"`` (or the numpy types) as a numpy dtype; anything else is an error."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in FLOAT_DTYPES:
        raise InvalidInput(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


def as_float_array(x: Any, where: str, *, ndim: int | tuple[int, ...] | None = None,
                   dtype: Any = None, allow_empty: bool = False) -> np.ndarray:
    """``x`` as a float32/float64 array, or a clear error naming ``where``.

    Integer and bool input is cast (to ``dtype``, default float32); object,
    string and complex input is refused; NaN or inf, a wrong rank and (unless
    ``allow_empty``) an empty batch are errors. Float input keeps its dtype
    unless ``dtype`` is given.
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # e.g. ragged nested lists
        raise InvalidInput(f"{where}: cannot be read as an array (rows of different lengths?): {exc}") from None
    if arr.dtype.kind in "biu":
        arr = arr.astype(dtype or np.float32)
    elif arr.dtype.kind != "f":
        raise InvalidInput(f"{where}: expected a numeric float array, got dtype {arr.dtype}")
    elif arr.dtype.type not in FLOAT_DTYPES:
        arr = arr.astype(dtype or np.float32)
    elif dtype is not None and arr.dtype != np.dtype(dtype):
        arr = arr.astype(dtype)
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if ranks is not None and arr.ndim not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise InvalidInput(f"{where}: expected a {want}-d array, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise InvalidInput(f"{where}: got an empty array of shape {arr.shape}")
    # a finite sum means every value is finite (NaN and inf propagate): one pass, without the
    # temporary boolean array of isfinite (an eighth to a quarter of the data's memory); a sum that
    # overflows, all values finite, only sends the check to isfinite
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(arr, axis=None)
    if not np.isfinite(total) and not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.isfinite(arr).sum())
        raise InvalidInput(f"{where}: input holds {bad} NaN or infinite value(s); clean or impute the data first")
    return arr


def as_layer_input(x: Any, layer: str, width: int, dtype: Any, hint: str) -> np.ndarray:
    """A layer's input ``(N, width)`` as a finite float array, or a clear :class:`InvalidInput`
    naming ``layer``, both shapes and (``hint``) how to make them agree.

    Float input keeps its dtype (outputs keep the input's dtype: a float64 batch through a
    float32 layer is computed in float64); integer and bool input becomes the layer's ``dtype``.
    """
    arr = as_float_array(x, f"{layer}.forward", ndim=2, dtype=dtype if np.asarray(x).dtype.kind in "biu" else None)
    if arr.shape[1] != width:
        raise InvalidInput(f"{layer}: input has shape {arr.shape} but the layer takes (N, {width}); "
                           + hint.format(got=arr.shape[1]))
    return arr


def from_forward(component: Any, *names: str) -> Any:
    """What ``component.forward`` stored for its backward, read in ``backward``:
    ``dy * corenn.from_forward(self, "_mask")``; several names give a tuple.

    An attribute that is missing or None (no forward yet) raises :class:`InvalidInput`
    naming the component, instead of a raw AttributeError or TypeError.
    """
    if len(names) == 1:  # the common case, on every backward: no tuple
        value = getattr(component, names[0], None)
        if value is not None:
            return value
    else:
        values = tuple(getattr(component, name, None) for name in names)
        if all(value is not None for value in values):
            return values
    raise InvalidInput(f"{component_name(component)}: backward() was called before forward(); "
                       "run forward() on the batch first")


def as_labels(y: Any, where: str, *, n: int | None = None, num_classes: int | None = None) -> np.ndarray:
    """Integer class indices as an int64 vector of length ``n`` in ``[0, num_classes)``."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InvalidInput(f"{where}: labels must be a 1-d vector of class indices, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise InvalidInput(f"{where}: labels must be integer class indices, got non-integer values")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise InvalidInput(f"{where}: labels must be integer class indices, got dtype {arr.dtype}")
    if n is not None and arr.shape[0] != n:
        raise InvalidInput(f"{where}: {arr.shape[0]} labels for {n} samples; they must match")
    if num_classes is not None and arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise InvalidInput(f"{where}: labels must lie in [0, {num_classes}), got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64, copy=False)


def as_generator(rng: Any = None) -> np.random.Generator:
    """A ``numpy.random.Generator`` from None (fresh), a seed, or a Generator (returned as is)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def fans(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape: ``(fan_in, fan_out)`` for a matrix,
    ``(n, n)`` for a vector; extra trailing axes (receptive fields) multiply both."""
    shape = tuple(int(s) for s in shape)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[0] * receptive, shape[1] * receptive


def flat_buffer(arrays: Sequence[np.ndarray]) -> np.ndarray | None:
    """The 1-d span of memory that ``arrays`` fill when they are, in order, consecutive
    C-contiguous parts of one 1-d buffer of their dtype (as :class:`corenn.Sequential` lays
    its parameters), as a view of that buffer; None where they are not."""
    if not arrays:
        return None
    first = arrays[0]
    base = first if first.base is None else first.base
    if type(base) is not np.ndarray or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    start = at = first.ctypes.data
    for a in arrays:
        if not (a is base or a.base is base) or a.dtype != base.dtype or not a.flags.c_contiguous \
                or a.ctypes.data != at:
            return None
        at += a.nbytes
    begin = (start - base.ctypes.data) // base.itemsize
    return base[begin:begin + (at - start) // base.itemsize]


def views_like(buffer: np.ndarray, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Views of the 1-d ``buffer`` with the shapes of ``arrays``, laid end to end in order."""
    views, at = [], 0
    for a in arrays:
        views.append(buffer[at:at + a.size].reshape(a.shape))
        at += a.size
    return views
