"""MNIST-1D (Greydanus 2020) for corenn: the benchmark generated locally, no download.

Following the reference generator (github.com/greydanus/mnist1d, ``mnist1d/data.py`` and
``mnist1d/transform.py``): each of ten 12-point templates is padded with a random number
of zeros, stretched to 72 points, scaled, translated (circularly), given correlated
noise where it is zero and white noise everywhere, sheared, and subsampled to 40 points.
The whole set is then shuffled and standardized (one mean and standard deviation over
all of it), and split into the first ``train_split`` part for training and the rest for
testing. Random numbers come from ``numpy.random.default_rng(data_seed)``, not from the
global state the reference seeds, so the samples follow the same distribution but are
not the reference's bit for bit.
"""

import numpy as np

import corenn
from corenn import dataio, validators

#: the ten digit templates of the reference generator (12 points each, before whitening)
TEMPLATES = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
])
EPS = 1e-8  # added to the template before padding, so that only the padding is exactly zero


def templates() -> np.ndarray:
    """The templates whitened per row, shifted to start (and end) at 0, divided by 6: (10, 12)."""
    x = TEMPLATES - TEMPLATES.mean(axis=1, keepdims=True)
    x /= x.std(axis=1, keepdims=True)
    x -= x[:, :1]
    return x / 6.0


def resample(x: np.ndarray, lengths: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of the first ``lengths[i]`` points of row i onto n evenly spaced
    points spanning them (both ends kept), as ``interp1d(linspace(0, 1, L), x)(linspace(0, 1, n))``.

    Positions are computed in integers, so a new point that falls on an old one takes its
    value exactly (a zero stays exactly zero). ``x`` needs one spare column past the
    longest row.
    """
    scaled = np.arange(n)[None, :] * (np.asarray(lengths)[:, None] - 1)
    left, rest = np.divmod(scaled, n - 1)
    w = rest / (n - 1)
    rows = np.arange(len(x))[:, None]
    return x[rows, left] * (1 - w) + x[rows, left + 1] * w


def gaussian_smooth(z: np.ndarray, sigma: float = 2.0, truncate: float = 4.0) -> np.ndarray:
    """Each row filtered with a normalized Gaussian (``scipy.ndimage.gaussian_filter1d`` with its
    defaults: radius int(truncate * sigma + 0.5), edges mirrored as d c b a | a b c d)."""
    radius = int(truncate * sigma + 0.5)
    t = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(z, ((0, 0), (radius, radius)), mode="symmetric")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1, axis=1) @ kernel


def draw(n: int, length: int, rng: np.random.Generator, *, padding, max_translation: int) -> dict:
    """The random choices for n samples of ``length`` points before subsampling."""
    return {
        "pad": rng.integers(padding[0], padding[1] + 1, n),
        "scale": rng.random(n),
        "shift": rng.integers(0, max_translation, n),
        "corr_noise": rng.standard_normal((n, length)),
        "iid_noise": rng.standard_normal((n, length)),
        "shear": rng.random(n),
    }


def transform(signals: np.ndarray, d: dict, *, max_pad: int, scale_coeff: float, corr_noise_scale: float,
              iid_noise_scale: float, shear_scale: float, final_seq_length: int) -> np.ndarray:
    """The reference ``transform`` for each row of ``signals`` (N, T), given the draws ``d``."""
    n, t = signals.shape
    m = t + max_pad
    x = np.zeros((n, m + 1))
    x[:, :t] = signals + EPS  # pad: the template, then zeros
    x = resample(x, t + d["pad"], m)  # dilate the padded signal to m points
    x *= (1 + scale_coeff * (d["scale"] - 0.5))[:, None]
    x = x[np.arange(n)[:, None], (np.arange(m)[None, :] - d["shift"][:, None]) % m]  # translate
    x = np.where(x != 0, x, gaussian_smooth(corr_noise_scale * d["corr_noise"]))
    x += iid_noise_scale * d["iid_noise"]
    x -= (shear_scale * (d["shear"] - 0.5))[:, None] * np.linspace(-0.5, 0.5, m)[None, :]
    return resample(np.pad(x, ((0, 0), (0, 1))), np.full(n, m), final_seq_length)


def _padding(instance, attribute, value):
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in value) and 0 <= value[0] <= value[1])
    if not ok:
        raise corenn.InvalidHyperparameter(instance.name, attribute.name, value,
                                           "must be two integers (low, high) with 0 <= low <= high")


@corenn.component
class Mnist1D(dataio.DatasetBase):
    """MNIST-1D (Greydanus 2020): 5000 noisy 40-point 1-D signals of ten digit templates, made locally.

    The reference generator's steps and defaults (see the module docstring): templates padded
    by ``padding`` zeros, stretched to 12 + padding[1] points, scaled by 1 + scale_coeff (u - 1/2),
    translated by up to ``max_translation``, correlated noise (a sigma = 2 Gaussian filter of
    corr_noise_scale N(0, 1)) where the signal is zero, iid_noise_scale N(0, 1) white noise,
    a shear of shear_scale (u - 1/2), subsampling to ``final_seq_length``. The data set is fixed
    by ``data_seed``: the first train_split (4000) for training, the rest (1000) for testing;
    ``seed`` picks the stratified validation part (``val_fraction``) of the training part.
    The paper's MLP reaches about 68% test accuracy, its CNN about 94%.
    X (N, 40) float32, y (N,) int64.
    """

    name = "mnist1d"

    num_samples: int = corenn.hyperparameter(5000, doc="samples in all (an equal number per class)",
                                             check=validators.integer(20, 10**7))
    train_split: float = corenn.hyperparameter(0.8, doc="share of the samples for training; the rest is the test set",
                                               check=validators.in_range(0, 1, low_open=True, high_open=True))
    padding: tuple = corenn.hyperparameter((36, 60), doc="(low, high): zeros appended to a template, drawn uniformly",
                                           check=_padding)
    scale_coeff: float = corenn.hyperparameter(0.4, doc="amplitude is scaled by 1 + scale_coeff * (u - 0.5)",
                                               check=validators.in_range(0, 2))
    max_translation: int = corenn.hyperparameter(48, doc="circular shift drawn from 0 .. max_translation - 1",
                                                 check=validators.integer(1, 10**6))
    corr_noise_scale: float = corenn.hyperparameter(0.25, doc="scale of the smoothed noise put where the signal is 0",
                                                    check=validators.non_negative)
    iid_noise_scale: float = corenn.hyperparameter(0.02, doc="standard deviation of the white noise added everywhere",
                                                   check=validators.non_negative)
    shear_scale: float = corenn.hyperparameter(0.75, doc="a linear ramp of slope shear_scale * (u - 0.5) is subtracted",
                                               check=validators.non_negative)
    final_seq_length: int = corenn.hyperparameter(40, doc="points in each final signal (features)",
                                                  check=validators.integer(2, 10**6))
    data_seed: int = corenn.hyperparameter(42, doc="seed that generates the data set itself (the reference uses 42)",
                                           check=validators.integer(0, None))
    val_fraction: float = corenn.hyperparameter(0.1, doc="share of the training part held out for validation",
                                                check=validators.unit_interval_open_right)

    def generate(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole data set before splitting: X (num_samples, final_seq_length) float64
        standardized, y int64, shuffled; the same for the same hyperparameters."""
        rng = np.random.default_rng(self.data_seed)
        base = templates()
        per_class = self.num_samples // len(base)
        y = np.repeat(np.arange(len(base), dtype=np.int64), per_class)
        d = draw(len(y), base.shape[1] + self.padding[1], rng, padding=self.padding,
                 max_translation=self.max_translation)
        X = transform(base[y], d, max_pad=self.padding[1], scale_coeff=self.scale_coeff,
                      corr_noise_scale=self.corr_noise_scale, iid_noise_scale=self.iid_noise_scale,
                      shear_scale=self.shear_scale, final_seq_length=self.final_seq_length)
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
        return (X - X.mean()) / X.std(), y

    def _load(self, rng):
        X, y = self.generate()
        X = X.astype(np.float32)
        cut = int(len(y) * self.train_split)
        return dataio.split_train(X[:cut], y[:cut], X[cut:], y[cut:], [str(c) for c in range(10)],
                                  val_fraction=self.val_fraction, rng=rng)


@corenn.hookimpl
def corenn_datasets():
    return [Mnist1D]
