"""Conformance checks for schedules, and a helper for testing a schedule's formula."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Iterable

from ..component import hyperparameter_values, hyperparameters
from ..errors import CorennError, InvalidHyperparameter
from ..protocols import ObservesMetrics
from ..registry import create, registry
from ._kit import Subject, register_check

HORIZON = 200  # the checks look at t = 0 .. HORIZON


def expect_error(error: type[BaseException], call: Callable[[], object], failure: str) -> BaseException:
    """Run ``call()``; return the ``error`` it raises, or fail with ``failure`` if it raises none."""
    try:
        call()
    except error as exc:
        return exc
    raise AssertionError(failure)


def _values(schedule, horizon: int = HORIZON) -> list[float]:
    return [schedule(t) for t in range(horizon + 1)]


def _numeric_fields(obj) -> dict[str, float]:
    values = hyperparameter_values(obj)
    return {k: v for k, v in values.items() if isinstance(v, numbers.Real) and not isinstance(v, bool)}


@register_check("schedule")
def check_finite_and_deterministic(subject: Subject) -> None:
    """Real, finite values for t = 0..200; the same on a second call and from a second instance."""
    first = _values(subject.make())
    for t, v in enumerate(first):
        assert isinstance(v, numbers.Real) and not isinstance(v, bool), f"t={t}: {v!r} is not a number"
        assert math.isfinite(v), f"t={t}: value {v!r} is not finite"
    again = subject.make()
    assert _values(again) == first == _values(again), "the values differ between calls or instances"


@register_check("schedule")
def check_non_negative_from_non_negative_fields(subject: Subject) -> None:
    """When every numeric hyperparameter is >= 0 (as for a learning rate), so is every value."""
    schedule = subject.make()
    if any(v < 0 for v in _numeric_fields(schedule).values()):
        return
    negative = [(t, v) for t, v in enumerate(_values(schedule)) if v < 0]
    assert not negative, f"negative values from non-negative hyperparameters: {negative[:5]}"


@register_check("schedule")
def check_rejects_bad_fields(subject: Subject) -> None:
    """NaN, infinity or a string for a numeric hyperparameter fail with InvalidHyperparameter."""
    for field in _numeric_fields(subject.make()):
        for bad in (math.nan, math.inf, "0.1"):
            expect_error(InvalidHyperparameter, lambda: subject.make(**{field: bad}), f"{field}={bad!r} was accepted")


@register_check("schedule")
def check_rejects_bad_t(subject: Subject) -> None:
    """t must be an integer >= 0: t = -1 and t = 0.5 are CorennErrors."""
    schedule = subject.make()
    for t in (-1, 0.5):
        expect_error(CorennError, lambda: schedule(t), f"t={t!r} was accepted")


@register_check("schedule")
def check_rebuilds_from_its_values(subject: Subject) -> None:
    """If registered: create() from hyperparameter_values() (as a saved config does) gives the same values."""
    schedule = subject.make()
    entry = registry().entries.get(("schedule", subject.name))
    if entry is None or entry.cls is not subject.cls:
        return
    rebuilt = create("schedule", {"name": subject.name, **hyperparameter_values(schedule)})
    assert _values(rebuilt) == _values(schedule), "the rebuilt schedule gives other values"
    assert [a.name for a in hyperparameters(rebuilt)] == [a.name for a in hyperparameters(schedule)]


def plateau_logs(epochs: int = 30) -> list[dict[str, float]]:
    """Epoch logs that improve for 5 epochs and then stall, wobbling (losses fall, accuracies rise)."""
    logs = []
    for epoch in range(epochs):
        loss = 1.0 / (1 + epoch) if epoch < 5 else 0.2 + 0.01 * (epoch % 3)
        logs.append({"epoch": epoch, "loss": loss, "val_loss": loss + 0.05, "train_acc": 1 - loss / 2,
                     "val_acc": 1 - loss / 2 - 0.02})
    return logs


@register_check("schedule")
def check_observing_schedule_resumes_exactly(subject: Subject) -> None:
    """A schedule that follows epoch metrics (ObservesMetrics): the same logs give the same values,
    its state_dict() is plain JSON data, and a fresh instance loaded with it continues exactly."""
    schedule = subject.make()
    if not isinstance(schedule, ObservesMetrics):
        return
    logs, half = plateau_logs(), 15
    twin, values = subject.make(), []
    for epoch, row in enumerate(logs):
        schedule.observe(epoch, row)
        twin.observe(epoch, row)
        values.append(_values(schedule, 20))
        assert values[-1] == _values(twin, 20), f"two instances fed the same logs differ after epoch {epoch}"
        assert all(math.isfinite(v) for v in values[-1]), f"non-finite values after epoch {epoch}"
        if epoch == half - 1:
            state = json.loads(json.dumps(schedule.state_dict(), allow_nan=False))
    resumed = subject.make()
    resumed.load_state_dict(state)
    for epoch, row in enumerate(logs[half:], start=half):
        resumed.observe(epoch, row)
        assert _values(resumed, 20) == values[epoch], f"the resumed schedule differs after epoch {epoch}"


def check_schedule_formula(schedule, formula: Callable[[int], float], ts: Iterable[int] = range(0, 60), *,
                           rtol: float = 1e-12) -> None:
    """Assert ``schedule(t)`` equals the hand-written ``formula(t)`` at every t in ``ts``."""
    for t in ts:
        got, want = schedule(t), formula(t)
        assert math.isclose(got, want, rel_tol=rtol, abs_tol=rtol * 1e-3), \
            f"{getattr(schedule, 'name', schedule)}: value {got!r} at t={t}, the formula gives {want!r}"


@register_check("schedule")
def check_unit(subject: Subject) -> None:
    """A schedule that declares a ``unit`` takes 'step' and 'epoch', refuses anything else, and
    read in epochs after n optimizer steps gives its value at epoch n // steps_per_epoch."""
    from ..component import value_at

    if not subject.accepts("unit"):
        return  # a schedule without the field counts steps
    per_epoch = subject.make(unit="epoch")
    by_step = subject.make(unit="step")
    for step in (0, 1, 5, 6, 7, 20):
        assert value_at(per_epoch, step, 3) == by_step(step // 3), \
            f"unit='epoch' after {step} steps of 3 per epoch does not give the value at epoch {step // 3}"
        assert value_at(by_step, step, 3) == by_step(step), f"unit='step' is not read at step {step}"
    expect_error(InvalidHyperparameter, lambda: subject.make(unit="minute"), "unit='minute' is accepted")
