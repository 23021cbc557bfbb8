"""Components: attrs classes whose init fields are the hyperparameters.

    @corenn.component
    class LeakyReLU(corenn.Module):
        \"\"\"Leaky ReLU: y = x if x > 0 else slope * x.\"\"\"
        name = "leaky_relu"
        slope: float = corenn.hyperparameter(0.01, doc="gradient for x < 0", check=corenn.validators.non_negative)

Everything the CLI's ``info``, config files and spec strings know about a
component comes from these fields (``hyperparameters(cls)``); there is no
second list to keep in step.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs

from .errors import InvalidHyperparameter

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


def hyperparameter(
    default: Any = NOTHING,
    *,
    doc: str,
    check: Callable[[Any, attrs.Attribute, Any], None] | None = None,
    schedulable: bool = False,
    factory: Callable[[], Any] | None = None,
):
    """An attrs field that is a hyperparameter.

    ``doc`` is its one-line description (shown by ``corenn info``); ``check`` is a
    validator from :mod:`corenn.validators`; ``schedulable=True`` lets the value
    be a Schedule (an object, spec string or mapping), evaluated with
    :func:`value_at`.
    """
    validator = check
    converter = None
    if schedulable:
        converter = attrs.Converter(_to_schedule_or_number, takes_self=True, takes_field=True)
        validator = _unless_schedule(check) if check else None
    if factory is not None:
        default = attrs.Factory(factory)
    return attrs.field(
        default=default,
        validator=validator,
        converter=converter,
        metadata={"doc": doc, "schedulable": schedulable},
    )


def is_schedule(value: Any) -> bool:
    return callable(value) and not isinstance(value, (numbers.Number, str, type))


def value_at(value: Any, t: int) -> Any:
    """A hyperparameter's value at step t: ``value(t)`` for a Schedule, else ``value``."""
    return value(t) if is_schedule(value) else value


def _to_schedule_or_number(value: Any, instance: Any, field: attrs.Attribute) -> Any:
    if isinstance(value, (str, Mapping)):
        from .errors import CorennError
        from .registry import create

        try:
            return create("schedule", value)
        except CorennError as exc:
            raise InvalidHyperparameter(component_name(instance), field.name, value,
                                        f"must be a number or a schedule spec ({exc})") from exc
    return value


def _unless_schedule(check):
    def validate(instance, attribute, value):
        if not is_schedule(value):
            check(instance, attribute, value)

    return validate


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
    return tuple(a for a in attrs.fields(cls) if a.init and not a.name.startswith("_"))


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
