"""The preprocessing pipeline: statistics from the training split only, applied everywhere.

The tutorial's warning ("never use the test set's, or the whole data set's,
mean/std") is a property of :func:`corenn.preprocessing.preprocess_data`; these
tests prove that test-set (and validation-set) statistics never leak in.
"""

import numpy as np
import pytest

import corenn
from corenn.files import load_arrays, save_arrays
from corenn.preprocessing import (
    NotFitted, PreprocessorBase, apply_preprocessors, fit_preprocessors, preprocess_data, preprocessors_state,
    restore_preprocessors,
)
from corenn.testing import ConformanceError, check_component

PIPELINES = [
    "standardize",
    ["mean_subtraction", "standardize"],
    ["min_max:low=0.0,high=1.0"],
    ["mean_subtraction", "pca:n_components=3"],
    [{"name": "whitening", "method": "zca", "eps": 1e-3}],
    ["mean_subtraction:axis=global", "whitening"],
]


def make_data(shift_test=0.0, scale_test=1.0, seed=0, n_val=30):
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((5, 5)) + 3 * np.eye(5)

    def split(n):
        return (rng.standard_normal((n, 5)) @ mixing * [1, 2, 3, 4, 5] + [10, -3, 0, 7, 1]).astype(np.float32)

    X_train, X_val, X_test = split(120), split(n_val), split(40)
    y = lambda n: rng.integers(0, 3, n)  # noqa: E731
    return corenn.Data(X_train=X_train, y_train=y(120), X_val=X_val, y_val=y(n_val),
                       X_test=X_test * scale_test + shift_test, y_test=y(40), classes=("a", "b", "c"))


def states(fitted):
    return preprocessors_state(fitted)[0]


@pytest.mark.parametrize("specs", PIPELINES, ids=str)
def test_test_set_statistics_never_leak_in(specs):
    clean, clean_fitted = preprocess_data(make_data(), specs)
    shifted, shifted_fitted = preprocess_data(make_data(shift_test=1000.0, scale_test=50.0), specs)
    # the fitted statistics do not depend on the test split at all ...
    a, b = states(clean_fitted), states(shifted_fitted)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # ... so the transformed train and validation splits are identical
    np.testing.assert_array_equal(shifted.X_train, clean.X_train)
    np.testing.assert_array_equal(shifted.X_val, clean.X_val)
    # and the test split is transformed with the training statistics (not its own)
    raw_test = make_data(shift_test=1000.0, scale_test=50.0).X_test
    np.testing.assert_array_equal(shifted.X_test, apply_preprocessors(shifted_fitted, raw_test))
    refit_on_test = fit_preprocessors(specs, raw_test)
    assert not np.allclose(shifted.X_test, apply_preprocessors(refit_on_test, raw_test), atol=1e-2)


def test_validation_statistics_never_leak_in_either():
    a, fa = preprocess_data(make_data(), "standardize")
    data = make_data()
    data.X_val = data.X_val * 10 - 500
    b, fb = preprocess_data(data, "standardize")
    np.testing.assert_array_equal(states(fa)["0.mean"], states(fb)["0.mean"])
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.X_test, b.X_test)


def test_train_is_centered_but_shifted_test_is_not():
    data = make_data(shift_test=1000.0)
    out, fitted = preprocess_data(data, "standardize")
    np.testing.assert_allclose(out.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.X_train.std(axis=0), 1, rtol=1e-4)
    train = data.X_train.astype(np.float64)
    # the test split moved by 1000 in raw units, i.e. by 1000 / std_train after standardizing
    expected = (data.X_test.mean(axis=0) - train.mean(axis=0)) / train.std(axis=0)
    np.testing.assert_allclose(out.X_test.mean(axis=0), expected, rtol=1e-4)
    assert np.all(out.X_test.mean(axis=0) > 10)


def test_preprocess_data_keeps_labels_classes_and_dtype():
    data = make_data()
    out, fitted = preprocess_data(data, ["mean_subtraction", "pca:n_components=2"])
    assert [p.name for p in fitted] == ["mean_subtraction", "pca"]
    assert out.X_train.shape == (120, 2) and out.X_val.shape == (30, 2) and out.X_test.shape == (40, 2)
    assert out.X_train.dtype == np.float32
    np.testing.assert_array_equal(out.y_train, data.y_train)
    np.testing.assert_array_equal(out.y_test, data.y_test)
    assert out.classes == data.classes
    same, none = preprocess_data(data, None)
    assert same is data and none == []


def test_an_empty_validation_split_is_fine():
    out, _ = preprocess_data(make_data(n_val=0), ["standardize", "whitening"])
    assert out.X_val.shape == (0, 5)


def test_each_preprocessor_is_fitted_on_the_output_of_the_previous():
    X = make_data().X_train
    centered, scaled = fit_preprocessors(["mean_subtraction", "standardize"], X)
    # standardize saw centered data, so the mean it learned is ~0, not the raw mean
    np.testing.assert_allclose(scaled.state_dict()["mean"], 0, atol=1e-5)
    np.testing.assert_allclose(centered.state_dict()["mean"], X.mean(axis=0, dtype=np.float64), rtol=1e-6)
    expected = corenn.create("preprocessor", "standardize").fit_transform(X)
    np.testing.assert_allclose(apply_preprocessors([centered, scaled], X), expected, atol=1e-5)


def test_specs_may_be_one_spec_a_list_or_instances_which_are_not_fitted_in_place():
    X = make_data().X_train
    mine = corenn.create("preprocessor", "min_max:low=0.0,high=2.0")
    (single,) = fit_preprocessors("standardize", X)
    (mapping,) = fit_preprocessors({"name": "pca", "n_components": 2}, X)
    (copied,) = fit_preprocessors([mine], X)
    assert single.fitted and mapping.n_components == 2 and copied.high == 2.0
    assert copied is not mine and not mine.fitted
    assert fit_preprocessors([], X) == [] and fit_preprocessors(None, X) == []
    np.testing.assert_array_equal(apply_preprocessors([], X), X)
    with pytest.raises(corenn.UnknownComponent, match="standardize"):
        fit_preprocessors("standardise", X)


def test_state_round_trips_exactly_through_a_file(tmp_path):
    data = make_data()
    specs = ["mean_subtraction", "min_max:low=0.0,high=1.0", "pca:n_components=4", "whitening:method=zca"]
    out, fitted = preprocess_data(data, specs)
    arrays, saved_specs = preprocessors_state(fitted)
    assert "0.mean" in arrays and "2.components" in arrays and "3.eigenvalues" in arrays
    assert saved_specs[2] == {"name": "pca", "n_components": 4}
    assert saved_specs[3] == {"name": "whitening", "eps": 1e-5, "method": "zca"}
    save_arrays(tmp_path / "pre.npz", arrays, {"preprocessors": saved_specs})
    loaded, document = load_arrays(tmp_path / "pre.npz")
    restored = restore_preprocessors(loaded, document["preprocessors"])
    assert [p.name for p in restored] == ["mean_subtraction", "min_max", "pca", "whitening"]
    np.testing.assert_array_equal(apply_preprocessors(restored, data.X_test), out.X_test)
    again = states(restored)
    for key in arrays:
        np.testing.assert_array_equal(again[key], arrays[key])


def test_damaged_saved_state_is_a_clear_file_error():
    arrays, specs = preprocessors_state(fit_preprocessors(["standardize", "pca"], make_data().X_train))
    missing = {k: v for k, v in arrays.items() if k != "1.components"}
    with pytest.raises(corenn.InvalidFile, match=r"preprocessor 1 \(pca\).*components"):
        restore_preprocessors(missing, specs)
    wrong_shape = dict(arrays, **{"0.scale": arrays["0.scale"][:-1]})
    with pytest.raises(corenn.InvalidFile, match="scale has shape"):
        restore_preprocessors(wrong_shape, specs)
    with pytest.raises(corenn.InvalidFile, match="2.mean"):
        restore_preprocessors(dict(arrays, **{"2.mean": arrays["0.mean"]}), specs)
    nan = dict(arrays, **{"0.mean": np.full_like(arrays["0.mean"], np.nan)})
    with pytest.raises(corenn.InvalidFile, match="finite"):
        restore_preprocessors(nan, specs)


def test_transform_before_fit_says_to_fit_on_the_training_data():
    for name in corenn.available("preprocessor"):
        with pytest.raises(NotFitted, match=f"{name}: call fit"):
            corenn.create("preprocessor", name).transform(np.ones((3, 4)))


# -- the kit has teeth: broken preprocessors fail it ----------------------------------------------

@corenn.component
class LeakyMean(PreprocessorBase):
    """Subtracts the mean of whatever it transforms (the mistake the tutorial warns about)."""

    name = "leaky_mean"
    statistics = ("mean",)

    def _fit(self, X):
        return {"mean": X.mean(axis=0)}

    def _transform(self, X):
        self._set_state({**self._state, "mean": X.mean(axis=0).astype(np.float64)})
        return X - self.stat("mean", X.dtype)


@corenn.component
class Forgetful(PreprocessorBase):
    """Transforms without being fitted (no statistics at all)."""

    name = "forgetful"

    def fit(self, X):
        return self

    def transform(self, X):
        return np.array(X, copy=True)

    def state_dict(self):
        return {}


def test_the_kit_catches_statistics_taken_at_transform_time():
    with pytest.raises(ConformanceError, match="check_no_statistics_from_transform"):
        check_component(LeakyMean, "preprocessor")


def test_the_kit_catches_a_missing_fit_check():
    with pytest.raises(ConformanceError, match="check_transform_before_fit_raises"):
        check_component(Forgetful, "preprocessor")
