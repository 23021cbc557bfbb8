"""The search figure: trials in the two most important dimensions, colored by validation accuracy."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from corenn_figures import save_figure

from .space import Param, Trial, _show

if TYPE_CHECKING:
    from .runner import SearchResult


def plot(result: SearchResult, path: str | os.PathLike) -> Path:
    """The trials in the two most important dimensions, one panel per stage, colored by validation
    accuracy (the tutorial's coarse and fine pictures), each panel on its own stage's ranges and color scale;
    a dashed box shows the next stage's ranges."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    space = result.space
    order = sorted(space, key=lambda p: -result.importance.get(p.path, 0.0))
    dims = order[:2]
    stages = sorted(result.stages) or [0]
    fig = Figure(figsize=(6.2 * len(stages), 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(stages), squeeze=False)[0]
    good = [t for t in result.trials if t.ok]
    best = result.best
    jitter = np.random.default_rng(0)

    def coords(p: Param, trials: list[Trial]) -> np.ndarray:
        values = [t.params.get(p.path) for t in trials]
        if p.numeric:
            return np.array(values, dtype=np.float64)
        positions = np.array([p.choices.index(v) for v in values], dtype=np.float64)
        return positions + jitter.uniform(-0.15, 0.15, len(values))

    def frame(ax, p: Param, axis: str) -> None:
        set_scale, set_lim = getattr(ax, f"set_{axis}scale"), getattr(ax, f"set_{axis}lim")
        label = getattr(ax, f"set_{axis}label")
        label(p.path + (" (log)" if p.dist == "log" else ""))
        if p.dist == "log":
            set_scale("log")
            pad = 10 ** (0.03 * math.log10(p.high / p.low))
            set_lim(p.low / pad, p.high * pad)
        elif p.numeric:
            pad = 0.03 * (p.high - p.low)
            set_lim(p.low - pad, p.high + pad)
        else:
            getattr(ax, f"set_{axis}ticks")(range(len(p.choices)), [_show(c) for c in p.choices])
            set_lim(-0.5, len(p.choices) - 0.5)

    for ax, stage in zip(axes, stages):
        stage_space, epochs = result.stages.get(stage, (space, 0))
        mine = [t for t in good if t.stage == stage]
        failed = [t for t in result.trials if not t.ok and t.stage == stage]
        name = "coarse" if stage == 0 and len(stages) > 1 else ("fine" if stage > 0 else "random search")
        ax.set_title(f"stage {stage + 1} ({name}): {len(mine) + len(failed)} trials, {epochs} epochs", fontsize=10)
        x = coords(dims[0], mine)
        y = coords(dims[1], mine) if len(dims) > 1 else np.array([t.val_acc for t in mine])
        # each stage its own color scale: the fine stage is there to tell good values from better ones
        accs = [t.val_acc for t in mine] or [0.0, 1.0]
        vmin, vmax = min(accs), max(accs)
        if vmax - vmin < 1e-3:
            vmin, vmax = vmin - 0.005, vmax + 0.005
        scatter = ax.scatter(x, y, c=[t.val_acc for t in mine], cmap="viridis", vmin=vmin, vmax=vmax, s=36,
                             edgecolors="black", linewidths=0.3)
        fig.colorbar(scatter, ax=ax, label="validation accuracy", pad=0.01)
        if failed:
            fx = coords(dims[0], failed)
            fy = coords(dims[1], failed) if len(dims) > 1 else np.full(len(failed), vmin)
            ax.scatter(fx, fy, marker="x", color="0.55", s=30, label="failed")
        if best is not None and best.stage == stage:
            bx = coords(dims[0], [best])
            by = coords(dims[1], [best]) if len(dims) > 1 else np.array([best.val_acc])
            ax.scatter(bx, by, marker="*", s=260, facecolors="none", edgecolors="red", linewidths=1.5,
                       label=f"best {best.val_acc:.3f}")
        following = result.stages.get(stage + 1)
        if following is not None and len(dims) > 1 and all(p.numeric for p in dims):
            box = {p.path: p for p in following[0]}
            a, b = box[dims[0].path], box[dims[1].path]
            ax.add_patch(Rectangle((a.low, b.low), a.high - a.low, b.high - b.low, fill=False, linestyle="--",
                                   edgecolor="red", linewidth=1, label="next stage's ranges"))
        # each panel spans its own stage's ranges (a fine stage zooms in); choices keep the first stage's axis
        own = {p.path: p for p in stage_space}
        frame(ax, own.get(dims[0].path, dims[0]) if dims[0].numeric else dims[0], "x")
        if len(dims) > 1:
            frame(ax, own.get(dims[1].path, dims[1]) if dims[1].numeric else dims[1], "y")
        else:
            ax.set_ylabel("validation accuracy")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
    return save_figure(fig, path, dpi=110)
