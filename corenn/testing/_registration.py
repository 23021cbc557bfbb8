"""Checks that apply to every component, whatever its kind."""

from __future__ import annotations

import re

import attrs

from ..component import hyperparameters
from ..protocols import PROTOCOL_OF_KIND
from ..registry import create, describe, registry
from ._kit import Subject, register_check


@register_check("*")
def check_registration(subject: Subject) -> None:
    """A lower-case identifier ``name``, a summary line, a doc for every hyperparameter."""
    cls = subject.cls
    assert isinstance(getattr(cls, "name", None), str) and re.fullmatch(r"[a-z][a-z0-9_]*", cls.name), \
        f"{cls.__qualname__}.name must be a lower-case identifier, got {getattr(cls, 'name', None)!r}"
    assert attrs.has(cls), f"{cls.__qualname__} must be an attrs class (use @corenn.component)"
    assert (cls.__doc__ or "").strip(), f"{cls.__qualname__} needs a docstring whose first line is the summary"
    undocumented = [a.name for a in hyperparameters(cls) if not a.metadata.get("doc")]
    assert not undocumented, f"hyperparameters without a doc: {undocumented} (use corenn.hyperparameter(doc=...))"


@register_check("*")
def check_protocol(subject: Subject) -> None:
    """An instance satisfies the kind's protocol."""
    obj = subject.make()
    proto = PROTOCOL_OF_KIND.get(subject.kind)
    if proto is not None:
        missing = [m for m in dir(proto) if not m.startswith("_") and not hasattr(obj, m)]
        assert not missing, f"missing {subject.kind} protocol members: {missing}"


@register_check("*")
def check_describe_and_create(subject: Subject) -> None:
    """If registered: ``describe()`` works and ``create()`` from a spec builds this class."""
    entry = registry().entries.get((subject.kind, subject.name))
    if entry is None or entry.cls is not subject.cls:
        return  # not (or not this class) registered: nothing to look up
    d = describe(subject.kind, subject.name)
    assert d.summary, "describe() gives an empty summary"
    assert [h.name for h in d.hyperparameters] == [a.name for a in hyperparameters(subject.cls)]
    obj = create(subject.kind, {"name": subject.name, **subject.base_kwargs})
    assert type(obj) is subject.cls
