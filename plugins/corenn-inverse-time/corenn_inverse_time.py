"""The 1/t decay schedule for corenn."""

import corenn
from corenn.optim import Schedule
from corenn.validators import non_negative, number


@corenn.component
class InverseTime(Schedule):
    """1/t decay: initial / (1 + k*t).

    ``inverse_time(initial, k)``; the tutorial's ("Decay Learning Rate") a = a0 / (1 + k t).
    """

    name = "inverse_time"
    conformance_kwargs = {"initial": 0.1, "k": 0.5}

    initial: float = corenn.hyperparameter(doc="the value at t = 0", check=number)
    k: float = corenn.hyperparameter(doc="decay rate (>= 0)", check=non_negative)

    def at(self, t: int) -> float:
        return self.initial / (1.0 + self.k * t)


@corenn.hookimpl
def corenn_schedules():
    return [InverseTime]
