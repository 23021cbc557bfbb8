"""``corenn lr-range``: the learning-rate range test, the tutorial's learning-rate picture made actionable.

The tutorial shows loss curves for a low, a good, a high and a very high learning
rate. The range test finds the good one in one short run: the learning rate grows
exponentially from ``start`` to ``end`` over ``steps`` minibatches while the loss
is recorded; the loss first barely moves (too low), then falls fastest, reaches its
minimum and finally blows up (too high). The suggested rate is a tenth of the rate
at the smoothed loss's minimum (the steepest descent is shown beside it). With the
curves, the model is then trained for the same number of steps at a low, the
suggested, a high and a very high rate, the tutorial's figure from a real run.
Every run is an ordinary :class:`corenn.Trainer` run, stopped after the wanted number
of steps by a callback, with the regularization fixed tiny first, as the tutorial
advises ("reg값은 작게 설정해 놓은 뒤(0.000001 정도) 적절한 learning rate를 찾는다":
set the regularization small, about 1e-6, then find a good learning rate). A sweep
that never blows up warns that its range was too narrow.

    sweep = lr_sweep(RunConfig())            # digits, the default MLP and optimizer
    sweep.suggested, plot_sweep(sweep, "lr-range.png")
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import attrs
import numpy as np

import corenn
from corenn_figures import pyplot, save_figure, smooth
from corenn.spec import format_spec

FELL = 0.02  # the smoothed loss must fall this much (relative) below its start for a minimum to mean anything
CURVE_FACTORS = {"low": 0.01, "good": 1.0, "high": 10.0, "very high": 100.0}  # times the suggested rate


@attrs.frozen
class ExponentialSweep:
    """lr(t) = start * (end / start) ** (t / (steps - 1)), a schedule for the optimizer's own step counter."""

    start: float
    end: float
    steps: int

    def __call__(self, t: int) -> float:
        return self.start * (self.end / self.start) ** (min(t, self.steps - 1) / max(1, self.steps - 1))


TINY_REGULARIZATION = "l2:strength=1e-6"  # the tutorial: set the regularization tiny (~1e-6), then find the lr


@attrs.define
class Sweep:
    lrs: np.ndarray  # the rate of each step taken
    losses: np.ndarray  # the minibatch loss (data + regularization) at each step
    smoothed: np.ndarray
    suggested: float | None
    minimum: float | None  # the rate at the smoothed loss's minimum
    steepest: float | None  # the rate where the smoothed loss falls fastest (per log lr)
    stopped: str  # why it ended: "end" (reached end), "exploded" or "diverged"
    curves: dict[str, tuple[float, np.ndarray]] = attrs.Factory(dict)  # name -> (lr, losses)
    regularizer: Any = None  # the regularizer spec (a list for several) held during the sweep and the curves
    warning: str | None = None  # what makes the suggestion doubtful, in words

    def to_dict(self) -> dict:
        """The sweep as JSON-ready data (non-finite numbers as None)."""
        def numbers(a):
            return [float(x) if math.isfinite(x) else None for x in np.asarray(a, dtype=float)]

        return {"lrs": numbers(self.lrs), "losses": numbers(self.losses), "smoothed": numbers(self.smoothed),
                "suggested": self.suggested, "minimum": self.minimum, "steepest": self.steepest,
                "stopped": self.stopped, "regularizer": self.regularizer, "warning": self.warning,
                "curves": {name: {"lr": rate, "losses": numbers(losses)} for name, (rate, losses) in self.curves.items()}}


class _Watch:
    """A training callback that records each step's lr and loss and stops the run after ``steps``
    steps, or as soon as ``stop(losses)`` names a reason."""

    def __init__(self, steps: int, stop: Callable[[list[float]], str | None] | None = None):
        self.steps, self.stop = steps, stop
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.why = "end"

    def on_batch_end(self, trainer, step, logs) -> None:
        self.lrs.append(logs["lr"])
        self.losses.append(logs["loss"])
        why = self.stop(self.losses) if self.stop else None
        if why:
            self.why = why
        if why or len(self.losses) >= self.steps:
            trainer.stop_training = True


def _train(cfg: Any, data: Any, lr: float | Callable[[int], float], steps: int,
           stop: Callable[[list[float]], str | None] | None = None) -> tuple[list[float], list[float], str]:
    """``steps`` minibatch steps of a fresh model at ``lr`` (a number or a schedule of the optimizer's step
    count), trained by :class:`corenn.Trainer` with ``cfg``'s loss, regularizer, batch size and seed;
    returns (lrs, losses, why it ended: "end", "diverged" or ``stop``'s reason)."""
    from corenn.run import build_model
    from corenn.trainer import Trainer, TrainingDiverged

    model = build_model(cfg, data.num_features, data.num_classes)
    watch = _Watch(steps, stop)
    per_epoch = math.ceil(len(data.y_train) / cfg.batch_size)
    trainer = Trainer(model, loss=cfg.loss, optimizer=corenn.create("optimizer", cfg.optimizer, lr=lr),
                      regularizer=cfg.regularizer, batch_size=cfg.batch_size, epochs=math.ceil(steps / per_epoch),
                      seed=cfg.seed, callbacks=[watch], ratio_every=0, train_eval_size=0)
    try:
        trainer.fit(data.X_train, data.y_train)
    except TrainingDiverged:
        watch.why = "diverged"
    return watch.lrs[:len(watch.losses)], watch.losses, watch.why


def _sweep_regularizer(cfg: Any, regularizer: Any) -> Any:
    """The regularizer held during the sweep: ``"tiny"`` is :data:`TINY_REGULARIZATION` (the config's own when
    l2 is not installed), ``"config"`` the config's, anything else a spec (None: none)."""
    if regularizer == "config":
        return cfg.regularizer
    if regularizer == "tiny":
        return TINY_REGULARIZATION if "l2" in corenn.available("regularizer") else cfg.regularizer
    return regularizer


def _formatted(held: Any) -> Any:
    """The held regularizer as formatted specs: one spec, or a list for several (None: none)."""
    if isinstance(held, (list, tuple)):
        return [format_spec(*corenn.parse_spec(h)) for h in held] or None
    return None if held is None else format_spec(*corenn.parse_spec(held))


def _shown(regularizer: Any) -> str:
    """A held regularizer in words: ``l2:strength=0.0001 + max_norm:max_value=3.0``, or none."""
    if isinstance(regularizer, list):
        return " + ".join(regularizer)
    return regularizer or "none"


def lr_sweep(cfg: Any, *, start: float = 1e-6, end: float = 1.0, steps: int = 100, beta: float = 0.9,
             explode: float = 4.0, curves: bool = False, regularizer: Any = "tiny") -> Sweep:
    """Run the range test on ``cfg`` (a :class:`corenn.run.RunConfig`; its optimizer's lr is replaced).

    As the tutorial advises, the regularization is first fixed tiny (``regularizer="tiny"``:
    ``l2:strength=1e-6``; ``"config"`` keeps the config's, or give a spec). Stops early once the
    smoothed loss exceeds ``explode`` times its minimum. A sweep that never blew up says so in
    ``warning`` (the range was too narrow), and suggests nothing when its minimum is at the end.
    With ``curves``, also trains ``steps`` steps at each rate of :data:`CURVE_FACTORS`.
    """
    from corenn.run import check_installed, load_data

    if not (isinstance(start, (int, float)) and isinstance(end, (int, float)) and 0 < start < end):
        raise corenn.InvalidInput(f"lr-range: need 0 < --start < --end, got {start!r} and {end!r}")
    if not isinstance(steps, int) or steps < 10:
        raise corenn.InvalidInput(f"lr-range: --steps must be an integer >= 10, got {steps!r}")
    check_installed(cfg, "this range test")  # one error naming every missing distribution, before building
    if "lr" not in {a.name for a in corenn.hyperparameters(corenn.get("optimizer", corenn.parse_spec(cfg.optimizer)[0]))}:
        raise corenn.InvalidInput(f"lr-range: optimizer {cfg.optimizer!r} has no learning rate to sweep")
    data, _ = load_data(cfg)
    held = _sweep_regularizer(cfg, regularizer)
    cfg = attrs.evolve(cfg, schedule=None, regularizer=held)
    state = {"avg": 0.0, "best": math.inf}

    def stop(losses: list[float]) -> str | None:
        i = len(losses)
        state["avg"] = beta * state["avg"] + (1 - beta) * losses[-1]
        value = state["avg"] / (1 - beta ** i)
        state["best"] = min(state["best"], value)
        return "exploded" if i > 10 and value > explode * state["best"] else None

    lrs, losses, stopped = _train(cfg, data, ExponentialSweep(start, end, steps), steps, stop)
    lrs_a, losses_a = np.array(lrs), np.array(losses)
    smoothed = smooth(losses_a, beta) if losses else np.array([])
    suggested = minimum = steepest = warning = None
    skip = min(5, max(0, len(smoothed) - 3))  # the first smoothed values are still noisy
    if len(smoothed) - skip >= 3:
        low = skip + int(np.argmin(smoothed[skip:]))
        minimum = float(lrs_a[low])
        suggested = minimum / 10
        if low - skip >= 2:
            slope = np.gradient(smoothed[skip:low + 1], np.log(lrs_a[skip:low + 1]))
            steepest = float(lrs_a[skip + int(np.argmin(slope))])
        if stopped == "end":
            warning = (f"the loss never blew up up to lr {end:.2g}: the range was too narrow, so the best rate may "
                       "lie beyond it; rerun with a larger --end")
            if low >= len(smoothed) - max(2, len(smoothed) // 10):  # still falling at the end: no honest suggestion
                suggested = None
        if smoothed[low] > (1 - FELL) * smoothed[skip]:
            suggested = None  # the minimum is noise on a flat curve
    sweep = Sweep(lrs_a, losses_a, smoothed, suggested, minimum, steepest, stopped,
                  regularizer=_formatted(held), warning=warning)
    if curves and suggested is not None:
        for name, factor in CURVE_FACTORS.items():
            rate = suggested * factor
            _, run_losses, _ = _train(cfg, data, rate, steps)
            sweep.curves[name] = (rate, np.array(run_losses))
    return sweep


def plot_sweep(sweep: Sweep, path: str | Path, title: str = "", dpi: int = 100) -> Path:
    """Loss against learning rate (log x) with the suggestion marked; beside it the four curves, if run."""
    plt = pyplot()

    panels = 2 if sweep.curves else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.8), dpi=dpi, layout="constrained", squeeze=False)
    ax = axes[0, 0]
    ax.plot(sweep.lrs, sweep.losses, color="tab:blue", alpha=0.3, linewidth=0.8, label="loss (each step)")
    ax.plot(sweep.lrs, sweep.smoothed, color="tab:blue", linewidth=2, label="smoothed")
    ax.set_xscale("log")
    if len(sweep.smoothed):
        finite = sweep.smoothed[np.isfinite(sweep.smoothed)]
        ax.set_ylim(max(0.0, finite.min() - 0.1 * np.ptp(finite)), min(finite.max(), 2 * finite[0]) * 1.05)
    for value, color, style, label in ((sweep.suggested, "tab:green", "-", "suggested"),
                                       (sweep.minimum, "tab:red", ":", "loss minimum"),
                                       (sweep.steepest, "tab:orange", "--", "steepest descent")):
        if value is not None:
            ax.axvline(value, color=color, linestyle=style, linewidth=1.5, label=f"{label}: {value:.2g}")
    ax.set(xlabel="learning rate (log scale)", ylabel="training loss",
           title=f"learning-rate range test ({len(sweep.lrs)} steps, {sweep.stopped})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    if sweep.curves:
        ax = axes[0, 1]
        colors = {"low": "tab:blue", "good": "tab:green", "high": "tab:orange", "very high": "tab:red"}
        top = 0.0
        for name, (rate, losses) in sweep.curves.items():
            if len(losses):
                s = smooth(losses, 0.8)
                top = max(top, float(s[0]))
                ax.plot(np.arange(len(s)), s, color=colors.get(name), linewidth=1.8,
                        label=f"{name} lr {rate:.2g}" + (" (diverged)" if len(losses) < len(sweep.lrs) else ""))
        ax.set_ylim(0, 1.5 * top if top > 0 else None)
        ax.set(xlabel="iteration", ylabel="training loss (smoothed)",
               title="loss curves at fixed learning rates (the tutorial's picture)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=dpi)


@corenn.hookimpl
def corenn_commands(app):
    import typer

    from corenn.cli.run_options import run_config, with_run_options

    def lr_range_command(
        config: Optional[Path] = typer.Argument(None, help="TOML config file (options override it), as for 'corenn train'."),
        start: float = typer.Option(1e-6, "--start", help="First learning rate."),
        end: float = typer.Option(1.0, "--end", help="Last learning rate."),
        steps: int = typer.Option(100, "--steps", help="Steps of the sweep (and of each curve)."),
        curves: bool = typer.Option(True, "--curves/--no-curves", help="Also train at a low, the suggested, a high "
                                    "and a very high rate and draw their loss curves."),
        sweep_regularizer: str = typer.Option("tiny", "--sweep-regularizer", help="Regularization held during the "
                                              f"sweep: 'tiny' ({TINY_REGULARIZATION}, as the tutorial advises), "
                                              "'config' (the config's own), or a spec."),
        json_output: bool = typer.Option(False, "--json", help="Print the sweep as JSON instead of text."),
        out: Path = typer.Option(Path("."), "--out", help="Folder for lr-range.png."),
        **fields: Any,
    ) -> None:
        """Learning-rate range test: loss against an exponentially growing lr; prints a suggested lr."""
        cfg = run_config(config, fields)
        sweep = lr_sweep(cfg, start=start, end=end, steps=steps, curves=curves, regularizer=sweep_regularizer)
        name = corenn.parse_spec(cfg.optimizer)[0]
        figure = plot_sweep(sweep, Path(out) / "lr-range.png",
                            title=f"{cfg.dataset}, hidden {cfg.hidden}, {name}, batch {cfg.batch_size}, "
                                  f"regularization {_shown(sweep.regularizer)}")
        if json_output:
            print(json.dumps({**sweep.to_dict(), "optimizer": name, "figure": str(figure)}, allow_nan=False))
            return
        print(f"regularization held at {_shown(sweep.regularizer)} during the sweep"
              + (" (the tutorial: fix it tiny first, then find the learning rate)"
                 if sweep.regularizer == format_spec(*corenn.parse_spec(TINY_REGULARIZATION)) else ""))
        print(f"swept lr {sweep.lrs[0]:.2g} -> {sweep.lrs[-1]:.2g} in {len(sweep.lrs)} steps ({sweep.stopped})")
        if sweep.warning:
            print(f"warning: {sweep.warning}")
        if sweep.suggested is None:
            if sweep.minimum is None or sweep.smoothed.min() > (1 - FELL) * sweep.smoothed[0]:
                print("no suggestion: the loss never fell; widen the range (--start, --end) or check the setup "
                      "with 'corenn check'")
            else:
                print(f"no suggestion: the loss was still falling at the end of the range (lowest at lr "
                      f"{sweep.minimum:.2g})")
        else:
            print(f"lowest smoothed loss at lr {sweep.minimum:.2g}"
                  + (f"; steepest descent at lr {sweep.steepest:.2g}" if sweep.steepest else ""))
            for label, (rate, losses) in sweep.curves.items():
                print(f"  {label:>9} lr {rate:.2g}: loss {losses[0]:.4f} -> {losses[-1]:.4f}"
                      + (" (diverged)" if len(losses) < steps else "") if len(losses) else f"  {label}: diverged")
            print(f"suggested learning rate: {sweep.suggested:.2g}  (--optimizer {name}:lr={sweep.suggested:.2g})")
        print(f"figure: {figure}")

    app.command("lr-range")(with_run_options(lr_range_command))
