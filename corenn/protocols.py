"""The protocols of the nine component kinds, and the optional capabilities a component may declare.

They are ``typing.Protocol`` classes, checkable at run time with
``isinstance(obj, corenn.protocols.Activation)``. Shapes: a batch is
``(N, features)``; weight matrices are ``(fan_in, fan_out)``. float32 and
float64 both work and outputs keep the input's dtype.

Optional capabilities (``TakesInputWidth``, ``Stochastic``, ``Regularized``, ...,
and for callbacks ``StatefulCallback`` and ``Reports``) are small protocols of their
own, below the kinds; docs/plugin-guide.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

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
    """Updates parameter arrays in place from their gradients.

    ``lr`` is the learning rate: a number or a schedule (read in the schedule's
    unit, with the ``steps_per_epoch`` the trainer sets on the optimizer).
    """

    name: str
    lr: Any

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
class ObservesMetrics(Protocol):
    """A schedule whose value follows the run's per-epoch metrics (reduce on plateau).

    The trainer calls ``observe(epoch, logs)`` at the end of every epoch with the
    epoch's logs (``loss``, ``train_acc``, ``val_loss``, ``val_acc``, ...), and keeps
    ``state_dict()`` (plain JSON data) in its checkpoints so that a resumed run
    continues exactly; ``__call__(t)`` gives the value as of the last observation.
    """

    def observe(self, epoch: int, logs: Mapping[str, Any]) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


# -- optional capabilities -------------------------------------------------------
# A component declares one of these by having its members; the core and the
# conformance kit test for them with ``isinstance`` (class-level declarations
# also work on the class itself: ``isinstance(Dense, TakesInputWidth)``).


@runtime_checkable
class TakesInputWidth(Protocol):
    """A layer built for one input width: the hyperparameter named ``input_width_field``
    receives it (dense: ``"in_features"``, batchnorm: ``"num_features"``).

    ``Sequential.from_specs`` and ``mlp`` fill it in from the width of the element
    before, so in a layer list such a layer is written without it.
    """

    input_width_field: ClassVar[str]


@runtime_checkable
class SetsOutputWidth(Protocol):
    """A layer whose output width is a hyperparameter, named by ``output_width_field``
    (dense: ``"out_features"``); ``mlp`` sets it to each hidden width."""

    output_width_field: ClassVar[str]


@runtime_checkable
class MapsWidth(Protocol):
    """An element that says its output width for an input width without running:
    dense gives ``out_features``, maxout ``D / k``, dropout and batchnorm ``D``.
    An element without it is measured by a forward pass of a tiny batch."""

    def output_width(self, input_width: int) -> int: ...


@runtime_checkable
class InvertsWidth(Protocol):
    """An element that gives the input width it needs for an output width
    (maxout: ``k * D``), so that ``mlp`` widens the layer before it."""

    def input_width_for(self, output_width: int) -> int: ...


@runtime_checkable
class DropsUnits(Protocol):
    """A layer that drops units at training; ``keep_prob_field`` names its keep
    probability hyperparameter (dropout: ``"keep_prob"``), which ``mlp`` sets."""

    keep_prob_field: ClassVar[str]


@runtime_checkable
class Stochastic(Protocol):
    """An element that draws random numbers from its attribute ``rng`` (a
    ``numpy.random.Generator``); ``Sequential.reseed`` and the trainer replace it
    with a generator derived from their seed, and checkpoints save its state."""

    rng: np.random.Generator


@runtime_checkable
class Regularized(Protocol):
    """A layer whose params named in ``regularized`` get the regularizers' penalty and
    constraints (dense: ``("W",)``, the weights, not the bias)."""

    regularized: ClassVar[tuple[str, ...]]


@runtime_checkable
class ChecksInput(Protocol):
    """A layer that validates its input while ``check_input`` is True; ``Sequential``
    sets it to False because the model checks its input once."""

    check_input: bool


@runtime_checkable
class SkipsInputGradient(Protocol):
    """A layer whose ``backward(dy, input_grad=False)`` fills ``grads`` but skips dx
    (returns None); ``Sequential`` asks that of its first layer during training,
    whose input gradient nobody uses. Declared by ``skips_input_gradient = True``."""

    skips_input_gradient: ClassVar[bool]

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None: ...


@runtime_checkable
class TrustedLoss(Protocol):
    """A loss with ``forward_trusted(scores, y)``: the value of ``forward`` without the
    input checks, which the trainer calls on batches of data it checked once."""

    def forward_trusted(self, scores: np.ndarray, y: np.ndarray) -> float: ...


@runtime_checkable
class NeedsClosure(Protocol):
    """An optimizer that needs ``closure`` in ``step`` (lbfgs); it is given the
    full batch. Declared by ``needs_closure = True``."""

    needs_closure: ClassVar[bool]


@runtime_checkable
class HasBuffers(Protocol):
    """A layer with state that is saved with the model but not learned, in ``buffers``
    (batchnorm: ``running_mean``, ``running_var``): arrays in the params' dtype, changed
    only by a training forward. ``Sequential.buffers()`` and model files include them."""

    buffers: dict[str, np.ndarray]


@runtime_checkable
class CurrentValues(Protocol):
    """An optimizer that says what a hyperparameter is at its current step:
    ``current(field)`` (a schedule evaluated at the step counter, in the schedule's
    unit). :class:`corenn.optim.Optimizer` provides it; the trainer logs ``current("lr")``,
    and for an optimizer without it evaluates ``lr`` at its own step count."""

    def current(self, field: str) -> Any: ...


CAPABILITIES = (TakesInputWidth, SetsOutputWidth, MapsWidth, InvertsWidth, DropsUnits, Stochastic, Regularized,
                ChecksInput, SkipsInputGradient, TrustedLoss, NeedsClosure, HasBuffers, CurrentValues)


def declared_input_width(element: Any) -> int | None:
    """The input width an element (instance) was built for, where it declares one."""
    if isinstance(element, TakesInputWidth) and not isinstance(element, type):
        value = getattr(element, element.input_width_field, None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    return None


@runtime_checkable
class StatefulCallback(Protocol):
    """A training callback with state that a checkpoint must keep (optional for callbacks).

    ``state_dict()`` returns nested dicts/lists of arrays and JSON scalars (as an
    optimizer's does); the trainer stores it in every checkpoint under the
    callback's ``name`` (its class's name where it has none; ``name#2`` for a second
    one) and, on resume, hands it back to ``load_state_dict`` right after
    ``on_train_begin`` (which may therefore reset the state freely).
    """

    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


@runtime_checkable
class Reports(Protocol):
    """A training callback with something to say when the run ends: ``report()`` returns
    a text (or None for nothing); ``corenn train`` prints it after the result line and
    puts it in ``--json``'s ``reports``."""

    def report(self) -> str | None: ...
