"""corenn's conformance kit, in the spirit of scikit-learn's ``check_estimator``.

    from corenn.testing import check_component
    check_component(MyActivation)        # raises ConformanceError with a report

Any plugin, ours or a third party's, runs the checks for its kind in one line.
Components whose hyperparameters have no defaults declare a class attribute
``conformance_kwargs = {...}`` with values to test them with.
"""

from __future__ import annotations

from . import _registration  # noqa: F401  (registers the checks every kind gets)
from ._gradients import GradientCheckError, check_gradient, check_module_gradients, numeric_gradient, relative_error
from ._kit import ConformanceError, Subject, check_component, checks_for, register_check

__all__ = [
    "check_component", "ConformanceError", "Subject", "register_check", "checks_for",
    "numeric_gradient", "relative_error", "check_gradient", "check_module_gradients", "GradientCheckError",
]

# Checks that later parts of the kit provide, loaded on first use.
_LAZY = {"check_model_gradients": "corenn.testing.model"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'corenn.testing' has no attribute {name!r}")
