"""Hyperparameter random search for corenn: ``corenn search`` and :func:`search`.

The tutorial's recipe (its "Hyperparameter optimization" part), as a command:
sample hyperparameters at random rather than on a grid, learning rate and
regularization strength in log space; run a coarse stage of short trials, then
a fine stage whose ranges narrow around the best coarse trials; distrust a best
value that sits at the edge of its range.

    corenn search --param optimizer.lr=log:1e-5..1e-2 \\
                  --param regularizer.strength=log:1e-6..1e-1 --regularizer l2 \\
                  --trials 50 --epochs 5 --stages 2

A parameter is ``PATH=DIST:RANGE``. PATH is a key of the run config (``epochs``,
``dropout``, ``hidden``...) or ``COMPONENT.HYPERPARAMETER`` inside a component
spec (``optimizer.lr``, ``regularizer.strength``, ``schedule.initial``).
DIST:RANGE is ``log:a..b`` (log-uniform, 0 < a < b), ``uniform:a..b``,
``int:a..b`` (both ends included) or ``choice:x|y|z`` (Python literals or words).
Trial ``(stage, index)`` draws its values from ``default_rng([seed, stage, index])``,
so a resumed search samples exactly what the interrupted one would have.

Every finished trial is one SQLite transaction (WAL mode) in the storage file;
running the same search again continues where it stopped and never reruns a
finished trial. Trials run in this process (``workers=0``), a local process
pool (spawned, one BLAS thread each) or on a Dask cluster (``scheduler=``),
which receives the dataset once (``client.scatter(data, broadcast=True)``).
dask and matplotlib are imported only when used, so ``corenn --help`` stays fast.
"""

from __future__ import annotations

import corenn

from .execution import SchedulerUnreachable, run_trial
from .runner import BEST_FILE, FIGURE_FILE, STORAGE_FILE, SearchResult, search, show
from .space import EdgeWarning, Param, SearchError, Trial, edge_warnings, importance, narrow, parse_params, sample
from .storage import Storage

__all__ = ["search", "show", "SearchResult", "Trial", "Param", "EdgeWarning", "Storage", "SearchError",
           "SchedulerUnreachable", "run_trial", "parse_params", "sample", "narrow", "edge_warnings", "importance",
           "plot", "STORAGE_FILE", "FIGURE_FILE", "BEST_FILE"]


def plot(result: SearchResult, path):
    """Draw ``result`` (see :func:`corenn_search.figure.plot`); matplotlib is imported only here."""
    from .figure import plot as draw

    return draw(result, path)


@corenn.hookimpl
def corenn_commands(app) -> None:
    """``corenn search`` (typer is imported only when the CLI builds its app)."""
    from .cli import command

    app.command("search")(command())
