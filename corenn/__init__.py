"""corenn: a small, fast, pure-numpy neural network framework in which every
training technique is a plugin.

The core knows no technique: it holds the protocols, the registry (over
pluggy hooks and ``corenn`` entry points), the model and trainer machinery, the
CLI skeleton and the conformance kit (:mod:`corenn.testing`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from . import _before_numpy  # noqa: F401  (first: it sets what OpenBLAS reads when numpy loads)
from . import validators
from .arrays import as_float_array, as_generator, as_labels, as_layer_input, fans, from_forward, resolve_dtype
from .component import Module, component, hyperparameter_values, hyperparameters, is_schedule, value_at
from .data import Data
from .errors import CorennError, InvalidFile, InvalidHyperparameter, InvalidInput, PluginError, UnknownComponent
from .fields import hyperparameter
from .hookspecs import hookimpl
from .registry import KINDS, Description, available, create, describe, get, plugins, register_plugin, reload
from .spec import InvalidSpec, parse_spec

__version__ = "0.1.0"

# Heavier parts load on first use, so that importing corenn (as every plugin does) stays cheap.
_LAZY = {
    "Sequential": "corenn.model",
    "mlp": "corenn.model",
    "load_model": "corenn.model",
    "compute_loss": "corenn.model",
    "apply_constraints": "corenn.model",
    "evaluate": "corenn.model",
    "TrainingDiverged": "corenn.trainer",
    "Trainer": "corenn.trainer",
    "History": "corenn.trainer",
    "Callback": "corenn.trainer",
    "Ensemble": "corenn.ensemble",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'corenn' has no attribute {name!r}")


__all__ = [
    "KINDS", "available", "get", "create", "describe", "Description", "plugins", "register_plugin", "reload",
    "component", "hyperparameter", "hyperparameters", "hyperparameter_values", "Module", "validators",
    "value_at", "is_schedule", "hookimpl", "parse_spec", "Data",
    "as_float_array", "as_layer_input", "as_labels", "as_generator", "resolve_dtype", "fans", "from_forward",
    "CorennError", "UnknownComponent", "InvalidHyperparameter", "PluginError", "InvalidInput", "InvalidFile",
    "InvalidSpec", *_LAZY,
]
