"""Momentum (the heavy ball) for corenn."""

import numpy as np

import corenn
from corenn.optim import Optimizer, decay_rate, learning_rate


@corenn.component
class Momentum(Optimizer):
    """SGD with momentum: v = mu * v - lr * dx; x += v.

    The tutorial's momentum update ("Momentum"): ``momentum(lr=0.01, mu=0.9)``. The gradient sets the
    velocity v (zeros at the start; one per parameter, its shape and dtype),
    the velocity moves x: a ball rolling downhill, with mu as (1 - friction).
    The tutorial ramps mu from 0.5 to 0.99: ``mu="linear:start=0.5,end=0.99,steps=1000"``.
    """

    name = "momentum"
    slot_names = ("v",)
    scratch_count = 1
    blockwise = True

    lr: float = learning_rate(0.01)
    mu: float = decay_rate(0.9, doc="momentum in [0, 1): the part of the velocity kept each step")

    def update(self, x, dx, slots, scratch, hp):
        (v,), (s,) = slots, scratch
        v *= hp.mu
        np.multiply(dx, hp.lr, out=s)
        v -= s
        x += v

    def update_packed(self, params, grads, packed, hp):
        # update()'s operations in the same order, each on a whole block of velocities at once
        for block in packed.blocks(params, grads):
            v, s = block.slots["v"], block.scratch[0]
            v *= hp.mu
            np.multiply(block.gradient(s), hp.lr, out=s)
            v -= s
            if block.flat_params is not None:
                block.flat_params += v
            else:
                for x, part in zip(block.params, block.slot_views["v"]):
                    x += part


@corenn.hookimpl
def corenn_optimizers():
    return [Momentum]
