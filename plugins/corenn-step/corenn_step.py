"""The step-decay schedule for corenn."""

import corenn
from corenn.optim import Schedule
from corenn.validators import integer, number, positive


@corenn.component
class StepDecay(Schedule):
    """Step decay: initial * factor**(t // every).

    ``step(initial, factor=0.5, every=5)``; the tutorial's ("Decay Learning Rate")
    "halve it every 5 epochs" (or ``factor=0.1, every=20``).
    """

    name = "step"
    conformance_kwargs = {"initial": 0.1}

    initial: float = corenn.hyperparameter(doc="the value for t < every", check=number)
    factor: float = corenn.hyperparameter(0.5, doc="multiplier applied every `every` steps (> 0)", check=positive)
    every: int = corenn.hyperparameter(5, doc="steps (or epochs) between two multiplications (>= 1)",
                                       check=integer(1))

    def at(self, t: int) -> float:
        return self.initial * self.factor ** (t // self.every)


@corenn.hookimpl
def corenn_schedules():
    return [StepDecay]
