"""The hooks a corenn plugin implements (pluggy project name ``"corenn"``).

A plugin is a module named by an entry point in the group ``corenn``::

    [project.entry-points.corenn]
    relu = "corenn_relu"

and implements any of the hooks below with ``@corenn.hookimpl``. Each
component hook returns an iterable of component classes: attrs classes (use
``@corenn.component``) with a class attribute ``name``, the registry name. The
registry learns the providing distribution from the class's module.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

hookspec = pluggy.HookspecMarker("corenn")
hookimpl = pluggy.HookimplMarker("corenn")


@hookspec
def corenn_activations() -> Iterable[type]:
    """Return activation classes: ``forward(x) -> y``, ``backward(dy) -> dx``,
    ``params`` and ``grads`` dicts (empty where there are none). Output keeps the
    input's dtype."""


@hookspec
def corenn_initializers() -> Iterable[type]:
    """Return initializer classes: ``__call__(shape, rng=None, dtype=numpy.float32)``
    returns a new array of that shape and dtype; ``rng`` is a ``numpy.random.Generator``."""


@hookspec
def corenn_regularizers() -> Iterable[type]:
    """Return regularizer classes: ``penalty(w) -> float``, ``gradient(w) -> array``
    of w's shape, and ``constrain(w) -> None``, an in-place projection applied after
    each update (a no-op where there is none)."""


@hookspec
def corenn_optimizers() -> Iterable[type]:
    """Return optimizer classes: ``step(params, grads, closure=None)`` updates the
    arrays in ``params`` in place; ``state_dict()`` / ``load_state_dict(d)``
    round-trip the state exactly. Numeric hyperparameters may hold a Schedule."""


@hookspec
def corenn_schedules() -> Iterable[type]:
    """Return schedule classes: ``__call__(t: int) -> float`` for t = 0, 1, 2, ..."""


@hookspec
def corenn_layers() -> Iterable[type]:
    """Return layer classes: ``forward(x, training=True)``, ``backward(dy)``,
    ``params``, ``grads`` (same keys) and optionally ``buffers`` (saved, not learned)."""


@hookspec
def corenn_losses() -> Iterable[type]:
    """Return loss classes: ``forward(scores, y) -> float`` (mean over the batch,
    y integer class indices) and ``backward() -> dscores``."""


@hookspec
def corenn_preprocessors() -> Iterable[type]:
    """Return preprocessor classes: ``fit(X) -> self``, ``transform(X)``,
    ``fit_transform(X)`` and, where it exists, ``inverse_transform(X2)``."""


@hookspec
def corenn_datasets() -> Iterable[type]:
    """Return dataset classes: ``load(seed=0, **kw) -> corenn.Data``."""


@hookspec
def corenn_callbacks() -> Iterable[type]:
    """Return training-callback classes: components of the kind ``callback``
    (``corenn list callback``), attrs classes with a ``name`` whose fields are their
    hyperparameters (``--callback doctor:gap=0.1``). The trainer calls whichever of
    ``on_train_begin(trainer)``, ``on_epoch_begin(trainer, epoch)``,
    ``on_batch_begin(trainer, step)``, ``on_batch_end(trainer, step, logs)``,
    ``on_epoch_end(trainer, epoch, logs)`` and ``on_train_end(trainer, history)`` they define.
    A callback sets ``trainer.stop_training = True`` to end the run: set in ``on_batch_end``, the
    run ends after that batch; set in ``on_epoch_end``, after that epoch. ``enabled_by_default = True``
    runs it in every ``corenn train``; ``report() -> str`` is printed when the run ends."""


@hookspec
def corenn_commands(app) -> None:
    """Add subcommands to the ``corenn`` CLI. ``app`` is the ``typer.Typer``
    application: decorate functions with ``@app.command()`` or add a sub-app with
    ``app.add_typer(...)``. A command named like one the core or another plugin
    already adds is refused (the plugin fails, naming both). Raise ``corenn.CorennError`` subclasses for bad input;
    the CLI turns them into a one-line message and exit code 2."""
