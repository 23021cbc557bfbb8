"""The protocols of the nine component kinds (contract section 4).

They are ``typing.Protocol`` classes, checkable at run time with
``isinstance(obj, corenn.protocols.Activation)``. Shapes: a batch is
``(N, features)``; weight matrices are ``(fan_in, fan_out)``. float32 and
float64 both work and outputs keep the input's dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Activation(Protocol):
    """``y = f(x)`` elementwise (or groupwise, for maxout); may have learnable params."""

    name: str
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def forward(self, x: np.ndarray) -> np.ndarray: ...
    def backward(self, dy: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Initializer(Protocol):
    """Draws a new array of a shape; weight shapes are ``(fan_in, fan_out)``."""

    name: str

    def __call__(self, shape: Sequence[int], rng: np.random.Generator | None = None,
                 dtype: Any = np.float32) -> np.ndarray: ...


@runtime_checkable
class Regularizer(Protocol):
    """A penalty on weights, its gradient, and an in-place projection after updates."""

    name: str

    def penalty(self, w: np.ndarray) -> float: ...
    def gradient(self, w: np.ndarray) -> np.ndarray: ...
    def constrain(self, w: np.ndarray) -> None: ...


@runtime_checkable
class Optimizer(Protocol):
    """Updates parameter arrays in place from their gradients."""

    name: str

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             closure: Callable[[], tuple[float, Sequence[np.ndarray]]] | None = None) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


@runtime_checkable
class Schedule(Protocol):
    """A value as a function of the step or epoch t = 0, 1, 2, ..."""

    name: str

    def __call__(self, t: int) -> float: ...


@runtime_checkable
class Layer(Protocol):
    """A differentiable map of a batch, with learnable ``params`` and their ``grads``.

    Optional fast path: a layer whose ``backward`` accepts ``input_grad=False`` may
    skip computing dx (and return None); ``Sequential`` asks that of its first layer
    during training, whose input gradient nobody uses.
    """

    name: str
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray: ...
    def backward(self, dy: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Loss(Protocol):
    """Mean loss over a batch of scores ``(N, C)`` and integer labels ``(N,)``.

    Optional fast path: ``forward_trusted(scores, y)``, the same value without the
    input checks, which the trainer calls on batches of data it validated once
    per ``fit``.
    """

    name: str

    def forward(self, scores: np.ndarray, y: np.ndarray) -> float: ...
    def backward(self) -> np.ndarray: ...


@runtime_checkable
class Preprocessor(Protocol):
    """Statistics fitted on training data, applied to any data."""

    name: str

    def fit(self, X: np.ndarray) -> Preprocessor: ...
    def transform(self, X: np.ndarray) -> np.ndarray: ...
    def fit_transform(self, X: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Dataset(Protocol):
    """Loads train, validation and test splits."""

    name: str

    def load(self, seed: int = 0, **kw: Any) -> Any: ...


PROTOCOL_OF_KIND = {
    "activation": Activation, "initializer": Initializer, "regularizer": Regularizer,
    "optimizer": Optimizer, "schedule": Schedule, "layer": Layer, "loss": Loss,
    "preprocessor": Preprocessor, "dataset": Dataset,
}


@runtime_checkable
class StatefulCallback(Protocol):
    """A training callback with state that a checkpoint must keep (optional for callbacks).

    ``state_dict()`` returns nested dicts/lists of arrays and JSON scalars (as an
    optimizer's does); the trainer stores it in every checkpoint under the
    callback's ``name`` and, on resume, hands it back to ``load_state_dict`` right
    after ``on_train_begin`` (which may therefore reset the state freely).
    """

    name: str

    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...
