"""reduce_on_plateau: decay the learning rate when validation stops improving."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import corenn
from corenn import validators as v
from corenn.optim import Schedule

#: the per-epoch metrics the trainer logs, and whether lower is better for each (mode "auto")
METRICS = {"val_loss": "min", "val_acc": "max", "loss": "min", "train_acc": "max"}
_STATE_KEYS = ("value", "best", "waited", "cooldown_left")


@corenn.component
class ReduceOnPlateau(Schedule):
    """Reduce on plateau: value <- max(value * factor, min_lr) once `monitor` has not
    improved for `patience` epochs; then wait `cooldown` epochs before counting again.

    The tutorial's practical rule for when to decay the learning rate: watch the
    validation error during training and decay when it stops improving. The
    rules follow Keras' ``ReduceLROnPlateau`` (also PyTorch's, with an absolute
    threshold): an epoch improves when the metric beats the best so far by more
    than ``min_delta`` (lower for losses, higher for accuracies); otherwise it
    counts, and at ``patience`` counted epochs the value is multiplied by
    ``factor`` (not below ``min_lr``) and the count restarts. During the
    ``cooldown`` epochs after a reduction nothing is counted.

    The value changes only in :meth:`observe`, which the trainer calls at the end
    of every epoch with the epoch's logs; ``schedule(t)`` gives the value as of
    the last observation, whatever t is. ``state_dict()`` / ``load_state_dict()``
    carry it through checkpoints.
    """

    name = "reduce_on_plateau"
    conformance_kwargs = {"initial": 0.1}

    initial: float = corenn.hyperparameter(doc="the value until the first reduction (> 0)", check=v.positive)
    monitor: str = corenn.hyperparameter("val_loss", doc="the epoch metric watched: " + ", ".join(METRICS),
                                         check=v.one_of(*METRICS))
    mode: str = corenn.hyperparameter("auto", doc="min (lower is better), max, or auto (max for accuracies)",
                                      check=v.one_of("auto", "min", "max"))
    factor: float = corenn.hyperparameter(0.1, doc="multiplier applied at each reduction, in (0, 1)",
                                          check=v.in_range(0, 1, low_open=True, high_open=True))
    patience: int = corenn.hyperparameter(10, doc="epochs without improvement before a reduction (>= 1)",
                                          check=v.integer(1))
    min_delta: float = corenn.hyperparameter(0.0, doc="smallest change of the metric that counts as improvement",
                                             check=v.non_negative)
    cooldown: int = corenn.hyperparameter(0, doc="epochs after a reduction during which nothing is counted",
                                          check=v.integer(0))
    min_lr: float = corenn.hyperparameter(0.0, doc="the value never goes below this (>= 0)", check=v.non_negative)

    def __attrs_post_init__(self) -> None:
        if self.min_lr > self.initial:
            raise corenn.InvalidHyperparameter(self.name, "min_lr", self.min_lr,
                                               f"must not exceed initial={self.initial}")
        self.value = float(self.initial)
        self.best: float | None = None
        self.waited = 0
        self.cooldown_left = 0

    @property
    def lower_is_better(self) -> bool:
        return (METRICS[self.monitor] if self.mode == "auto" else self.mode) == "min"

    def at(self, t: int) -> float:
        return self.value

    def observe(self, epoch: int, logs: Mapping[str, Any]) -> None:
        """Take one epoch's logs into account (the trainer calls this at every epoch end)."""
        current = logs.get(self.monitor)
        if current is None:
            raise corenn.InvalidInput(
                f"{self.name} monitors {self.monitor!r}, but epoch {epoch} logged none (training without "
                f"validation data?); give validation data or monitor one of "
                f"{', '.join(k for k in METRICS if logs.get(k) is not None)}")
        current = float(current)
        cooling = self.cooldown_left > 0
        if cooling:
            self.cooldown_left -= 1
        if self._improves(current):
            self.best, self.waited = current, 0
        elif not cooling:
            self.waited += 1
            if self.waited >= self.patience:
                self.waited = 0
                if self.value > self.min_lr:
                    self.value = max(self.value * self.factor, self.min_lr)
                    self.cooldown_left = self.cooldown

    def _improves(self, current: float) -> bool:
        if math.isnan(current):
            return False
        if self.best is None:
            return True
        if self.lower_is_better:
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def state_dict(self) -> dict[str, Any]:
        """The schedule's position as plain JSON data."""
        return {key: getattr(self, key) for key in _STATE_KEYS}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from what :meth:`state_dict` returned."""
        if not isinstance(state, Mapping) or set(state) != set(_STATE_KEYS):
            raise corenn.InvalidInput(f"{self.name}: load_state_dict expects the mapping state_dict() returns, "
                                      f"with keys {', '.join(_STATE_KEYS)}; got {state!r}")
        self.value, self.best = float(state["value"]), None if state["best"] is None else float(state["best"])
        self.waited, self.cooldown_left = int(state["waited"]), int(state["cooldown_left"])


@corenn.hookimpl
def corenn_schedules():
    return [ReduceOnPlateau]
