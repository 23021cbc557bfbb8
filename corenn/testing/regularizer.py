"""Conformance checks for regularizers."""

from __future__ import annotations

import inspect
import numbers

import numpy as np

from ._gradients import check_gradient
from ._kit import Subject, register_check

SHAPE = (5, 4)


def _weights(dtype=np.float64, scale=1.0, seed=0) -> np.ndarray:
    """Weights with |w| in [0.1, 1] * scale: away from 0, where L1 has its kink."""
    rng = np.random.default_rng(seed)
    return (rng.choice([-1.0, 1.0], SHAPE) * rng.uniform(0.1, 1.0, SHAPE) * scale).astype(dtype)


def _make(subject: Subject):
    """A regularizer with a strength large enough to measure (0.5), when it takes one."""
    return subject.make(strength=0.5) if subject.accepts("strength") else subject.make()


@register_check("regularizer")
def check_penalty_gradient_float64(subject: Subject) -> None:
    """gradient(w) is the derivative of penalty(w), by central differences in float64."""
    reg = _make(subject)
    w = _weights()
    analytic = np.array(reg.gradient(w), dtype=np.float64)
    check_gradient(lambda: float(reg.penalty(w)), w, analytic, where=f"{subject.name}: d penalty / d w")


@register_check("regularizer")
def check_penalty_and_gradient_types(subject: Subject) -> None:
    """penalty is a finite float >= 0 (0 at w = 0); gradient keeps w's shape and dtype and leaves w alone;
    ``gradient(w, out=buf)``, where supported, fills and returns buf."""
    reg = _make(subject)
    for dtype in (np.float32, np.float64):
        w = _weights(dtype)
        before = w.copy()
        p = reg.penalty(w)
        assert isinstance(p, numbers.Real) and np.isfinite(p) and p >= 0, f"penalty gave {p!r}"
        g = reg.gradient(w)
        assert isinstance(g, np.ndarray) and g.shape == w.shape and g.dtype == w.dtype, \
            f"gradient gave {getattr(g, 'dtype', type(g))} {getattr(g, 'shape', '')}, want {w.dtype} {w.shape}"
        np.testing.assert_array_equal(w, before, err_msg="penalty/gradient changed w")
        if "out" in inspect.signature(reg.gradient).parameters:
            buf = np.full_like(w, np.nan)
            assert reg.gradient(w, out=buf) is buf, "gradient(w, out=buf) must return buf"
            np.testing.assert_array_equal(buf, g, err_msg="gradient(w, out=buf) differs from gradient(w)")
    assert reg.penalty(np.zeros(SHAPE)) == 0, "the penalty of all-zero weights must be 0"


@register_check("regularizer")
def check_constrain(subject: Subject) -> None:
    """constrain(w) works in place, returns None, never grows a norm, is idempotent, and
    (with a ``max_value``) leaves every slice along ``axis`` with norm <= max_value."""
    reg = _make(subject)
    for dtype in (np.float32, np.float64):
        w = _weights(dtype, scale=5.0)
        before = w.copy()
        assert reg.constrain(w) is None, "constrain must work in place and return None"
        assert w.dtype == dtype and w.shape == SHAPE, "constrain changed w's dtype or shape"
        assert np.linalg.norm(w) <= np.linalg.norm(before) * (1 + 1e-6), "constrain grew the weights"
        once = w.copy()
        reg.constrain(w)
        np.testing.assert_allclose(w, once, rtol=1e-5, atol=0, err_msg="constrain is not idempotent")
        max_value = getattr(reg, "max_value", None)
        if max_value is not None:
            norms = np.linalg.norm(w.astype(np.float64), axis=getattr(reg, "axis", 0))
            assert np.all(norms <= max_value * (1 + 1e-5)), f"slice norms {norms} exceed max_value={max_value}"
