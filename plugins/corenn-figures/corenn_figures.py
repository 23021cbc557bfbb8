"""Helpers for plugins that draw figures: pyplot on the Agg backend, atomic saves, smoothed curves.

A helper distribution: it registers no component (no entry point); corenn-plots,
corenn-compare, corenn-diagnose, corenn-lr-range and corenn-search depend on it.
It depends on matplotlib, but imports it only the first time :func:`pyplot` or
:func:`save_figure` is called, so a plugin that imports these helpers at the top
of its module still imports fast (only numpy and :mod:`corenn.files` come with it).

    plt = pyplot()                                   # matplotlib.pyplot, Agg backend
    fig, ax = plt.subplots()
    ax.plot(losses, alpha=0.3)
    ax.plot(smooth(losses, 0.9))                     # bias-corrected moving average
    save_figure(fig, folder / "loss.png", dpi=100)   # atomic write, figure closed
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from corenn import InvalidInput
from corenn.files import atomic_write

__all__ = ["pyplot", "save_figure", "smooth", "wrap_title"]


def pyplot() -> Any:
    """``matplotlib.pyplot``, with the non-interactive Agg backend selected (no display needed).

    matplotlib is imported here, on the first call, never when this module is imported.
    """
    try:
        import matplotlib
    except ImportError as exc:  # the plugin calling this should depend on matplotlib
        raise ModuleNotFoundError("drawing figures needs matplotlib, which corenn itself does not install: "
                                  "install it (pip install matplotlib), or the plugin that depends on it",
                                  name="matplotlib") from exc

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike, dpi: float | str = "figure", *, format: str | None = None,
                **savefig: Any) -> Path:
    """Write the matplotlib figure ``fig`` to ``path`` atomically, close it, and return ``path``.

    The image is rendered into a temporary file beside ``path`` and renamed over it
    (:func:`corenn.files.atomic_write`), so a reader never sees half a PNG; missing
    folders are made. ``format`` defaults to the suffix of ``path`` (``png`` when it
    has none; ``path`` itself is never renamed). ``dpi`` defaults to the figure's own;
    other keywords go to ``fig.savefig``. The figure is closed even if saving fails
    (a figure made with :func:`pyplot` is removed from pyplot's list of open figures;
    one made as ``matplotlib.figure.Figure`` needs no closing).
    """
    path = Path(path)
    fmt = format or path.suffix.lstrip(".").lower() or "png"
    try:
        atomic_write(path, lambda f: fig.savefig(f, dpi=dpi, format=fmt, **savefig))
    finally:
        plt = sys.modules.get("matplotlib.pyplot")  # only pyplot keeps figures open; never import it here
        if plt is not None:
            plt.close(fig)
    return path


def smooth(values: Any, beta: float | None = None, *, window: int | None = None) -> np.ndarray:
    """A smoothed copy (float64, same length) of the 1-D curve ``values``, for drawing a noisy loss.

    By default, the exponential moving average with bias correction (``beta`` 0.9 when
    not given), whose first values are not pulled towards 0:

        a_i = beta * a_(i-1) + (1 - beta) * x_i,   a_(-1) = 0,   s_i = a_i / (1 - beta ** (i + 1))

    With ``window``, the trailing mean of the last ``window`` values (fewer at the start):

        s_i = mean(x[max(0, i + 1 - window) : i + 1])

    Lists and integer arrays are accepted; a NaN or infinity makes every later value non-finite.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise InvalidInput(f"smooth: values must be one curve (1-D), got an array of shape {x.shape}")
    if window is not None:
        if beta is not None:
            raise InvalidInput("smooth: give beta (moving average) or window (trailing mean), not both")
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise InvalidInput(f"smooth: window must be a positive integer, got {window!r}")
        c = np.concatenate([[0.0], np.cumsum(x)])
        i = np.arange(1, len(c))
        start = np.maximum(i - window, 0)
        return (c[i] - c[start]) / (i - start)
    beta = 0.9 if beta is None else beta
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating)) or not 0 <= beta < 1:
        raise InvalidInput(f"smooth: beta must be a number in [0, 1), got {beta!r}")
    beta = float(beta)
    out = np.empty(len(x))
    avg = 0.0
    for i, value in enumerate(x.tolist()):  # Python floats: the same IEEE doubles as numpy's, faster to loop
        avg = beta * avg + (1 - beta) * value
        out[i] = avg / (1 - beta ** (i + 1))
    return out


def wrap_title(text: str, width: float, fontsize: float = 12.0) -> str:
    """``text`` broken at spaces into lines that fit ``width`` inches at ``fontsize`` points (a character
    taken as 0.6 em wide), so that matplotlib shows a long title whole instead of cutting it at both ends;
    a word longer than a line (a path) stays whole on its own line."""
    chars = max(10, int(width * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.wrap(text, chars, break_long_words=False, break_on_hyphens=False)) or text
