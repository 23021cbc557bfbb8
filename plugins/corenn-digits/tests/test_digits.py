import numpy as np
import pytest

import corenn
from corenn.testing import check_component
from corenn_digits import Digits, bundled_digits


def test_digits_passes_the_conformance_kit():
    check_component(Digits)


def test_the_bundled_file_read_directly_is_what_load_digits_gives(monkeypatch, tmp_path):
    pixels, labels = bundled_digits()
    assert pixels.shape == (1797, 64) and pixels.min() == 0 and pixels.max() == 16
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # where the file is not found, scikit-learn's own loader (slow to import) is used instead
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    monkeypatch.setattr(spec, "submodule_search_locations", [str(tmp_path)])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    fallback_pixels, fallback_labels = bundled_digits()
    np.testing.assert_array_equal(fallback_pixels, pixels)
    np.testing.assert_array_equal(fallback_labels, labels)


def test_digits_are_1797_images_of_64_pixels_in_unit_range_split_by_fractions():
    data = corenn.create("dataset", "digits").load(seed=0)
    sizes = len(data.y_train), len(data.y_val), len(data.y_test)
    assert sum(sizes) == 1797
    assert sizes[2] == round(0.2 * 1797) and sizes[1] == round(0.1 * (1797 - sizes[2]))
    X = np.concatenate([data.X_train, data.X_val, data.X_test])
    assert X.shape == (1797, 64) and X.min() == 0.0 and X.max() == 1.0
    # every value is a sixteenth: the 0..16 pixels divided by 16
    np.testing.assert_array_equal(X * 16, np.round(X * 16))
    assert data.classes == tuple("0123456789")


def test_the_split_is_a_stratified_partition_of_the_images():
    pixels, labels = bundled_digits()
    data = Digits().load(seed=5)
    rows = lambda X: {r.tobytes() for r in np.round(X * 16).astype(np.uint8)}
    assert rows(np.concatenate([data.X_train, data.X_val, data.X_test])) == rows(pixels.astype(np.float32) / 16)
    share = np.bincount(data.y_test, minlength=10) / np.bincount(labels, minlength=10)
    np.testing.assert_allclose(share, 0.2, atol=0.01)


def test_the_seed_chooses_the_split_and_repeats_it():
    a, b, again = Digits().load(seed=0), Digits().load(seed=1), Digits().load(seed=0)
    assert not np.array_equal(a.y_test, b.y_test)
    np.testing.assert_array_equal(a.X_train, again.X_train)
    np.testing.assert_array_equal(a.y_val, again.y_val)


def test_test_fraction_must_leave_something_to_test_on():
    with pytest.raises(corenn.InvalidHyperparameter, match="test_fraction"):
        Digits(test_fraction=0.0)
