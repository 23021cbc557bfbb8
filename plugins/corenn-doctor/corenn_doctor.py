"""The training doctor: a callback that reads a run's loss, accuracies and update ratios and says,
in plain words, what looks wrong and what to try (the tutorial's "Tips to train Neural Network").

    trainer = corenn.Trainer(model, callbacks=["doctor"]); trainer.fit(X, y, validation=(Xv, yv))
    print(trainer.callbacks[0].report())

It is on by default in ``corenn train``, which prints the report at the end (also when
the loss diverged) and leaves ``doctor.json`` in the run folder. :func:`diagnose` applies
the same rules to any :class:`corenn.History`.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

import corenn
from corenn import validators as v

DOCTOR_FILE = "doctor.json"
WIDTH = 78  # the report is wrapped here, below an 80-column terminal's width


def _hp(default: float, doc: str, check=v.positive):
    return corenn.hyperparameter(default, doc=doc, check=check)


@corenn.component
class Doctor:
    """Training doctor: diagnoses the loss curve, train/val gap and update/weight ratios in plain words.

    Rules (tutorial, "Tips to train Neural Network"), on the per-step loss L (its
    first, middle and last tenth averaged as L0, Lm, L1), the per-epoch accuracies and
    validation loss, and each weight's median update/weight ratio r (target ~1e-3):
    diverged or exploding (NaN, a spike above ``explode`` x the first loss, or
    L1 > (1 + ``rise``) L0): lr too high; slow near-linear decrease (``linear`` <=
    (Lm-L1)/(L0-Lm) <= 1/``linear`` while L fell by less than half): lr too low; early
    plateau (L within ``flat`` of its start for ``plateau`` of the run, then falling at
    least ``knee`` times faster, updates not tiny): suspect the initialization; L fell
    by less than ``small_drop`` while accuracy rose by ``acc_rise``: explained (the
    tutorial's note), not blamed on the initialization; validation loss rising by
    ``val_rise`` for ``rising_epochs`` epochs past its minimum while the training loss
    falls: onset of overfitting; train - val > ``gap``: overfitting, regularize; train -
    val < ``small_gap`` with train accuracy < ``solved``: more capacity; r above
    ``target`` x ``tolerance`` or below ``target`` / ``tolerance``: lower or raise the lr;
    a layer with more than ``dead`` of its units dead (the ``dead_units`` callback):
    lower lr, he init, leaky_relu.
    """

    name: ClassVar[str] = "doctor"
    enabled_by_default: ClassVar[bool] = True

    explode: float = _hp(3.0, "a loss above this multiple of the first step's loss counts as exploding",
                         v.in_range(1.0, None, low_open=True))
    rise: float = _hp(0.1, "a loss whose last tenth averages this much (relative) above its first tenth is exploding")
    linear: float = _hp(0.5, "(Lm-L1)/(L0-Lm) at or above this is a near-linear decrease")
    flat: float = _hp(0.02, "relative band around the initial loss that counts as not moving")
    plateau: float = _hp(0.1, "share of the run the loss must stay flat at the start to count as a plateau",
                         v.in_range(0.0, 1.0, low_open=True))
    gap: float = _hp(0.1, "train - validation accuracy above this is a wide gap (overfitting)", v.in_range(0.0, 1.0))
    small_gap: float = _hp(0.02, "train - validation accuracy below this is no gap", v.in_range(0.0, 1.0))
    solved: float = _hp(0.98, "training accuracy at which more capacity is no longer suggested", v.in_range(0.0, 1.0))
    target: float = _hp(1e-3, "the healthy update/weight ratio")
    tolerance: float = _hp(10.0, "how many times above or below target a ratio may be",
                           v.in_range(1.0, None, low_open=True))
    min_steps: int = corenn.hyperparameter(20, doc="fewest steps before the loss curve's shape is judged",
                                           check=v.integer(3, None))
    knee: float = _hp(2.0, "a flat start is a plateau only when the loss then falls at least this many times faster")
    small_drop: float = _hp(0.1, "a loss that fell less than this (relative) over the run counts as hardly moving",
                            v.in_range(0.0, 1.0))
    acc_rise: float = _hp(0.05, "rise in accuracy over the run that explains a hardly moving loss",
                          v.in_range(0.0, 1.0, low_open=True))
    val_rise: float = _hp(0.05, "validation loss this much (relative) above its minimum counts as rising")
    rising_epochs: int = corenn.hyperparameter(2, doc="epochs the validation loss must rise past its minimum "
                                               "(while training loss falls) to call it the onset of overfitting",
                                               check=v.integer(1, None))
    dead: float = _hp(0.3, "share of an activation layer's units dead on the held-out batch (the dead_units "
                      "callback's last measurement) that is reported", v.in_range(0.0, 1.0, low_open=True))

    def __attrs_post_init__(self) -> None:
        self.trainer = None
        self.findings: list[dict] | None = None

    # -- callback events --------------------------------------------------------------------------
    def on_train_begin(self, trainer) -> None:
        self.trainer, self.findings = trainer, None

    def on_train_end(self, trainer, history) -> None:
        self.write()

    # -- results ----------------------------------------------------------------------------------
    def diagnose(self) -> list[dict]:
        """The findings for the run this doctor watched (an empty list: nothing looks wrong)."""
        if self.trainer is None:
            return []
        self.findings = diagnose(self.trainer.history, self)
        return self.findings

    def report(self) -> str:
        """The diagnosis in plain words (and ``doctor.json`` in the run folder, kept in step)."""
        if self.trainer is None:
            return ""
        findings = self.diagnose()
        self.write()
        return format_report(findings, self.trainer.history, self.min_steps)

    def write(self) -> Path | None:
        folder = getattr(self.trainer, "run_folder", None)
        if folder is None:
            return None
        from corenn.files import atomic_write_text

        findings = self.findings if self.findings is not None else self.diagnose()
        doc = {"findings": findings, "summary": summary(self.trainer.history)}
        return atomic_write_text(Path(folder) / DOCTOR_FILE, json.dumps(doc, indent=2, allow_nan=False))


def _finding(rule: str, problem: str, advice: str, **evidence: Any) -> dict:
    return {"rule": rule, "problem": problem, "advice": advice,
            "evidence": {k: (None if isinstance(x, float) and not math.isfinite(x) else x) for k, x in evidence.items()}}


def _thirds(loss: np.ndarray) -> tuple[float, float, float]:
    k = max(1, len(loss) // 10)
    mid = len(loss) // 2 - k // 2
    return float(loss[:k].mean()), float(loss[mid:mid + k].mean()), float(loss[-k:].mean())


def _listing(ratios: dict[str, float]) -> str:
    return ", ".join(f"{name} by {r:.1e}" for name, r in ratios.items())


def weight_ratios(history: Any) -> dict[str, float]:
    """Median update/weight ratio of each weight matrix (``...W``; every parameter when there is none)."""
    rows = history.ratios
    names = [k for k in (rows[0] if rows else {}) if k != "step"]
    weights = [k for k in names if k.split(".")[-1] == "W"] or names
    out = {}
    for name in weights:
        values = np.array([r.get(name, np.nan) for r in rows], dtype=float)
        values = values[np.isfinite(values)]
        if values.size:
            out[name] = float(np.median(values))
    return out


def _flat_steps(loss: np.ndarray, flat: float) -> int:
    """How many steps the smoothed loss stays within ``flat`` (relative) of where it started."""
    window = max(1, len(loss) // 20)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    moved = np.nonzero(np.abs(smooth - smooth[0]) > flat * abs(smooth[0]))[0]
    return int(moved[0]) if moved.size else len(loss)


def diagnose(history: Any, rules: Doctor | None = None, **thresholds: Any) -> list[dict]:
    """Apply the doctor's rules to a :class:`corenn.History`; returns a list of findings
    (``rule``, ``problem``, ``advice``, ``evidence``), most urgent first.

    The thresholds are the fields of ``rules`` (a :class:`Doctor`; default ``Doctor(**thresholds)``,
    e.g. ``diagnose(history, gap=0.2)``)."""
    if rules is None:
        rules = Doctor(**thresholds)
    elif thresholds:
        raise TypeError("diagnose: give either rules or threshold keywords, not both")
    r = rules
    findings = []
    loss = np.asarray(history.loss, dtype=float)
    ratios = weight_ratios(history)
    low, high = r.target / r.tolerance, r.target * r.tolerance
    all_tiny = bool(ratios) and all(x < low for x in ratios.values())
    unstable = False
    if history.stopped == "diverged":
        unstable = True
        findings.append(_finding(
            "diverged", f"the loss became NaN or infinite at step {len(loss)}"
            + (f" (last finite value {loss[-1]:.4g})" if loss.size else ""),
            "the learning rate is too high: lower it (try 10x smaller); also check the inputs are standardized",
            step=len(loss), last_loss=float(loss[-1]) if loss.size else None))
    if loss.size >= 2:
        first, peak, at = float(loss[0]), float(loss[1:].max()), int(loss[1:].argmax()) + 1
        l0, lm, l1 = _thirds(loss)
        rising = loss.size >= r.min_steps and l1 > l0 * (1 + r.rise)
        if not unstable and (peak > r.explode * first or rising):
            unstable = True
            findings.append(_finding(
                "exploding", f"the loss is exploding: it reached {peak:.4g} at step {at} from {first:.4g} at the "
                f"start" + (f", and ended higher ({l1:.4g}) than it began ({l0:.4g})" if rising else ""),
                "the learning rate is too high: lower it (try 3-10x smaller)",
                first_loss=first, peak_loss=peak, peak_step=at, start_loss=l0, end_loss=l1))
    if loss.size >= r.min_steps and not unstable:
        findings += _curve_findings(loss, history, r, all_tiny, low)
    last = history.epochs[-1] if history.epochs else {}
    train_acc, val_acc = last.get("train_acc"), last.get("val_acc")
    if train_acc is not None and val_acc is not None and not unstable:
        diff = train_acc - val_acc
        if diff > r.gap:
            findings.append(_finding(
                "overfitting", f"wide train/val gap: training accuracy {train_acc:.3f}, validation {val_acc:.3f} "
                f"(gap {diff:.3f})",
                "the model overfits: more regularization (a stronger l2, dropout), more data, or a smaller model",
                train_acc=train_acc, val_acc=val_acc, gap=diff))
        elif diff < r.small_gap and train_acc < r.solved:
            findings.append(_finding(
                "underfitting", f"no train/val gap: training accuracy {train_acc:.3f}, validation {val_acc:.3f}; "
                "the model does not even fit its training data well",
                "the model may be too small: more capacity (wider or more hidden layers), less regularization; "
                "if the loss is still falling, train longer first",
                train_acc=train_acc, val_acc=val_acc, gap=diff))
    if not unstable:
        findings += _onset_of_overfitting(history, r)
    too_high = {name: x for name, x in ratios.items() if x > high}
    too_low = {name: x for name, x in ratios.items() if x < low}
    if too_high:
        findings.append(_finding(
            "ratio_high", f"updates too large: each step changes {_listing(too_high)} of their size "
            f"(healthy ~{r.target:.0e})", "lower the learning rate", ratios=too_high))
    if too_low:
        middle_only = len(too_low) < len(ratios)
        findings.append(_finding(
            "ratio_low", f"updates too small: each step changes {_listing(too_low)} of their size "
            f"(healthy ~{r.target:.0e})",
            "raise the learning rate" + (" (when only some layers are this low, suspect vanishing gradients: "
                                         "the initialization)" if middle_only else ""), ratios=too_low))
    findings += _dead_units(history, r)
    return findings


def _dead_units(history: Any, r: Doctor) -> list[dict]:
    """Activation layers whose share of dead units (``history.series["dead_units"]``) ended above ``dead``."""
    rows = getattr(history, "series", {}).get("dead_units") or []
    if not rows:
        return []
    first, last = rows[0], rows[-1]
    dead = {name: x for name, x in last.items() if name != "step" and x is not None and x > r.dead}
    if not dead:
        return []
    listing = ", ".join(f"{name} {100 * x:.0f}%" + (f" (from {100 * first[name]:.0f}% at step {first['step']})"
                                                     if first is not last and name in first else "")
                        for name, x in dead.items())
    return [_finding(
        "dead_units", f"dead units: at step {last['step']} these layers have units that output 0 for every held-out "
        f"sample, so no gradient reaches them: {listing}",
        "lower the learning rate (one large update can push a unit's input below 0 for good), initialize relu layers "
        "with he, or use leaky_relu (or elu), which keeps a small gradient for x < 0",
        step=last["step"], dead=dead)]


def _accuracy_rise(history: Any) -> tuple[str, float, float] | None:
    """(which, first, last) of the per-epoch training (else validation) accuracy, if recorded twice."""
    for key, label in (("train_acc", "training"), ("val_acc", "validation")):
        values = [e.get(key) for e in history.epochs if e.get(key) is not None]
        if len(values) >= 2:
            return label, float(values[0]), float(values[-1])
    return None


def _curve_findings(loss: np.ndarray, history: Any, r: Doctor, all_tiny: bool, low: float) -> list[dict]:
    """The loss curve read as the tutorial reads it: slow (near-linear), an early plateau (flat, then a knee),
    or a nearly flat loss while the accuracy rises (explained, not blamed on the initialization)."""
    out = []
    l0, lm, l1 = _thirds(loss)
    drop = (l0 - l1) / abs(l0) if l0 else 0.0
    acc = _accuracy_rise(history)
    if drop < r.small_drop and acc is not None and acc[2] - acc[1] >= r.acc_rise:
        which, a0, a1 = acc
        out.append(_finding(
            "flat_loss_rising_accuracy", f"the loss hardly moved ({l0:.4g} -> {l1:.4g}, {-100 * drop:+.1f}%) while "
            f"{which} accuracy rose {a0:.3f} -> {a1:.3f}: not a sign of a bad initialization. Early on every sample "
            "carries some loss; as some become right, others' loss grows, so the mean barely changes",
            "nothing is broken; if the loss stays this flat, the learning is slow: raise the learning rate",
            start_loss=l0, end_loss=l1, drop=drop, accuracy=which, first_acc=a0, last_acc=a1))
    explanation, out = out, []
    still = _flat_steps(loss, r.flat)
    knee = _knee(loss, still)
    near_linear = l0 > lm > l1 and r.linear <= (lm - l1) / (l0 - lm) <= 1 / r.linear
    if (still >= max(r.plateau * loss.size, r.min_steps // 2) and not all_tiny and not explanation
            and (knee is None or knee >= r.knee)):
        later = "then it fell" if drop > 2 * r.flat else "and it never fell"
        out.append(_finding(
            "plateau", f"early plateau: the loss sat at its initial level ({l0:.4g}) for the first {still} "
            f"of {loss.size} steps, {later} (to {l1:.4g})",
            "suspect the initialization: weights too small (or too large) stall the signal in a deep net; "
            "try he for relu, xavier for tanh, or batch normalization ('corenn diagnose activations' shows it)",
            flat_steps=still, steps=int(loss.size), start_loss=l0, end_loss=l1, knee=knee))
    elif all_tiny and drop < 0.5:
        out.append(_finding(
            "slow", f"the loss barely moves: {l0:.4g} -> {l1:.4g} over {loss.size} steps, and every weight "
            f"changes by less than {low:.0e} of its size per step",
            "the learning rate is too low: raise it (try 10x larger)", start_loss=l0, end_loss=l1))
    elif near_linear and drop < 0.5:
        out.append(_finding(
            "slow", f"slow, near-linear decrease: the loss fell {l0:.4g} -> {lm:.4g} -> {l1:.4g} (first, middle, "
            f"last tenth of {loss.size} steps), as fast in the second half as in the first",
            "the learning rate is too low: raise it (try 3-10x larger) or train much longer",
            start_loss=l0, middle_loss=lm, end_loss=l1, curvature=(lm - l1) / (l0 - lm)))
    return out + explanation


def _knee(loss: np.ndarray, still: int) -> float | None:
    """How many times faster the smoothed loss falls per step after its first ``still`` steps than during
    them (None when it never left its starting level)."""
    if still >= len(loss) - 1:
        return None
    window = max(1, len(loss) // 20)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    still = min(still, len(smooth) - 1)
    during = (smooth[0] - smooth[still]) / max(1, still)
    after = (smooth[still] - smooth[-1]) / max(1, len(smooth) - 1 - still)
    return float(after / during) if during > 0 else math.inf


def _onset_of_overfitting(history: Any, r: Doctor) -> list[dict]:
    """Validation loss rising for ``rising_epochs`` epochs past its minimum while the training loss fell."""
    rows = [(i, e.get("val_loss"), e.get("loss")) for i, e in enumerate(history.epochs)]
    rows = [(i, v, t) for i, v, t in rows if v is not None and math.isfinite(v)]
    if len(rows) < r.rising_epochs + 2:
        return []
    best = min(range(len(rows)), key=lambda k: rows[k][1])
    (b_epoch, b_val, b_train), (l_epoch, l_val, l_train) = rows[best], rows[-1]
    if len(rows) - 1 - best < r.rising_epochs or l_val <= b_val * (1 + r.val_rise):
        return []
    if b_train is not None and l_train is not None and not l_train < b_train:
        return []
    return [_finding(
        "overfitting_onset", f"onset of overfitting: validation loss bottomed at {b_val:.4g} after epoch "
        f"{b_epoch + 1} and rose to {l_val:.4g} by epoch {l_epoch + 1}"
        + ("" if b_train is None or l_train is None else f", while the training loss kept falling ({b_train:.4g} -> "
           f"{l_train:.4g})"),
        f"stop near epoch {b_epoch + 1} (the early_stopping callback keeps the best epoch's weights), or regularize "
        "more (a stronger l2, dropout) or get more data",
        best_epoch=b_epoch + 1, best_val_loss=b_val, last_epoch=l_epoch + 1, last_val_loss=l_val,
        train_loss_at_best=b_train, last_train_loss=l_train)]


def summary(history: Any) -> dict:
    """The numbers the report's closing line speaks of."""
    loss = np.asarray(history.loss, dtype=float)
    last = history.epochs[-1] if history.epochs else {}
    out = {"steps": int(loss.size), "epochs": len(history.epochs), "stopped": history.stopped,
           "first_loss": float(loss[0]) if loss.size else None, "last_loss": float(loss[-1]) if loss.size else None,
           "train_acc": last.get("train_acc"), "val_acc": last.get("val_acc"), "ratios": weight_ratios(history)}
    return {k: (None if isinstance(x, float) and not math.isfinite(x) else x) for k, x in out.items()}


def format_report(findings: list[dict], history: Any, min_steps: int = 20) -> str:
    s = summary(history)
    if not s["steps"]:
        return "doctor: no training steps to judge"
    if not findings:
        parts = [f"loss {s['first_loss']:.4g} -> {s['last_loss']:.4g} in {s['steps']} steps"]
        if s["train_acc"] is not None and s["val_acc"] is not None:
            parts.append(f"train/val accuracy {s['train_acc']:.3f}/{s['val_acc']:.3f}")
        if s["ratios"]:
            parts.append(f"update/weight ratios {min(s['ratios'].values()):.1e} to {max(s['ratios'].values()):.1e}")
        short = f"; too few steps to judge the loss curve (fewer than {min_steps})" if s["steps"] < min_steps else ""
        return textwrap.fill("doctor: nothing looks wrong (" + "; ".join(parts) + ")" + short, WIDTH,
                             subsequent_indent="  ")
    lines = [f"doctor: {len(findings)} finding{'s' if len(findings) > 1 else ''}"]
    for f in findings:
        lines.append(textwrap.fill(f["problem"], WIDTH, initial_indent="  - ", subsequent_indent="    "))
        lines.append(textwrap.fill(f["advice"], WIDTH, initial_indent="    -> ", subsequent_indent="       "))
    return "\n".join(lines)


@corenn.hookimpl
def corenn_callbacks():
    return [Doctor]
