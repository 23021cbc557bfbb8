"""AdamW for corenn."""

import corenn
from corenn.validators import non_negative
from corenn_adam import Adam


@corenn.component
class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    ``adamw(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)``.
    The decay shrinks x directly instead of entering the gradient, where Adam's
    per-coordinate scaling would weaken it for coordinates with large
    gradients. As PyTorch's AdamW, with t = steps + 1::

        x *= 1 - lr * weight_decay                  # decoupled decay
        m = beta1 * m + (1 - beta1) * dx            # then exactly Adam's step
        v = beta2 * v + (1 - beta2) * dx**2
        x -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    State: m and v (zeros at the start), one each per parameter, its shape and dtype.
    """

    name = "adamw"

    weight_decay: float = corenn.hyperparameter(0.01, doc="decoupled decay: x shrinks by lr*weight_decay*x each step",
                                                check=non_negative, schedulable=True)

    def update(self, x, dx, slots, scratch, hp):
        if hp.weight_decay:
            x *= 1.0 - hp.lr * hp.weight_decay
        super().update(x, dx, slots, scratch, hp)


@corenn.hookimpl
def corenn_optimizers():
    return [AdamW]
