"""Conformance checks for layers.

A layer's input width is the one it declares (:class:`corenn.protocols.TakesInputWidth`,
else :data:`WIDTH`); a layer with a ``dtype`` hyperparameter is
built with the dtype under test, others get float64 params for the gradient check.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInput
from ..protocols import HasBuffers, declared_input_width
from ._capabilities import check_backward_first_is_clear, check_declared_capabilities, check_default_keeps_float64
from ._gradients import check_module_gradients
from ._kit import Subject, register_check

WIDTH = 6
BATCH = 5


def _width(layer) -> int:
    return declared_input_width(layer) or WIDTH


def _make(subject: Subject, dtype=np.float32):
    """A fresh layer whose params have ``dtype`` (built with it when the layer takes ``dtype``)."""
    name = np.dtype(dtype).name
    if subject.accepts("dtype"):
        return subject.make(dtype=name)
    layer = subject.make()
    for store in ("params", "grads", "buffers"):
        arrays = getattr(layer, store, None) or {}
        for key in list(arrays):
            arrays[key] = np.asarray(arrays[key], dtype=dtype)
    return layer


def _input(layer, dtype, n=BATCH, seed=0):
    return (np.random.default_rng(seed).standard_normal((n, _width(layer))) * 2 + 0.5).astype(dtype)


@register_check("layer")
def check_layer_gradients_float64(subject: Subject) -> None:
    """backward() and every param's grad match central differences in float64, at training and at inference
    (stochastic layers are reseeded before each forward, so a dropout mask stays fixed)."""
    for training in (True, False):
        layer = _make(subject, np.float64)
        check_module_gradients(layer, _input(layer, np.float64), training=training)


@register_check("layer")
def check_layer_dtype_and_shape(subject: Subject) -> None:
    """float32 stays float32 and float64 stays float64 (output, dx, grads); dx has x's shape; N is kept."""
    for dtype in (np.float32, np.float64):
        for training in (True, False):
            layer = _make(subject, dtype)
            x = _input(layer, dtype)
            y = layer.forward(x, training=training)
            assert isinstance(y, np.ndarray) and y.ndim == 2 and y.shape[0] == x.shape[0], \
                f"forward turned {x.shape} into {getattr(y, 'shape', y)}; the batch axis must be kept"
            assert y.dtype == dtype, f"forward turned {np.dtype(dtype).name} into {y.dtype} (training={training})"
            dx = layer.backward(np.ones_like(y))
            assert dx.dtype == dtype and dx.shape == x.shape, \
                f"backward gave {dx.dtype} {dx.shape}, want {np.dtype(dtype).name} {x.shape}"
            for key, g in layer.grads.items():
                assert g.dtype == layer.params[key].dtype, f"grads[{key!r}] is {g.dtype}, its param {layer.params[key].dtype}"


@register_check("layer")
def check_layer_params_and_grads(subject: Subject) -> None:
    """params and grads have the same keys, shapes and dtypes; a backward fills every grad."""
    layer = _make(subject)
    assert set(layer.params) == set(layer.grads) or not layer.grads, \
        f"params has {sorted(layer.params)} but grads has {sorted(layer.grads)}"
    y = layer.forward(_input(layer, np.float32))
    layer.backward(np.ones_like(y))
    assert set(layer.params) == set(layer.grads), f"after backward params has {sorted(layer.params)} " \
                                                  f"but grads has {sorted(layer.grads)}"
    for key, p in layer.params.items():
        g = layer.grads[key]
        assert isinstance(p, np.ndarray) and isinstance(g, np.ndarray), f"params/grads[{key!r}] must be arrays"
        assert g.shape == p.shape, f"grads[{key!r}] has shape {g.shape}, params[{key!r}] {p.shape}"
        assert np.isfinite(g).all(), f"grads[{key!r}] is not finite"
    if isinstance(layer, HasBuffers):
        assert isinstance(layer.buffers, dict), f"buffers must be a dict of arrays, got {type(layer.buffers).__name__}"
        for key, b in layer.buffers.items():
            assert isinstance(b, np.ndarray), f"buffers[{key!r}] must be an array"
            assert b.dtype == np.float32, f"buffers[{key!r}] is {b.dtype} in a float32 layer; keep the params' dtype"


@register_check("layer")
def check_layer_batch_independence(subject: Subject) -> None:
    """At inference each row's output depends only on that row, and repeated calls agree."""
    layer = _make(subject, np.float64)
    x = _input(layer, np.float64)
    whole = layer.forward(x, training=False).copy()
    rows = np.concatenate([layer.forward(x[i:i + 1], training=False) for i in range(len(x))])
    np.testing.assert_allclose(whole, rows, rtol=1e-12, atol=1e-12, err_msg="inference output depends on the batch")
    np.testing.assert_array_equal(whole, layer.forward(x, training=False), err_msg="inference is not deterministic")


@register_check("layer")
def check_layer_buffers_change_only_in_training(subject: Subject) -> None:
    """Inference forward and backward leave ``buffers`` untouched."""
    layer = _make(subject)
    x = _input(layer, np.float32)
    layer.forward(x, training=True)  # move the statistics away from their initial values
    if not isinstance(layer, HasBuffers):
        return
    before = {k: np.array(v, copy=True) for k, v in layer.buffers.items()}
    y = layer.forward(x * 3 + 1, training=False)
    layer.backward(np.ones_like(y))
    for key, value in before.items():
        np.testing.assert_array_equal(layer.buffers[key], value, err_msg=f"buffers[{key!r}] changed at inference")


def _raises_invalid_input(layer, x, what: str, name: str) -> None:
    try:
        layer.forward(x, training=True)
    except InvalidInput as exc:
        assert name in str(exc), f"the error for {what} does not name the layer {name!r}: {exc}"
        return
    raise AssertionError(f"forward accepted {what} (expected corenn.InvalidInput)")


@register_check("layer")
def check_layer_bad_input(subject: Subject) -> None:
    """NaN/inf, a wrong rank, an empty batch and object arrays are InvalidInput naming the layer; ints are cast."""
    layer = _make(subject)
    x = _input(layer, np.float32)
    bad = x.copy()
    bad[1, 0] = np.nan
    _raises_invalid_input(layer, bad, "NaN input", subject.name)
    bad[1, 0] = np.inf
    _raises_invalid_input(layer, bad, "infinite input", subject.name)
    _raises_invalid_input(layer, x[0], "a 1-d input", subject.name)
    _raises_invalid_input(layer, x[:0], "an empty batch", subject.name)
    _raises_invalid_input(layer, x.astype(object), "an object array", subject.name)
    y = layer.forward(np.round(x).astype(np.int64), training=False)
    assert y.dtype.kind == "f", f"integer input gave {y.dtype} output; ints must be cast to float"
    declared = declared_input_width(layer)
    if declared:
        _raises_invalid_input(layer, np.ones((3, declared + 1), np.float32), "input of the wrong width", subject.name)


@register_check("layer")
def check_layer_default_dtype_keeps_float64(subject: Subject) -> None:
    """A layer built with its defaults computes a float64 input in float64 (output, dx), and dx passes
    the float64 gradient check, at training and at inference."""
    for training in (True, False):
        layer = subject.make()
        check_default_keeps_float64(subject.make, _input(layer, np.float64), training, subject.name)


@register_check("layer")
def check_layer_capabilities(subject: Subject) -> None:
    """Every optional capability the layer declares (corenn.protocols) holds, at training and at inference."""
    for training in (True, False):
        layer = subject.make()
        check_declared_capabilities(subject.make, _input(layer, np.float32), training)


@register_check("layer")
def check_layer_backward_before_forward(subject: Subject) -> None:
    """backward() on a fresh layer is corenn.InvalidInput naming it (or works), never a raw error."""
    layer = _make(subject)
    check_backward_first_is_clear(layer, np.ones((BATCH, _width(layer)), np.float32), subject.name)
