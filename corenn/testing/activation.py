"""Conformance checks for activations."""

from __future__ import annotations

import numpy as np

from ._capabilities import check_backward_first_is_clear, check_declared_capabilities, check_default_keeps_float64
from ._gradients import check_module_gradients
from ._kit import Subject, register_check

WIDTH = 6  # divisible by the group sizes maxout is tested with


def _input(dtype, n=4, width=WIDTH, seed=0):
    return np.random.default_rng(seed).standard_normal((n, width)).astype(dtype) * 2


@register_check("activation")
def check_gradients_float64(subject: Subject) -> None:
    """backward() and param grads match central differences in float64."""
    act = subject.make()
    for k in list(act.params):
        act.params[k] = np.asarray(act.params[k], dtype=np.float64)
    check_module_gradients(act, _input(np.float64), training=None)


@register_check("activation")
def check_dtype_and_shape(subject: Subject) -> None:
    """float32 in gives float32 out and float32 dx; float64 likewise; dx has x's shape."""
    for dtype in (np.float32, np.float64):
        act = subject.make()
        x = _input(dtype)
        y = act.forward(x)
        assert y.dtype == dtype, f"forward turned {np.dtype(dtype).name} into {y.dtype}"
        assert y.shape[0] == x.shape[0], f"forward changed the batch size: {x.shape} -> {y.shape}"
        dx = act.backward(np.ones_like(y))
        assert dx.dtype == dtype and dx.shape == x.shape, f"backward gave {dx.dtype} {dx.shape}, want {np.dtype(dtype).name} {x.shape}"


@register_check("activation")
def check_batch_independence(subject: Subject) -> None:
    """Each row's output depends only on that row."""
    act = subject.make()
    x = _input(np.float64, n=5)
    whole = act.forward(x)
    rows = np.concatenate([act.forward(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(whole, rows, rtol=1e-12, atol=1e-12)


@register_check("activation")
def check_extreme_inputs(subject: Subject) -> None:
    """Inputs of magnitude 1000 give finite outputs and gradients without overflow,
    division by zero or invalid operations, in float32 and float64.

    Underflow is allowed: ``exp(-1000)`` rounding to 0 is the correctly rounded
    result (sigmoid(-1000) is 0 in any float format), and numpy ignores it by default.
    """
    for dtype in (np.float32, np.float64):
        act = subject.make()
        x = np.tile(np.array([-1000.0, -1.0, 0.5, 1000.0, -30.0, 30.0]), (2, 1)).astype(dtype)
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            y = act.forward(x)
            dx = act.backward(np.ones_like(y))
        assert np.isfinite(y).all() and np.isfinite(dx).all(), \
            f"non-finite output or gradient at |x| = 1000 ({np.dtype(dtype).name})"


@register_check("activation")
def check_inputs_untouched(subject: Subject) -> None:
    """forward() leaves x as it was and backward() leaves dy as it was (no in-place edits of the caller's arrays)."""
    act = subject.make()
    x = _input(np.float64)
    x_before = x.copy()
    y = act.forward(x)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dy_before = dy.copy()
    act.backward(dy)
    np.testing.assert_array_equal(x, x_before, err_msg="forward() modified its input")
    np.testing.assert_array_equal(dy, dy_before, err_msg="backward() modified dy")


@register_check("activation")
def check_default_dtype_keeps_float64(subject: Subject) -> None:
    """An activation built with its defaults computes a float64 input in float64 (output, dx), and dx
    passes the float64 gradient check."""
    check_default_keeps_float64(subject.make, _input(np.float64), None, subject.name)


@register_check("activation")
def check_capabilities(subject: Subject) -> None:
    """Every optional capability the activation declares (corenn.protocols) holds."""
    check_declared_capabilities(subject.make, _input(np.float32), None)


@register_check("activation")
def check_backward_before_forward(subject: Subject) -> None:
    """backward() on a fresh activation is corenn.InvalidInput naming it (or works), never a raw error."""
    check_backward_first_is_clear(subject.make(), np.ones((4, WIDTH)), subject.name)
