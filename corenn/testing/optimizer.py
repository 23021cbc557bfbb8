"""Conformance checks for optimizers, and a helper for testing an update rule.

Every check uses the optimizer's own defaults (plus ``conformance_kwargs``)
and always passes a closure; first-order optimizers ignore it, optimizers
that need it (``needs_closure = True``, such as L-BFGS) use it.
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
import tracemalloc
from collections.abc import Callable

import numpy as np

from .. import optim
from ..errors import CorennError, InvalidHyperparameter, InvalidInput
from ..optim import Packed, flatten_state, unflatten_state
from ..protocols import CurrentValues
from ._kit import Subject, register_check
from .schedule import expect_error

STEPS = 100  # steps each descent check may take


class Problem:
    """A smooth test function of a list of parameter arrays, with its gradient.

    ``params`` and ``grads`` are the same array objects for the problem's life
    (as a model gives them); :meth:`compute` fills ``grads`` at the current
    params and returns the loss; :meth:`closure` is the same for
    ``optimizer.step(params, grads, closure)``.
    """

    def __init__(self, params: list[np.ndarray], loss_and_grads: Callable[[list[np.ndarray]], tuple[float, list]]):
        self.params = params
        self.grads = [np.zeros_like(p) for p in params]
        self._f = loss_and_grads

    def compute(self) -> float:
        loss, grads = self._f(self.params)
        for g, new in zip(self.grads, grads):
            g[...] = new
        return float(loss)

    def closure(self):
        return self.compute(), self.grads

    def run(self, optimizer, steps: int) -> list[float]:
        """``steps`` steps of forward/backward/step; the losses before each step and after the last."""
        losses = []
        for _ in range(steps):
            losses.append(self.compute())
            optimizer.step(self.params, self.grads, self.closure)
        losses.append(self.compute())
        return losses


def quadratic(dtype=np.float64, seed: int = 0) -> Problem:
    """``0.5 * sum(a * (x - c)**2)`` over a (3, 4) and a (5,) array, curvatures a in
    [0.5, 2], minimum at c, start about 1 away from it in every coordinate."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,)]
    curv = [rng.uniform(0.5, 2.0, s) for s in shapes]
    centre = [rng.uniform(-1.0, 1.0, s) for s in shapes]
    start = [c + rng.choice([-1.0, 1.0], s) * rng.uniform(0.5, 1.5, s) for c, s in zip(centre, shapes)]

    def f(params):
        diffs = [p.astype(np.float64) - c for p, c in zip(params, centre)]
        loss = sum(0.5 * float(np.sum(a * d * d)) for a, d in zip(curv, diffs))
        return loss, [(a * d).astype(dtype) for a, d in zip(curv, diffs)]

    return Problem([s.astype(dtype) for s in start], f)


def rosenbrock(dtype=np.float64, b: float = 10.0, start=(-1.2, 1.0)) -> Problem:
    """Rosenbrock's valley ``(1 - x)**2 + b * (y - x**2)**2`` from the classic start
    (-1.2, 1); minimum 0 at (1, 1). ``b = 10`` keeps the valley within reach of
    every optimizer's default step size (b = 100 needs a smaller lr for plain SGD)."""

    def f(params):
        x, y = (float(v) for v in params[0])
        loss = (1 - x) ** 2 + b * (y - x * x) ** 2
        grad = np.array([-2 * (1 - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)], dtype=dtype)
        return loss, [grad]

    return Problem([np.array(start, dtype=dtype)], f)


def _descends(subject: Subject, problem: Problem, what: str) -> None:
    losses = problem.run(subject.make(), STEPS)
    assert all(math.isfinite(v) for v in losses), f"{what}: non-finite loss within {STEPS} steps: {losses[-5:]}"
    assert losses[-1] < 0.9 * losses[0], \
        f"{what}: loss went from {losses[0]:.6g} to {losses[-1]:.6g} in {STEPS} steps with the default hyperparameters"


@register_check("optimizer")
def check_decreases_quadratic(subject: Subject) -> None:
    """Default hyperparameters cut a convex quadratic's loss by 10% or more within 100 steps."""
    _descends(subject, quadratic(), "convex quadratic")


@register_check("optimizer")
def check_decreases_rosenbrock(subject: Subject) -> None:
    """Default hyperparameters cut Rosenbrock's loss (b = 10, from (-1.2, 1)) by 10% or more within 100 steps."""
    _descends(subject, rosenbrock(), "Rosenbrock")


@register_check("optimizer")
def check_keeps_dtype_and_updates_in_place(subject: Subject) -> None:
    """float32 params stay float32 (state too), float64 likewise; the same arrays are updated in place."""
    for dtype in (np.float32, np.float64):
        problem = quadratic(dtype)
        opt = subject.make()
        ids = [id(p) for p in problem.params]
        before = [p.copy() for p in problem.params]
        problem.run(opt, 3)
        assert [id(p) for p in problem.params] == ids
        for p, b in zip(problem.params, before):
            assert p.dtype == dtype, f"params turned {np.dtype(dtype).name} into {p.dtype}"
            assert not np.array_equal(p, b), "step() did not change the params (they must be updated in place)"
        arrays, _ = flatten_state(opt.state_dict())
        wrong = {k: a.dtype.name for k, a in arrays.items() if a.dtype.kind == "f" and a.dtype != dtype}
        assert not wrong, f"state arrays of {np.dtype(dtype).name} params have other dtypes: {wrong}"


def _through_json(state):
    """A state as it comes back from a checkpoint file: flattened, JSON text, unflattened."""
    arrays, doc = flatten_state(state)
    arrays = {k: np.array(a, copy=True) for k, a in arrays.items()}
    return unflatten_state(arrays, json.loads(json.dumps(doc)))


@register_check("optimizer")
def check_state_round_trip(subject: Subject) -> None:
    """state_dict() mid-run, through flatten/JSON/unflatten, into a fresh optimizer, continues bit for bit."""
    for dtype in (np.float32, np.float64):
        a, b = rosenbrock(dtype), rosenbrock(dtype)
        first = subject.make()
        a.run(first, 4)
        state = first.state_dict()
        saved = _through_json(state)
        for p, q in zip(b.params, a.params):
            p[...] = q
        second = subject.make()
        second.load_state_dict(saved)
        assert second.steps == first.steps, f"steps {second.steps} after loading, {first.steps} saved"
        a.run(first, 4)
        b.run(second, 4)
        for p, q in zip(a.params, b.params):
            np.testing.assert_array_equal(p, q, err_msg="the resumed run differs from the uninterrupted one")
        again = _through_json(state)  # the saved state is a copy, not live arrays
        for (k, x), (_, y) in zip(flatten_state(saved)[0].items(), flatten_state(again)[0].items()):
            np.testing.assert_array_equal(x, y, err_msg=f"state_dict() array {k!r} changed after later steps")


@register_check("optimizer")
def check_state_mismatch_is_an_error(subject: Subject) -> None:
    """A state for other shapes or dtypes is refused with InvalidInput, not broadcast."""
    source = quadratic(np.float64)
    opt = subject.make()
    source.run(opt, 2)
    state = opt.state_dict()
    for other in (quadratic(np.float32), rosenbrock(np.float64)):
        fresh = subject.make()

        def resume(fresh=fresh, other=other):
            fresh.load_state_dict(state)
            fresh.step(other.params, other.grads, other.closure)

        expect_error(InvalidInput, resume, f"a state for {[p.shape for p in source.params]} float64 was used for "
                     f"{[(p.shape, p.dtype.name) for p in other.params]} without an InvalidInput error")
    used = subject.make()
    quadratic(np.float32).run(used, 1)
    expect_error(InvalidInput, lambda: used.load_state_dict(state), "loading a state for other params into an "
                 "optimizer that has taken steps must fail at once with InvalidInput")


_INVALID = {"lr": (0.0, -0.1, math.nan), "eps": (0.0, -1e-8), "mu": (-0.1, 1.0), "decay": (-0.1, 1.0)}
_BETA_INVALID = (-0.1, 1.0, 1.5)


def _invalid_values(field: str):
    if field.startswith("beta"):
        return _BETA_INVALID
    return _INVALID.get(field, ())


@register_check("optimizer")
def check_rejects_bad_hyperparameters(subject: Subject) -> None:
    """lr <= 0, eps <= 0, mu/decay/beta* outside [0, 1) fail at construction with InvalidHyperparameter."""
    for field in (a.name for a in _fields(subject)):
        for value in _invalid_values(field):
            expect_error(InvalidHyperparameter, lambda: subject.make(**{field: value}), f"{field}={value!r} was accepted")


def _fields(subject: Subject):
    from ..component import hyperparameters

    return hyperparameters(subject.cls)


@register_check("optimizer")
def check_schedules_evaluated_at_step_counter(subject: Subject) -> None:
    """A schedule-valued lr is evaluated at steps = 0, 1, 2, ...; an invalid scheduled value fails when reached."""
    if not subject.accepts("lr"):
        return
    seen = []
    base = subject.make().lr

    def schedule(t):
        seen.append(t)
        return base * (1.0 + 0.5 * t)

    opt = subject.make(lr=schedule)
    problem = quadratic()
    problem.run(opt, 3)
    assert opt.steps == 3, f"steps is {opt.steps} after 3 steps"
    assert sorted(set(seen)) == [0, 1, 2], f"the schedule was evaluated at {sorted(set(seen))}, want [0, 1, 2]"
    if isinstance(opt, CurrentValues):
        assert opt.current("lr") == schedule(3), "current('lr') is not the schedule's value at steps"

    bad = subject.make(lr=lambda t: base if t < 2 else -1.0)
    problem = quadratic()
    problem.run(bad, 2)
    expect_error(InvalidHyperparameter, lambda: problem.run(bad, 1),
                 "a schedule giving lr = -1 at step 2 was used without InvalidHyperparameter")


@register_check("optimizer")
def check_current_values(subject: Subject) -> None:
    """An optimizer that declares :class:`corenn.protocols.CurrentValues` gives each numeric
    hyperparameter through ``current(field)`` (the lr the trainer logs) and refuses an unknown field."""
    opt = subject.make()
    if not isinstance(opt, CurrentValues):
        return
    for a in _fields(subject):
        value = getattr(opt, a.name)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            assert opt.current(a.name) == value, f"current({a.name!r}) is {opt.current(a.name)!r}, the field {value!r}"
    expect_error(CorennError, lambda: opt.current("no_such_hyperparameter"),
                 "current() of a field the optimizer does not have gave no CorennError")


@register_check("optimizer")
def check_closure_protocol(subject: Subject) -> None:
    """Optimizers that need a closure say so clearly without one; the others work without it."""
    problem = quadratic()
    opt = subject.make()
    problem.compute()
    if getattr(subject.cls, "needs_closure", False):
        exc = expect_error(CorennError, lambda: opt.step(problem.params, problem.grads),
                           "step() without the closure it needs did not raise a CorennError")
        assert "closure" in str(exc), f"the error does not mention the closure: {exc}"
        return
    before = [p.copy() for p in problem.params]
    opt.step(problem.params, problem.grads)
    assert any(not np.array_equal(p, b) for p, b in zip(problem.params, before)), "step() without closure did nothing"


@register_check("optimizer")
def check_no_allocation_per_step(subject: Subject) -> None:
    """After the first step, a first-order step allocates no parameter-sized arrays (a few hundred
    bytes of Python objects, such as the hyperparameters of the step, are not counted)."""
    if getattr(subject.cls, "needs_closure", False):
        return
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((300, 200)), rng.standard_normal(1000)]  # the smallest: 8 kB
    grads = [rng.standard_normal(p.shape) * 1e-3 for p in params]
    opt = subject.make()
    opt.step(params, grads)
    opt.step(params, grads)
    smallest = min(p.nbytes for p in params)
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        opt.step(params, grads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    assert peak - start < smallest / 2, \
        f"one step allocated {peak - start} bytes at its peak (params of {[p.nbytes for p in params]} bytes)"


@register_check("optimizer")
def check_packed_update_matches_per_parameter(subject: Subject) -> None:
    """An optimizer with a packed (whole-model) update gives the per-parameter update's
    numbers bit for bit, in float32 and float64, in one block and in blocks that cut rows,
    across a state round trip midway, with the params and grads separate arrays or laid
    end to end in one flat buffer each (as :class:`corenn.Sequential` lays them), and, where
    it declares ``blockwise``, with its blocks split over three threads."""
    opt = subject.make()
    if not (hasattr(opt, "_has_packed_update") and opt._has_packed_update()):
        return
    cls = type(opt)
    per_parameter = type(f"PerParameter{cls.__name__}", (cls,), {"update": cls.update})  # no packed path
    shapes = [(5, 3), (3,), (2, 2, 2), ()]
    default_block, default_shard = Packed.BLOCK_BYTES, optim.SHARD_BLOCKS
    threads = (1, 3) if getattr(cls, "blockwise", False) else (1,)
    try:
        optim.SHARD_BLOCKS = 1  # split even this small model's blocks
        for block_bytes, dtype, flat, count in itertools.product((default_block, 40), (np.float32, np.float64),
                                                                 (False, True), threads):
            Packed.BLOCK_BYTES = block_bytes
            runs = []
            for klass in (cls, per_parameter):
                params_rng, grads_rng = np.random.default_rng(0), np.random.default_rng(1)
                o = klass(**_hyperparameters_of(subject))
                o.update_threads = count
                x = _arrays([params_rng.standard_normal(s).astype(dtype) for s in shapes], flat)
                dx = _arrays([np.zeros(s, dtype) for s in shapes], flat)
                for step in range(6):
                    if step == 3:
                        state = o.state_dict()
                        o = klass(**_hyperparameters_of(subject))
                        o.load_state_dict(state)
                        o.update_threads = count
                    for g, s in zip(dx, shapes):
                        g[...] = grads_rng.standard_normal(s).astype(dtype)
                    o.step(x, dx)
                runs.append(x)
            for a, b in zip(*runs):
                assert np.array_equal(a, b), (f"the packed update differs from the per-parameter one "
                                              f"({np.dtype(dtype).name}, blocks of {block_bytes} bytes, "
                                              f"{'one flat buffer' if flat else 'separate arrays'}, "
                                              f"{count} thread(s))")
    finally:
        Packed.BLOCK_BYTES, optim.SHARD_BLOCKS = default_block, default_shard
        optim.stop_update_threads()  # no thread of this check is left to allocate during the next


def _arrays(values: list[np.ndarray], flat: bool) -> list[np.ndarray]:
    """``values`` as they are, or copied into views of one flat buffer laid end to end."""
    if not flat:
        return values
    buffer = np.empty(sum(v.size for v in values), values[0].dtype)
    views, at = [], 0
    for v in values:
        views.append(buffer[at:at + v.size].reshape(v.shape))
        views[-1][...] = v
        at += v.size
    return views


def _hyperparameters_of(subject: Subject) -> dict:
    from ..component import hyperparameter_values

    return hyperparameter_values(subject.make())


def check_update_rule(optimizer, formula: Callable, *, steps: int = 5, dtype=np.float64, seed: int = 0,
                      rtol: float | None = None, shapes=((3, 4), (5,))) -> None:
    """Run ``optimizer`` and a hand-written ``formula`` side by side for ``steps`` steps
    on random gradients and assert they agree after every step.

    ``formula(x, dx, state, t) -> new x`` is the update of one parameter array
    written out with plain numpy, ``state`` a dict it keeps per array (empty at
    the start) and ``t`` the step counter (0 on the first step).
    """
    rtol = rtol if rtol is not None else (1e-12 if np.dtype(dtype) == np.float64 else 2e-5)
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    expected = [p.copy() for p in params]
    states = [{} for _ in params]
    for t in range(steps):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        optimizer.step(params, grads)
        expected = [np.asarray(formula(x.copy(), g.copy(), st, t), dtype=dtype)
                    for x, g, st in zip(expected, grads, states)]
        for i, (p, e) in enumerate(zip(params, expected)):
            np.testing.assert_allclose(p, e, rtol=rtol, atol=rtol * 1e-3,
                                       err_msg=f"{optimizer.name}: params[{i}] after step {t + 1}")
