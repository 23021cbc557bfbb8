"""Components: attrs classes whose init fields are the hyperparameters.

Fields are declared with ``corenn.hyperparameter`` (:mod:`corenn.fields`).
Everything the CLI's ``info``, config files and spec strings know about a
component comes from these fields (``hyperparameters(cls)``); there is no
second list to keep in step. This module imports nothing of corenn but the
errors, so the registry can build on it.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs

from .errors import InvalidHyperparameter, InvalidInput

NOTHING = attrs.NOTHING


def component(cls: type | None = None, /, **attrs_options: Any):
    """Class decorator that makes a component: ``attrs.define`` with instance
    dicts (so components may keep caches and state beside their fields)."""
    options = dict(slots=False, eq=False, repr=True) | attrs_options

    def wrap(klass: type) -> type:
        return _quick_setattr(attrs.define(klass, **options))

    return wrap if cls is None else wrap(cls)


def _quick_setattr(klass: type) -> type:
    """attrs' ``__setattr__`` (which validates fields) finds out that a name is not a field by
    catching a KeyError: ~1 us for every cache a layer keeps per call (its input, a mask).
    This one checks the field names first and sets any other attribute directly."""
    validating = klass.__dict__.get("__setattr__")
    if validating is None:
        return klass
    fields = frozenset(a.name for a in attrs.fields(klass))
    set_directly = object.__setattr__

    def __setattr__(self, name, value):
        if name in fields:
            validating(self, name, value)
        else:
            set_directly(self, name, value)

    klass.__setattr__ = __setattr__
    return klass


def is_schedule(value: Any) -> bool:
    return callable(value) and not isinstance(value, (numbers.Number, str, type))


def value_at(value: Any, step: int, steps_per_epoch: int | None = None) -> Any:
    """A hyperparameter's value after ``step`` optimizer steps: a number as it is, a
    schedule at the time its ``unit`` counts: ``value(step)`` for ``unit="step"``
    (the default, also for a schedule that declares no unit) and
    ``value(step // steps_per_epoch)`` for ``unit="epoch"``."""
    if not is_schedule(value):
        return value
    return value(schedule_time(value, step, steps_per_epoch))


def schedule_time(schedule: Any, step: int, steps_per_epoch: int | None = None) -> int:
    """The t at which ``schedule`` is read after ``step`` optimizer steps (see :func:`value_at`)."""
    unit = getattr(schedule, "unit", "step")
    if unit == "step":
        return step
    if unit == "epoch":
        if not steps_per_epoch:
            raise InvalidInput(f"the schedule {component_name(schedule)!r} counts epochs (unit='epoch'), but the "
                               "number of steps per epoch is not known here; train with corenn.Trainer (it tells "
                               "the optimizer), set optimizer.steps_per_epoch, or give the schedule unit='step'")
        return step // steps_per_epoch
    raise InvalidInput(f"the schedule {component_name(schedule)!r} has unit={unit!r}; use 'step' or 'epoch'")


class Module:
    """Optional base for activations and layers: empty ``params``, ``grads`` and
    ``buffers`` dicts made before the fields are set (fill them in
    ``__attrs_post_init__``)."""

    name: ClassVar[str]

    def __attrs_pre_init__(self) -> None:
        self.params: dict = {}
        self.grads: dict = {}
        self.buffers: dict = {}


def hyperparameters(cls_or_obj: Any) -> tuple[attrs.Attribute, ...]:
    """The hyperparameter fields of a component class or instance, in order."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    if not attrs.has(cls):
        return ()
    fields = [a for a in attrs.fields(cls) if a.init and not a.name.startswith("_")]
    # keyword-only fields (a base class's, such as a schedule's unit) after the class's own
    return tuple(sorted(fields, key=lambda a: a.kw_only))


def hyperparameter_values(obj: Any) -> dict[str, Any]:
    """The hyperparameters of an instance as plain data (schedules become mappings),
    so that ``create(kind, {"name": obj.name, **values})`` rebuilds it."""
    out = {}
    for a in hyperparameters(obj):
        value = getattr(obj, a.name)
        if is_schedule(value) and attrs.has(type(value)):
            value = spec_of(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[a.name] = value
    return out


def spec_of(obj: Any) -> dict[str, Any]:
    """The mapping spec that rebuilds a component: ``{"name": ..., **hyperparameter_values(obj)}``."""
    return {"name": component_name(obj), **hyperparameter_values(obj)}


def type_name(tp: Any) -> str:
    if tp is None:
        return "any"
    if isinstance(tp, str):
        return tp
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def component_name(obj: Any) -> str:
    return getattr(obj, "name", None) or type(obj).__name__


def rule_error(instance: Any, attribute: attrs.Attribute, value: Any, rule: str) -> InvalidHyperparameter:
    return InvalidHyperparameter(component_name(instance), attribute.name, value, rule)
