"""Conformance checks for training callbacks (kind ``callback``).

A callback is a component: an attrs class whose fields are its hyperparameters
(so ``--callback NAME:key=value`` builds it) and whose methods named after the
trainer's events (:data:`corenn.trainer.EVENTS`) take the arguments the trainer
passes to them.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

from ..component import hyperparameter_values
from ..protocols import Reports, StatefulCallback
from ..trainer import EVENTS
from ._kit import Subject, register_check

#: what the trainer passes to each event, after the trainer itself
_ARGUMENTS = {
    "on_train_begin": (),
    "on_epoch_begin": (0,),
    "on_batch_begin": (0,),
    "on_batch_end": (0, {"loss": 1.0, "data_loss": 1.0, "reg_loss": 0.0, "lr": 0.1}),
    "on_epoch_end": (0, {"epoch": 0, "train_acc": 0.5, "val_acc": None, "val_loss": None, "seconds": 0.1}),
    "on_train_end": (SimpleNamespace(),),
}


def _events(cls: type) -> dict[str, object]:
    return {name: getattr(cls, name) for name in dir(cls)
            if name.startswith("on_") and callable(getattr(cls, name))}


@register_check("callback")
def check_events(subject: Subject) -> None:
    """It defines at least one trainer event, names only events that exist, and each
    event method takes the arguments the trainer passes (trainer first)."""
    obj = subject.make()
    events = _events(subject.cls)
    unknown = sorted(set(events) - set(EVENTS))
    assert not unknown, (f"methods {unknown} look like events but the trainer never calls them; "
                         f"the events are: {', '.join(EVENTS)}")
    assert events, f"{subject.name} defines none of the trainer's events ({', '.join(EVENTS)})"
    trainer = SimpleNamespace()
    for name in events:
        try:
            inspect.signature(getattr(obj, name)).bind(trainer, *_ARGUMENTS[name])
        except TypeError as exc:
            raise AssertionError(f"{name} cannot take the trainer's arguments (trainer, "
                                 f"{', '.join(type(a).__name__ for a in _ARGUMENTS[name]) or 'nothing else'}): "
                                 f"{exc}") from None


def _takes(method: object, what: str, *args: object) -> None:
    assert callable(method), f"{what} must be a method"
    try:
        inspect.signature(method).bind(*args)
    except TypeError as exc:
        raise AssertionError(f"{what} must take {len(args) or 'no'} argument{'s' if len(args) != 1 else ''}: "
                             f"{exc}") from None


@register_check("callback")
def check_options(subject: Subject) -> None:
    """``enabled_by_default``, where set, is a bool; ``report`` (:class:`corenn.protocols.Reports`),
    where defined, takes no arguments."""
    flag = getattr(subject.cls, "enabled_by_default", False)
    assert isinstance(flag, bool), f"enabled_by_default must be True or False, got {flag!r}"
    obj = subject.make()
    if isinstance(obj, Reports):
        _takes(obj.report, "report(), the text printed when the run ends,")


@register_check("callback")
def check_state(subject: Subject) -> None:
    """A callback with state (:class:`corenn.protocols.StatefulCallback`) has both halves:
    ``state_dict()`` and ``load_state_dict(state)``, so that a checkpoint keeps what it saves."""
    obj = subject.make()
    halves = [m for m in ("state_dict", "load_state_dict") if callable(getattr(obj, m, None))]
    if not halves:
        return
    assert isinstance(obj, StatefulCallback), (f"{subject.name} defines {halves[0]}() but not the other half; "
                                               "a checkpoint keeps its state only with both state_dict() and "
                                               "load_state_dict(state)")
    _takes(obj.state_dict, "state_dict()")
    _takes(obj.load_state_dict, "load_state_dict(state)", {})


@register_check("callback")
def check_rebuilt_from_its_hyperparameters(subject: Subject) -> None:
    """An instance rebuilt from its hyperparameters as plain data has the same hyperparameters
    (what a config file or a ``--callback`` spec holds)."""
    obj = subject.make()
    values = hyperparameter_values(obj)
    assert hyperparameter_values(subject.cls(**values)) == values
