import numpy as np

from corenn.testing import check_component
from corenn_relu import ReLU


def test_relu_passes_the_conformance_kit():
    check_component(ReLU)


def test_relu_zeroes_negatives_and_passes_positives():
    x = np.array([[-2.0, -0.0, 0.5, 3.0]], dtype=np.float32)
    relu = ReLU()
    np.testing.assert_array_equal(relu.forward(x), [[0, 0, 0.5, 3]])
    np.testing.assert_array_equal(relu.backward(np.ones_like(x)), [[0, 0, 1, 1]])
