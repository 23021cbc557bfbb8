import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_mean_subtraction import MeanSubtraction

RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 6)) * [1, 2, 3, 4, 5, 6] + [10, -3, 0, 7, 100, -50]
IMAGES = (RNG.uniform(0, 1, (20, 3, 4, 5)) + np.array([0.2, 0.5, 0.9])[:, None, None]).astype(np.float32)


@pytest.mark.parametrize("axis", ["feature", "channel", "global"])
def test_passes_the_conformance_kit(axis):
    check_component(MeanSubtraction(axis=axis))


def test_registered_from_its_own_distribution():
    assert corenn.describe("preprocessor", "mean_subtraction").distribution == "corenn-mean-subtraction"
    assert corenn.create("preprocessor", "mean_subtraction:axis=global").axis == "global"


def test_feature_axis_subtracts_the_mean_image():
    pre = MeanSubtraction().fit(X)
    np.testing.assert_allclose(pre.state_dict()["mean"], X.mean(axis=0), rtol=1e-12)
    out = pre.transform(X)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out, X - X.mean(axis=0), rtol=1e-12)
    # on images, the mean image has the shape of one image
    img = MeanSubtraction().fit(IMAGES)
    assert img.state_dict()["mean"].shape == (3, 4, 5)
    np.testing.assert_allclose(img.transform(IMAGES).mean(axis=0), 0, atol=1e-6)


def test_channel_axis_one_mean_per_channel_on_nchw():
    pre = MeanSubtraction(axis="channel").fit(IMAGES)
    mean = pre.state_dict()["mean"]
    assert mean.shape == (3,)
    np.testing.assert_allclose(mean, IMAGES.mean(axis=(0, 2, 3), dtype=np.float64), rtol=1e-6)
    out = pre.transform(IMAGES)
    assert out.dtype == np.float32 and out.shape == IMAGES.shape
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    # not per pixel: a channel's pixels keep their differences from each other
    np.testing.assert_allclose(out[:, 1] - IMAGES[:, 1], -mean[1], rtol=1e-6)


def test_channel_axis_needs_images():
    with pytest.raises(corenn.InvalidInput, match=r"mean_subtraction\.fit.*4-d"):
        MeanSubtraction(axis="channel").fit(X)


def test_global_axis_one_scalar():
    pre = MeanSubtraction(axis="global").fit(X)
    assert pre.state_dict()["mean"].shape == ()
    out = pre.transform(X)
    assert out.mean() == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(out, X - X.mean(), rtol=1e-12)


def test_other_data_use_the_training_mean():
    pre = MeanSubtraction().fit(X)
    test = X[:10] + 1000.0
    np.testing.assert_allclose(pre.transform(test), test - X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(pre.transform(test).mean(axis=0), X[:10].mean(axis=0) - X.mean(axis=0) + 1000, rtol=1e-9)


def test_bad_axis_is_rejected():
    with pytest.raises(corenn.InvalidHyperparameter, match="axis"):
        MeanSubtraction(axis="pixel")
