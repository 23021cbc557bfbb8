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

from ..run import InvalidConfig, RunConfig, read_config

LIST_FIELDS = {"hidden", "preprocess", "callbacks"}
OPTION_NAMES = {"init": "--init"}  # every other field's option is --<field-with-dashes>


def _field_option(a: attrs.Attribute) -> inspect.Parameter:
    default = a.default.factory() if isinstance(a.default, attrs.Factory) else a.default
    doc = a.metadata["doc"] + ("" if default in (None, []) else f" [default: {default}]")
    flag = OPTION_NAMES.get(a.name, "--" + a.name.replace("_", "-"))
    if a.name in LIST_FIELDS:
        annotation = Optional[list[str]]
        doc += " (repeat the option for several" + ("; or 128,64" if a.name == "hidden" else "") + ")"
        option = typer.Option(None, flag, help=doc, show_default=False)
    elif a.name in ("batchnorm", "default_callbacks"):
        annotation = Optional[bool]
        option = typer.Option(None, f"{flag}/--no-{flag[2:]}", help=doc, show_default=False)
    elif a.name in ("epochs", "batch_size", "seed"):
        annotation = Optional[int]
        option = typer.Option(None, flag, help=doc, show_default=False)
    elif a.name == "dropout":
        annotation = Optional[float]
        option = typer.Option(None, flag, help=doc, show_default=False)
    else:
        annotation = Optional[str]
        option = typer.Option(None, flag, help=doc, show_default=False)
    return inspect.Parameter(a.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)


def options_to_config(base: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Command-line values (those given) override the config file's."""
    merged = dict(base)
    for key, value in options.items():
        if value is None:
            continue
        if key == "hidden":
            value = _widths(value)
        merged[key] = value
    return merged


def _widths(values: list[Any]) -> list[int]:
    """``--hidden 128 --hidden 64`` or ``--hidden 128,64`` as ``[128, 64]``."""
    words = [w.strip() for item in values for w in str(item).split(",") if w.strip()]
    try:
        return [int(w) for w in words]
    except ValueError:
        raise InvalidConfig(f"options: hidden={','.join(words)!r} is invalid: give integer widths, "
                            "e.g. --hidden 128,64") from None


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
