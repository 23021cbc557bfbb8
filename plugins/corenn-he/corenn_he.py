"""He (Kaiming) initializer for corenn."""

from typing import ClassVar

import corenn
from corenn_xavier import VarianceScaling


@corenn.component
class He(VarianceScaling):
    """He/Kaiming: zero mean, variance 2 / fan_in, i.e. the tutorial's randn(fan_in, fan_out) / sqrt(fan_in / 2).

    He et al. 2015. A ReLU zeroes half its inputs, halving the variance; the factor 2
    restores it, so deep ReLU networks keep their activation scale (xavier's 1 / fan_in
    makes them shrink towards 0). The tutorial's recommendation for ReLU networks.
    ``mode="fan_out"`` gives 2 / fan_out, ``"fan_avg"`` 4 / (fan_in + fan_out);
    ``distribution="uniform"`` draws U(-sqrt(3 var), sqrt(3 var)). Shape: as xavier.
    """

    name = "he"
    scale: ClassVar[float] = 2.0


@corenn.hookimpl
def corenn_initializers():
    return [He]
