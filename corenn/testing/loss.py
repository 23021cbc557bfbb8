"""Conformance checks for losses: ``forward(scores, y) -> float``, ``backward() -> dscores``."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInput
from ..protocols import TrustedLoss
from ._gradients import check_gradient
from ._kit import Subject, register_check

N, C = 5, 4


def _batch(dtype=np.float64, n=N, c=C, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    scores = (rng.standard_normal((n, c)) * scale).astype(dtype)
    y = rng.integers(0, c, size=n)
    return scores, y


@register_check("loss")
def check_gradient_float64(subject: Subject) -> None:
    """backward() matches the central-difference gradient of forward() wrt the scores, in float64."""
    loss = subject.make()
    for seed in (0, 1):
        scores, y = _batch(seed=seed)
        loss.forward(scores, y)
        analytic = np.array(loss.backward(), copy=True)
        check_gradient(lambda: loss.forward(scores, y), scores, analytic, tol=1e-6,
                       where=f"{subject.name}: d loss / d scores")


@register_check("loss")
def check_value_dtype_and_shape(subject: Subject) -> None:
    """forward returns a finite Python float >= 0; dscores has the scores' shape and dtype."""
    for dtype in (np.float32, np.float64):
        loss = subject.make()
        scores, y = _batch(dtype)
        value = loss.forward(scores, y)
        assert isinstance(value, float), f"forward returned {type(value).__name__}, want a Python float"
        assert np.isfinite(value) and value >= 0, f"loss {value} is not a finite non-negative number"
        grad = loss.backward()
        assert grad.shape == scores.shape and grad.dtype == dtype, \
            f"backward gave {grad.dtype} {grad.shape}, want {np.dtype(dtype).name} {scores.shape}"


@register_check("loss")
def check_mean_over_batch(subject: Subject) -> None:
    """The loss is a mean over the batch: the batch repeated twice gives the same loss, and half the gradient."""
    loss = subject.make()
    scores, y = _batch()
    single = loss.forward(scores, y)
    grad = np.array(loss.backward(), copy=True)
    double = loss.forward(np.concatenate([scores, scores]), np.concatenate([y, y]))
    grad2 = loss.backward()
    np.testing.assert_allclose(double, single, rtol=1e-12, err_msg="loss of a repeated batch differs")
    np.testing.assert_allclose(grad2[:N], grad / 2, rtol=1e-12, atol=1e-15,
                               err_msg="gradient of a repeated batch is not half the gradient")


@register_check("loss")
def check_inputs_untouched_and_repeatable(subject: Subject) -> None:
    """forward leaves the scores as they were; forward and backward give the same answer twice."""
    loss = subject.make()
    scores, y = _batch()
    before = scores.copy()
    first = loss.forward(scores, y)
    g1 = np.array(loss.backward(), copy=True)
    np.testing.assert_array_equal(scores, before, err_msg="forward modified the scores in place")
    assert loss.forward(scores, y) == first, "forward gave a different value on the same input"
    np.testing.assert_array_equal(loss.backward(), g1, err_msg="backward gave a different gradient the second time")


@register_check("loss")
def check_label_errors(subject: Subject) -> None:
    """Labels outside [0, C), of the wrong length or shape, or not integers raise InvalidInput."""
    scores, y = _batch()
    bad = {
        "label equal to C": np.where(np.arange(N) == 0, C, y),
        "negative label": np.where(np.arange(N) == 0, -1, y),
        "too few labels": y[:-1],
        "too many labels": np.concatenate([y, y[:1]]),
        "2-d labels": y[:, None],
        "fractional labels": y + 0.5,
    }
    for what, labels in bad.items():
        try:
            subject.make().forward(scores, labels)
        except InvalidInput:
            continue
        raise AssertionError(f"{what}: forward accepted it instead of raising corenn.InvalidInput")


@register_check("loss")
def check_bad_scores(subject: Subject) -> None:
    """NaN or inf scores, 1-d or 3-d scores and an empty batch raise InvalidInput."""
    scores, y = _batch()
    nan = scores.copy()
    nan[1, 2] = np.nan
    inf = scores.copy()
    inf[0, 0] = np.inf
    cases = {"NaN score": (nan, y), "inf score": (inf, y), "1-d scores": (scores[0], y[:1]),
             "3-d scores": (scores[None], y), "empty batch": (scores[:0], y[:0])}
    for what, (s, labels) in cases.items():
        try:
            subject.make().forward(s, labels)
        except InvalidInput:
            continue
        raise AssertionError(f"{what}: forward accepted it instead of raising corenn.InvalidInput")


@register_check("loss")
def check_extreme_scores(subject: Subject) -> None:
    """Scores of magnitude 1e4 (float32 and float64) give a finite loss and gradient, without overflow,
    division by zero or invalid-value warnings (underflow to an exact 0 probability is fine)."""
    for dtype in (np.float32, np.float64):
        scores = np.array([[1e4, -1e4, 0.0, 5e3], [-1e4, 1e4, 1e4, -5e3], [0.0, 0.0, -1e4, 1e4]], dtype=dtype)
        y = np.array([1, 0, 3])
        loss = subject.make()
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            value = loss.forward(scores, y)
            grad = loss.backward()
        assert np.isfinite(value) and value >= 0, f"{np.dtype(dtype).name}: loss {value} at |scores| = 1e4"
        assert np.isfinite(grad).all(), f"{np.dtype(dtype).name}: non-finite gradient at |scores| = 1e4"


@register_check("loss")
def check_forward_trusted(subject: Subject) -> None:
    """A loss that declares ``forward_trusted`` (TrustedLoss) gives forward's value, bit for bit, and the
    same backward."""
    loss = subject.make()
    if not isinstance(loss, TrustedLoss):
        return
    for dtype in (np.float32, np.float64):
        scores, y = _batch(dtype)
        value, grad = loss.forward(scores, y), np.array(loss.backward(), copy=True)
        assert loss.forward_trusted(scores, y) == value, "forward_trusted differs from forward"
        np.testing.assert_array_equal(loss.backward(), grad, err_msg="backward after forward_trusted differs")
