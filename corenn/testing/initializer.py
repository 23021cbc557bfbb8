"""Conformance checks for initializers: ``init(shape, rng=None, dtype=numpy.float32) -> ndarray``."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInput
from ._kit import Subject, register_check

#: weight shapes (fan_in, fan_out), tall and wide, a bias vector, a 1x1 matrix, a receptive-field shape
SHAPES = [(7, 5), (5, 7), (6,), (1, 1), (3, 4, 2)]
#: large enough that two independent random draws cannot coincide by accident
PROBE = (64, 32)


def _draw(init, shape=PROBE, seed=0, dtype=np.float32):
    return init(shape, np.random.default_rng(seed), dtype)


def _is_deterministic(init) -> bool:
    """True when draws from differently seeded generators are identical (zeros, constant)."""
    return np.array_equal(_draw(init, seed=0), _draw(init, seed=1))


@register_check("initializer")
def check_shape_and_dtype(subject: Subject) -> None:
    """Returns an ndarray of exactly the requested shape and dtype (float32, float64, or their names)."""
    init = subject.make()
    for shape in SHAPES:
        for dtype in (np.float32, np.float64, "float32", "float64"):
            w = init(shape, np.random.default_rng(0), dtype)
            assert isinstance(w, np.ndarray), f"{shape}, {dtype}: returned {type(w).__name__}, not an ndarray"
            assert w.shape == shape, f"asked for shape {shape}, got {w.shape}"
            assert w.dtype == np.dtype(dtype), f"asked for dtype {np.dtype(dtype).name}, got {w.dtype}"
    w = init([4, 3], np.random.default_rng(0))
    assert w.shape == (4, 3) and w.dtype == np.float32, \
        f"a list shape with the default dtype gave {w.shape} {w.dtype}, want (4, 3) float32"


@register_check("initializer")
def check_finite(subject: Subject) -> None:
    """Every drawn value is finite, in float32 and float64, for every probed shape."""
    init = subject.make()
    for shape in [*SHAPES, PROBE]:
        for dtype in (np.float32, np.float64):
            w = init(shape, np.random.default_rng(1), dtype)
            assert np.isfinite(w).all(), f"non-finite values for shape {shape}, {np.dtype(dtype).name}"


@register_check("initializer")
def check_same_seed_same_draw(subject: Subject) -> None:
    """Two equally seeded Generators give identical arrays (bit for bit), in both dtypes."""
    init = subject.make()
    for dtype in (np.float32, np.float64):
        for shape in (PROBE, (6,)):
            a, b = _draw(init, shape, seed=7, dtype=dtype), _draw(init, shape, seed=7, dtype=dtype)
            np.testing.assert_array_equal(a, b, err_msg=f"seed 7 gave two different {shape} draws")


@register_check("initializer")
def check_other_seed_other_draw(subject: Subject) -> None:
    """Another seed gives another draw, unless the initializer ignores the rng altogether.

    A deterministic initializer (one whose seed-0 and seed-1 draws are equal) must then
    give that same array for every seed and for ``rng=None``; a random one must differ
    for each pair of seeds.
    """
    init = subject.make()
    draws = [_draw(init, seed=s) for s in (0, 1, 2)]
    if np.array_equal(draws[0], draws[1]):
        np.testing.assert_array_equal(draws[2], draws[0], err_msg="seeds 0 and 1 agree but seed 2 differs")
        np.testing.assert_array_equal(init(PROBE, None), draws[0], err_msg="deterministic but rng=None differs")
        return
    for i, j in ((0, 2), (1, 2)):
        assert not np.array_equal(draws[i], draws[j]), f"seeds {i} and {j} gave the same draw"


@register_check("initializer")
def check_rng_none(subject: Subject) -> None:
    """``rng`` may be left out or None (a fresh default Generator); the default dtype is float32."""
    init = subject.make()
    for w in (init(PROBE), init(PROBE, None), init(PROBE, rng=None, dtype=np.float64)):
        assert w.shape == PROBE and np.isfinite(w).all()
    assert init(PROBE).dtype == np.float32 and init(PROBE, rng=None, dtype=np.float64).dtype == np.float64


@register_check("initializer")
def check_global_random_state_untouched(subject: Subject) -> None:
    """Draws come from the given Generator only, never from numpy's global random state."""
    init = subject.make()
    before = np.random.get_state()
    init(PROBE, np.random.default_rng(0))
    after = np.random.get_state()
    assert np.array_equal(before[1], after[1]) and before[2:] == after[2:], \
        "drawing used numpy's global random state (np.random.*); take numbers from the rng argument"


@register_check("initializer")
def check_fresh_arrays(subject: Subject) -> None:
    """Each call returns a new, writable array that shares no memory with earlier ones."""
    init = subject.make()
    a, b = _draw(init), _draw(init)
    assert a.flags.writeable, "returned a read-only array; weights are updated in place"
    assert not np.shares_memory(a, b), "two calls returned views of the same memory"


@register_check("initializer")
def check_random_draws_break_symmetry(subject: Subject) -> None:
    """A random initializer gives every unit different weights (no two equal columns or rows).

    The tutorial's reason not to initialise to a constant: identical units get identical
    gradients and stay identical. Deterministic initializers are exempt (they are meant
    for biases).
    """
    init = subject.make()
    if _is_deterministic(init):
        return
    w = _draw(init, dtype=np.float64)
    for axis, what in ((1, "columns"), (0, "rows")):
        lines = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
        distinct = len(np.unique(lines, axis=0))
        assert distinct == w.shape[axis], f"{w.shape[axis] - distinct} of {w.shape[axis]} {what} repeat another"


@register_check("initializer")
def check_rejects_non_float_dtypes(subject: Subject) -> None:
    """Asking for an integer or complex dtype raises ``corenn.InvalidInput``."""
    init = subject.make()
    for dtype in (np.int32, np.complex128):
        try:
            init((3, 2), np.random.default_rng(0), dtype)
        except InvalidInput:
            continue
        raise AssertionError(f"dtype {np.dtype(dtype).name} was accepted; use corenn.resolve_dtype(dtype)")
