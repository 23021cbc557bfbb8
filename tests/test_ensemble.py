"""corenn.Ensemble and `corenn evaluate/predict RUN1 RUN2 ...`: several models voting."""

import json

import numpy as np
import pytest

import corenn
from corenn.cli import main
from corenn.ensemble import softmax
from corenn.preprocessing import preprocess_data


def run_cli(*args):
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def digits():
    data, _ = preprocess_data(corenn.create("dataset", "digits").load(seed=0), ["standardize"])
    return data


@pytest.fixture(scope="module")
def seeds(digits):
    """Five small digits models that differ only in their seed (initial weights, minibatch order)."""
    models = []
    for seed in range(5):
        model = corenn.mlp([64, 32, 10], seed=seed)
        corenn.Trainer(model, optimizer="sgd:lr=0.05", epochs=3, batch_size=32, seed=seed).fit(digits.X_train,
                                                                                                digits.y_train)
        models.append(model)
    return models


class Fixed:
    """A stand-in member whose scores are given."""

    def __init__(self, scores):
        self.scores = np.asarray(scores, dtype=np.float64)

    def forward(self, X, training=False):
        return self.scores


def test_the_ensemble_of_five_digits_seeds_beats_its_mean_member(digits, seeds):
    result = corenn.Ensemble(seeds).evaluate(digits.X_test, digits.y_test)
    own = [float(np.mean(m.predict(digits.X_test) == digits.y_test)) for m in seeds]
    assert [m["accuracy"] for m in result["members"]] == own
    assert result["mean_member_accuracy"] == pytest.approx(np.mean(own))
    assert result["ensemble"]["accuracy"] > result["mean_member_accuracy"]
    assert result["ensemble"]["log_loss"] < np.mean([m["log_loss"] for m in result["members"]])


def test_the_probabilities_are_the_weighted_mean_of_the_members_softmax(digits, seeds):
    X = digits.X_test[:50]
    members = [np.exp(s - s.max(1, keepdims=True)) / np.exp(s - s.max(1, keepdims=True)).sum(1, keepdims=True)
               for s in (m.forward(X, training=False).astype(np.float64) for m in seeds)]
    weights = [3.0, 1.0, 0.0, 1.0, 1.0]
    expected = sum(w * p for w, p in zip(weights, members)) / sum(weights)
    got = corenn.Ensemble(seeds, weights=weights).predict_proba(X)
    assert got.dtype == np.float32 and got.shape == (50, 10)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(corenn.Ensemble(seeds, weights=weights).predict(X), np.argmax(got, axis=1))


def test_a_member_with_all_the_weight_is_the_ensemble(digits, seeds):
    alone = corenn.Ensemble(seeds, weights=[0, 0, 1, 0, 0])
    np.testing.assert_array_equal(alone.predict(digits.X_test), seeds[2].predict(digits.X_test))


def test_a_members_log_loss_is_its_softmax_cross_entropy(digits, seeds):
    result = corenn.Ensemble(seeds[:2]).evaluate(digits.X_test, digits.y_test)
    trainer = corenn.Trainer(seeds[1], epochs=0)
    assert result["members"][1]["log_loss"] == pytest.approx(trainer.evaluate(digits.X_test, digits.y_test)["loss"],
                                                             rel=1e-5)


def test_a_majority_vote_counts_one_weighted_vote_per_member_and_breaks_ties_by_mean_probability():
    members = [Fixed([[5.0, 0, 0], [0, 2, 1.9]]), Fixed([[0, 5, 0], [0, 1.9, 2]]), Fixed([[0, 5, 0], [5, 0, 0]])]
    vote = corenn.Ensemble(members, vote="majority")
    np.testing.assert_allclose(vote.predict_proba(None), [[1 / 3, 2 / 3, 0], [1 / 3, 1 / 3, 1 / 3]])
    # sample 1: a three-way tie; class 0 has the highest mean probability (member 3 is sure of it)
    np.testing.assert_array_equal(vote.predict(None), [1, 0])
    np.testing.assert_array_equal(corenn.Ensemble(members, weights=[3, 1, 1], vote="majority").predict(None), [0, 1])
    result = vote.evaluate(None, [1, 2])
    assert result["ensemble"] == {"accuracy": 0.5, "log_loss": None}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"models": []}, "non-empty"),
    ({"models": [object()]}, "no forward"),
    ({"vote": "best"}, "vote='best'"),
    ({"weights": [1, 2]}, "weights"),
    ({"weights": [1, -1, 1]}, "weights"),
    ({"weights": [0, 0, 0]}, "not all 0"),
    ({"weights": [1, float("nan"), 1]}, "finite"),
])
def test_bad_ensembles_are_refused_with_a_clear_error(kwargs, message):
    members = [Fixed([[1.0, 0]])] * 3
    with pytest.raises(corenn.CorennError, match=message):
        corenn.Ensemble(**({"models": members} | kwargs))


def test_members_that_disagree_on_the_number_of_classes_are_refused():
    ensemble = corenn.Ensemble([Fixed([[1.0, 0]]), Fixed([[1.0, 0, 0]])])
    with pytest.raises(corenn.InvalidInput, match="different numbers of classes"):
        ensemble.predict(None)


def test_softmax_keeps_the_dtype_and_survives_huge_scores():
    p = softmax(np.array([[1000.0, 0.0], [0.0, 0.0]], dtype=np.float32))
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, [[1, 0], [0.5, 0.5]])


# -- run folders and the CLI ------------------------------------------------------------------------

QUICK = ["--dataset", "spiral", "--epochs", "3", "--optimizer", "adam:lr=0.02", "--no-progress",
         "--no-default-callbacks"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three spiral runs that share their data split and differ in width and preprocessing, one
    whose seed (and so its split) differs, and two that differ from "a" only in seed, with the
    data split of seed 0."""
    root = tmp_path_factory.mktemp("runs")
    variants = {"a": ["--hidden", "16"], "b": ["--hidden", "24", "--preprocess", "standardize"],
                "c": ["--hidden", "32", "--activation", "tanh"], "other_seed": ["--hidden", "16", "--seed", "1"],
                "seed1": ["--hidden", "16", "--seed", "1", "--data-seed", "0"],
                "seed2": ["--hidden", "16", "--seed", "2", "--data-seed", "0"]}
    for name, extra in variants.items():
        assert run_cli("train", *QUICK, *extra, "--out", root / name) == 0
    return root


def test_from_runs_applies_each_runs_own_preprocessing_to_the_raw_inputs(runs):
    from corenn.run import open_run

    data = corenn.create("dataset", "spiral").load(seed=0)
    ensemble = corenn.Ensemble.from_runs([runs / "a", runs / "b"])
    for member, name in zip(ensemble.models, "ab"):
        _, model, fitted, _ = open_run(runs / name)
        X = data.X_test
        for preprocessor in fitted:
            X = preprocessor.transform(X)
        np.testing.assert_array_equal(member.forward(data.X_test), model.forward(X, training=False))


def test_evaluate_several_runs_reports_each_member_and_the_ensemble(runs, capsys):
    members = [runs / "a", runs / "b", runs / "c"]
    single = []
    for run in members:
        capsys.readouterr()
        assert run_cli("evaluate", run, "--json") == 0
        single.append(json.loads(capsys.readouterr().out)["accuracy"])
    assert run_cli("evaluate", *members, "--json", "--weights", "2,1,1") == 0
    result = json.loads(capsys.readouterr().out)
    assert [m["accuracy"] for m in result["members"]] == pytest.approx(single)
    data = corenn.create("dataset", "spiral").load(seed=0)
    expected = corenn.Ensemble.from_runs(members, weights=[2, 1, 1]).evaluate(data.X_test, data.y_test)
    assert result["ensemble"] == expected["ensemble"] and result["weights"] == [0.5, 0.25, 0.25]
    assert run_cli("evaluate", *members, "--vote", "majority") == 0
    out = capsys.readouterr().out
    assert "majority vote" in out and out.count("\n") == 7 and "ensemble" in out


def test_runs_that_were_split_differently_are_refused_in_one_line(runs, capsys):
    capsys.readouterr()
    assert run_cli("evaluate", runs / "a", runs / "other_seed") == 2
    err = capsys.readouterr().err
    assert "different test splits" in err and err.count("\n") == 1 and "Traceback" not in err
    assert run_cli("evaluate", runs / "a", "--vote", "best") == 2
    assert "vote='best'" in capsys.readouterr().err


def test_runs_that_differ_only_in_seed_with_one_data_seed_are_an_ensemble(runs, capsys):
    members = [runs / "a", runs / "seed1", runs / "seed2"]
    data = corenn.create("dataset", "spiral").load(seed=0)
    single = []
    for run in members:
        capsys.readouterr()
        assert run_cli("evaluate", run, "--json") == 0
        single.append(json.loads(capsys.readouterr().out)["accuracy"])
        alone = corenn.Ensemble.from_runs([run]).evaluate(data.X_test, data.y_test)
        assert single[-1] == pytest.approx(alone["ensemble"]["accuracy"])  # tested on data seed 0's split
    weights = [corenn.Ensemble.from_runs([run]).models[0].model.parameters()[0] for run in members]
    assert not np.array_equal(weights[0], weights[1]) and not np.array_equal(weights[1], weights[2])
    assert run_cli("evaluate", *members, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert [m["accuracy"] for m in result["members"]] == pytest.approx(single)
    assert result["ensemble"] == corenn.Ensemble.from_runs(members).evaluate(data.X_test, data.y_test)["ensemble"]
    assert run_cli("evaluate", *members) == 0
    lines = capsys.readouterr().out.splitlines()
    for run, accuracy in zip(members, single):
        assert any(line.split() == [f"{accuracy:.4f}", line.split()[1], str(run)] for line in lines)
    assert lines[-2].split()[0] == f"{result['ensemble']['accuracy']:.4f}" and lines[-2].endswith("ensemble")


def test_a_run_without_data_seed_splits_its_data_with_its_seed():
    from corenn.run import RunConfig

    assert RunConfig(seed=3).split_seed == 3 and RunConfig(seed=3, data_seed=0).split_seed == 0
    with pytest.raises(corenn.CorennError, match="data_seed"):
        RunConfig.from_mapping({"data_seed": -1})


def test_runs_of_other_classes_are_refused(runs, tmp_path, capsys):
    assert run_cli("train", "--dataset", "digits", "--hidden", "8", "--epochs", "1", "--no-progress",
                   "--no-default-callbacks", "--out", tmp_path / "digits") == 0
    capsys.readouterr()
    assert run_cli("evaluate", runs / "a", tmp_path / "digits") == 2
    assert "different classes" in capsys.readouterr().err


def test_predict_several_runs_gives_the_ensembles_labels_or_probabilities(runs, tmp_path, capsys):
    members = [runs / "a", runs / "b", runs / "c"]
    data = corenn.create("dataset", "spiral").load(seed=0)
    np.save(tmp_path / "x.npy", data.X_test)
    ensemble = corenn.Ensemble.from_runs(members)
    assert run_cli("predict", *members, tmp_path / "x.npy", "--out", tmp_path / "labels.npy") == 0
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), ensemble.predict(data.X_test))
    assert run_cli("predict", *members, tmp_path / "x.npy", "--proba", "--out", tmp_path / "p.npy") == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), ensemble.predict_proba(data.X_test))
    capsys.readouterr()
    assert run_cli("predict", *members, tmp_path / "x.npy", "--proba") == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == len(data.X_test) and len(rows[0].split()) == data.num_classes
    assert run_cli("predict", *members, tmp_path / "x.npy", "--weights", "1,two,3") == 2
    assert "--weights" in capsys.readouterr().err
