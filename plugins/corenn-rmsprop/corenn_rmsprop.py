"""RMSProp for corenn."""

import corenn
from corenn.optim import Optimizer, adaptive_step, decay_rate, epsilon, learning_rate, moving_average


@corenn.component
class RMSProp(Optimizer):
    """RMSProp: AdaGrad with a moving average of squared gradients, so rates do not die out.

    Tieleman and Hinton (2012, lecture 6e), as in the tutorial ("RMSProp"): ``rmsprop(lr=0.001, decay=0.99,
    eps=1e-8)``::

        c = decay * c + (1 - decay) * dx**2
        x -= lr * dx / (sqrt(c) + eps)

    State: the moving average c (zeros at the start), one per parameter, its shape and dtype.
    """

    name = "rmsprop"
    slot_names = ("c",)
    scratch_count = 1

    lr: float = learning_rate(0.001)
    decay: float = decay_rate(0.99, doc="decay rate in [0, 1) of the moving average of dx**2")
    eps: float = epsilon(1e-8, doc="added to sqrt(c) to avoid dividing by zero")

    def update(self, x, dx, slots, scratch, hp):
        (c,), (s,) = slots, scratch
        moving_average(c, dx, hp.decay, s, square=True)
        adaptive_step(x, dx, c, s, hp.lr, hp.eps)


@corenn.hookimpl
def corenn_optimizers():
    return [RMSProp]
