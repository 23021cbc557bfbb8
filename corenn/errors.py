"""The errors corenn raises for things a user can cause.

Every one carries a message that says what was wrong and what to do; the CLI
prints it on one line and exits with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CorennError(Exception):
    """Base of every error corenn raises on purpose (bad input, not bugs)."""


class UnknownComponent(CorennError, LookupError):
    """An unknown component kind or name; ``advice`` (such as which distribution provides it) ends the message."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, what: str = "component",
                 advice: str | None = None):
        self.kind, self.name, self.known = kind, name, sorted(known)
        close = difflib.get_close_matches(name, self.known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(self.known) if self.known else "none"
        label = "installed" if what == "component" else "known"
        subject = f"{kind} {name!r}" if what == "component" else f"{what} {name!r}"
        super().__init__(f"unknown {subject}{hint} ({label}: {listing})" + (f"; {advice}" if advice else ""))

    def __str__(self) -> str:  # LookupError would quote the message
        return self.args[0]


class MissingComponents(UnknownComponent):
    """Components a run needs that no installed plugin registers, all named in one message
    (see :func:`corenn.needs.missing_components_error`); ``missing`` lists them as (kind, name)."""

    def __init__(self, message: str, missing: list[tuple[str, str]]):
        self.missing = missing
        self.kind, self.name, self.known = missing[0][0], missing[0][1], []
        CorennError.__init__(self, message)


class InvalidHyperparameter(CorennError, ValueError):
    """A hyperparameter value that breaks its rule, or a hyperparameter that does not exist."""

    def __init__(self, component: str, field: str, value: object, rule: str):
        self.component, self.field, self.value, self.rule = component, field, value, rule
        super().__init__(f"{component}: {field}={value!r} is invalid: {rule}")


class PluginError(CorennError):
    """A plugin that failed to load, returned something that is not a component,
    or registered a (kind, name) that another distribution registers too."""


class InvalidInput(CorennError, ValueError):
    """Data a component cannot work with: wrong shape or dtype, NaN or inf, empty batch."""


class InvalidFile(CorennError, ValueError):
    """A model, checkpoint, config or data file that is missing, truncated, corrupt or hostile."""
