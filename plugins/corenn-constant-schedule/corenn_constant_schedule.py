"""The constant schedule for corenn."""

import corenn
from corenn.optim import Schedule
from corenn.validators import number


@corenn.component
class Constant(Schedule):
    """Constant: the same value at every t.

    ``constant(value)``. Useful where a schedule is expected
    (a config that always names one) but nothing should change.
    """

    name = "constant"
    conformance_kwargs = {"value": 0.1}

    value: float = corenn.hyperparameter(doc="the value returned at every t", check=number)

    def at(self, t: int) -> float:
        return self.value


@corenn.hookimpl
def corenn_schedules():
    return [Constant]
