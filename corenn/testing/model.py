"""Whole-model gradient check: every parameter of a float64 model against central differences."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import InvalidInput
from ..model import Sequential, compute_loss
from ._gradients import check_gradient


def check_model_gradients(model: Sequential, X: Any, y: Any, loss: Any, regularizer: Any = None,
                          tol: float = 1e-5, *, regularized_layers: Iterable[int] | None = None,
                          eps: float = 1e-6, seed: int = 0) -> dict[str, float]:
    """Check the gradient of ``data_loss + regularization_loss`` (as :func:`corenn.model.compute_loss`
    computes them, in training mode) for every parameter of ``model``.

    The model must be float64 (``corenn.mlp(..., dtype="float64")``). Stochastic
    elements (those with an ``rng``) are reseeded before each forward, so dropout
    keeps the same masks; batchnorm's running buffers are restored before each
    forward, so they do not drift while probing, and after the check. Returns the
    relative error per parameter (named as in ``model.named_parameters()``);
    raises :class:`corenn.testing.GradientCheckError` above ``tol``.

    Entries whose true gradient is 0 (a dense bias followed by batchnorm, which
    subtracts it again) are measured against the rounding noise of the central
    differences, about ``machine_eps * |loss| / eps``, instead of a fixed 1e-8:
    the relative error's floor is ``10 * machine_eps * max(|loss|, 1) / eps / tol``
    (about 2e-4 by default), so below it the check is an absolute one, at about
    ``tol`` times that floor.
    """
    if model.dtype != np.float64:
        raise InvalidInput(f"check_model_gradients: the model is {model.dtype}; central differences need a float64 "
                           "model (build it with dtype='float64')")
    X = np.asarray(X, dtype=np.float64)
    layers = None if regularized_layers is None else list(regularized_layers)
    snapshot = {k: np.array(v, copy=True) for k, v in model.buffers().items()}
    buffers = model.buffers()

    def prepare() -> None:
        for key, value in snapshot.items():
            buffers[key][...] = value
        for i, el in enumerate(model.layers):
            if hasattr(el, "rng"):
                el.rng = np.random.default_rng([seed, i])

    def total() -> float:
        prepare()
        data, reg = compute_loss(model, loss, X, y, regularizer=regularizer, regularized_layers=layers,
                                 backward=False)
        return data + reg

    try:
        floor = 10 * np.finfo(np.float64).eps * max(abs(total()), 1.0) / eps / tol
        prepare()
        compute_loss(model, loss, X, y, regularizer=regularizer, regularized_layers=layers)
        analytic = [np.array(g, copy=True) for g in model.gradients()]
        errors = {}
        for (name, p), g in zip(model.named_parameters(), analytic):
            errors[name] = check_gradient(total, p, g, eps=eps, tol=tol, where=f"d loss / d {name}", floor=floor)
        return errors
    finally:
        prepare()
