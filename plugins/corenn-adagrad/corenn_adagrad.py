"""AdaGrad for corenn."""

import numpy as np

import corenn
from corenn.optim import Optimizer, adaptive_step, epsilon, learning_rate


@corenn.component
class AdaGrad(Optimizer):
    """AdaGrad: per-coordinate rates that shrink with the summed squared gradients.

    Duchi, Hazan and Singer (2011), as in the tutorial ("AdaGrad"): ``adagrad(lr=0.01, eps=1e-8)``::

        c += dx**2
        x -= lr * dx / (sqrt(c) + eps)

    State: the sum of squares c (zeros at the start), one per parameter, its
    shape and dtype. Coordinates with large or frequent gradients slow down,
    rare ones keep a large step; c only grows, so every rate decays.
    """

    name = "adagrad"
    slot_names = ("c",)
    scratch_count = 1

    lr: float = learning_rate(0.01)
    eps: float = epsilon(1e-8, doc="added to sqrt(c) to avoid dividing by zero")

    def update(self, x, dx, slots, scratch, hp):
        (c,), (s,) = slots, scratch
        np.multiply(dx, dx, out=s)
        c += s
        adaptive_step(x, dx, c, s, hp.lr, hp.eps)


@corenn.hookimpl
def corenn_optimizers():
    return [AdaGrad]
