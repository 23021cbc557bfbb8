"""Conformance checks for preprocessors: ``fit``, ``transform``, ``fit_transform``,
``inverse_transform`` (where it exists), ``state_dict`` / ``load_state_dict``.

The checks feed correlated random data of shape ``(40, 6)``; a preprocessor that
needs another shape has an attribute ``conformance_input_shape = (N, ...)`` (a
class attribute, or a property when it depends on the hyperparameters; None
means the default). One whose inverse is only approximate (pca keeping fewer components)
says so with a ``lossless`` attribute that is False.
"""

from __future__ import annotations

import numpy as np

from ..errors import CorennError, InvalidInput
from ._kit import Subject, register_check

SHAPE = (40, 6)


def _data(subject: Subject, dtype=np.float64, seed=0) -> np.ndarray:
    shape = tuple(getattr(subject.make(), "conformance_input_shape", None) or SHAPE)
    rng = np.random.default_rng(seed)
    n, d = shape[0], int(np.prod(shape[1:]))
    mixing = rng.standard_normal((d, d)) + 2 * np.eye(d)
    X = rng.standard_normal((n, d)) @ mixing * rng.uniform(0.5, 5.0, d) + rng.uniform(-10, 10, d)
    return X.reshape(shape).astype(dtype)


def _expect_error(call, what: str, error=InvalidInput, mention: str | None = None) -> None:
    try:
        call()
    except error as exc:
        if mention and mention not in str(exc):
            raise AssertionError(f"{what}: the error does not name {mention!r}: {exc}") from exc
        return
    raise AssertionError(f"{what}: no {error.__name__} was raised")


@register_check("preprocessor")
def check_fit_returns_self_and_fit_transform_agrees(subject: Subject) -> None:
    """fit returns self; fit_transform(X) equals fit(X).transform(X); fitting leaves X untouched."""
    X = _data(subject)
    before = X.copy()
    pre = subject.make()
    assert pre.fit(X) is pre, "fit must return self"
    np.testing.assert_array_equal(X, before, err_msg="fit modified its input")
    out = pre.transform(X)
    np.testing.assert_array_equal(X, before, err_msg="transform modified its input")
    assert out is not X, "transform must return a new array, not its input"
    np.testing.assert_allclose(subject.make().fit_transform(X), out, rtol=1e-12, atol=1e-12)
    assert out.shape[0] == X.shape[0], f"transform changed the number of samples: {X.shape} -> {out.shape}"


@register_check("preprocessor")
def check_transform_before_fit_raises(subject: Subject) -> None:
    """transform (and inverse_transform, state_dict) before fit raise a CorennError saying to call fit."""
    X = _data(subject)
    pre = subject.make()
    for method in ("transform", "inverse_transform"):
        if hasattr(pre, method):
            _expect_error(lambda: getattr(pre, method)(X), f"{method} before fit", CorennError, mention="fit")
    _expect_error(pre.state_dict, "state_dict before fit", CorennError, mention="fit")


@register_check("preprocessor")
def check_dtype_kept(subject: Subject) -> None:
    """float32 data stay float32 and float64 stay float64, through transform and inverse_transform."""
    for dtype in (np.float32, np.float64):
        X = _data(subject, dtype)
        pre = subject.make().fit(X)
        out = pre.transform(X)
        assert out.dtype == dtype, f"transform turned {np.dtype(dtype).name} into {out.dtype}"
        assert np.isfinite(out).all(), "transform gave non-finite values"
        if hasattr(pre, "inverse_transform"):
            back = pre.inverse_transform(out)
            assert back.dtype == dtype, f"inverse_transform turned {np.dtype(dtype).name} into {back.dtype}"


@register_check("preprocessor")
def check_inverse_round_trip(subject: Subject) -> None:
    """inverse_transform(transform(X)) gives X back (where an exact inverse exists), also for unseen data."""
    pre = subject.make()
    if not hasattr(pre, "inverse_transform"):
        return
    X = _data(subject)
    pre.fit(X)
    if not getattr(pre, "lossless", True):
        return
    for data in (X, _data(subject, seed=1)):
        np.testing.assert_allclose(pre.inverse_transform(pre.transform(data)), data, rtol=1e-7, atol=1e-7,
                                   err_msg="inverse_transform(transform(X)) is not X")


@register_check("preprocessor")
def check_no_statistics_from_transform(subject: Subject) -> None:
    """Transforming other data (shifted, rescaled) changes no fitted statistic: they come from fit alone."""
    X = _data(subject)
    pre = subject.make().fit(X)
    state = pre.state_dict()
    reference = pre.transform(X)
    other = _data(subject, seed=2) * 7.0 + 1000.0
    pre.transform(other)
    pre.transform(other[:3])
    after = pre.state_dict()
    assert set(after) == set(state), "transform changed the set of fitted statistics"
    for key in state:
        np.testing.assert_array_equal(after[key], state[key], err_msg=f"transform changed the statistic {key!r}")
    np.testing.assert_array_equal(pre.transform(X), reference, err_msg="transform of the same data changed")


@register_check("preprocessor")
def check_refit_replaces_statistics(subject: Subject) -> None:
    """fit on A then on B behaves exactly like a fresh fit on B."""
    A, B = _data(subject, seed=3), _data(subject, seed=4) * 3 - 5
    refitted = subject.make().fit(A).fit(B)
    fresh = subject.make().fit(B)
    np.testing.assert_array_equal(refitted.transform(B), fresh.transform(B))


@register_check("preprocessor")
def check_state_dict_round_trip(subject: Subject) -> None:
    """state_dict() holds arrays; a fresh instance given load_state_dict(them) transforms identically."""
    X = _data(subject)
    pre = subject.make().fit(X)
    state = pre.state_dict()
    assert state and all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items()), \
        "state_dict must map names to numpy arrays"
    restored = subject.make()
    restored.load_state_dict({k: v.copy() for k, v in state.items()})
    for dtype in (np.float32, np.float64):
        data = _data(subject, dtype, seed=5)
        np.testing.assert_array_equal(restored.transform(data), pre.transform(data),
                                      err_msg=f"restored preprocessor transforms {np.dtype(dtype).name} data differently")
    again = restored.state_dict()
    assert set(again) == set(state)
    for key in state:
        np.testing.assert_array_equal(again[key], state[key], err_msg=f"{key!r} did not round-trip")
        assert again[key].dtype == state[key].dtype, f"{key!r} changed dtype in the round trip"
    state[next(iter(state))][...] = 0  # state_dict hands out copies
    np.testing.assert_array_equal(pre.transform(X), restored.transform(X),
                                  err_msg="changing a state_dict array changed the fitted preprocessor")
    _expect_error(lambda: subject.make().load_state_dict({}), "load_state_dict of an empty dict", CorennError)


@register_check("preprocessor")
def check_bad_input(subject: Subject) -> None:
    """NaN/inf in fit or transform, a wrong rank and a feature mismatch raise InvalidInput naming the preprocessor."""
    X = _data(subject)
    name = subject.name
    nan = X.copy()
    nan.flat[3] = np.nan
    inf = X.copy()
    inf.flat[5] = -np.inf
    _expect_error(lambda: subject.make().fit(nan), "NaN in fit", mention=name)
    _expect_error(lambda: subject.make().fit(inf), "inf in fit", mention=name)
    _expect_error(lambda: subject.make().fit(X.reshape(-1)), "1-d data in fit", mention=name)
    _expect_error(lambda: subject.make().fit(X[:0]), "empty data in fit", mention=name)
    _expect_error(lambda: subject.make().fit(np.array(X, dtype=object)), "object data in fit", mention=name)
    pre = subject.make().fit(X)
    _expect_error(lambda: pre.transform(nan), "NaN in transform", mention=name)
    _expect_error(lambda: pre.transform(X.reshape(-1)), "1-d data in transform", mention=name)
    fewer = X.reshape(X.shape[0], -1)[:, :-1]
    more = np.concatenate([X.reshape(X.shape[0], -1)] * 2, axis=1)
    for what, data in (("one feature fewer", fewer), ("twice the features", more)):
        _expect_error(lambda: pre.transform(data), f"{what} in transform", mention=name)
    ints = np.rint(X).astype(np.int64)
    assert pre.transform(ints).dtype.kind == "f", "integer data must be cast to float"
