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
    """An unknown component kind or name."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, what: str = "component"):
        self.kind, self.name, self.known = kind, name, sorted(known)
        close = difflib.get_close_matches(name, self.known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(self.known) if self.known else "none"
        if what == "component":
            from .distributions import install_hint

            provided = install_hint(kind, name)
            super().__init__(f"unknown {kind} {name!r}{hint} (installed: {listing})"
                             + (f"; {provided}" if provided else ""))
        else:
            super().__init__(f"unknown {what} {name!r}{hint} (known: {listing})")

    def __str__(self) -> str:  # LookupError would quote the message
        return self.args[0]


class MissingComponents(UnknownComponent):
    """Components a run needs that no installed plugin registers, all named in one message
    with the first-party distributions that provide them."""

    def __init__(self, what: str, missing: list[tuple[str, str]]):
        from .distributions import install_command, providers
        from .registry import available

        self.missing = missing
        self.kind, self.name, self.known = missing[0][0], missing[0][1], []
        parts, dists, unknown = [], [], False
        for kind, name in missing:
            found = providers(kind, name)
            if found:
                parts.append(f"{kind} {name!r} ({found[0]})")
                dists += [] if found[0] in dists else found[:1]
                continue
            unknown = True
            close = difflib.get_close_matches(name, available(kind), n=1, cutoff=0.6)
            parts.append(f"{kind} {name!r} (" + (f"did you mean {close[0]!r}?" if close else
                                                  "no first-party plugin provides it") + ")")
        advice = f"; install them with `{install_command(dists)}`" if dists else ""
        advice += "; `corenn list` shows what is installed" if unknown else ""
        CorennError.__init__(self, f"{what} needs components that are not installed: {', '.join(parts)}{advice}")


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
