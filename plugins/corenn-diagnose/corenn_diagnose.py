"""``corenn diagnose activations``: the tutorial's activation-statistics experiment.

A deep stack of fully connected layers (10 layers of 500 units by default, no
biases) is fed standard Gaussian input; forward, each layer's output mean and
standard deviation show whether the signal survives the depth; backward, a
standard Gaussian gradient sent from the top shows how the gradient's scale
changes on the way down. ``normal:std=0.01`` with tanh collapses to zero,
``normal:std=1.0`` saturates at +-1, ``xavier`` keeps tanh healthy, and ``he``
rescues relu where ``xavier`` lets it fade (tutorial, "Weight Initialization";
He et al. 2015).

    stats = activation_statistics("tanh", "xavier")       # per-layer numbers
    plot_activation_statistics(stats, "activations.png")  # histograms per layer
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import numpy as np

import corenn
from corenn_figures import pyplot, save_figure, wrap_title


@attrs.define
class ActivationStatistics:
    """The experiment's results: one row of numbers per layer, and each layer's outputs."""

    activation: str
    init: str
    rows: list[dict]  # layer, mean, std, flat, grad_std, weight_grad_std
    outputs: list[np.ndarray] = attrs.field(repr=False)

    def column(self, key: str) -> np.ndarray:
        return np.array([row[key] for row in self.rows])

    def to_dict(self) -> dict:
        return {"activation": self.activation, "init": self.init, "layers": self.rows}


def _spec_text(spec: Any) -> str:
    return spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True)


def activation_statistics(activation: Any = "tanh", init: Any = "xavier", *, layers: int = 10, units: int = 500,
                          samples: int = 1000, seed: int = 0, dtype: Any = "float64") -> ActivationStatistics:
    """Run the experiment: ``layers`` layers of ``units`` units, weights from ``init``, on N(0, 1) input.

    Per layer: ``mean`` and ``std`` of its output; ``flat``, the fraction of its units
    whose local derivative is below 0.01 (saturated tanh/sigmoid, inactive relu);
    ``grad_std``, the std of the loss gradient reaching its output, and
    ``weight_grad_std``, that of its weights' gradient, for a N(0, 1) gradient
    arriving at the top.
    """
    if not isinstance(layers, int) or layers < 1:
        raise corenn.InvalidInput(f"diagnose activations: --layers must be a positive integer, got {layers!r}")
    if not isinstance(units, int) or units < 1:
        raise corenn.InvalidInput(f"diagnose activations: --units must be a positive integer, got {units!r}")
    if not isinstance(samples, int) or samples < 2:
        raise corenn.InvalidInput(f"diagnose activations: --samples must be an integer >= 2, got {samples!r}")
    dt = corenn.resolve_dtype(dtype)
    rng = np.random.default_rng(seed)
    initializer = corenn.create("initializer", init)
    x = rng.standard_normal((samples, units)).astype(dt)
    inputs, weights, acts, outputs, flat = [], [], [], [], []
    for _ in range(layers):
        act = corenn.create("activation", activation)
        w = np.asarray(initializer((x.shape[1], units), rng=rng, dtype=dt))
        h = act.forward(x @ w)
        flat.append(float(np.mean(np.abs(act.backward(np.ones_like(h))) < 0.01)))
        act.forward(x @ w)  # restore the cache for the backward pass below
        inputs.append(x)
        weights.append(w)
        acts.append(act)
        outputs.append(h)
        x = h
    grad = rng.standard_normal(x.shape).astype(dt)
    grad_std, weight_grad_std = [0.0] * layers, [0.0] * layers
    for i in reversed(range(layers)):
        grad_std[i] = float(np.std(grad))
        dz = acts[i].backward(grad)
        weight_grad_std[i] = float(np.std(inputs[i].T @ dz))
        grad = dz @ weights[i].T
    rows = [{"layer": i + 1, "mean": float(np.mean(h)), "std": float(np.std(h)), "flat": flat[i],
             "grad_std": grad_std[i], "weight_grad_std": weight_grad_std[i]} for i, h in enumerate(outputs)]
    return ActivationStatistics(_spec_text(activation), _spec_text(init), rows, outputs)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def default_filename(stats: ActivationStatistics) -> str:
    return f"activations-{_slug(stats.activation)}-{_slug(stats.init)}.png"


def plot_activation_statistics(stats: ActivationStatistics, path: str | Path, dpi: int = 100) -> Path:
    """Mean, std and gradient scale per layer (top) and each layer's histogram (bottom), as a PNG."""
    plt = pyplot()

    n = len(stats.rows)
    layer = stats.column("layer")
    fig = plt.figure(figsize=(max(10.0, 1.3 * n + 2), 6.0), dpi=dpi, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1.0])
    ax_mean, ax_std, ax_grad = top.subplots(1, 3)
    ax_mean.plot(layer, stats.column("mean"), "o-", color="tab:blue")
    ax_mean.set(title="output mean per layer", xlabel="layer")
    ax_std.plot(layer, stats.column("std"), "o-", color="tab:red")
    ax_std.set(title="output std per layer", xlabel="layer", ylim=(0, None))
    ax_grad.semilogy(layer, np.maximum(stats.column("grad_std"), 1e-300), "o-", color="tab:green",
                     label="dL/d(output)")
    ax_grad.semilogy(layer, np.maximum(stats.column("weight_grad_std"), 1e-300), "s--", color="tab:purple",
                     label="dL/dW")
    ax_grad.set(title="backward: gradient std per layer", xlabel="layer")
    ax_grad.legend(fontsize="small")
    for ax in (ax_mean, ax_std, ax_grad):
        ax.set_xticks(layer)
        ax.grid(alpha=0.3)
    top.suptitle(wrap_title(f"activation {stats.activation}, init {stats.init}: {n} layers of "
                            f"{stats.outputs[0].shape[1]} units on N(0, 1) input", fig.get_figwidth()))
    # one x range for every histogram, so that a collapse shows as a spike narrowing at 0
    lo = min(float(np.min(h)) for h in stats.outputs)
    hi = max(float(np.max(h)) for h in stats.outputs)
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0
    axes = np.atleast_1d(bottom.subplots(1, n, sharex=True))
    for i, (ax, h) in enumerate(zip(axes, stats.outputs)):
        counts, edges = np.histogram(h, bins=30, range=(lo, hi))
        ax.stairs(counts, edges, fill=True, color="tab:blue", alpha=0.8)
        ax.set_title(f"layer {i + 1}", fontsize="small")
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize="x-small", labelrotation=45)
    bottom.suptitle("histogram of each layer's outputs (shared x axis)", fontsize="medium")
    return save_figure(fig, path, dpi=dpi)


def print_table(stats: ActivationStatistics) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("layer", "mean", "std", "flat", "grad std", "dW std", box=None, header_style="bold",
                  title=f"activation {stats.activation}, init {stats.init}")
    for row in stats.rows:
        table.add_row(str(row["layer"]), f"{row['mean']:+.6f}", f"{row['std']:.6f}", f"{row['flat']:.0%}",
                      f"{row['grad_std']:.3e}", f"{row['weight_grad_std']:.3e}")
    Console().print(table)


def verdict(stats: ActivationStatistics) -> str:
    """One line on how the signal fares with depth."""
    first, last = stats.rows[0], stats.rows[-1]
    if last["flat"] > 0.6:
        return (f"saturated: {last['flat']:.0%} of the last layer's outputs sit where the activation's slope is "
                "below 0.01, so their local gradient is lost; the weights are too large (try xavier or he)")
    ratio = last["std"] / first["std"] if first["std"] > 0 else 0.0
    if ratio < 0.1:
        return (f"collapsing: the output std falls from {first['std']:.3g} to {last['std']:.3g} over "
                f"{len(stats.rows)} layers; the weights are too small (try xavier for tanh, he for relu)")
    if ratio > 10:
        return f"exploding: the output std grows from {first['std']:.3g} to {last['std']:.3g}; the weights are too large"
    return f"healthy: the output std stays between {min(stats.column('std')):.3g} and {max(stats.column('std')):.3g}"


@corenn.hookimpl
def corenn_commands(app):
    import typer

    from corenn.files import atomic_write_text

    diagnose = typer.Typer(no_args_is_help=True, help="Diagnose a network before training it.")

    @diagnose.command("activations")
    def activations_command(
        activation: str = typer.Option("tanh", "--activation", help="Activation spec, e.g. tanh or leaky_relu:slope=0.1."),
        init: str = typer.Option("xavier", "--init", help="Weight initializer spec, e.g. normal:std=0.01, xavier, he."),
        layers: int = typer.Option(10, "--layers", help="Number of layers."),
        units: int = typer.Option(500, "--units", help="Units per layer."),
        samples: int = typer.Option(1000, "--samples", help="Gaussian input samples."),
        seed: int = typer.Option(0, "--seed", help="Seed of the input and weights."),
        out: Path = typer.Option(Path("."), "--out", help="Folder for the figure (PNG) and the numbers (JSON)."),
        as_json: bool = typer.Option(False, "--json", metavar="", help="Print the numbers, verdict and files as JSON."),
    ) -> None:
        """Forward N(0, 1) data through a deep net: per-layer mean, std, histograms and gradient scale."""
        stats = activation_statistics(activation, init, layers=layers, units=units, samples=samples, seed=seed)
        figure = plot_activation_statistics(stats, Path(out) / default_filename(stats))
        numbers = figure.with_suffix(".json")
        atomic_write_text(numbers, json.dumps(stats.to_dict(), indent=2))
        if as_json:
            print(json.dumps({**stats.to_dict(), "verdict": verdict(stats), "figure": str(figure),
                              "numbers": str(numbers)}, indent=2))
            return
        print_table(stats)
        print(verdict(stats))
        print(f"figure: {figure}\nnumbers: {numbers}")

    app.add_typer(diagnose, name="diagnose")
