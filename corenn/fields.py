"""Declaring hyperparameters: ``corenn.hyperparameter``, an attrs field with a
one-line doc, a validator and, where asked, a schedule in place of a number.

    @corenn.component
    class LeakyReLU(corenn.Module):
        \"\"\"Leaky ReLU: y = x if x > 0 else slope * x.\"\"\"
        name = "leaky_relu"
        slope: float = corenn.hyperparameter(0.01, doc="gradient for x < 0", check=corenn.validators.non_negative)

This module sits above the registry (a schedulable field turns a spec into a
schedule through :func:`corenn.create`); the introspection that the registry
itself needs (``hyperparameters``, ``type_name``) lives below it, in
:mod:`corenn.component`, so the imports of the core run one way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .component import NOTHING, component_name, is_schedule
from .errors import CorennError, InvalidHyperparameter
from .registry import create

__all__ = ["hyperparameter"]


def hyperparameter(
    default: Any = NOTHING,
    *,
    doc: str,
    check: Callable[[Any, attrs.Attribute, Any], None] | None = None,
    schedulable: bool = False,
    factory: Callable[[], Any] | None = None,
    kw_only: bool = False,
):
    """An attrs field that is a hyperparameter.

    ``doc`` is its one-line description (shown by ``corenn info``); ``check`` is a
    validator from :mod:`corenn.validators`; ``schedulable=True`` lets the value
    be a schedule (an object, spec string or mapping) instead of a number,
    evaluated with :func:`corenn.value_at` in the schedule's own unit (steps or
    epochs, see :class:`corenn.optim.Schedule`). ``kw_only=True`` suits a base
    class's field with a default (subclasses may still declare required fields).
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
        kw_only=kw_only,
        metadata={"doc": doc, "schedulable": schedulable},
    )


def _to_schedule_or_number(value: Any, instance: Any, field: attrs.Attribute) -> Any:
    if isinstance(value, (str, Mapping)):
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
