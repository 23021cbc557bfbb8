"""``corenn compare optimizers`` and ``corenn compare activations``: techniques racing side by side.

The tutorial's comparison ("Parameter Optimization", the animated race over a
loss surface): every optimizer, given by spec, starts from the same point of a
2-D function and takes the same number of steps; the trajectories are drawn over
the function's contours (PNG, and an animated GIF). With ``--train`` the same
optimizers train the same model on the same data, their loss curves on one figure.
``newton`` races Newton's method, whose 2x2 Hessian is cheap on these functions.
``corenn compare activations`` trains one model per activation on real data (same seed,
data and optimizer; he for the ReLU family, xavier for sigmoid and tanh) and tells how
many epochs each needs to reach a target validation accuracy.

    result = race(["sgd", "momentum", "adam"], "quadratic", steps=100)
    plot_race(result, "race.png"); animate_race(result, "race.gif")
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

import attrs
import numpy as np

import corenn
from corenn.files import atomic_write
from corenn_figures import pyplot, save_figure, smooth

# optimizers whose step is normalized by the gradient's running scale: they get a function's adaptive_lr
ADAPTIVE = frozenset({"adagrad", "rmsprop", "adam", "adamw"})
DEFAULT_RACERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


@attrs.frozen
class Surface:
    """A 2-D test function with its gradient, start, minimum, drawing window and default learning rates."""

    name: str
    formula: str
    f: Callable[[float, float], float]
    grad: Callable[[float, float], tuple[float, float]]
    start: tuple[float, float]
    minimum: tuple[float, float] | None
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    steps: int
    lr: float  # for sgd, momentum, nesterov and any optimizer not in ADAPTIVE
    adaptive_lr: float  # for adagrad, rmsprop, adam, adamw
    log_levels: bool = True


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def _beale_grad(x, y):
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
    return (2 * a * (y - 1) + 2 * b * (y ** 2 - 1) + 2 * c * (y ** 3 - 1),
            2 * a * x + 4 * b * x * y + 6 * c * x * y ** 2)


SURFACES = {s.name: s for s in [
    Surface("quadratic", "x^2/20 + y^2 (a long narrow bowl)", lambda x, y: x * x / 20 + y * y,
            lambda x, y: (x / 10, 2 * y), (-8.0, 2.0), (0.0, 0.0), (-10, 10), (-3, 3), 100, 0.1, 0.1),
    Surface("rosenbrock", "(1-x)^2 + 100 (y-x^2)^2 (a curved valley)",
            lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
            lambda x, y: (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)),
            (-1.5, 2.0), (1.0, 1.0), (-2, 2), (-1, 3), 500, 0.001, 0.05),
    Surface("beale", "Beale's function (flat plateaus, steep walls)", _beale, _beale_grad,
            (1.0, 1.4), (3.0, 0.5), (-1, 4), (-1.5, 2), 300, 0.01, 0.05),
    Surface("saddle", "x^2 - y^2 (a saddle point at the origin)", lambda x, y: x * x - y * y,
            lambda x, y: (2 * x, -2 * y), (1.0, 1e-3), None, (-1.5, 1.5), (-1.5, 1.5), 100, 0.05, 0.05,
            log_levels=False),
]}


@attrs.define
class Trajectory:
    spec: str  # the spec the optimizer was built from, learning rate included
    points: np.ndarray  # (steps + 1, 2), fewer where it left the window or diverged
    values: np.ndarray
    left: bool = False  # stopped early: left the drawing window far behind, or not finite

    @property
    def final(self) -> float:
        return float(self.values[-1])


@attrs.define
class Race:
    surface: Surface
    trajectories: list[Trajectory]

    def rows(self) -> list[dict]:
        out = []
        for t in self.trajectories:
            row = {"optimizer": t.spec, "steps": len(t.points) - 1, "final": t.final,
                   "x": float(t.points[-1, 0]), "y": float(t.points[-1, 1]), "left": t.left}
            if self.surface.minimum is not None:
                row["distance"] = float(np.hypot(*(t.points[-1] - np.asarray(self.surface.minimum))))
            out.append(row)
        return out


NEWTON = "newton"  # the race's own second-order racer (the 2x2 Hessian is cheap here; see newton_step)


def hessian(s: Surface, x: float, y: float, h: float = 1e-5) -> np.ndarray:
    """The 2x2 Hessian of ``s`` at (x, y): central differences of its analytic gradient, symmetrized."""
    gx = (np.subtract(s.grad(x + h, y), s.grad(x - h, y))) / (2 * h)
    gy = (np.subtract(s.grad(x, y + h), s.grad(x, y - h))) / (2 * h)
    H = np.column_stack([gx, gy])
    return (H + H.T) / 2


def newton_step(s: Surface, point: np.ndarray, lr: float = 1.0) -> None:
    """Newton's method, the tutorial's second-order update: x <- x - lr H^-1 grad f(x), in place.

    No learning rate to tune on a quadratic (lr = 1 lands on the minimum in one step); a
    singular Hessian falls back to its pseudo-inverse. It heads for any stationary point,
    saddles included, and needs the d x d Hessian and its inverse: O(d^2) memory and
    O(d^3) time per step, which is why networks use L-BFGS instead.
    """
    g = np.asarray(s.grad(*point), dtype=np.float64)
    H = hessian(s, *point)
    try:
        step = np.linalg.solve(H, g)
    except np.linalg.LinAlgError:
        step = np.linalg.pinv(H) @ g
    point -= lr * step


def _is_newton(name: str) -> bool:
    return name == NEWTON and NEWTON not in corenn.available("optimizer")


def surface(name: str) -> Surface:
    if name not in SURFACES:
        raise corenn.InvalidInput(f"compare: unknown function {name!r}; choose one of {', '.join(SURFACES)}")
    return SURFACES[name]


def optimizer_with_lr(spec: Any, lr: float | None) -> tuple[dict, str]:
    """``spec`` as a mapping, with ``lr`` when the spec does not set one; and as text."""
    name, params = corenn.parse_spec(spec)
    fields = {a.name for a in corenn.hyperparameters(corenn.get("optimizer", name))}
    if lr is not None and "lr" in fields and "lr" not in params:
        params["lr"] = lr
    text = name + (":" + ",".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}" if isinstance(v, float)
                                  else f"{k}={v}" for k, v in params.items()) if params else "")
    return {"name": name, **params}, text


def race(specs: Sequence[Any], function: str = "quadratic", *, steps: int | None = None, lr: float | None = None,
         start: tuple[float, float] | None = None) -> Race:
    """Run each optimizer from the same start for ``steps`` steps on the 2-D ``function``.

    An optimizer whose spec gives no ``lr`` gets ``lr`` or, when that is None, the
    function's default (``adaptive_lr`` for adagrad, rmsprop, adam and adamw; none for
    an optimizer that needs a closure, such as lbfgs, whose lr scales a line search).
    ``"newton"`` (``"newton:lr=0.5"``) races Newton's method, :func:`newton_step`.
    """
    s = surface(function)
    steps = s.steps if steps is None else steps
    if not isinstance(steps, int) or steps < 1:
        raise corenn.InvalidInput(f"compare: --steps must be a positive integer, got {steps!r}")
    if not specs:
        raise corenn.InvalidInput("compare: name at least one optimizer, e.g. 'sgd adam'")
    (x0, y0) = s.start if start is None else start
    # a point beyond this box is far off the picture: stop there, before the values overflow
    span = max(s.xlim[1] - s.xlim[0], s.ylim[1] - s.ylim[0])
    far = (s.xlim[0] - span, s.xlim[1] + span, s.ylim[0] - span, s.ylim[1] + span)
    result = []
    for spec in specs:
        name = corenn.parse_spec(spec)[0]
        if _is_newton(name):
            result.append(_newton_trajectory(s, spec, lr, (x0, y0), steps, far))
            continue
        default = None if getattr(corenn.get("optimizer", name), "needs_closure", False) else \
            s.adaptive_lr if name in ADAPTIVE else s.lr
        mapping, text = optimizer_with_lr(spec, default if lr is None else lr)
        opt = corenn.create("optimizer", mapping)
        x = np.array([x0, y0], dtype=np.float64)
        g = np.zeros(2)

        def closure(x=x, g=g):
            g[:] = s.grad(*x)
            return s.f(*x), [g]

        points, values, left = [x.copy()], [s.f(*x)], False
        for _ in range(steps):
            g[:] = s.grad(*x)
            opt.step([x], [g], closure=closure if getattr(opt, "needs_closure", False) else None)
            if not (np.all(np.isfinite(x)) and far[0] < x[0] < far[1] and far[2] < x[1] < far[3]):
                left = True
                break
            points.append(x.copy())
            values.append(s.f(*x))
        result.append(Trajectory(text, np.array(points), np.array(values), left))
    return Race(s, result)


def _newton_trajectory(s: Surface, spec: Any, lr: float | None, start: tuple[float, float], steps: int,
                       far: tuple[float, float, float, float]) -> Trajectory:
    params = corenn.parse_spec(spec)[1]
    unknown = set(params) - {"lr"}
    if unknown:
        raise corenn.InvalidInput(f"compare: newton takes only lr (the step's scale, default 1), got {sorted(unknown)}")
    rate = float(params.get("lr", 1.0 if lr is None else lr))
    if not rate > 0:
        raise corenn.InvalidInput(f"compare: newton's lr must be > 0, got {rate}")
    x = np.array(start, dtype=np.float64)
    points, values, left = [x.copy()], [s.f(*x)], False
    with np.errstate(all="ignore"):
        for _ in range(steps):
            newton_step(s, x, rate)
            if not (np.all(np.isfinite(x)) and far[0] < x[0] < far[1] and far[2] < x[1] < far[3]):
                left = True
                break
            points.append(x.copy())
            values.append(s.f(*x))
    return Trajectory(f"newton:lr={rate:g}", np.array(points), np.array(values), left)


def _draw_surface(ax, s: Surface) -> None:
    xs = np.linspace(*s.xlim, 300)
    ys = np.linspace(*s.ylim, 300)
    X, Y = np.meshgrid(xs, ys)
    Z = s.f(X, Y)
    if s.log_levels:
        low = Z.min() if s.minimum is None else s.f(*s.minimum)
        Z = np.log10(Z - low + 1e-3)
    ax.contourf(X, Y, Z, levels=30, cmap="Greys", alpha=0.5)
    ax.contour(X, Y, Z, levels=30, colors="grey", linewidths=0.5, alpha=0.7)
    if s.minimum is not None:
        ax.plot(*s.minimum, marker="*", color="black", markersize=16, linestyle="none", label="minimum")
    ax.plot(*s.start, marker="o", color="black", markersize=6, linestyle="none")
    ax.set(xlim=s.xlim, ylim=s.ylim, xlabel="x", ylabel="y")


def _colors(n: int) -> list:
    plt = pyplot()
    return [plt.get_cmap("tab10")(i % 10) for i in range(n)]


def _title(r: Race, steps: int) -> str:
    return f"{r.surface.name}: {r.surface.formula}; {steps} steps"


def plot_race(r: Race, path: str | Path, dpi: int = 100) -> Path:
    """The trajectories over the contours, with each optimizer's final value in the legend."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 6), dpi=dpi, layout="constrained")
    _draw_surface(ax, r.surface)
    for t, color in zip(r.trajectories, _colors(len(r.trajectories))):
        label = f"{t.spec}: f = {t.final:.3g}" + (" (left the plot)" if t.left else "")
        ax.plot(t.points[:, 0], t.points[:, 1], "-o", color=color, markersize=2, linewidth=1.5, label=label)
    ax.legend(fontsize="small", loc="best", framealpha=0.9)
    ax.set_title(_title(r, max(len(t.points) - 1 for t in r.trajectories)))
    return save_figure(fig, path, dpi=dpi)


def animate_race(r: Race, path: str | Path, frames: int = 60, fps: int = 12, dpi: int = 80) -> Path:
    """The race as an animated GIF of at most ``frames`` frames.

    The contours are drawn once and each frame only adds the trajectories (blitting);
    the frames share one palette, so Pillow writes them quickly and the file stays small.
    """
    plt = pyplot()
    from PIL import Image

    longest = max(len(t.points) for t in r.trajectories)
    ticks = np.unique(np.linspace(1, longest, min(frames, longest)).astype(int))
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=dpi)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.92)
    _draw_surface(ax, r.surface)
    colors = _colors(len(r.trajectories))
    lines = [ax.plot([], [], "-", color=c, linewidth=2, label=t.spec)[0] for t, c in zip(r.trajectories, colors)]
    heads = [ax.plot([], [], "o", color=c, markersize=7)[0] for c in colors]
    ax.legend(fontsize="small", loc="best")
    title = fig.text(0.5, 0.96, "", ha="center", va="center")
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    images = []
    for n in ticks:
        fig.canvas.restore_region(background)
        for t, line, head in zip(r.trajectories, lines, heads):
            p = t.points[:n]
            line.set_data(p[:, 0], p[:, 1])
            head.set_data(p[-1:, 0], p[-1:, 1])
            ax.draw_artist(line)
            ax.draw_artist(head)
        title.set_text(f"{r.surface.name}: step {n - 1}")
        fig.draw_artist(title)
        images.append(Image.fromarray(np.array(fig.canvas.buffer_rgba())[..., :3]))
    plt.close(fig)
    palette = images[-1].quantize(colors=255)
    images = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    return atomic_write(path, lambda f: images[0].save(f, format="GIF", save_all=True, append_images=images[1:],
                                                       duration=round(1000 / fps), loop=0))


# -- the same optimizers on a real training run ----------------------------------------------------------


@attrs.define
class Curve:
    spec: str
    loss: list[float]
    val_acc: list[float | None]
    diverged: bool


def train_curves(specs: Sequence[Any], cfg: Any, *, lr: float | None = None) -> list[Curve]:
    """Train ``cfg``'s model once per optimizer (same data, same initial weights, same batches)."""
    from corenn.run import build_model, build_trainer, load_data
    from corenn.trainer import TrainingDiverged

    data, _ = load_data(cfg)
    validation = (data.X_val, data.y_val) if len(data.y_val) else None
    curves = []
    for spec in specs:
        optimizer, text = optimizer_with_lr(spec, lr)
        run = attrs.evolve(cfg, optimizer=optimizer, callbacks=[], default_callbacks=False)
        trainer = build_trainer(run, build_model(run, data.num_features, data.num_classes))
        try:
            trainer.fit(data.X_train, data.y_train, validation=validation)
            diverged = False
        except TrainingDiverged:
            diverged = True
        curves.append(Curve(text, list(trainer.history.loss), trainer.history.metric("val_acc"), diverged))
    return curves


# -- activations racing on real data -------------------------------------------------------------------

DEFAULT_ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid")


def saturates(activation: Any) -> bool:
    """Whether an activation is bounded (sigmoid, tanh) rather than growing with its input (the ReLU family)."""
    act = corenn.create("activation", activation)
    with np.errstate(all="ignore"):
        y = act.forward(np.array([[-1e3, 1e3]], dtype=np.float64))
    return bool(np.all(np.isfinite(y)) and np.max(np.abs(y)) < 10)


def default_activations() -> list[str]:
    """Every installed element-wise activation (one that keeps the width: not maxout's groups), relu first."""
    def elementwise(name: str) -> bool:
        y = corenn.create("activation", name).forward(np.zeros((1, 4)))
        return getattr(y, "shape", None) == (1, 4)

    names = [n for n in corenn.available("activation") if elementwise(n)]
    return sorted(names, key=lambda n: (n not in DEFAULT_ACTIVATIONS, DEFAULT_ACTIVATIONS.index(n)
                                        if n in DEFAULT_ACTIVATIONS else 0, n))


def init_for(activation: Any) -> str:
    """The tutorial's initialization rule: xavier for a saturating activation, he for the ReLU family."""
    return "xavier" if saturates(activation) else "he"


@attrs.define
class ActivationRun:
    activation: str
    init: str
    curve: Curve
    epochs_to_target: int | None  # the first epoch (1-based) whose validation accuracy reached the target

    def row(self, target: float) -> dict:
        loss = self.curve.loss
        acc = next((a for a in reversed(self.curve.val_acc) if a is not None), None)
        return {"activation": self.activation, "init": self.init, "target": target,
                "epochs_to_target": self.epochs_to_target, "final_val_acc": acc,
                "final_loss": float(np.mean(loss[-10:])) if loss and not self.curve.diverged else None,
                "diverged": self.curve.diverged}


def race_activations(activations: Sequence[Any], cfg: Any, *, target: float = 0.9) -> list[ActivationRun]:
    """Train ``cfg``'s model once per activation: same data, seed, batches and optimizer, each activation with
    its own initialization rule (:func:`init_for`); the epoch at which each reaches ``target`` validation
    accuracy. The tutorial: ReLU "sigmoid나 tanh 함수와 비교했을 때 SGD의 수렴속도가 매우 빠르다"."""
    if not activations:
        raise corenn.InvalidInput("compare: name at least one activation, e.g. 'relu tanh sigmoid'")
    if not (isinstance(target, (int, float)) and 0 < target <= 1):
        raise corenn.InvalidInput(f"compare: --target must be an accuracy in (0, 1], got {target!r}")
    from corenn.run import build_model, build_trainer, load_data
    from corenn.trainer import TrainingDiverged

    data, _ = load_data(cfg)
    if not len(data.y_val):
        raise corenn.InvalidInput("compare: the activation race needs validation data; the dataset has none")
    runs = []
    for activation in activations:
        init = init_for(activation)
        run = attrs.evolve(cfg, activation=activation, init=init, callbacks=[], default_callbacks=False)
        trainer = build_trainer(run, build_model(run, data.num_features, data.num_classes))
        try:
            trainer.fit(data.X_train, data.y_train, validation=(data.X_val, data.y_val))
            diverged = False
        except TrainingDiverged:
            diverged = True
        val_acc = trainer.history.metric("val_acc")
        reached = next((i + 1 for i, a in enumerate(val_acc) if a is not None and a >= target), None)
        name = activation if isinstance(activation, str) else corenn.parse_spec(activation)[0]
        runs.append(ActivationRun(name, init, Curve(name, list(trainer.history.loss), val_acc, diverged), reached))
    return runs


def plot_curves(curves: Sequence[Curve], path: str | Path, title: str = "", dpi: int = 100,
                target: float | None = None) -> Path:
    """Loss per iteration (smoothed, log scale) and validation accuracy per epoch, one line per racer;
    ``target`` draws a horizontal line at that accuracy."""
    plt = pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=dpi, layout="constrained")
    for c, color in zip(curves, _colors(len(curves))):
        if c.loss:
            window = max(1, len(c.loss) // 50)
            ax_loss.plot(c.loss, color=color, alpha=0.2, linewidth=0.8)
            ax_loss.plot(smooth(c.loss, window=window), color=color, linewidth=1.8,
                         label=c.spec + (" (diverged)" if c.diverged else ""))
        acc = [(i + 1, a) for i, a in enumerate(c.val_acc) if a is not None]
        if acc:
            ax_acc.plot(*zip(*acc), "-o", color=color, markersize=3, label=c.spec)
    if target is not None:
        ax_acc.axhline(target, color="black", linestyle=":", linewidth=1, label=f"target {target:g}")
    ax_loss.set(yscale="log", xlabel="iteration", ylabel="training loss (log scale)", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=dpi)


@corenn.hookimpl
def corenn_commands(app):
    import typer

    compare = typer.Typer(no_args_is_help=True, help="Compare techniques side by side.")

    @compare.command("optimizers")
    def optimizers_command(
        specs: Optional[list[str]] = typer.Argument(None, help="Optimizer specs, e.g. sgd momentum adam:lr=0.05 "
                                                    f"(default: {' '.join(DEFAULT_RACERS)})."),
        function: str = typer.Option("quadratic", "--function", help=f"2-D function: {', '.join(SURFACES)}."),
        steps: Optional[int] = typer.Option(None, "--steps", help="Steps per optimizer (default: the function's)."),
        lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate for every spec that gives none "
                                           "(default: the function's, larger for adaptive optimizers)."),
        gif: bool = typer.Option(True, "--gif/--no-gif", help="Also write the animated GIF."),
        json_output: bool = typer.Option(False, "--json", help="Print the results as JSON instead of tables."),
        train: Optional[str] = typer.Option(None, "--train", help="Also train with each optimizer: a TOML config "
                                            "file, or 'default' (digits and the default MLP)."),
        epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs of the --train runs (default: the config's)."),
        out: Path = typer.Option(Path("."), "--out", help="Folder for the figures."),
    ) -> None:
        """Race optimizers on a 2-D function (contours + trajectories, PNG and GIF); --train: loss curves."""
        from rich.console import Console
        from rich.table import Table

        names = list(specs or [n for n in DEFAULT_RACERS if n in corenn.available("optimizer")])
        console = Console()
        r = race(names, function, steps=steps, lr=lr)
        if json_output:
            doc = {"function": r.surface.name, "formula": r.surface.formula, "race": r.rows()}
            doc["figures"] = [str(plot_race(r, Path(out) / f"optimizers-{function}.png"))]
            if gif:
                doc["figures"].append(str(animate_race(r, Path(out) / f"optimizers-{function}.gif")))
            if train is not None:
                cfg = _config(train, epochs)
                curves = train_curves([n for n in names if not _is_newton(corenn.parse_spec(n)[0])], cfg, lr=lr)
                doc["training"] = [{"optimizer": c.spec, "final_loss": _finite_or_none(np.mean(c.loss[-10:])),
                                    "val_acc": c.val_acc, "diverged": c.diverged} for c in curves]
                doc["figures"].append(str(plot_curves(curves, Path(out) / "optimizers-training.png")))
            print(json.dumps(doc, allow_nan=False))
            return
        table = Table("optimizer", "final f", "x", "y", *(["distance to min"] if r.surface.minimum else []),
                      box=None, header_style="bold", title=f"{r.surface.name}: {r.surface.formula}")
        for row in sorted(r.rows(), key=lambda row: row["final"]):
            table.add_row(row["optimizer"], f"{row['final']:.4g}" + (" (left)" if row["left"] else ""),
                          f"{row['x']:.4f}", f"{row['y']:.4f}",
                          *([f"{row['distance']:.4g}"] if "distance" in row else []))
        console.print(table)
        figures = [plot_race(r, Path(out) / f"optimizers-{function}.png")]
        if gif:
            figures.append(animate_race(r, Path(out) / f"optimizers-{function}.gif"))
        if train is not None:
            cfg = _config(train, epochs)
            curves = train_curves([n for n in names if not _is_newton(corenn.parse_spec(n)[0])], cfg, lr=lr)
            for c in sorted(curves, key=lambda c: math.inf if c.diverged else np.mean(c.loss[-10:])):
                acc = next((a for a in reversed(c.val_acc) if a is not None), None)
                console.print(f"{c.spec}: final loss {np.mean(c.loss[-10:]):.4f}"
                              + ("" if acc is None else f", val acc {acc:.4f}") + (" (diverged)" if c.diverged else ""),
                              highlight=False)
            dataset = cfg.dataset if isinstance(cfg.dataset, str) else cfg.dataset.get("name")
            figures.append(plot_curves(curves, Path(out) / "optimizers-training.png",
                                       title=f"{dataset}, hidden {cfg.hidden}, {cfg.epochs} epochs"))
        console.print("figures: " + ", ".join(str(f) for f in figures), highlight=False)

    @compare.command("activations")
    def activations_command(
        activations: Optional[list[str]] = typer.Argument(None, help="Activation specs, e.g. relu tanh sigmoid "
                                                          "(default: every installed element-wise activation)."),
        train: str = typer.Option("default", "--train", help="A TOML config file, or 'default' (digits and the "
                                  "default MLP)."),
        optimizer: str = typer.Option("sgd:lr=0.05", "--optimizer", help="The optimizer every racer uses."),
        epochs: int = typer.Option(10, "--epochs", help="Epochs per activation."),
        target: float = typer.Option(0.9, "--target", help="The validation accuracy to reach."),
        json_output: bool = typer.Option(False, "--json", help="Print the results as JSON instead of a table."),
        out: Path = typer.Option(Path("."), "--out", help="Folder for activations-training.png."),
    ) -> None:
        """Race activations on real data (each with its init rule: he for the ReLU family, xavier for
        sigmoid/tanh; same seed and optimizer): loss and accuracy curves, epochs to a target accuracy."""
        from rich.console import Console
        from rich.table import Table

        cfg = attrs.evolve(_config(train, epochs), optimizer=optimizer)
        cfg.validate(where="--optimizer")
        runs = race_activations(list(activations or default_activations()), cfg, target=target)
        dataset = cfg.dataset if isinstance(cfg.dataset, str) else cfg.dataset.get("name")
        figure = plot_curves([r.curve for r in runs], Path(out) / "activations-training.png", target=target,
                             title=f"{dataset}, hidden {cfg.hidden}, {optimizer}, {cfg.epochs} epochs, seed {cfg.seed}")
        rows = [r.row(target) for r in runs]
        if json_output:
            print(json.dumps({"optimizer": optimizer, "epochs": cfg.epochs, "target": target, "race": rows,
                              "figure": str(figure)}, allow_nan=False))
            return
        table = Table("activation", "init", f"epochs to {target:g}", "final val acc", "final loss", box=None,
                      header_style="bold", title=f"{dataset}: epochs to {target:g} validation accuracy")
        for row in sorted(rows, key=lambda row: (row["epochs_to_target"] or math.inf, -(row["final_val_acc"] or 0))):
            table.add_row(row["activation"], row["init"],
                          str(row["epochs_to_target"]) if row["epochs_to_target"] else f"not in {cfg.epochs}",
                          "-" if row["final_val_acc"] is None else f"{row['final_val_acc']:.4f}",
                          "diverged" if row["diverged"] else f"{row['final_loss']:.4f}")
        console = Console()
        console.print(table)
        console.print(f"figure: {figure}", highlight=False)

    app.add_typer(compare, name="compare")


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _config(train: str, epochs: int | None):
    from corenn.run import RunConfig, read_config

    base = {} if train == "default" else read_config(train)
    if epochs is not None:
        base = {**base, "epochs": epochs}
    return RunConfig.from_mapping(base, where="default config" if train == "default" else train)
