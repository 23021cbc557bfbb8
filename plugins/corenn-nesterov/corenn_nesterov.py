"""Nesterov momentum for corenn."""

import numpy as np

import corenn
from corenn.optim import Optimizer, decay_rate, learning_rate


@corenn.component
class Nesterov(Optimizer):
    """Nesterov momentum: the gradient taken at the look-ahead point x + mu * v.

    Nesterov (1983), Sutskever et al. (2013): ``nesterov(lr=0.01, mu=0.9)``, in the form that needs
    only the gradient at x (tutorial, "Nesterov Momentum")::

        v_prev = v
        v = mu * v - lr * dx
        x += -mu * v_prev + (1 + mu) * v

    State: the velocity v (zeros at the start), one per parameter, its shape and dtype.
    """

    name = "nesterov"
    slot_names = ("v",)
    scratch_count = 2

    lr: float = learning_rate(0.01)
    mu: float = decay_rate(0.9, doc="momentum in [0, 1): the part of the velocity kept each step")

    def update(self, x, dx, slots, scratch, hp):
        (v,), (step, s) = slots, scratch
        mu = hp.mu
        np.multiply(v, -mu, out=step)      # -mu * v_prev
        v *= mu
        np.multiply(dx, hp.lr, out=s)
        v -= s                             # v = mu * v_prev - lr * dx
        np.multiply(v, 1.0 + mu, out=s)
        step += s
        x += step


@corenn.hookimpl
def corenn_optimizers():
    return [Nesterov]
