"""The handwritten digits that scikit-learn ships, as a corenn dataset."""

import gzip
import importlib.util
from pathlib import Path

import numpy as np

import corenn
from corenn import dataio, validators


def bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """``(pixels (1797, 64) in 0..16, labels (1797,))`` from the copy scikit-learn ships.

    The bundled ``datasets/data/digits.csv.gz`` is read directly (importing scikit-learn
    takes seconds); where it is not found, ``sklearn.datasets.load_digits`` is used.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise corenn.InvalidFile("digits: scikit-learn, which ships the digits, is not installed; "
                                 "install corenn-digits with its dependencies (pip install scikit-learn)")
    for location in spec.submodule_search_locations or ():
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path) as f:
                table = np.loadtxt(f, delimiter=",")
            return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.asarray(bunch.data), np.asarray(bunch.target, dtype=np.int64)


@corenn.component
class Digits(dataio.DatasetBase):
    """Handwritten digits (scikit-learn's 8x8 images, 1797 of them, 10 classes); no download.

    The UCI optical-recognition digits as ``sklearn.datasets.load_digits`` gives them:
    8x8 images with pixel values 0..16, scaled here to [0, 1] (x / 16) and flattened
    row by row. ``seed`` picks a stratified test part (``test_fraction`` of all
    images), then a validation part (``val_fraction`` of the rest).
    X (N, 64) float32, y (N,) int64.
    """

    name = "digits"

    test_fraction: float = corenn.hyperparameter(0.2, doc="share of all images held out for testing",
                                                 check=validators.in_range(0, 1, low_open=True, high_open=True))
    val_fraction: float = corenn.hyperparameter(0.1, doc="share of the remaining images held out for validation",
                                                check=validators.unit_interval_open_right)

    def _load(self, rng):
        pixels, y = bundled_digits()
        X = pixels.astype(np.float32) / np.float32(16)
        return dataio.split_pool(X, y, [str(c) for c in range(10)], test_fraction=self.test_fraction,
                                 val_fraction=self.val_fraction, rng=rng)


@corenn.hookimpl
def corenn_datasets():
    return [Digits]
