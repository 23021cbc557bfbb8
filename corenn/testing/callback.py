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


@register_check("callback")
def check_options(subject: Subject) -> None:
    """``enabled_by_default``, where set, is a bool; ``report``, where defined, takes no arguments."""
    flag = getattr(subject.cls, "enabled_by_default", False)
    assert isinstance(flag, bool), f"enabled_by_default must be True or False, got {flag!r}"
    report = getattr(subject.make(), "report", None)
    if report is not None:
        assert callable(report), "report must be a method returning the text printed when the run ends"
        try:
            inspect.signature(report).bind()
        except TypeError as exc:
            raise AssertionError(f"report() must take no arguments: {exc}") from None


@register_check("callback")
def check_rebuilt_from_its_hyperparameters(subject: Subject) -> None:
    """An instance rebuilt from its hyperparameters as plain data has the same hyperparameters
    (what a config file or a ``--callback`` spec holds)."""
    obj = subject.make()
    values = hyperparameter_values(obj)
    assert hyperparameter_values(subject.cls(**values)) == values
