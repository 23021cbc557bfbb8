"""Numeric gradient checks (central differences, float64)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class GradientCheckError(AssertionError):
    """The analytic gradient disagrees with the numeric one."""


def numeric_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, ``(f(x+eps) - f(x-eps)) / (2 eps)`` per element.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place and
    restored; shape of the result = shape of ``x``.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-8) -> float:
    """Largest elementwise ``|a - n| / max(|a|, |n|, floor)`` (CS231n's relative error)."""
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if a.shape != n.shape:
        raise GradientCheckError(f"gradient has shape {a.shape}, expected {n.shape}")
    if a.size == 0:
        return 0.0
    scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    return float(np.max(np.abs(a - n) / scale))


def check_gradient(f: Callable[[], float], x: np.ndarray, analytic: np.ndarray, *, eps: float = 1e-6,
                   tol: float = 1e-5, where: str = "gradient", floor: float = 1e-8) -> float:
    """Compare ``analytic`` with the numeric gradient of ``f`` at ``x``; returns the
    relative error (see :func:`relative_error` for ``floor``), raises
    :class:`GradientCheckError` above ``tol``."""
    numeric = numeric_gradient(f, x, eps)
    err = relative_error(analytic, numeric, floor)
    if not err <= tol:
        worst = np.unravel_index(np.argmax(np.abs(np.asarray(analytic, np.float64) - numeric)), numeric.shape)
        raise GradientCheckError(
            f"{where}: relative error {err:.2e} > {tol:.0e}; at index {tuple(int(i) for i in worst)} "
            f"analytic {np.asarray(analytic).flat[np.ravel_multi_index(worst, numeric.shape)]:.6g} "
            f"vs numeric {numeric[worst]:.6g}")
    return err


def _reseed(module, seed: int) -> None:
    """Give a stochastic module the same random draws on every call (fixed dropout masks)."""
    if hasattr(module, "rng"):
        module.rng = np.random.default_rng(seed)


def check_module_gradients(module, x: np.ndarray, *, training: bool | None = True, tol: float = 1e-5,
                           eps: float = 1e-6, seed: int = 0) -> dict[str, float]:
    """Gradient check of an activation or layer, in float64, for its input and every param.

    The scalar checked is ``sum(forward(x) * G)`` for a fixed random ``G``, so
    ``backward(G)`` must equal its gradient with respect to ``x`` and each
    ``params[k]`` must have the gradient ``grads[k]``. A module with an ``rng``
    attribute is reseeded before each forward (fixed dropout masks). ``training=None``
    calls ``forward(x)`` without the flag (activations). Returns the relative
    error per checked array (``"input"`` and each param name).
    """
    x = np.array(x, dtype=np.float64)

    def forward():
        _reseed(module, seed)
        return module.forward(x) if training is None else module.forward(x, training=training)

    y = forward()
    G = np.random.default_rng(seed + 1).standard_normal(y.shape)
    snapshot = {k: np.array(v, copy=True) for k, v in getattr(module, "buffers", {}).items()}

    def scalar():
        for k, v in snapshot.items():  # running statistics must not drift while probing
            module.buffers[k][...] = v
        return float(np.sum(forward() * G))

    scalar()
    dx = np.array(module.backward(G), copy=True)
    analytic = {k: np.array(g, copy=True) for k, g in module.grads.items()}
    name = getattr(module, "name", type(module).__name__)
    errors = {"input": check_gradient(scalar, x, dx, eps=eps, tol=tol, where=f"{name}: d/d input")}
    for k, p in module.params.items():
        if k not in analytic:
            raise GradientCheckError(f"{name}: params has {k!r} but grads does not")
        errors[k] = check_gradient(scalar, p, analytic[k], eps=eps, tol=tol, where=f"{name}: d/d params[{k!r}]")
    return errors
