"""The options every command that sets up a training run shares.

``corenn train``, ``corenn check``, ``corenn lr-range`` and ``corenn search`` take
a config file and one option per field of :class:`corenn.run.RunConfig`, all
generated from those fields. A plugin command gets them the same way::

    @corenn.hookimpl
    def corenn_commands(app):
        @app.command("mine")
        @with_run_options
        def mine(config: Optional[Path] = typer.Argument(None), **fields):
            cfg = run_config(config, fields)   # file, then the options given
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Optional

import attrs
import typer

from ..run import InvalidConfig, RunConfig, option_name, read_config

#: how each kind of RunConfig field (its ``option`` metadata) reads on the command line
_ANNOTATIONS = {"specs": Optional[list[str]], "numbers": Optional[list[str]], "flag": Optional[bool],
                "int": Optional[int], "float": Optional[float], "spec": Optional[str]}


def _field_option(a: attrs.Attribute) -> inspect.Parameter:
    default = a.default.factory() if isinstance(a.default, attrs.Factory) else a.default
    doc = a.metadata["doc"] + ("" if default in (None, []) else f" [default: {default}]")
    flag = option_name(a)
    kind = a.metadata.get("option", "spec")
    if kind == "specs":
        doc += " (repeat the option for several; none: an empty list)"
    elif kind == "numbers":
        doc += " (comma-separated, or repeat the option; none: no value)"
    own = "--" + a.name.replace("_", "-")  # the field's own name stays an alias (--callbacks for --callback)
    decls = (f"{flag}/--no-{flag[2:]}",) if kind == "flag" else (flag,) if own == flag else (flag, own)
    option = typer.Option(None, *decls, help=doc, show_default=False)
    return inspect.Parameter(a.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=_ANNOTATIONS[kind])


def options_to_config(base: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Command-line values (those given) override the config file's."""
    kinds = {a.name: a.metadata.get("option", "spec") for a in attrs.fields(RunConfig)}
    merged = dict(base)
    for key, value in options.items():
        if value is None:
            continue
        kind = kinds.get(key)
        if kind == "numbers":
            value = _numbers(key, value)
        elif kind == "specs":
            value = [] if list(value) == ["none"] else list(value)
            if key == "regularizer" and len(value) == 1:
                value = value[0]  # one regularizer stays one spec
        elif kind == "spec" and value == "none":
            value = None
        merged[key] = value
    return merged


def _numbers(key: str, values: list[Any]) -> Any:
    """``--hidden 128 --hidden 64`` or ``--hidden 128,64`` as ``[128, 64]``; a single value of a field
    that takes one number or a list (``--dropout 0.5``) stays one number; ``none`` is no value."""
    words = [w.strip() for item in values for w in str(item).split(",") if w.strip()]
    if words == ["none"]:
        return None
    try:
        numbers = [int(w) if w.lstrip("+-").isdigit() else float(w) for w in words]
    except ValueError:
        raise InvalidConfig(f"options: {key}={','.join(words)!r} is invalid: give numbers, "
                            f"e.g. --{key.replace('_', '-')} 128,64") from None
    field = attrs.fields_dict(RunConfig)[key]
    default = field.default.factory() if isinstance(field.default, attrs.Factory) else field.default
    return numbers[0] if len(numbers) == 1 and not isinstance(default, list) else numbers


def run_config(config: Path | None, options: dict[str, Any]) -> RunConfig:
    """The RunConfig of a config file (or the defaults) with the given options applied, validated."""
    base = read_config(config) if config is not None else {}
    return RunConfig.from_mapping(options_to_config(base, options), where=str(config or "options"))


def with_run_options(func):
    """Give a command function (which takes ``**fields``) one option per RunConfig field."""
    sig = inspect.signature(func)
    fields = attrs.fields(RunConfig)
    names = {a.name for a in fields}  # already added when the app is built a second time in one process
    params = [p for p in sig.parameters.values()
              if p.kind is not inspect.Parameter.VAR_KEYWORD and p.name not in names]
    params += [_field_option(a) for a in fields]

    func.__signature__ = sig.replace(parameters=params)
    return func
