"""Helpers that dataset plugins share: the dataset base and deterministic splits.

A dataset plugin subclasses :class:`DatasetBase` and writes ``_load(rng)``;
``load(seed=0, **overrides)`` then takes a seed (or a Generator) and optional
hyperparameter overrides. The split helpers turn arrays into a
:class:`corenn.Data` deterministically from the seed:

    data = dataio.split_pool(X, y, classes, test_fraction=0.2, val_fraction=0.1, rng=rng)
    data = dataio.split_train(X_train, y_train, X_test, y_test, classes, val_fraction=0.1, rng=rng)

Datasets read from files that can be downloaded (verified by SHA-256) build on
the helper distribution corenn-downloads (``corenn_downloads.FolderDataset``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from .arrays import as_generator
from .component import component_name
from .data import Data
from .errors import InvalidHyperparameter


# -- datasets ---------------------------------------------------------------------------------------

class DatasetBase:
    """Base for dataset components: ``load(seed=0, **overrides)`` calls ``self._load(rng)``.

    ``seed`` is an int (the same int gives the same arrays) or a
    ``numpy.random.Generator``; ``overrides`` replace hyperparameters for this
    call only (``load(seed=1, val_fraction=0.2)``).
    """

    def load(self, seed: Any = 0, **overrides: Any) -> Data:
        if overrides:
            return with_overrides(self, overrides).load(seed)
        return self._load(as_generator(seed))

    def _load(self, rng: np.random.Generator) -> Data:  # pragma: no cover - abstract
        raise NotImplementedError


def with_overrides(obj: Any, overrides: Mapping[str, Any]) -> Any:
    """A copy of the attrs component ``obj`` with some hyperparameters replaced
    (validated as at construction); an unknown name is an InvalidHyperparameter."""
    names = {a.name for a in attrs.fields(type(obj)) if a.init}
    for key, value in overrides.items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InvalidHyperparameter(component_name(obj), key, value,
                                        f"unknown hyperparameter; {hint}it takes: {', '.join(sorted(names))}")
    return attrs.evolve(obj, **overrides)


# -- splits -----------------------------------------------------------------------------------------

def split_indices(y: np.ndarray, fraction: float, rng: np.random.Generator, *,
                  stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(kept, held_out)`` that split ``range(len(y))``, with
    ``round(fraction * len(y))`` held out, chosen by ``rng``.

    With ``stratify`` each class gives its share (largest remainders settle the
    rounding), so class proportions match in both parts. Both index arrays are
    in a random order (classes mixed).
    """
    y = np.asarray(y)
    n = len(y)
    n_held = int(round(fraction * n))
    if not stratify:
        order = rng.permutation(n)
        return order[n_held:], order[:n_held]
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = counts * (n_held / n) if n else counts * 0.0
    take = np.floor(exact).astype(np.int64)
    short = n_held - int(take.sum())
    if short > 0:  # largest fractional parts first; ties go to the larger class, then the lower label
        order = np.lexsort((np.arange(len(classes)), -counts, -(exact - take)))
        take[order[:short]] += 1
    held, kept = [], []
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inverse == c))
        held.append(members[:take[c]])
        kept.append(members[take[c]:])
    held = np.concatenate(held) if held else np.zeros(0, np.int64)
    kept = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    return rng.permutation(kept), rng.permutation(held)


def split_train(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                classes: Sequence[str], *, val_fraction: float, rng: np.random.Generator,
                stratify: bool = True, features: Callable[[np.ndarray], np.ndarray] | None = None,
                sample_shape: Sequence[int] | None = None) -> Data:
    """Data whose validation part is ``val_fraction`` of the training set (chosen by ``rng``)
    and whose test part is the given test set, unchanged and in order.

    ``features``, if given, turns each X part into features after the split (for
    example :func:`unit_pixels`, so that raw uint8 images are converted only once);
    ``sample_shape`` is the shape each row flattens (``Data.sample_shape``).
    """
    kept, held = split_indices(y_train, val_fraction, rng, stratify=stratify)
    f = features or (lambda X: X)
    return Data(f(X_train[kept]), y_train[kept], f(X_train[held]), y_train[held], f(X_test), y_test, classes,
                sample_shape=sample_shape)


def split_pool(X: np.ndarray, y: np.ndarray, classes: Sequence[str], *, test_fraction: float,
               val_fraction: float, rng: np.random.Generator, stratify: bool = True) -> Data:
    """Data from one pool of examples: ``test_fraction`` of it for testing, then
    ``val_fraction`` of the rest for validation, the remainder for training."""
    rest, test = split_indices(y, test_fraction, rng, stratify=stratify)
    kept, val = split_indices(y[rest], val_fraction, rng, stratify=stratify)
    train, val = rest[kept], rest[val]
    return Data(X[train], y[train], X[val], y[val], X[test], y[test], classes)


def unit_pixels(pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8 pixels (0..255) as float32 in [0, 1] (written into ``out`` when given)."""
    return np.divide(pixels, np.float32(255), out=out, dtype=np.float32)
