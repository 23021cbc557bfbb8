"""Adam for corenn."""

import math

import numpy as np

import corenn
from corenn.optim import Optimizer, adaptive_step, decay_rate, epsilon, learning_rate, moving_average


@corenn.component
class Adam(Optimizer):
    """Adam: momentum plus RMSProp's per-coordinate scaling, bias-corrected (the usual default).

    Kingma and Ba (2015), as in the tutorial ("Adam"): ``adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8)``,
    with t counted from 1 (t = steps + 1)::

        m = beta1 * m + (1 - beta1) * dx
        v = beta2 * v + (1 - beta2) * dx**2
        mhat = m / (1 - beta1**t);  vhat = v / (1 - beta2**t)
        x -= lr * mhat / (sqrt(vhat) + eps)

    State: m and v (zeros at the start), one each per parameter, its shape and dtype.
    """

    name = "adam"
    slot_names = ("m", "v")
    scratch_count = 1
    blockwise = True

    lr: float = learning_rate(0.001)
    beta1: float = decay_rate(0.9, doc="decay rate in [0, 1) of the gradient's moving average m")
    beta2: float = decay_rate(0.999, doc="decay rate in [0, 1) of the squared gradient's moving average v")
    eps: float = epsilon(1e-8, doc="added to sqrt(vhat) to avoid dividing by zero")

    def update(self, x, dx, slots, scratch, hp):
        (m, v), (s,) = slots, scratch
        moving_average(m, dx, hp.beta1, s)
        moving_average(v, dx, hp.beta2, s, square=True)
        lr, eps = self._corrected(hp)
        adaptive_step(x, m, v, s, lr, eps)

    def update_packed(self, params, grads, packed, hp):
        # update()'s operations in the same order; those on the state take a whole block at once
        lr, eps = self._corrected(hp)
        for block in packed.blocks(params, grads):
            m, v, s = block.slots["m"], block.slots["v"], block.scratch[0]
            dx = block.gradient(s)
            np.multiply(dx, 1.0 - hp.beta1, out=s)
            m *= hp.beta1
            m += s
            dx = block.gradient(s)
            np.multiply(dx, dx, out=s)
            s *= 1.0 - hp.beta2
            v *= hp.beta2
            v += s
            np.sqrt(v, out=s)
            s += eps
            np.divide(m, s, out=s)
            s *= lr
            if block.flat_params is not None:
                block.flat_params -= s
            else:
                for x, part in zip(block.params, block.scratch_views[0]):
                    x -= part

    def _corrected(self, hp):
        """lr and eps with the bias corrections folded in (see corenn.optim.adaptive_step)."""
        t = self.steps + 1
        c = math.sqrt(1.0 - hp.beta2**t)
        return hp.lr * c / (1.0 - hp.beta1**t), hp.eps * c


@corenn.hookimpl
def corenn_optimizers():
    return [Adam]
