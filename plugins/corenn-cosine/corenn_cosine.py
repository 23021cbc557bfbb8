"""The cosine annealing schedule (with linear warmup) for corenn."""

import math

import corenn
from corenn.optim import Schedule
from corenn.validators import integer, number


def _warmup_below_steps(instance, attribute, value):
    integer(0)(instance, attribute, value)
    if isinstance(instance.steps, int) and value >= instance.steps:
        raise corenn.InvalidHyperparameter("cosine", "warmup", value, f"must be smaller than steps={instance.steps}")


def _steps_above_warmup(instance, attribute, value):
    integer(1)(instance, attribute, value)
    if isinstance(instance.warmup, int) and value <= instance.warmup:
        raise corenn.InvalidHyperparameter("cosine", "steps", value, f"must be larger than warmup={instance.warmup}")


@corenn.component
class Cosine(Schedule):
    """Cosine annealing from initial to final over `steps`, after an optional linear warmup.

    Loshchilov and Hutter's SGDR (2017) without restarts, after Goyal et al.'s (2017) linear
    warmup: ``cosine(initial, steps, final=0.0, warmup=0)``::

        initial * t / warmup                                                   t < warmup
        final + (initial - final) * (1 + cos(pi * (t - warmup) / (steps - warmup))) / 2
                                                                               warmup <= t <= steps
        final                                                                  t > steps

    ``warmup < steps`` is checked at construction.
    """

    name = "cosine"
    conformance_kwargs = {"initial": 0.1, "steps": 20, "warmup": 5}

    initial: float = corenn.hyperparameter(doc="the peak value, reached at t = warmup", check=number)
    steps: int = corenn.hyperparameter(doc="t at which the value reaches final (>= 1)", check=_steps_above_warmup)
    final: float = corenn.hyperparameter(0.0, doc="the value from t = steps on", check=number)
    warmup: int = corenn.hyperparameter(0, doc="steps of linear warmup from 0 to initial (0 <= warmup < steps)",
                                        check=_warmup_below_steps)

    def at(self, t: int) -> float:
        if t < self.warmup:
            return self.initial * t / self.warmup
        if t >= self.steps:
            return self.final
        progress = (t - self.warmup) / (self.steps - self.warmup)
        return self.final + (self.initial - self.final) * (1.0 + math.cos(math.pi * progress)) / 2.0


@corenn.hookimpl
def corenn_schedules():
    return [Cosine]
