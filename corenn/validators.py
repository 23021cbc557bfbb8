"""Validators for hyperparameters. Each raises :class:`corenn.InvalidHyperparameter`
naming the component, the field, the value and the rule it broke."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from .component import rule_error

Validator = Callable[[Any, Any, Any], None]


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def number(instance, attribute, value) -> None:
    """A finite real number."""
    if not _is_real(value) or not math.isfinite(value):
        raise rule_error(instance, attribute, value, "must be a finite number")


def in_range(low: float | None = None, high: float | None = None, *, low_open: bool = False,
             high_open: bool = False) -> Validator:
    """A finite number in the interval from low to high (either end may be open or absent)."""
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    text = f"must be in {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"

    def validate(instance, attribute, value) -> None:
        number(instance, attribute, value)
        if low is not None and (value < low or (low_open and value == low)):
            raise rule_error(instance, attribute, value, text)
        if high is not None and (value > high or (high_open and value == high)):
            raise rule_error(instance, attribute, value, text)

    validate.__doc__ = text
    return validate


positive = in_range(0, None, low_open=True)
non_negative = in_range(0, None)
probability = in_range(0, 1, low_open=True)  # (0, 1]
unit_interval_open_right = in_range(0, 1, high_open=True)  # [0, 1)


def integer(low: int | None = None, high: int | None = None) -> Validator:
    """An int (not a bool) in [low, high]."""

    def validate(instance, attribute, value) -> None:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise rule_error(instance, attribute, value, "must be an integer")
        if (low is not None and value < low) or (high is not None and value > high):
            raise rule_error(instance, attribute, value, f"must be an integer in [{low}, {high}]")

    return validate


def one_of(*choices: Any) -> Validator:
    """One of the given values."""

    def validate(instance, attribute, value) -> None:
        if value not in choices:
            raise rule_error(instance, attribute, value, f"must be one of {', '.join(map(repr, choices))}")

    return validate


def optional(check: Validator) -> Validator:
    """None, or a value that passes ``check``."""

    def validate(instance, attribute, value) -> None:
        if value is not None:
            check(instance, attribute, value)

    return validate


def spec_of(kind: str) -> Validator:
    """A spec (name, spec string or mapping) of a registered component of ``kind``,
    or an instance; checked by building it."""

    def validate(instance, attribute, value) -> None:
        if isinstance(value, str) or hasattr(value, "keys"):
            from .registry import create

            try:
                create(kind, value)
            except Exception as exc:
                raise rule_error(instance, attribute, value, f"must be a valid {kind} spec ({exc})") from exc

    validate.spec_kind = kind  # read by corenn.distributions: the components a default names
    return validate
