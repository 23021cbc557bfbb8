"""Dead units: how many of each activation layer's units have stopped firing.

The tutorial on ReLU: "x<0일 때 기울기가 0이기 때문에 ... 뉴런이 죽어버릴 수 있으며, 더이상 값이
업데이트 되지 않게 된다" (the gradient is 0 for x < 0, so a unit can die and never be
updated again). A unit is dead on a batch when its output is 0 for every sample: no
gradient reaches its weights through it. Every ``every`` steps the ``dead_units``
callback runs a held-out batch (the first ``samples`` validation samples) through the
model in inference mode and records, for each activation element ``i.name``, the
fraction of its units that are dead, in ``history.series["dead_units"]``::

    trainer = corenn.Trainer(model, callbacks=["dead_units:every=20"])
    trainer.fit(X, y, validation=(Xv, yv))
    trainer.history.series["dead_units"]   # [{"step": 0, "1.relu": 0.0, "3.relu": 0.02}, ...]

``corenn plot`` draws the series, and the doctor names a layer whose units died.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

import corenn
from corenn import validators as v
from corenn.component import component_name
from corenn.registry import kind_of

SERIES = "dead_units"


def dead_fractions(model: Any, X: np.ndarray) -> dict[str, float]:
    """For each activation element of ``model`` (named ``"<index>.<name>"``), the fraction of its units whose
    output is exactly 0 for every row of ``X`` (inference mode: dropout off, batchnorm's running statistics)."""
    out = {}
    x = np.asarray(X, dtype=model.dtype)
    for i, el in enumerate(model.layers):
        if kind_of(el) == "activation":
            x = el.forward(x)
            out[f"{i}.{component_name(el)}"] = float(np.mean(~np.any(x != 0, axis=0)))
        else:
            x = el.forward(x, training=False)
    return out


@corenn.component
class DeadUnits:
    """Dead units: the fraction of each activation layer's units that output 0 for a whole held-out batch.

    Measured every ``every`` steps and at the end, on the first ``samples`` validation
    samples, and kept in ``history.series["dead_units"]``.

    A ReLU unit whose input is negative for every sample passes no gradient and stops
    learning (tutorial, "ReLU"); a large dead fraction points at too high a learning rate,
    a poor initialization (he for relu), or a case for leaky_relu. Records nothing in a
    run without validation data.
    """

    name: ClassVar[str] = "dead_units"
    enabled_by_default: ClassVar[bool] = True

    every: int = corenn.hyperparameter(50, doc="steps between measurements (also the first step, 0)",
                                       check=v.integer(1, None))
    samples: int = corenn.hyperparameter(512, doc="held-out samples a unit must be silent on to count as dead",
                                         check=v.integer(1, None))

    def __attrs_post_init__(self) -> None:
        self.batch: np.ndarray | None = None

    def on_train_begin(self, trainer) -> None:
        data = getattr(trainer, "validation_data", None)
        self.batch = None if data is None else data[0][:self.samples]
        if self.batch is not None:
            trainer.history.series.setdefault(SERIES, [])

    def on_batch_end(self, trainer, step, logs) -> None:
        if self.batch is not None and step % self.every == 0:
            self._record(trainer, step)

    def on_train_end(self, trainer, history) -> None:
        rows = history.series.get(SERIES)
        if self.batch is not None and trainer.step and (not rows or rows[-1]["step"] != trainer.step - 1):
            self._record(trainer, trainer.step - 1)  # the weights the run ends with

    def _record(self, trainer, step: int) -> None:
        trainer.history.series[SERIES].append({"step": step, **dead_fractions(trainer.model, self.batch)})

    def report(self) -> str:
        return ""


@corenn.hookimpl
def corenn_callbacks():
    return [DeadUnits]
