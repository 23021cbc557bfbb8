"""What a run needs: the components its specs name, recursively, and which are missing."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from .component import NOTHING, hyperparameters
from .distributions import install_command, providers
from .errors import MissingComponents, UnknownComponent
from .registry import available, field_types, registry
from .spec import parse_spec


def spec_hyperparameters(cls: type) -> list[tuple[str, str, Any]]:
    """(field, kind, default) of each hyperparameter whose value is a spec of another component
    (declared with ``check=corenn.validators.spec_of(kind)``)."""
    out = []
    for field in hyperparameters(cls):
        kind = getattr(field.validator, "spec_kind", None)
        if kind is not None:
            out.append((field.name, kind, None if field.default is NOTHING else field.default))
    return out


def needed_components(wanted: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Every (kind, name) the specs in ``wanted`` need: their own names, and, for the installed
    ones, the components their spec-valued hyperparameters name (given or by default), recursively.
    Component instances need nothing more."""
    reg = registry()
    todo, seen, order = list(wanted), set(), []
    while todo:
        kind, spec = todo.pop(0)
        if not isinstance(spec, (str, Mapping)):
            continue
        name, params = parse_spec(spec, field_types(kind))
        if (kind, name) in seen:
            continue
        seen.add((kind, name))
        order.append((kind, name))
        entry = reg.entries.get((kind, name))
        if entry is not None:
            todo.extend((k, params.get(field, default)) for field, k, default in spec_hyperparameters(entry.cls))
    return order


def missing_components(wanted: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """The components ``wanted`` needs that no installed plugin registers (a failed, disabled
    or conflicting plugin raises its own PluginError here)."""
    missing = []
    for kind, name in needed_components(wanted):
        try:
            registry().entry(kind, name)
        except UnknownComponent:
            missing.append((kind, name))
    return missing


def missing_components_error(what: str, missing: list[tuple[str, str]]) -> MissingComponents:
    """One error naming every missing component, the first-party distribution that provides
    each, and the ``corenn install`` line that installs them all."""
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
    return MissingComponents(f"{what} needs components that are not installed: {', '.join(parts)}{advice}", missing)
