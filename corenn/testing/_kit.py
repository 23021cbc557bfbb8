"""``check_component``: run every conformance check that applies to a component."""

from __future__ import annotations

import copy
import re
import traceback
from collections import defaultdict
from collections.abc import Callable
from importlib import import_module
from typing import Any

import attrs

from ..component import hyperparameter_values, hyperparameters
from ..protocols import PROTOCOL_OF_KIND
from ..registry import ALL_KINDS, KINDS, kind_of

#: kind -> checks; each check is called with a :class:`Subject`
_CHECKS: dict[str, list[Callable[[Subject], None]]] = defaultdict(list)
#: modules that hold the checks of each kind, imported on first use
_KIND_MODULES = {kind: f"corenn.testing.{kind}" for kind in ALL_KINDS}


class ConformanceError(AssertionError):
    """One or more conformance checks failed; the message lists each with its reason."""

    def __init__(self, name: str, failures: list[tuple[str, BaseException]]):
        self.failures = failures
        lines = [f"{name} failed {len(failures)} conformance check(s):"]
        lines += [f"  - {check}: {type(exc).__name__}: {exc}" for check, exc in failures]
        super().__init__("\n".join(lines))


@attrs.define
class Subject:
    """What a check gets: the component's class, kind, and a factory for fresh instances."""

    cls: type
    kind: str
    base_kwargs: dict[str, Any]
    instance: Any = None

    @property
    def name(self) -> str:
        return getattr(self.cls, "name", self.cls.__name__)

    def make(self, **overrides: Any) -> Any:
        """A fresh instance: the given instance's hyperparameters (or the class's
        defaults plus ``conformance_kwargs``) updated with ``overrides``."""
        if self.instance is not None and not overrides:
            return copy.deepcopy(self.instance)
        return self.cls(**{**self.base_kwargs, **overrides})

    def accepts(self, field: str) -> bool:
        return any(a.name == field for a in hyperparameters(self.cls))


def register_check(kind: str) -> Callable:
    """Decorator adding a check for components of ``kind`` (third parties may add their own)."""

    def wrap(check: Callable[[Subject], None]) -> Callable[[Subject], None]:
        _CHECKS[kind].append(check)
        return check

    return wrap


def checks_for(kind: str) -> list[Callable[[Subject], None]]:
    """The checks that run for ``kind``: the registration checks, then the kind's own."""
    module = _KIND_MODULES.get(kind)
    if module:
        try:
            import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return [*_CHECKS["*"], *_CHECKS[kind]]


def _infer_kind(cls: type) -> str:
    kind = kind_of(cls)
    if kind:
        return kind
    matches = [k for k, proto in PROTOCOL_OF_KIND.items() if all(hasattr(cls, m) for m in _methods(proto))]
    if len(matches) == 1:
        return matches[0]
    raise TypeError(f"cannot tell the kind of {cls.__name__}; pass kind=... (one of {', '.join(KINDS)})")


def _methods(proto: type) -> list[str]:
    return [m for m in vars(proto) if not m.startswith("_") and callable(getattr(proto, m))]


def check_component(component: Any, kind: str | None = None, *, only: str | None = None) -> None:
    """Run every conformance check for ``component`` (a class or an instance).

    Raises :class:`ConformanceError` listing each failed check with its reason.
    ``kind`` is looked up in the registry (or inferred from the protocol) when
    not given; ``only`` runs the checks whose name matches that regex.
    """
    cls = component if isinstance(component, type) else type(component)
    instance = None if isinstance(component, type) else component
    kind = kind or _infer_kind(cls)
    if instance is not None:
        base = hyperparameter_values(instance)
    else:
        base = dict(getattr(cls, "conformance_kwargs", {}) or {})
    subject = Subject(cls, kind, base, instance)
    failures = []
    for check in checks_for(kind):
        if only and not re.search(only, check.__name__):
            continue
        try:
            check(subject)
        except Exception as exc:  # report every failure, not just the first
            exc.__notes__ = [traceback.format_exc(limit=-3)]
            failures.append((check.__name__, exc))
    if failures:
        raise ConformanceError(f"{kind} {subject.name!r}", failures)
