"""Callbacks are a listed kind with a conformance kit of their own."""

import json

import pytest

import corenn
from corenn.cli import main
from corenn.testing import ConformanceError, check_component


@corenn.component
class CountEpochs:
    """Counts epochs."""

    name = "count_epochs"
    start: int = corenn.hyperparameter(0, doc="the first count", check=corenn.validators.integer(0))

    def on_epoch_end(self, trainer, epoch, logs):
        self.start += 1


def test_a_well_formed_callback_passes_the_kit():
    check_component(CountEpochs, "callback")


def test_a_misspelled_event_fails_the_kit_naming_the_events():
    @corenn.component
    class Misspelled(CountEpochs):
        """Counts epochs, misspelled."""

        def on_epoch_ended(self, trainer, epoch, logs): ...

    with pytest.raises(ConformanceError, match=r"check_events.*on_epoch_ended.*never calls"):
        check_component(Misspelled, "callback")


def test_an_event_that_cannot_take_the_trainers_arguments_fails_the_kit():
    @corenn.component
    class TooFew(CountEpochs):
        """Takes too few arguments."""

        def on_batch_end(self, trainer):
            ...

    with pytest.raises(ConformanceError, match=r"on_batch_end cannot take the trainer's arguments"):
        check_component(TooFew, "callback")


def test_a_callback_with_no_event_and_a_report_with_arguments_fail_the_kit():
    @corenn.component
    class Idle:
        """Does nothing."""

        name = "idle"
        enabled_by_default = "yes"

        def report(self, verbose):
            return ""

    with pytest.raises(ConformanceError) as info:
        check_component(Idle, "callback")
    assert {name for name, _ in info.value.failures} == {"check_events", "check_options"}


def test_a_callback_that_saves_state_it_cannot_load_fails_the_kit():
    @corenn.component
    class HalfStateful(CountEpochs):
        """Saves its count but cannot load it."""

        def state_dict(self):
            return {"start": self.start}

    @corenn.component
    class Stateful(HalfStateful):
        """Saves and loads its count."""

        def load_state_dict(self, state):
            self.start = state.get("start", 0)

    with pytest.raises(ConformanceError, match=r"check_state.*defines state_dict\(\) but not the other half"):
        check_component(HalfStateful, "callback")
    check_component(Stateful, "callback")
    assert isinstance(Stateful(), corenn.protocols.StatefulCallback)
    assert not isinstance(HalfStateful(), corenn.protocols.StatefulCallback)


def installed(*names):
    missing = set(names) - set(corenn.available("callback"))
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {sorted(missing)}")


@installed("doctor", "plots", "early_stopping")
def test_corenn_list_callback_lists_the_installed_callbacks(capsys):
    assert main(["list", "callback", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in rows} >= {"doctor", "plots", "early_stopping"}
    assert {row["kind"] for row in rows} == {"callback"}


@installed("doctor")
def test_corenn_info_callback_shows_the_hyperparameters(capsys):
    assert main(["info", "callback", "doctor"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("callback doctor") and "small_gap" in out and "spec: doctor:" in out.replace("\n", "")


@installed("doctor")
def test_a_callback_spec_sets_its_hyperparameters():
    from corenn.run import RunConfig, build_trainer

    cfg = RunConfig(callbacks=["doctor:gap=0.2"])
    trainer = build_trainer(cfg, corenn.mlp([2, 3], seed=0))
    doctors = [c for c in trainer.callbacks if c.name == "doctor"]
    assert len(doctors) == 1 and doctors[0].gap == 0.2
