"""The dead_units callback: the fraction it records is the numpy recomputation, every N steps, in the history."""

import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_dead_units import DeadUnits, dead_fractions


@pytest.fixture(scope="module")
def digits():
    return corenn.create("dataset", "digits").load(seed=0)


def relu_by_hand(X, W, b):
    return np.maximum(X @ W + b, 0.0)


def test_dead_units_is_a_registered_callback_with_checked_hyperparameters():
    check_component(DeadUnits, "callback")
    assert corenn.create("callback", "dead_units:every=7").every == 7
    with pytest.raises(corenn.InvalidHyperparameter, match="every"):
        DeadUnits(every=0)


def test_the_dead_fraction_equals_a_numpy_recomputation(digits):
    model = corenn.mlp([64, 32, 16, 10], seed=0)
    # kill units on purpose: a large negative bias silences a unit for every input
    model[0].params["b"][:8] = -1e3
    model[2].params["b"][:4] = -1e3
    X = digits.X_val[:300]
    W1, b1 = model[0].params["W"], model[0].params["b"]
    W2, b2 = model[2].params["W"], model[2].params["b"]
    h1 = relu_by_hand(X, W1, b1)
    h2 = relu_by_hand(h1, W2, b2)
    expected = {"1.relu": np.mean(np.all(h1 == 0, axis=0)), "3.relu": np.mean(np.all(h2 == 0, axis=0))}
    found = dead_fractions(model, X)
    assert found.keys() == expected.keys()
    for name in expected:
        assert found[name] == pytest.approx(expected[name], abs=1e-12)
    assert found["1.relu"] >= 8 / 32 and found["3.relu"] >= 4 / 16


def test_the_callback_records_the_fraction_every_n_steps_on_the_validation_batch(digits, tmp_path):
    model = corenn.mlp([64, 32, 10], seed=0)
    trainer = corenn.Trainer(model, optimizer="sgd:lr=0.05", epochs=2, callbacks=[DeadUnits(every=10, samples=200)],
                             checkpoint=tmp_path / "ck.npz")
    history = trainer.fit(digits.X_train, digits.y_train, validation=(digits.X_val, digits.y_val))
    rows = history.series["dead_units"]
    assert [r["step"] for r in rows] == sorted({*range(0, trainer.step, 10), trainer.step - 1})  # and the end
    assert rows[-1]["1.relu"] == dead_fractions(model, digits.X_val[:200])["1.relu"]
    assert all(set(r) == {"step", "1.relu"} and 0.0 <= r["1.relu"] <= 1.0 for r in rows)
    resumed = corenn.Trainer(corenn.mlp([64, 32, 10], seed=0), optimizer="sgd:lr=0.05")
    resumed.load_checkpoint(tmp_path / "ck.npz")  # the series travels with the history (the last epoch's
    assert resumed.history.series["dead_units"] == rows[:-1]  # checkpoint precedes the end-of-training row)


def test_a_learning_rate_far_too_high_kills_many_more_units(digits):
    last = {}
    for lr in (0.05, 3.0):
        trainer = corenn.Trainer(corenn.mlp([64, 64, 10], seed=0), optimizer=f"sgd:lr={lr}", epochs=1,
                                 callbacks=[DeadUnits(every=5)])
        trainer.fit(digits.X_train, digits.y_train, validation=(digits.X_val, digits.y_val))
        last[lr] = trainer.history.series["dead_units"][-1]["1.relu"]
    assert last[3.0] > 0.5 and last[3.0] > 5 * last[0.05]


def test_without_validation_data_nothing_is_recorded(digits):
    trainer = corenn.Trainer(corenn.mlp([64, 16, 10], seed=0), epochs=1, callbacks=["dead_units"])
    history = trainer.fit(digits.X_train[:200], digits.y_train[:200])
    assert "dead_units" not in history.series
