import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_spiral import Spiral


def test_spiral_passes_the_conformance_kit():
    check_component(Spiral)


def test_default_spiral_has_300_points_split_60_test_24_val_216_train_stratified():
    data = corenn.create("dataset", "spiral").load(seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (216, 24, 60)
    assert data.classes == ("0", "1", "2") and data.X_train.shape[1] == 2
    assert np.bincount(data.y_test).tolist() == [20, 20, 20]
    assert np.bincount(data.y_val).tolist() == [8, 8, 8]


def test_without_noise_every_point_lies_on_its_spiral():
    data = Spiral(num_classes=4, points_per_class=50, noise=0.0).load(seed=3)
    X = np.concatenate([data.X_train, data.X_val, data.X_test]).astype(np.float64)
    y = np.concatenate([data.y_train, data.y_val, data.y_test])
    r = np.hypot(X[:, 0], X[:, 1])
    t = np.arctan2(X[:, 0], X[:, 1])  # x = r sin t, y = r cos t
    # r = (i / 49) and t = 4j + 4 i / 49 for the i-th point of class j: so t - 4j - 4r is a multiple of 2 pi
    phase = (t - 4 * y - 4 * r) / (2 * np.pi)
    keep = r > 1e-3  # the centre point has no defined angle
    np.testing.assert_allclose(phase[keep], np.round(phase[keep]), atol=1e-5)
    assert r.max() == pytest.approx(1.0, abs=1e-6) and len(y) == 200


def test_the_seed_draws_the_noise_and_the_split():
    a, b = Spiral().load(seed=0), Spiral().load(seed=1)
    pool = lambda d: np.sort(np.concatenate([d.X_train, d.X_val, d.X_test]), axis=0)
    assert not np.array_equal(pool(a), pool(b))
    np.testing.assert_array_equal(pool(a), pool(Spiral().load(seed=0)))


@pytest.mark.parametrize("field, value", [("num_classes", 1), ("points_per_class", 0), ("noise", -0.1),
                                          ("test_fraction", 1.0), ("val_fraction", -0.5)])
def test_bad_hyperparameters_are_refused(field, value):
    with pytest.raises(corenn.InvalidHyperparameter, match=field):
        Spiral(**{field: value})
