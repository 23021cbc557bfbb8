"""The exponential decay schedule for corenn."""

import math

import corenn
from corenn.optim import Schedule
from corenn.validators import non_negative, number


@corenn.component
class Exponential(Schedule):
    """Exponential decay: initial * exp(-k*t).

    ``exponential(initial, k)``; the tutorial's ("Decay Learning Rate") a = a0 e^(-k t).
    """

    name = "exponential"
    conformance_kwargs = {"initial": 0.1, "k": 0.5}

    initial: float = corenn.hyperparameter(doc="the value at t = 0", check=number)
    k: float = corenn.hyperparameter(doc="decay rate (>= 0)", check=non_negative)

    def at(self, t: int) -> float:
        return self.initial * math.exp(-self.k * t)


@corenn.hookimpl
def corenn_schedules():
    return [Exponential]
