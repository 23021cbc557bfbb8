"""The core's own commands, registered through the same hook as a plugin's.

As pytest's ``default_plugins`` and datasette's ``DEFAULT_PLUGINS``: ``list``,
``info``, ``plugins``, ``new-plugin``, ``train``, ``evaluate``, ``predict`` and ``install``
come from this module's ``corenn_commands``, which the CLI registers with the
plugin manager (as the distribution ``corenn``) before it asks every plugin for
its commands. A plugin command with one of these names is refused, naming both.
"""

from __future__ import annotations

from ..hookspecs import hookimpl

#: the name this module is registered under in the plugin manager
PLUGIN_NAME = "corenn.cli.default_plugins"
DISTRIBUTION = "corenn"


@hookimpl
def corenn_commands(app) -> None:
    from . import discover, install, scaffold, train

    discover.register(app)
    scaffold.register(app)
    train.register(app)
    install.register(app)
