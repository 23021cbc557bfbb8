"""The ``corenn`` command line: a typer app that plugins extend through ``corenn_commands``.

Every error a user can cause ends in a one-line reason on stderr and exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
import traceback

import typer

from ..errors import CorennError
from ..registry import registry

EXIT_BAD_INPUT = 2


def build_app() -> typer.Typer:
    """The full app: the core's commands plus every plugin's ``corenn_commands``."""
    from . import discover, install, scaffold, train

    app = typer.Typer(name="corenn", no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, rich_markup_mode="rich",
                      help="corenn: neural network training techniques as plugins.")

    @app.callback()
    def root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
        """corenn: neural network training techniques as plugins."""

    discover.register(app)
    scaffold.register(app)
    train.register(app)
    install.register(app)
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
