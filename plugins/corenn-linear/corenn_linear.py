"""The linear ramp schedule for corenn."""

import corenn
from corenn.optim import Schedule
from corenn.validators import integer, number


@corenn.component
class Linear(Schedule):
    """Linear ramp: from start to end over `steps`, then held at end.

    ``linear(start, end, steps)``: ``start + (end - start) * min(t, steps) / steps``.
    The tutorial's ("Momentum", after the CS231n notes) momentum ramp is ``linear(start=0.5, end=0.99, steps=...)``.
    """

    name = "linear"
    conformance_kwargs = {"start": 0.5, "end": 0.99, "steps": 10}

    start: float = corenn.hyperparameter(doc="the value at t = 0", check=number)
    end: float = corenn.hyperparameter(doc="the value from t = steps on", check=number)
    steps: int = corenn.hyperparameter(doc="length of the ramp in steps (or epochs), >= 1", check=integer(1))

    def at(self, t: int) -> float:
        if t >= self.steps:
            return self.end
        return self.start + (self.end - self.start) * t / self.steps


@corenn.hookimpl
def corenn_schedules():
    return [Linear]
