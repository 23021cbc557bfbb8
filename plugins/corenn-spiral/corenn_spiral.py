"""The spiral toy dataset of CS231n for corenn."""

import numpy as np

import corenn
from corenn import dataio, validators


@corenn.component
class Spiral(dataio.DatasetBase):
    """Spiral toy set (CS231n): K classes of points on interleaved noisy spirals in 2-D.

    Class j has ``points_per_class`` points with radius r = linspace(0, 1) and angle
    t = linspace(4j, 4(j+1)) + noise * N(0, 1), at (r sin t, r cos t). Not linearly
    separable: a linear classifier gets about half right, a small MLP nearly all.
    The points are drawn from a Generator seeded by ``seed``, which also picks the
    stratified test and validation parts. X (N, 2) float32, y (N,) int64.
    """

    name = "spiral"

    num_classes: int = corenn.hyperparameter(3, doc="number of spirals (classes), K", check=validators.integer(2, 1000))
    points_per_class: int = corenn.hyperparameter(100, doc="points on each spiral, N", check=validators.integer(3, 10**7))
    noise: float = corenn.hyperparameter(0.2, doc="standard deviation of the angle noise (radians)",
                                         check=validators.non_negative)
    test_fraction: float = corenn.hyperparameter(0.2, doc="share of all points held out for testing",
                                                 check=validators.unit_interval_open_right)
    val_fraction: float = corenn.hyperparameter(0.1, doc="share of the remaining points held out for validation",
                                                check=validators.unit_interval_open_right)

    def _load(self, rng):
        k, n = self.num_classes, self.points_per_class
        r = np.tile(np.linspace(0.0, 1.0, n), k)
        t = np.linspace(4.0 * np.arange(k), 4.0 * np.arange(1, k + 1), n, axis=1).ravel()
        t += self.noise * rng.standard_normal(k * n)
        X = np.column_stack([r * np.sin(t), r * np.cos(t)]).astype(np.float32)
        y = np.repeat(np.arange(k, dtype=np.int64), n)
        return dataio.split_pool(X, y, [str(j) for j in range(k)], test_fraction=self.test_fraction,
                                 val_fraction=self.val_fraction, rng=rng)


@corenn.hookimpl
def corenn_datasets():
    return [Spiral]
