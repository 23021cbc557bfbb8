"""Checks of the optional capabilities a layer or activation declares (:mod:`corenn.protocols`),
of the dtype rule for a default-built element (float64 in, float64 out, gradients exact), and of
backward() before forward()."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..component import hyperparameters
from ..errors import InvalidInput
from ..protocols import (ChecksInput, DropsUnits, InvertsWidth, MapsWidth, Regularized, SetsOutputWidth,
                         SkipsInputGradient, Stochastic, TakesInputWidth, declared_input_width)
from ._gradients import check_gradient

TOL64 = 1e-5  # the kit's float64 tolerance (check_module_gradients)


def _forward(el: Any, x: np.ndarray, training: bool | None) -> np.ndarray:
    if isinstance(el, Stochastic):
        el.rng = np.random.default_rng(0)
    return el.forward(x) if training is None else el.forward(x, training=training)


def _field(cls: type, attr: str) -> None:
    name = getattr(cls, attr)
    fields = [a.name for a in hyperparameters(cls)]
    assert isinstance(name, str) and name in fields, \
        f"{attr} = {name!r} names no hyperparameter (it has: {', '.join(fields) or 'none'})"


def check_declared_capabilities(make, x: np.ndarray, training: bool | None) -> None:
    """Each capability the element declares holds: width fields name hyperparameters and say the
    truth, ``output_width``/``input_width_for`` agree with forward, a ``Stochastic`` element's draws
    follow its ``rng``, ``regularized`` names params, ``check_input=False`` changes no result, and
    ``backward(dy, input_grad=False)`` fills the same grads as ``backward(dy)``."""
    base = make()
    fresh = lambda: copy.deepcopy(base)  # noqa: E731  (identical instances: same initial weights)
    el = fresh()
    cls = type(el)
    y = _forward(el, x, training)
    width, out = x.shape[1], y.shape[1]
    if isinstance(el, TakesInputWidth):
        _field(cls, "input_width_field")
        assert declared_input_width(el) == width, \
            f"input_width_field {cls.input_width_field!r} is {declared_input_width(el)!r}, the input width {width}"
    if isinstance(el, SetsOutputWidth):
        _field(cls, "output_width_field")
        assert getattr(el, cls.output_width_field) == out, \
            f"output_width_field {cls.output_width_field!r} is {getattr(el, cls.output_width_field)!r}, " \
            f"but forward gives width {out}"
    if isinstance(el, MapsWidth):
        assert el.output_width(width) == out, f"output_width({width}) = {el.output_width(width)!r}, forward gives {out}"
    if isinstance(el, InvertsWidth):
        need = el.input_width_for(3)
        got = _forward(make(), np.zeros((2, need), x.dtype), training).shape[1]
        assert got == 3, f"input_width_for(3) = {need}, but an input of that width gives width {got}"
    if isinstance(el, DropsUnits):
        _field(cls, "keep_prob_field")
    if isinstance(el, Stochastic):
        assert isinstance(el.rng, np.random.Generator), f"rng is {type(el.rng).__name__}, not a numpy Generator"
        if training:
            again = _forward(fresh(), x, training)
            np.testing.assert_array_equal(y, again, err_msg="the same rng gave different draws")
    if isinstance(el, Regularized):
        missing = [k for k in cls.regularized if k not in el.params]
        assert not missing, f"regularized names {missing}, which are not in params {sorted(el.params)}"
    if isinstance(el, ChecksInput):
        fast = fresh()
        fast.check_input = False
        np.testing.assert_array_equal(_forward(fast, x, training), y, err_msg="check_input=False changed the output")
    if isinstance(el, SkipsInputGradient) and el.skips_input_gradient:
        dy = np.random.default_rng(1).standard_normal(y.shape).astype(y.dtype)
        full = fresh()
        _forward(full, x, training)
        full.backward(dy)
        _forward(el, x, training)
        assert el.backward(dy, input_grad=False) is None, "backward(dy, input_grad=False) must return None"
        for key, g in full.grads.items():
            np.testing.assert_array_equal(el.grads[key], g, err_msg=f"input_grad=False changed grads[{key!r}]")


def check_default_keeps_float64(make, x64: np.ndarray, training: bool | None, name: str) -> None:
    """A default-built element (float32 params) computes a float64 input in float64: output and dx
    are float64 and dx matches central differences at the float64 tolerance."""
    el = make()
    x = np.array(x64, dtype=np.float64)
    y = _forward(el, x, training)
    assert y.dtype == np.float64, f"a float64 input gave a {y.dtype} output (outputs keep the input's dtype)"
    G = np.random.default_rng(1).standard_normal(y.shape)
    snapshot = {k: np.array(v, copy=True) for k, v in (getattr(el, "buffers", None) or {}).items()}

    def scalar() -> float:
        for k, v in snapshot.items():
            el.buffers[k][...] = v
        return float(np.sum(_forward(el, x, training) * G))

    scalar()
    dx = el.backward(G)
    assert dx.dtype == np.float64, f"a float64 input gave a {dx.dtype} input gradient"
    check_gradient(scalar, x, np.array(dx, copy=True), tol=TOL64, where=f"{name} (default dtype, float64 input): d/d input")


def check_backward_first_is_clear(element: Any, dy: np.ndarray, name: str) -> None:
    """``backward(dy)`` on a fresh element, before any forward, either works (it needs nothing
    from forward) or raises :class:`corenn.InvalidInput` naming ``name``; never a raw error."""
    try:
        element.backward(dy)
    except InvalidInput as exc:
        assert name in str(exc), f"backward() before forward() raised an error that does not name {name!r}: {exc}"
    except Exception as exc:
        raise AssertionError(f"backward() before forward() raised {type(exc).__name__}: {exc}; raise corenn.InvalidInput "
                             f"naming {name!r} (read what forward stored with corenn.from_forward)") from exc
