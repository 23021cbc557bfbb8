import math

import numpy as np
import pytest

import corenn
from corenn.protocols import ObservesMetrics
from corenn.testing import check_component
from corenn.testing.schedule import check_observing_schedule_resumes_exactly
from corenn.testing._kit import Subject
from corenn_reduce_on_plateau import ReduceOnPlateau


def lrs_after_each_epoch(schedule, metric_values, key="val_loss"):
    out = []
    for epoch, value in enumerate(metric_values):
        schedule.observe(epoch, {key: value})
        out.append(schedule(0))
    return out


def test_reduce_on_plateau_passes_the_conformance_kit():
    check_component(ReduceOnPlateau)


def test_it_is_a_schedule_that_observes_metrics_and_is_registered():
    schedule = corenn.create("schedule", "reduce_on_plateau:initial=0.1")
    assert isinstance(schedule, ObservesMetrics) and isinstance(schedule, corenn.protocols.Schedule)


def test_the_value_is_constant_in_t_until_metrics_are_observed():
    schedule = ReduceOnPlateau(initial=0.1)
    assert {schedule(t) for t in range(1000)} == {0.1}


def test_the_lr_halves_after_patience_epochs_without_a_lower_validation_loss():
    schedule = ReduceOnPlateau(initial=0.1, factor=0.5, patience=2)
    # best 1.0, 0.8; then 0.8 (no gain: 1), 0.9 (2: halve); 0.7 new best; 0.75, 0.76 (2: halve); 0.77, 0.78 (halve)
    got = lrs_after_each_epoch(schedule, [1.0, 0.8, 0.8, 0.9, 0.7, 0.75, 0.76, 0.77, 0.78])
    assert got == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.0125]


def test_accuracy_is_watched_for_a_rise_and_min_delta_sets_what_counts():
    schedule = ReduceOnPlateau(initial=1.0, monitor="val_acc", factor=0.1, patience=1, min_delta=0.01)
    # 0.5 best; 0.505 is not 0.01 better: cut; 0.52 is: new best; 0.51 lower: cut
    assert lrs_after_each_epoch(schedule, [0.5, 0.505, 0.52, 0.51], key="val_acc") == pytest.approx([1, 0.1, 0.1, 0.01])
    assert schedule.best == 0.52


def test_mode_overrides_the_direction_auto_picks():
    rising_loss = [1.0, 2.0, 3.0, 4.0]
    assert lrs_after_each_epoch(ReduceOnPlateau(initial=1.0, patience=1, factor=0.5), rising_loss) == [1, 0.5, 0.25, 0.125]
    assert lrs_after_each_epoch(ReduceOnPlateau(initial=1.0, patience=1, factor=0.5, mode="max"), rising_loss) == [1] * 4


def test_cooldown_skips_counting_after_a_reduction_and_min_lr_is_a_floor():
    schedule = ReduceOnPlateau(initial=1.0, factor=0.1, patience=1, cooldown=2, min_lr=0.005)
    # flat loss: cut at epoch 1, two epochs of cooldown, cut at epoch 4 (to 0.01), cooldown, then the floor 0.005
    got = lrs_after_each_epoch(schedule, [1.0] * 9)
    assert got == pytest.approx([1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.005, 0.005])


def test_a_nan_metric_is_no_improvement():
    schedule = ReduceOnPlateau(initial=1.0, factor=0.5, patience=1)
    assert lrs_after_each_epoch(schedule, [1.0, math.nan, 0.5]) == [1.0, 0.5, 0.5]


def test_a_missing_metric_is_a_clear_error():
    schedule = ReduceOnPlateau(initial=0.1)
    with pytest.raises(corenn.InvalidInput, match="monitors 'val_loss'.*validation data.*loss, train_acc"):
        schedule.observe(0, {"loss": 0.5, "train_acc": 0.9, "val_loss": None, "val_acc": None})


@pytest.mark.parametrize(("field", "value"), [("factor", 1.0), ("factor", 0.0), ("patience", 0), ("cooldown", -1),
                                              ("monitor", "val_los"), ("mode", "up"), ("min_lr", 0.5)])
def test_bad_fields_are_refused(field, value):
    with pytest.raises(corenn.InvalidHyperparameter, match=field):
        ReduceOnPlateau(initial=0.1, **{field: value})


def test_a_state_that_is_not_its_own_is_refused():
    with pytest.raises(corenn.InvalidInput, match="state_dict"):
        ReduceOnPlateau(initial=0.1).load_state_dict({"value": 0.1})


def test_the_kit_catches_a_schedule_that_forgets_part_of_its_state():
    class Forgetful(ReduceOnPlateau):
        def load_state_dict(self, state):
            super().load_state_dict({**state, "best": None})

    subject = Subject(Forgetful, "schedule", {"initial": 0.1, "patience": 2})
    with pytest.raises(AssertionError, match="resumed schedule differs"):
        check_observing_schedule_resumes_exactly(subject)


# -- in training ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spiral():
    return corenn.create("dataset", "spiral").load(seed=0)


def train(data, epochs, checkpoint=None, **kw):
    model = corenn.mlp([data.num_features, 16, data.num_classes], seed=0)
    options = dict(optimizer="sgd", batch_size=64, epochs=epochs, seed=0, checkpoint=checkpoint,
                   schedule="reduce_on_plateau:initial=1.0,factor=0.5,patience=1") | kw
    trainer = corenn.Trainer(model, **options)
    return model, trainer


def per_epoch(lrs, steps_per_epoch):
    return lrs[::steps_per_epoch]


def test_in_training_the_recorded_lr_is_what_the_schedule_makes_of_the_recorded_validation_loss(spiral):
    model, trainer = train(spiral, epochs=10)
    history = trainer.fit(spiral.X_train, spiral.y_train, validation=(spiral.X_val, spiral.y_val))
    replay = ReduceOnPlateau(initial=1.0, factor=0.5, patience=1)
    expected = [1.0] + lrs_after_each_epoch(replay, history.metric("val_loss"))[:-1]
    steps = trainer.steps_per_epoch
    assert history.lr == [lr for lr in expected for _ in range(steps)]
    assert min(history.lr) < 1.0, "the run should have plateaued at least once"


def test_a_schedule_given_as_the_optimizers_lr_is_observed_too(spiral):
    lr = {"name": "reduce_on_plateau", "initial": 0.5, "factor": 0.5, "patience": 1, "min_delta": 100.0}
    model, trainer = train(spiral, epochs=4, schedule=None, optimizer={"name": "sgd", "lr": lr})
    history = trainer.fit(spiral.X_train, spiral.y_train, validation=(spiral.X_val, spiral.y_val))
    # with min_delta=100 no epoch after the first improves: the lr halves after every later epoch
    assert per_epoch(history.lr, trainer.steps_per_epoch) == [0.5, 0.5, 0.25, 0.125]
    assert [e["lr"] for e in history.epochs] == [0.5, 0.5, 0.25, 0.125]


def test_training_without_validation_data_names_the_missing_metric(spiral):
    model, trainer = train(spiral, epochs=2)
    with pytest.raises(corenn.InvalidInput, match="val_loss"):
        trainer.fit(spiral.X_train, spiral.y_train)


def test_a_resumed_run_ends_bit_identical_to_the_uninterrupted_one(spiral, tmp_path):
    validation, watch_acc = (spiral.X_val, spiral.y_val), "reduce_on_plateau:initial=1.0,factor=0.5,patience=1,monitor=val_acc"
    model, trainer = train(spiral, epochs=8, schedule=watch_acc)
    trainer.fit(spiral.X_train, spiral.y_train, validation=validation)
    expected, expected_lr = [p.copy() for p in model.parameters()], list(trainer.history.lr)

    model, trainer = train(spiral, epochs=5, schedule=watch_acc, checkpoint=tmp_path / "ck.npz")
    trainer.fit(spiral.X_train, spiral.y_train, validation=validation)
    assert trainer.optimizer.lr(0) < 1.0, "the schedule should have reduced before the checkpoint"
    model, trainer = train(spiral, epochs=8, schedule=watch_acc)
    trainer.load_checkpoint(tmp_path / "ck.npz")
    trainer.fit(spiral.X_train, spiral.y_train, validation=validation)
    assert len(set(expected_lr[trainer.steps_per_epoch * 5:])) > 1, "and again after it"
    assert trainer.history.lr == expected_lr
    for a, b in zip(model.parameters(), expected):
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_without_the_schedules_state_is_refused_and_changes_nothing(spiral, tmp_path):
    model, trainer = train(spiral, epochs=1, schedule=None, checkpoint=tmp_path / "ck.npz")
    trainer.fit(spiral.X_train, spiral.y_train, validation=(spiral.X_val, spiral.y_val))
    model, trainer = train(spiral, epochs=2)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(corenn.InvalidFile, match="metric-driven schedule"):
        trainer.load_checkpoint(tmp_path / "ck.npz")
    assert trainer.epoch == 0 and trainer.optimizer.lr.state_dict()["value"] == 1.0
    for a, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(a, b)
