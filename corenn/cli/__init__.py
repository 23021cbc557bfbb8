"""The ``corenn`` command line: a typer app that plugins extend through ``corenn_commands``.

Every error a user can cause ends in a one-line reason on stderr and exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import dataclasses
import sys
import traceback

import typer

from ..errors import CorennError
from ..registry import registry

EXIT_BAD_INPUT = 2

try:  # typer's own machinery for coercing a parameter's value (recent typer versions)
    from typer._coercion import RuntimeParam as _RuntimeParam
    from typer._coercion import build_runtime_param as _build_runtime_param
    from typer.core import TyperCommand as _TyperCommand
    from typer.core import TyperGroup as _TyperGroup
except ImportError:  # pragma: no cover - older typer coerces through click, without pydantic
    _RuntimeParam = None

_PLAIN = (str, bool)

if _RuntimeParam is not None:
    @dataclasses.dataclass(frozen=True)
    class _Plain(_RuntimeParam):
        """Coercion of a ``str`` or ``bool`` parameter: a value that already has the type is
        kept; anything else takes typer's own path (a pydantic TypeAdapter)."""

        def _coerce_value(self, value, param, ctx):
            if type(value) is self.annotation:
                return value
            return _build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)

    class _PlainParams:
        """Typer builds a pydantic TypeAdapter for every parameter it processes, even ``--help``
        when it is not given: importing pydantic and building adapters cost ~0.1 s, more than
        ``corenn list`` itself. Plain ``str`` and ``bool`` parameters (all that list, info and
        plugins have) get :class:`_Plain` instead; every other kind keeps typer's coercion."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            for param in self.params:
                _plain(param)

        def get_help_option(self, ctx):
            option = super().get_help_option(ctx)
            if option is not None:
                _plain(option)
            return option

    def _plain(param) -> None:
        desc = getattr(param, "type_descriptor", None)
        info = getattr(desc, "parameter_info", None)
        annotation = getattr(desc, "annotation", None)
        if (annotation in _PLAIN and getattr(param, "_runtime_param", False) is None
                and getattr(desc, "file_annotation", True) is None
                and getattr(info, "parser", True) is None and getattr(info, "click_type", None) is None):
            param._runtime_param = _Plain(parameter_info=info, annotation=annotation)

    class _Command(_PlainParams, _TyperCommand):
        pass

    class _Group(_PlainParams, _TyperGroup):
        pass
else:  # pragma: no cover
    _Command = _Group = None


def build_app() -> typer.Typer:
    """The full app: the core's commands plus every plugin's ``corenn_commands``."""
    from . import discover, scaffold, train

    app = typer.Typer(name="corenn", no_args_is_help=True, add_completion=False, cls=_Group,
                      pretty_exceptions_enable=False, rich_markup_mode="rich",
                      help="corenn: neural network training techniques as plugins.")

    @app.callback()
    def root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
        """corenn: neural network training techniques as plugins."""

    discover.register(app)
    scaffold.register(app)
    train.register(app)
    reg = registry()
    for impl in reg.pm.hook.corenn_commands.get_hookimpls():
        plugin_app = typer.Typer()
        try:
            impl.function(app=plugin_app)
            if plugin_app.registered_commands or plugin_app.registered_groups:
                typer.main.get_command(plugin_app)  # resolve its signatures now: a broken plugin fails alone
        except Exception as exc:  # a broken plugin's commands must not break the CLI
            info = reg.plugins.get(impl.plugin_name)
            if info is not None:
                reg._fail(info, exc)
            print(f"warning: plugin {impl.plugin_name!r} could not add its commands: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        app.registered_commands += plugin_app.registered_commands
        app.registered_groups += plugin_app.registered_groups
    if _Command is not None:
        for command in app.registered_commands:
            if command.cls in (None, _TyperCommand):
                command.cls = _Command
    return app


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app = build_app()
        app(args=args, prog_name="corenn")  # standalone: usage errors exit 2 by themselves
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (CorennError, OSError) as exc:
        if debug:
            traceback.print_exc()
        detail = str(exc) if isinstance(exc, CorennError) else f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")
        _error(detail)
        code = EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error("interrupted")
        code = 130
    if argv is None:
        sys.exit(code)
    return code
