"""``corenn check``: the tutorial's sanity checks before a long run ("Tips to train Neural Network").

For the model, data and optimizer a config (or ``corenn train``'s options) describes:

1. the initial data loss, regularization off, is what chance predicts: ln(C) for
   softmax cross-entropy over C classes ((C-1) * margin for the hinge loss);
2. switching regularization on raises it;
3. the analytic gradient of the whole model matches central differences, in
   float64 on a few samples (max relative error per parameter);
4. the model overfits 20 training samples to 100% training accuracy within a
   bounded number of steps, regularization off.

Each check passes or fails with its numbers and, on failure, advice;
``corenn check`` exits with code 1 when one fails.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import attrs
import numpy as np

import corenn

DEFAULT_REGULARIZER = "l2:strength=0.001"  # what the regularization check adds when the config has none


@attrs.define
class Check:
    name: str
    passed: bool | None  # None: skipped
    message: str
    advice: str = ""
    numbers: dict = attrs.Factory(dict)


def expected_initial_loss(loss: Any, num_classes: int) -> tuple[float, str] | None:
    """The data loss of a model that knows nothing yet (all scores equal), if known for this loss."""
    if getattr(loss, "name", None) == "softmax_cross_entropy":
        return math.log(num_classes), f"ln({num_classes})"
    if getattr(loss, "name", None) == "hinge":
        margin = float(getattr(loss, "margin", 1.0))
        return (num_classes - 1) * margin, f"(C-1)*margin = {num_classes - 1}*{margin:g}"
    return None


def _fresh(cfg: Any, data: Any, **changes: Any):
    from corenn.run import build_model

    run = attrs.evolve(cfg, **changes)
    return run, build_model(run, data.num_features, data.num_classes)


def check_initial_loss(cfg: Any, data: Any, tolerance: float = 0.25, eval_size: int = 2000) -> Check:
    from corenn.model import compute_loss

    _, model = _fresh(cfg, data, regularizer=None)
    loss = corenn.create("loss", cfg.loss)
    X, y = data.X_train[:eval_size], data.y_train[:eval_size]
    value, _ = compute_loss(model, loss, X, y, training=False, backward=False)
    expected = expected_initial_loss(loss, data.num_classes)
    if expected is None:
        return Check("initial loss", None, f"{value:.4f} (no reference value known for loss {loss.name!r})",
                     numbers={"loss": value})
    ref, formula = expected
    off = (value - ref) / ref
    numbers = {"loss": value, "expected": ref, "relative_difference": off}
    message = f"{value:.4f} vs {formula} = {ref:.4f} ({off:+.1%}; within {tolerance:.0%} passes)"
    if abs(off) <= tolerance:
        return Check("initial loss", True, message, numbers=numbers)
    advice = ("the initial scores are too large: the weights start too big (use xavier or he, or a smaller std) "
              "or the inputs are not standardized" if off > 0 else
              "the loss is below chance before training: check that the labels are not leaking into the inputs "
              "and that the loss is computed over the right classes")
    return Check("initial loss", False, message, advice, numbers)


def _label(spec: Any) -> str:
    """A regularizer spec (or a list of them) as the user wrote it: ``l2:strength=0.001 + max_norm``."""
    items = spec if isinstance(spec, (list, tuple)) else [spec]
    return " + ".join(s if isinstance(s, str) else str(corenn.parse_spec(s)[0] if isinstance(s, dict)
                                                        else getattr(s, "name", s)) for s in items)


def check_regularization(cfg: Any, data: Any, eval_size: int = 2000) -> Check:
    from corenn.model import as_regularizers, compute_loss

    spec = cfg.regularizer if cfg.regularizer is not None else DEFAULT_REGULARIZER
    name = corenn.parse_spec(spec)[0] if cfg.regularizer is None else None
    if name is not None and name not in corenn.available("regularizer"):
        return Check("regularization", None, f"skipped: no regularizer configured and {name!r} is not installed")
    regularizers = as_regularizers(spec)  # one spec or several: penalties add up
    _, model = _fresh(cfg, data)
    loss = corenn.create("loss", cfg.loss)
    X, y = data.X_train[:eval_size], data.y_train[:eval_size]
    data_loss, penalty = compute_loss(model, loss, X, y, regularizer=regularizers, training=False, backward=False)
    label = _label(spec)
    numbers = {"data_loss": data_loss, "penalty": penalty, "total": data_loss + penalty}
    message = f"{label} raises the loss {data_loss:.4f} -> {data_loss + penalty:.4f} (penalty {penalty:.4g})"
    if penalty > 0:
        return Check("regularization", True, message, numbers=numbers)
    if all(float(r.penalty(np.ones((2, 2)))) == 0.0 for r in regularizers):
        return Check("regularization", None, f"{label} adds no penalty (it acts as a constraint): nothing to check",
                     numbers=numbers)
    return Check("regularization", False, message,
                 f"the penalty of {label} is {penalty} on every weight: check that it is added to the loss and "
                 "that its strength is not 0", numbers)


def check_gradients(cfg: Any, data: Any, samples: int = 4, tolerance: float = 1e-5) -> Check:
    from corenn.testing import GradientCheckError, check_model_gradients

    run, model = _fresh(cfg, data, dtype="float64")
    from corenn.model import as_regularizers

    regularizer = as_regularizers(cfg.regularizer)
    X, y = data.X_train[:samples].astype(np.float64), data.y_train[:samples]
    where = f"float64, {len(y)} samples" + (f", with {_label(cfg.regularizer)}" if cfg.regularizer is not None else "")
    try:
        errors = check_model_gradients(model, X, y, corenn.create("loss", cfg.loss), regularizer, tol=tolerance)
    except GradientCheckError as exc:
        return Check("gradients", False, f"{exc} ({where})",
                     "the analytic gradient disagrees with central differences: a backward() is wrong (check "
                     "each layer with corenn.testing.check_module_gradients), or a kink (relu at 0) was hit: "
                     "rerun with other --seed", {"error": str(exc)})
    worst = max(errors, key=errors.get)
    listing = ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    return Check("gradients", True, f"max relative error {errors[worst]:.1e} ({worst}) <= {tolerance:.0e}, {where}: "
                 f"{listing}", numbers={"relative_errors": errors, "tolerance": tolerance})


class _StopWhenFitted:
    def __init__(self):
        self.fitted_at = None

    def on_epoch_end(self, trainer, epoch, logs):
        if logs["train_acc"] >= 1.0:
            self.fitted_at = trainer.step
            trainer.stop_training = True


def check_overfit(cfg: Any, data: Any, samples: int = 20, steps: int = 300) -> Check:
    from corenn.trainer import Trainer, TrainingDiverged

    run, model = _fresh(cfg, data, regularizer=None)
    n = min(samples, len(data.y_train))
    pick = np.random.default_rng(cfg.seed).choice(len(data.y_train), n, replace=False)
    X, y = data.X_train[pick], data.y_train[pick]
    stopper = _StopWhenFitted()
    trainer = Trainer(model, loss=run.loss, optimizer=run.optimizer, batch_size=n, epochs=steps, seed=run.seed,
                      callbacks=[stopper], schedule=run.schedule, schedule_unit=run.schedule_unit)
    try:
        trainer.fit(X, y)
    except TrainingDiverged:
        return Check(f"overfit {n} samples", False, f"the loss diverged after {trainer.step} steps",
                     "lower the learning rate", {"steps": trainer.step})
    acc = trainer.history.epochs[-1]["train_acc"] if trainer.history.epochs else 0.0
    final = trainer.history.loss[-1] if trainer.history.loss else float("nan")
    numbers = {"samples": n, "steps": trainer.step, "train_acc": acc, "loss": final, "max_steps": steps}
    if stopper.fitted_at is not None:
        return Check(f"overfit {n} samples", True, f"100% training accuracy after {stopper.fitted_at} steps "
                     f"(loss {final:.4f}), regularization off", numbers=numbers)
    return Check(f"overfit {n} samples", False, f"training accuracy {acc:.0%} after {steps} steps (loss {final:.4f}), "
                 "regularization off",
                 "a model that cannot memorize 20 samples has a bug or too little capacity: raise the learning "
                 "rate, check the gradients, give it more hidden units (or allow more --steps)", numbers)


def run_checks(cfg: Any, *, samples: int = 20, steps: int = 300, grad_samples: int = 4,
               loss_tolerance: float = 0.25, grad_tolerance: float = 1e-5) -> list[Check]:
    """Every check on ``cfg`` (a :class:`corenn.run.RunConfig`), in the tutorial's order."""
    from corenn.run import check_installed, load_data

    for key, value, low in (("samples", samples, 1), ("steps", steps, 1), ("grad_samples", grad_samples, 1)):
        if not isinstance(value, int) or value < low:
            raise corenn.InvalidInput(f"check: --{key.replace('_', '-')} must be a positive integer, got {value!r}")
    check_installed(cfg, "this check")  # one error naming every missing distribution, before anything is built
    data, _ = load_data(cfg)
    return [check_initial_loss(cfg, data, loss_tolerance), check_regularization(cfg, data),
            check_gradients(cfg, data, grad_samples, grad_tolerance), check_overfit(cfg, data, samples, steps)]


def format_checks(checks: list[Check]) -> list[str]:
    lines = []
    for c in checks:
        mark = "SKIP" if c.passed is None else "PASS" if c.passed else "FAIL"
        lines.append(f"{mark}  {c.name}: {c.message}")
        if c.advice and not c.passed:
            lines.append(f"      advice: {c.advice}")
    failed = sum(c.passed is False for c in checks)
    passed = sum(c.passed is True for c in checks)
    lines.append(f"{passed} passed, {failed} failed" + (f", {len(checks) - passed - failed} skipped"
                                                        if passed + failed < len(checks) else ""))
    return lines


@corenn.hookimpl
def corenn_commands(app):
    import typer

    from corenn.cli.run_options import run_config, with_run_options

    def check_command(
        config: Optional[Path] = typer.Argument(None, help="TOML config file (options override it), as for 'corenn train'."),
        samples: int = typer.Option(20, "--samples", help="Training samples the model must overfit."),
        steps: int = typer.Option(300, "--steps", help="Most steps allowed to overfit them."),
        grad_samples: int = typer.Option(4, "--grad-samples", help="Samples in the gradient check."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
        **fields: Any,
    ) -> None:
        """Sanity checks before a long run: initial loss, regularization, gradients, overfitting 20 samples."""
        cfg = run_config(config, fields)
        checks = run_checks(cfg, samples=samples, steps=steps, grad_samples=grad_samples)
        if not as_json:
            print(f"checking: dataset {cfg.dataset}, hidden {cfg.hidden}, activation {cfg.activation}, init {cfg.init}, "
                  f"loss {cfg.loss}, optimizer {cfg.optimizer}")
        if as_json:
            print(json.dumps([attrs.asdict(c) for c in checks], indent=2))
        else:
            for line in format_checks(checks):
                print(line)
        if any(c.passed is False for c in checks):
            raise typer.Exit(1)

    app.command("check")(with_run_options(check_command))
