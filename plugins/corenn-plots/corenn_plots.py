"""Training figures: ``corenn plot RUN`` and the ``plots`` callback.

One figure, ``training.png``, with the four curves the tutorial watches ("Tips to
train Neural Network"): the loss per iteration (raw and smoothed, validation loss
per epoch), train/validation accuracy per epoch, the learning rate, and each
weight's update/weight ratio against the healthy ~1e-3; below them, when the
``dead_units`` callback ran, the share of each activation layer's dead units. ``corenn plot`` reads a
run folder's ``history.json``, or, for a run still in progress (or stopped), the
history inside its newer ``checkpoint.npz``; the ``plots`` callback, on by
default, draws the figure into the run folder when ``corenn train`` ends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

import corenn
from corenn_figures import pyplot, save_figure, smooth, wrap_title

FIGURE = "training.png"


def read_history(folder: str | Path) -> tuple[Any, str]:
    """A run folder's History and where it came from: ``history.json`` or, when that is
    missing or older, the history saved in ``checkpoint.npz`` (a run in progress)."""
    from corenn.files import load_arrays
    from corenn.run import CHECKPOINT_FILE, HISTORY_FILE
    from corenn.trainer import History

    folder = Path(folder)
    if not folder.is_dir():
        raise corenn.InvalidFile(f"run folder {str(folder)!r} does not exist")
    done, checkpoint = folder / HISTORY_FILE, folder / CHECKPOINT_FILE
    if checkpoint.is_file() and (not done.is_file() or checkpoint.stat().st_mtime > done.stat().st_mtime):
        _, doc = load_arrays(checkpoint, what="checkpoint")
        if not isinstance(doc, dict) or not isinstance(doc.get("history"), dict):
            raise corenn.InvalidFile(f"{checkpoint} holds no training history")
        return History.from_dict(doc["history"]), str(checkpoint)
    if done.is_file():
        try:
            return History.from_dict(json.loads(done.read_text(encoding="utf-8"))), str(done)
        except (ValueError, TypeError) as exc:
            raise corenn.InvalidFile(f"{done} is not a readable history ({exc})") from exc
    raise corenn.InvalidFile(f"{str(folder)!r} holds no {HISTORY_FILE} or {CHECKPOINT_FILE}: is it a run folder "
                             "(made by 'corenn train'), and has its first epoch ended?")


def _finite(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[np.isfinite(arr)]


def plot_history(history: Any, path: str | Path, title: str = "", dpi: int = 100) -> Path:
    """Loss (raw and smoothed, validation per epoch), accuracy, learning rate and update ratios, as one PNG."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    dead = getattr(history, "series", {}).get("dead_units") or []  # the dead_units callback's rows, if it ran
    fig = plt.figure(figsize=(12, 11 if dead else 8), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(3 if dead else 2, 2, height_ratios=[1, 1, 0.75] if dead else None)
    axes = np.array([[fig.add_subplot(grid[row, col]) for col in range(2)] for row in range(2)])
    (ax_loss, ax_acc), (ax_lr, ax_ratio) = axes
    loss = np.asarray(history.loss, dtype=float)
    steps = np.arange(len(loss))
    per_epoch = len(loss) / max(1, len(history.epochs))  # steps per epoch, for epoch-end markers
    if loss.size:
        ax_loss.plot(steps, loss, color="tab:blue", alpha=0.3, linewidth=0.8, label="loss (each step)")
        ax_loss.plot(steps, smooth(loss, 0.98 if loss.size > 500 else 0.9), color="tab:blue", linewidth=2,
                     label="smoothed")
        val = [((i + 1) * per_epoch - 1, e["val_loss"]) for i, e in enumerate(history.epochs)
               if e.get("val_loss") is not None]
        if val:
            ax_loss.plot(*zip(*val), "o-", color="tab:orange", markersize=3, label="validation (per epoch)")
        positive = _finite(loss)
        if positive.size and positive.min() > 0 and positive.max() / positive.min() > 20:
            ax_loss.set_yscale("log")
        ax_loss.legend(fontsize="small")
    if history.stopped:
        ax_loss.set_title(wrap_title(f"loss ({history.stopped}, step {len(loss)})", 5.5), color="tab:red")
    else:
        ax_loss.set_title("loss")
    ax_loss.set(xlabel="iteration")

    epochs = np.arange(1, len(history.epochs) + 1)
    for key, color, label in (("train_acc", "tab:blue", "train"), ("val_acc", "tab:orange", "validation")):
        pairs = [(n, e[key]) for n, e in zip(epochs, history.epochs) if e.get(key) is not None]
        if pairs:
            ax_acc.plot(*zip(*pairs), "o-", color=color, markersize=3, label=label)
    if history.epochs:
        ax_acc.legend(fontsize="small")
    else:
        ax_acc.text(0.5, 0.5, "no epoch has ended", ha="center", va="center", transform=ax_acc.transAxes)
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.set(title="accuracy", xlabel="epoch")

    lr = np.asarray(history.lr, dtype=float)
    if lr.size:
        ax_lr.plot(np.arange(lr.size), lr, color="tab:green")
        if _finite(lr).size and _finite(lr).min() > 0 and _finite(lr).max() / _finite(lr).min() > 20:
            ax_lr.set_yscale("log")
    ax_lr.set(title="learning rate", xlabel="iteration")

    rows = history.ratios
    names = [k for k in (rows[0] if rows else {}) if k != "step"]
    weights = [k for k in names if k.split(".")[-1] == "W"] or names
    if rows:
        at = [r["step"] for r in rows]
        for name in weights:
            values = np.array([r.get(name, np.nan) for r in rows], dtype=float)
            ax_ratio.plot(at, np.where(values > 0, values, np.nan), "o-", markersize=2, linewidth=1.2, label=name)
        ax_ratio.axhspan(1e-4, 1e-2, color="tab:green", alpha=0.08)
        ax_ratio.axhline(1e-3, color="tab:green", linestyle="--", linewidth=1, label="~1e-3 (healthy)")
        if np.any(np.isfinite([[r.get(n, np.nan) for n in weights] for r in rows])):
            ax_ratio.set_yscale("log")
        ax_ratio.legend(fontsize="x-small", ncol=2)
    ax_ratio.set(title="update / weight ratio  ||lr*dW|| / ||W||", xlabel="iteration")
    if dead:
        _plot_dead_units(fig.add_subplot(grid[2, :]), dead)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(wrap_title(title, 12, fontsize=14))
    return save_figure(fig, path, dpi=dpi)


def _plot_dead_units(ax: Any, rows: list[dict]) -> None:
    """The share of each activation layer's units that output 0 for a whole held-out batch, per measurement."""
    at = [r["step"] for r in rows]
    for name in [k for k in rows[0] if k != "step"]:
        ax.plot(at, [100 * r.get(name, np.nan) for r in rows], "o-", markersize=2, linewidth=1.5, label=name)
    ax.set(title="dead units: % of each activation layer silent on every held-out sample", xlabel="iteration",
           ylabel="% dead", ylim=(-2, 102))
    ax.legend(fontsize="x-small", ncol=4)
    ax.grid(alpha=0.3)


def _run_title(folder: Path) -> str:
    from corenn.run import CONFIG_FILE, read_config

    try:
        cfg = read_config(folder / CONFIG_FILE)
    except corenn.CorennError:
        return str(folder)
    keys = ("dataset", "hidden", "activation", "optimizer", "schedule", "regularizer", "batch_size")
    return f"{folder.name}: " + ", ".join(f"{k} {cfg[k]}" for k in keys if cfg.get(k) is not None)


def plot_run(folder: str | Path, out: str | Path | None = None) -> tuple[Path, Any, str]:
    """Draw a run folder's figure into ``out`` (default: the run folder); returns it, the history and its source."""
    folder = Path(folder)
    history, source = read_history(folder)
    return plot_history(history, Path(out or folder) / FIGURE, title=_run_title(folder)), history, source


@corenn.component
class Plots:
    """Training figures: loss, accuracy, learning rate and update ratios drawn into the run folder at the end.

    Writes ``training.png`` (see :func:`plot_history`) into ``trainer.run_folder``
    when training ends, or, after a divergence, when the run's reports are printed;
    does nothing for a trainer without a run folder.
    """

    name: ClassVar[str] = "plots"
    enabled_by_default: ClassVar[bool] = True

    dpi: int = corenn.hyperparameter(100, doc="resolution of the figure (dots per inch)",
                                     check=corenn.validators.integer(20, 600))

    def __attrs_post_init__(self) -> None:
        self.trainer = None
        self.path: Path | None = None

    def on_train_begin(self, trainer) -> None:
        self.trainer, self.path = trainer, None

    def on_train_end(self, trainer, history) -> None:
        self.draw()

    def draw(self) -> Path | None:
        folder = getattr(self.trainer, "run_folder", None)
        if folder is None:
            return None
        self.path = plot_history(self.trainer.history, Path(folder) / FIGURE, title=_run_title(Path(folder)),
                                 dpi=self.dpi)
        return self.path

    def report(self) -> str:
        path = self.path or self.draw()
        return f"figure: {path}" if path else ""


@corenn.hookimpl
def corenn_callbacks():
    return [Plots]


@corenn.hookimpl
def corenn_commands(app):
    import typer

    @app.command("plot")
    def plot_command(
        run: Path = typer.Argument(..., help="A run folder (finished or in progress)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Folder for training.png (default: the run folder)."),
        as_json: bool = typer.Option(False, "--json", metavar="", help="Print what was read and drawn as JSON."),
    ) -> None:
        """Draw a run's loss, accuracy, learning rate and update ratios (training.png)."""
        path, history, source = plot_run(run, out)
        if as_json:
            print(json.dumps({"figure": str(path), "source": source, "steps": len(history.loss),
                              "epochs": len(history.epochs), "stopped": history.stopped}))
            return
        print(f"read {source}: {len(history.loss)} steps, {len(history.epochs)} epochs"
              + (f" ({history.stopped})" if history.stopped else ""))
        print(f"figure: {path}")
