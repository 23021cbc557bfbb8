import numpy as np
import pytest

import corenn
from corenn_early_stopping import EarlyStopping


class FakeModel:
    """Just what the callback touches: named parameters and buffers."""

    def __init__(self):
        self.W = np.zeros(3)

    def state_dict(self):
        return {"0.dense.W": self.W}


class FakeTrainer:
    def __init__(self):
        self.model = FakeModel()
        self.stop_training = False


def run(callback, accuracies):
    trainer = FakeTrainer()
    history = corenn.History()
    callback.on_train_begin(trainer)
    for epoch, acc in enumerate(accuracies):
        trainer.model.W[:] = epoch  # the weights "learned" in this epoch
        callback.on_epoch_end(trainer, epoch, {"val_acc": acc})
        if trainer.stop_training:
            break
    callback.on_train_end(trainer, history)
    return trainer, history, epoch


def test_stops_after_patience_epochs_without_improvement_and_restores_the_best_weights():
    trainer, history, last = run(EarlyStopping(patience=2), [0.5, 0.7, 0.69, 0.7, 0.9])
    assert last == 3 and trainer.stop_training
    np.testing.assert_array_equal(trainer.model.W, 1.0)  # epoch 1 had the best val_acc
    assert "epoch 3" in history.stopped


def test_min_delta_decides_what_counts_as_improvement():
    _, _, last = run(EarlyStopping(patience=1, min_delta=0.05), [0.5, 0.52, 0.9])
    assert last == 1


def test_keeps_training_while_it_improves_and_can_leave_weights_alone():
    trainer, history, last = run(EarlyStopping(patience=1, restore_best=False), [0.1, 0.2, 0.3])
    assert last == 2 and not trainer.stop_training and history.stopped is None
    np.testing.assert_array_equal(trainer.model.W, 2.0)


def test_runs_without_validation_are_left_alone():
    trainer = FakeTrainer()
    cb = EarlyStopping(patience=1)
    cb.on_train_begin(trainer)
    for epoch in range(3):
        cb.on_epoch_end(trainer, epoch, {"val_acc": None})
    assert not trainer.stop_training


def test_is_registered_as_a_callback_and_validates_its_fields():
    assert corenn.get("callback", "early_stopping") is EarlyStopping
    with pytest.raises(corenn.InvalidHyperparameter, match="patience"):
        corenn.create("callback", "early_stopping:patience=0")
