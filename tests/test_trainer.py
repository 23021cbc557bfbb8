"""corenn.Trainer: minibatch training, history, determinism, checkpoints, divergence."""

import math

import numpy as np
import pytest

import corenn
from corenn.component import spec_of
from corenn.trainer import Callback, TrainingDiverged


@pytest.fixture(scope="module")
def spiral():
    return corenn.create("dataset", "spiral").load(seed=0)


def make(data, seed=0, dropout=None, **kw):
    model = corenn.mlp([data.num_features, 32, data.num_classes], dropout=dropout, seed=seed)
    options = dict(optimizer="adam:lr=0.02", batch_size=32, epochs=4, seed=seed) | kw
    return model, corenn.Trainer(model, **options)


def weights(model):
    return [p.copy() for p in model.parameters()]


def test_training_lowers_the_loss_and_learns_the_spiral(spiral):
    model, trainer = make(spiral, epochs=40)
    history = trainer.fit(spiral.X_train, spiral.y_train, validation=(spiral.X_val, spiral.y_val))
    steps_per_epoch = math.ceil(len(spiral.X_train) / 32)
    assert len(history.loss) == 40 * steps_per_epoch == trainer.step
    assert np.mean(history.loss[-steps_per_epoch:]) < 0.5 * np.mean(history.loss[:steps_per_epoch])
    assert len(history.epochs) == 40 and history.epochs[-1]["val_acc"] > 0.85
    assert trainer.evaluate(spiral.X_test, spiral.y_test)["accuracy"] > 0.85


def test_the_history_splits_data_and_regularization_loss_and_logs_lr_and_ratios(spiral):
    model, trainer = make(spiral, regularizer="l2:strength=0.01", epochs=2, ratio_every=5)
    history = trainer.fit(spiral.X_train, spiral.y_train)
    np.testing.assert_allclose(history.loss, np.add(history.data_loss, history.reg_loss))
    assert min(history.reg_loss) > 0
    assert history.lr == [0.02] * len(history.loss)
    assert [r["step"] for r in history.ratios] == list(range(0, trainer.step, 5))
    names = [n for n, _ in model.named_parameters()]
    assert all(set(names) <= set(r) for r in history.ratios)
    assert all(0 < r[names[0]] < 1 for r in history.ratios)


def test_the_same_seed_gives_the_same_numbers_bit_for_bit(spiral):
    runs = []
    for _ in range(2):
        model, trainer = make(spiral, dropout=0.9)
        trainer.fit(spiral.X_train, spiral.y_train)
        runs.append((trainer.history.loss, weights(model)))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    model, trainer = make(spiral, seed=1)
    trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.history.loss != runs[0][0]


def test_dropout_masks_follow_the_trainer_seed(spiral):
    def run():
        model = corenn.mlp([2, 32, 3], dropout=0.5, seed=0)
        corenn.Trainer(model, optimizer="sgd:lr=0.1", epochs=2, seed=7).fit(spiral.X_train, spiral.y_train)
        return weights(model)

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_a_resumed_run_ends_exactly_where_the_uninterrupted_one_does(spiral, tmp_path):
    model, trainer = make(spiral, optimizer="momentum:lr=0.05", dropout=0.8, epochs=4)
    trainer.fit(spiral.X_train, spiral.y_train)
    expected = weights(model)

    model, trainer = make(spiral, optimizer="momentum:lr=0.05", dropout=0.8, epochs=2, checkpoint=tmp_path / "ck.npz")
    trainer.fit(spiral.X_train, spiral.y_train)
    model, trainer = make(spiral, optimizer="momentum:lr=0.05", dropout=0.8, epochs=4, seed=0)
    trainer.load_checkpoint(tmp_path / "ck.npz")
    assert trainer.epoch == 2
    trainer.fit(spiral.X_train, spiral.y_train)
    for a, b in zip(weights(model), expected):
        np.testing.assert_array_equal(a, b)
    assert len(trainer.history.epochs) == 4


class InterruptAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_batch_end(self, trainer, step, logs):
        if step == self.step:
            raise KeyboardInterrupt


def test_an_interrupted_epoch_is_checkpointed_and_resumes_exactly(spiral, tmp_path):
    kwargs = dict(optimizer="adam:lr=0.01", epochs=3)
    model = corenn.mlp([2, 16, 3], dropout=0.8, batchnorm=True, seed=0)
    corenn.Trainer(model, batch_size=32, seed=0, **kwargs).fit(spiral.X_train, spiral.y_train)
    expected = weights(model)

    model = corenn.mlp([2, 16, 3], dropout=0.8, batchnorm=True, seed=0)
    trainer = corenn.Trainer(model, batch_size=32, seed=0, checkpoint=tmp_path / "ck.npz",
                             callbacks=[InterruptAt(11)], **kwargs)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.history.stopped == "interrupted"

    model = corenn.mlp([2, 16, 3], dropout=0.8, batchnorm=True, seed=0)
    trainer = corenn.Trainer(model, batch_size=32, seed=0, **kwargs)
    trainer.load_checkpoint(tmp_path / "ck.npz")
    assert trainer.step == 12
    trainer.fit(spiral.X_train, spiral.y_train)
    for a, b in zip(weights(model), expected):
        np.testing.assert_array_equal(a, b)


def test_a_diverging_run_stops_with_advice_and_keeps_its_last_good_weights(spiral, tmp_path):
    model, trainer = make(spiral, optimizer="sgd:lr=1e4", epochs=50, checkpoint=tmp_path / "ck.npz")
    with pytest.raises(TrainingDiverged, match="learning rate"):
        trainer.fit(spiral.X_train * 100, spiral.y_train)
    assert trainer.history.stopped == "diverged"
    assert all(np.isfinite(p).all() for p in model.parameters())


def test_a_learning_rate_schedule_is_read_per_epoch_or_per_step(spiral):
    steps = math.ceil(len(spiral.X_train) / 32)
    _, trainer = make(spiral, optimizer="sgd", schedule="step:initial=0.1,factor=0.5,every=1", epochs=3)
    history = trainer.fit(spiral.X_train, spiral.y_train)
    assert history.lr == [0.1] * steps + [0.05] * steps + [0.025] * steps
    _, trainer = make(spiral, optimizer="sgd", schedule="exponential:initial=0.1,k=0.01",
                      schedule_unit="step", epochs=1)
    history = trainer.fit(spiral.X_train, spiral.y_train)
    np.testing.assert_allclose(history.lr, 0.1 * np.exp(-0.01 * np.arange(steps)), rtol=1e-6)


def test_schedule_is_shorthand_for_the_optimizers_lr_and_gives_the_same_numbers(spiral):
    _, shorthand = make(spiral, optimizer="sgd", schedule="step:initial=0.1,every=1", epochs=3)
    _, spelled_out = make(spiral, optimizer="sgd:lr='step:initial=0.1,every=1,unit=\"epoch\"'", epochs=3)
    assert shorthand.fit(spiral.X_train, spiral.y_train).lr == spelled_out.fit(spiral.X_train, spiral.y_train).lr
    assert spec_of(shorthand.optimizer) == spec_of(spelled_out.optimizer)


def test_a_schedule_inside_the_optimizer_counts_steps_unless_it_says_epochs(spiral):
    steps = math.ceil(len(spiral.X_train) / 32)
    _, by_step = make(spiral, optimizer="sgd:lr='step:initial=0.1,every=2'", epochs=1)
    assert by_step.fit(spiral.X_train, spiral.y_train).lr == [0.1 * 0.5 ** (t // 2) for t in range(steps)]
    assert corenn.create("schedule", "step:initial=0.1").unit == corenn.optim.DEFAULT_UNIT == "step"


def test_every_schedulable_field_of_the_optimizer_is_read_in_its_own_unit(spiral):
    steps = math.ceil(len(spiral.X_train) / 32)
    mu = {"name": "linear", "start": 0.5, "end": 0.9, "steps": 2, "unit": "epoch"}
    _, trainer = make(spiral, optimizer={"name": "momentum", "lr": 0.01, "mu": mu}, epochs=3)
    seen = []

    class Watch(Callback):
        def on_batch_begin(self, trainer, step):
            seen.append(trainer.optimizer.current("mu"))

    trainer.callbacks.append(Watch())
    trainer.fit(spiral.X_train, spiral.y_train)
    assert seen == pytest.approx([0.5] * steps + [0.7] * steps + [0.9] * steps)


@pytest.mark.parametrize("optimizer", ["sgd:lr=0.1", {"name": "sgd", "lr": 0.1}])
def test_an_lr_given_both_in_the_optimizer_and_as_the_schedule_is_an_error_naming_both(spiral, optimizer):
    with pytest.raises(corenn.InvalidHyperparameter, match=r"lr=0\.1 .*given twice.*schedule step:initial=1"):
        make(spiral, optimizer=optimizer, schedule="step:initial=1")


def test_a_schedule_that_counts_epochs_outside_a_trainer_says_what_it_needs():
    opt = corenn.create("optimizer", "sgd:lr='step:initial=0.1,every=1,unit=\"epoch\"'")
    x, dx = np.ones(3), np.ones(3)
    with pytest.raises(corenn.InvalidInput, match="counts epochs.*steps per epoch"):
        opt.step([x], [dx])
    opt.steps_per_epoch = 4
    for _ in range(5):
        opt.step([x], [dx])
    assert opt.current("lr") == 0.1 * 0.5 ** (5 // 4)  # the second epoch


def test_lbfgs_trains_full_batch_through_the_closure(spiral):
    model = corenn.mlp([2, 16, 3], seed=0)
    trainer = corenn.Trainer(model, optimizer="lbfgs:max_iter=20", epochs=5)
    history = trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.step == 5 and len(history.loss) == 5
    assert history.loss[-1] < 0.6 * history.loss[0]


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_begin(self, trainer):
        self.events.append("train_begin")

    def on_epoch_begin(self, trainer, epoch):
        self.events.append(f"epoch_begin {epoch}")

    def on_batch_end(self, trainer, step, logs):
        if step == 0:
            self.events.append(f"batch_end {step} {sorted(logs)}")

    def on_epoch_end(self, trainer, epoch, logs):
        self.events.append(f"epoch_end {epoch} {logs['val_acc'] is not None}")
        trainer.stop_training = epoch == 1

    def on_train_end(self, trainer, history):
        self.events.append("train_end")


def test_callbacks_see_every_event_and_can_stop_training(spiral):
    recorder = Recorder()
    _, trainer = make(spiral, epochs=10, callbacks=[recorder])
    trainer.fit(spiral.X_train, spiral.y_train, validation=(spiral.X_val, spiral.y_val))
    assert recorder.events == [
        "train_begin", "epoch_begin 0", "batch_end 0 ['data_loss', 'loss', 'lr', 'reg_loss']", "epoch_end 0 True",
        "epoch_begin 1", "epoch_end 1 True", "train_end"]
    assert trainer.epoch == 2


def test_plugin_callbacks_are_given_by_spec(spiral):
    _, trainer = make(spiral, epochs=30, callbacks=["early_stopping:patience=1"])
    trainer.fit(spiral.X_train, spiral.y_train, validation=(spiral.X_val, spiral.y_val))
    assert trainer.epoch < 30 and "early stopping" in trainer.history.stopped


def test_bad_training_data_is_refused_with_a_clear_message(spiral):
    _, trainer = make(spiral)
    with pytest.raises(corenn.InvalidInput, match="labels for"):
        trainer.fit(spiral.X_train, spiral.y_train[:-1])
    X = spiral.X_train.copy()
    X[3, 1] = np.nan
    with pytest.raises(corenn.InvalidInput, match="NaN"):
        trainer.fit(X, spiral.y_train)
    with pytest.raises(corenn.CorennError, match="batch_size"):
        corenn.Trainer(corenn.mlp([2, 3]), batch_size=0)


def test_a_checkpoint_that_does_not_fit_leaves_the_trainer_and_model_as_they_were(spiral, tmp_path):
    model, trainer = make(spiral, optimizer="sgd:lr=0.1", epochs=1, checkpoint=tmp_path / "ck.npz")
    trainer.fit(spiral.X_train, spiral.y_train)
    other_model, other = make(spiral, optimizer="adam:lr=0.02", epochs=2)  # another optimizer: its state won't fit
    other.fit(spiral.X_train, spiral.y_train)
    before, steps, epoch = weights(other_model), other.step, other.epoch
    optimizer_state = other.optimizer.state_dict()
    with pytest.raises(corenn.InvalidFile, match="does not match"):
        other.load_checkpoint(tmp_path / "ck.npz")
    for w, p in zip(before, other_model.parameters()):
        np.testing.assert_array_equal(w, p)
    assert (other.step, other.epoch) == (steps, epoch)
    assert other.optimizer.state_dict()["steps"] == optimizer_state["steps"]


def test_an_unseeded_trainer_measures_train_accuracy_on_a_random_subset(spiral):
    _, trainer = make(spiral, seed=None, epochs=1, train_eval_size=10)
    history = trainer.fit(spiral.X_train, spiral.y_train)
    assert 0.0 <= history.epochs[0]["train_acc"] <= 1.0
    with pytest.raises(corenn.InvalidHyperparameter, match="seed"):
        corenn.Trainer(corenn.mlp([2, 3]), seed="zero")


class StopAtStep(Callback):
    def __init__(self, step):
        self.stop_at, self.epochs_ended = step, []

    def on_batch_end(self, trainer, step, logs):
        if step == self.stop_at:
            trainer.stop_training = True

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs_ended.append(epoch)


def test_a_callback_that_stops_in_on_batch_end_ends_the_run_after_that_batch(spiral, tmp_path):
    steps_per_epoch = math.ceil(len(spiral.X_train) / 32)
    stopper = StopAtStep(steps_per_epoch + 3)  # the fourth batch of the second epoch
    model, trainer = make(spiral, epochs=4, callbacks=[stopper], checkpoint=tmp_path / "ck.npz")
    history = trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.step == len(history.loss) == steps_per_epoch + 4
    assert stopper.epochs_ended == [0] and len(history.epochs) == 1 and trainer.epoch == 1
    # the checkpoint keeps the position in the unfinished epoch, and that a callback stopped the run:
    # resuming it is a no-op (as for early stopping), not a run that trains on
    _, doc = corenn.files.load_arrays(tmp_path / "ck.npz", what="checkpoint")
    assert (doc["epoch"], doc["batch"], doc["stopped"]) == (1, 4, True)
    _, resumed = make(spiral, epochs=4, seed=0)
    resumed.load_checkpoint(tmp_path / "ck.npz")
    assert resumed.finished
    before = [p.copy() for p in resumed.model.parameters()]
    resumed.fit(spiral.X_train, spiral.y_train)
    assert resumed.history.loss == history.loss and resumed.step == trainer.step
    for p, q in zip(resumed.model.parameters(), before):
        np.testing.assert_array_equal(p, q)


def test_a_stop_at_the_last_batch_of_an_epoch_still_ends_that_epoch(spiral):
    steps_per_epoch = math.ceil(len(spiral.X_train) / 32)
    stopper = StopAtStep(steps_per_epoch - 1)
    _, trainer = make(spiral, epochs=4, callbacks=[stopper])
    history = trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.step == steps_per_epoch and stopper.epochs_ended == [0] and len(history.epochs) == 1


def test_an_update_ratio_is_the_norm_of_the_steps_change_over_the_norm_of_the_weights_before_it(spiral):
    model, trainer = make(spiral, optimizer="sgd:lr=0.1", epochs=1, ratio_every=3, batch_size=len(spiral.X_train))
    before = weights(model)
    history = trainer.fit(spiral.X_train, spiral.y_train)
    (name, _), after = model.named_parameters()[0], model.parameters()[0]
    expected = np.linalg.norm(after - before[0]) / np.linalg.norm(before[0])
    assert history.ratios[0][name] == pytest.approx(expected, rel=1e-5)


def test_update_ratios_cost_no_second_copy_of_the_model():
    import tracemalloc

    X = np.random.default_rng(0).standard_normal((64, 300), dtype=np.float32)
    y = np.arange(64) % 10
    peaks = {}
    for every in (0, 1):
        model = corenn.mlp([300, 2000, 10], seed=0)
        trainer = corenn.Trainer(model, optimizer="momentum", batch_size=32, epochs=1, ratio_every=every,
                                 train_eval_size=0)
        tracemalloc.start()
        trainer.fit(X, y)
        peaks[every] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    model_bytes = sum(p.nbytes for p in model.parameters())
    assert peaks[1] - peaks[0] < model_bytes / 4


def test_a_diverged_run_goes_back_to_the_weights_of_its_last_measured_step_with_a_finite_loss(spiral):
    seen = []

    class Watch(Callback):
        def on_batch_begin(self, trainer, step):
            seen.append(weights(trainer.model))

    model, trainer = make(spiral, optimizer="sgd:lr=1e4", epochs=50, ratio_every=2, callbacks=[Watch()])
    with pytest.raises(TrainingDiverged):
        trainer.fit(spiral.X_train * 100, spiral.y_train)
    last_measured = max(r["step"] for r in trainer.history.ratios)
    for a, b in zip(model.parameters(), seen[last_measured]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n, measured", [(100, 100), (1000, 250), (40_000, 1000), (100_000, 2000)])
def test_training_accuracy_is_measured_on_a_fortieth_of_the_data_within_250_and_2000_samples(n, measured):
    _, trainer = make(corenn.create("dataset", "spiral").load(seed=0), epochs=1)
    assert len(trainer._train_eval_indices(n)) == measured
    trainer.train_eval_size = 40
    assert len(trainer._train_eval_indices(n)) == 40
