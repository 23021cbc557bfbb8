"""The ``corenn`` command line: a typer app that plugins extend through ``corenn_commands``.

The core's own commands come through the same hook (:mod:`corenn.cli.default_plugins`).
Every error a user can cause ends in a one-line reason on stderr and exit code 2;
``--debug`` (before or after the command's name) shows the traceback instead. A warning
from corenn or a plugin is one line, ``warning: ...`` on stderr (``--debug`` adds where).
"""

from __future__ import annotations

import sys
import traceback
import warnings
from pathlib import Path

import typer

from ..errors import CorennError, PluginError
from ..registry import registry

EXIT_BAD_INPUT = 2
DEBUG_FLAG = "--debug"


def _show_version(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"corenn {__version__}")
        raise typer.Exit()


def _command_names(plugin_app: typer.Typer) -> list[str]:
    """The names a sub-app's commands and groups take in the CLI (as typer names them)."""
    from typer.main import get_command_name

    names = [c.name or get_command_name(c.callback.__name__) for c in plugin_app.registered_commands]
    names += [g.name or g.typer_instance.info.name for g in plugin_app.registered_groups]
    return [n for n in names if n]


def build_app() -> typer.Typer:
    """The full app: the core's commands, then every plugin's ``corenn_commands``."""
    from . import default_plugins
    from .install import HintingGroup

    app = typer.Typer(name="corenn", cls=HintingGroup, no_args_is_help=True, add_completion=True,
                      pretty_exceptions_enable=False, rich_markup_mode=None,
                      context_settings={"help_option_names": ["-h", "--help"]},
                      help="corenn: neural network training techniques as plugins.")

    @app.callback()
    def root(debug: bool = typer.Option(False, DEBUG_FLAG, help="Show full tracebacks on errors (also after "
                                        "the command's name)."),
             version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                          help="Print corenn's version and exit.")) -> None:
        """corenn: neural network training techniques as plugins."""

    reg = registry()
    if not reg.pm.has_plugin(default_plugins.PLUGIN_NAME):
        reg.pm.register(default_plugins, name=default_plugins.PLUGIN_NAME)
    impls = sorted(reg.pm.hook.corenn_commands.get_hookimpls(),
                   key=lambda impl: impl.plugin_name != default_plugins.PLUGIN_NAME)  # the core's first
    owners: dict[str, str] = {}  # command name -> the distribution that added it
    for impl in impls:
        info = reg.plugins.get(impl.plugin_name)
        core = impl.plugin_name == default_plugins.PLUGIN_NAME
        distribution = (f"{default_plugins.DISTRIBUTION} (the core)" if core
                        else f"{info.distribution if info else '?'} (plugin {impl.plugin_name!r})")
        plugin_app = typer.Typer()
        try:
            impl.function(app=plugin_app)
            if plugin_app.registered_commands or plugin_app.registered_groups:
                typer.main.get_command(plugin_app)  # resolve its signatures now: a broken plugin fails alone
            names = _command_names(plugin_app)
            clashes = sorted({n for n in names if n in owners} | {n for n in names if names.count(n) > 1})
            if clashes:
                name = clashes[0]
                other = owners.get(name, distribution)
                raise PluginError(f"the command {name!r} is added by both {other} and {distribution}; "
                                  f"the latter's commands are left out (rename one, or switch a plugin "
                                  "off with CORENN_DISABLE_PLUGINS)")
        except Exception as exc:  # a broken plugin's commands must not break the CLI
            if core:
                raise
            if info is not None:
                reg._fail(info, exc)
            print(f"warning: plugin {impl.plugin_name!r} could not add its commands: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        owners.update(dict.fromkeys(names, distribution))
        app.registered_commands += plugin_app.registered_commands
        app.registered_groups += plugin_app.registered_groups
    return app


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


_CORE = Path(__file__).resolve().parents[1]


def _from_corenn(filename: str) -> bool:
    """Whether a warning was raised by the core or by a plugin (a module ``corenn_*``)."""
    path = Path(filename).resolve()
    return path.is_relative_to(_CORE) or any(part.startswith("corenn_") for part in path.parts)


def _one_line_warnings(show_other):
    """A ``warnings.showwarning`` that prints corenn's own warnings as ``warning: ...`` on stderr
    and passes the others (numpy's, a library's) to ``show_other``."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if _from_corenn(filename):
            print(f"warning: {message}", file=sys.stderr if file is None else file)
        else:
            show_other(message, category, filename, lineno, file, line)

    return show


def _take_debug(args: list[str]) -> tuple[list[str], bool]:
    """``--debug`` anywhere before a ``--`` (``corenn train --debug`` as well as ``corenn --debug train``)."""
    end = args.index("--") if "--" in args else len(args)
    debug = DEBUG_FLAG in args[:end]
    if debug:
        args = [a for a in args[:end] if a != DEBUG_FLAG] + args[end:]
    return args, debug


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code."""
    args, debug = _take_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _one_line_warnings(warnings.showwarning)
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
