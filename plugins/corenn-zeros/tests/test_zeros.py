import numpy as np

from corenn.testing import check_component
from corenn_zeros import Zeros


def test_zeros_passes_the_conformance_kit():
    check_component(Zeros)


def test_zeros_gives_all_zeros_of_the_requested_shape_and_dtype():
    for dtype in (np.float32, np.float64):
        w = Zeros()((4, 3), np.random.default_rng(0), dtype)
        assert w.dtype == dtype and w.shape == (4, 3)
        assert not w.any()


def test_zeros_ignores_the_rng_and_leaves_it_untouched():
    rng = np.random.default_rng(5)
    Zeros()((10,), rng)
    assert rng.random() == np.random.default_rng(5).random()
