"""Stochastic gradient descent for corenn."""

import numpy as np

import corenn
from corenn.optim import Optimizer, learning_rate


@corenn.component
class SGD(Optimizer):
    """Vanilla (stochastic) gradient descent: x -= lr * dx.

    The tutorial's vanilla update ("Parameter Optimization"): ``sgd(lr=0.01)``. Each parameter array x (any shape)
    moves against its gradient dx (same shape and dtype); no state is kept.
    """

    name = "sgd"
    scratch_count = 1

    lr: float = learning_rate(0.01)

    def update(self, x, dx, slots, scratch, hp):
        (s,) = scratch
        np.multiply(dx, hp.lr, out=s)
        x -= s


@corenn.hookimpl
def corenn_optimizers():
    return [SGD]
