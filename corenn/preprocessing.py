"""Data preprocessing: fit statistics on the training split only, apply them everywhere.

The tutorial's warning, made a property of the API: the statistics a
preprocessor uses (means, deviations, ranges, eigenbases) come from the training
split alone, and validation and test data are transformed with those same
training statistics, never with their own.

    data, fitted = preprocess_data(data, ["mean_subtraction", "whitening"])
    X_new = apply_preprocessors(fitted, X_new)            # later, on new data
    arrays, specs = preprocessors_state(fitted)           # saved in a run folder
    fitted = restore_preprocessors(arrays, specs)         # ... and restored

:class:`PreprocessorBase` is the base that preprocessor plugins build on: input
checks, "call fit first", feature-count checks, dtype-keeping casts and an
exact ``state_dict()`` / ``load_state_dict()``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .arrays import as_float_array
from .component import spec_of
from .data import Data
from .errors import InvalidFile, InvalidInput

__all__ = [
    "PreprocessorBase", "NotFitted",
    "fit_preprocessors", "apply_preprocessors", "preprocess_data",
    "preprocessors_state", "restore_preprocessors",
]

FEATURE_SHAPE = "feature_shape"


class NotFitted(InvalidInput):
    """A preprocessor was asked to transform (or save) before it was fitted."""


class PreprocessorBase:
    """Base of preprocessor components (use with ``@corenn.component``).

    A subclass sets ``name`` and ``statistics`` (the names of the arrays that
    ``_fit`` returns) and implements ``_fit(X) -> dict`` (float64 statistics
    from the training data) and ``_transform(X)`` (X already checked);
    optionally ``_prepare()`` (derive arrays from the statistics after fit or
    load), ``_transformed_shape()`` and ``accepted_ranks``. Where an inverse
    exists, define ``inverse_transform(X2)`` starting with
    ``X2 = self.check_input(X2, "inverse_transform")``.

    The base checks every input (float dtype kept, ints cast, NaN/inf, rank,
    feature shape against the fitted one), refuses to transform before fit,
    and keeps the fitted statistics in float64; :meth:`stat` hands them out cast
    to the data's dtype (cached), so float32 data stays float32.
    """

    name: ClassVar[str]
    #: names of the fitted statistic arrays, in state_dict order (besides ``feature_shape``)
    statistics: ClassVar[tuple[str, ...]] = ()

    def __attrs_pre_init__(self) -> None:
        self._state: dict[str, np.ndarray] = {}
        self._cache: dict[tuple[str, np.dtype], np.ndarray] = {}
        self._derived: dict[str, np.ndarray] = {}

    # -- what subclasses may override ----------------------------------------
    @property
    def accepted_ranks(self) -> tuple[int, ...]:
        """Ranks of X that fit and transform accept: ``(N, D)`` or ``(N, C, H, W)``."""
        return (2, 4)

    def _fit(self, X: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _prepare(self) -> dict[str, np.ndarray]:
        """Arrays derived from the statistics (and hyperparameters), in float64."""
        return {}

    def _transformed_shape(self) -> tuple[int, ...]:
        """The shape of one transformed sample."""
        return self.feature_shape

    def _statistic_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape each statistic must have, given ``self.feature_shape`` and the
        hyperparameters (checked by ``load_state_dict``)."""
        return {}

    # -- the protocol ----------------------------------------------------------
    def fit(self, X: Any) -> PreprocessorBase:
        """Compute the statistics from ``X`` (the training data) and return self."""
        X = self.check_input(X, "fit")
        stats = self._fit(X)
        self._set_state({FEATURE_SHAPE: np.array(X.shape[1:], dtype=np.int64),
                         **{k: np.asarray(v, dtype=np.float64) for k, v in stats.items()}})
        return self

    def transform(self, X: Any) -> np.ndarray:
        """``X`` transformed with the fitted statistics (a new array of ``X``'s float dtype)."""
        return self._transform(self.check_input(X, "transform"))

    def fit_transform(self, X: Any) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)

    @property
    def fitted(self) -> bool:
        return bool(self._state)

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """The shape of one sample seen by fit (``X.shape[1:]``)."""
        self._require_fitted("feature_shape")
        return tuple(int(s) for s in self._state[FEATURE_SHAPE])

    def stat(self, key: str, dtype: Any = np.float64) -> np.ndarray:
        """A fitted statistic (or derived array) cast to ``dtype``; cached, do not modify."""
        dt = np.dtype(dtype)
        cached = self._cache.get((key, dt))
        if cached is None:
            source = self._state[key] if key in self._state else self._derived[key]
            cached = self._cache[(key, dt)] = np.ascontiguousarray(source, dtype=dt)
            cached.flags.writeable = False
        return cached

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics as arrays (copies): ``feature_shape`` plus ``statistics``."""
        self._require_fitted("state_dict")
        return {k: v.copy() for k, v in self._state.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore statistics saved by :meth:`state_dict`, exactly."""
        want = {FEATURE_SHAPE, *self.statistics}
        got = set(state)
        if got != want:
            raise InvalidInput(f"{self.name}.load_state_dict: expected the arrays {sorted(want)}, got {sorted(got)}"
                               f" (missing {sorted(want - got)}, unexpected {sorted(got - want)})")
        shape = np.asarray(state[FEATURE_SHAPE])
        if shape.ndim != 1 or shape.dtype.kind not in "iu" or (shape < 1).any() or shape.size + 1 not in self.accepted_ranks:
            raise InvalidInput(f"{self.name}.load_state_dict: {FEATURE_SHAPE} must be a vector of positive integers "
                               f"for data of rank {self.accepted_ranks}, got {shape!r}")
        new = {FEATURE_SHAPE: shape.astype(np.int64)}
        for key in self.statistics:
            value = np.asarray(state[key])
            if value.dtype.kind not in "fiu" or not np.isfinite(value).all():
                raise InvalidInput(f"{self.name}.load_state_dict: {key!r} must be a finite numeric array")
            new[key] = value.astype(np.float64)
        previous = self._state
        try:
            self._state = new
            wrong = {k: (new[k].shape, want) for k, want in self._statistic_shapes().items()
                     if new[k].shape != tuple(want)}
            if wrong:
                raise InvalidInput(", ".join(f"{k} has shape {got}, expected {want}" for k, (got, want) in wrong.items()))
            self._set_state(new)
        except Exception as exc:
            if previous:
                self._set_state(previous)
            else:
                self._clear()
            raise InvalidInput(f"{self.name}.load_state_dict: the arrays do not fit together ({exc}); "
                               "load a state saved by the same preprocessor with the same hyperparameters") from exc

    # -- machinery -------------------------------------------------------------
    def _clear(self) -> None:
        self._state, self._derived, self._cache = {}, {}, {}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self._clear()
        self._state = state
        self._derived = {k: np.asarray(v, dtype=np.float64) for k, v in self._prepare().items()}

    def _require_fitted(self, what: str) -> None:
        if not self._state:
            raise NotFitted(f"{self.name}: call fit(X_train) before {what}(); the statistics come from the "
                            "training data only (or restore them with load_state_dict)")

    def check_input(self, X: Any, stage: str) -> np.ndarray:
        """``X`` checked for ``stage`` ("fit", "transform" or "inverse_transform"):
        float dtype kept (ints cast to float32), finite, of an accepted rank; after
        fit, each sample must have the fitted shape (or the transformed shape, for
        inverse_transform). Errors name the preprocessor and the stage."""
        where = f"{self.name}.{stage}"
        if stage != "fit":
            self._require_fitted(stage)
        ranks = self.accepted_ranks
        X = as_float_array(X, where, ndim=ranks, allow_empty=stage != "fit")
        if stage == "fit":
            return X
        want = self._transformed_shape() if stage == "inverse_transform" else self.feature_shape
        if X.shape[1:] != want:
            raise InvalidInput(f"{where}: each sample has shape {X.shape[1:]}, but {self.name} was fitted on "
                               f"samples of shape {self.feature_shape}"
                               + (f" and outputs {want}" if stage == "inverse_transform" else "")
                               + "; transform data with the same features as the training data")
        return X


# -- pipelines -----------------------------------------------------------------

def _spec_list(specs: Any) -> list:
    if specs is None:
        return []
    if isinstance(specs, (str, Mapping)) or not isinstance(specs, Sequence):
        return [specs]
    return list(specs)


def fit_preprocessors(specs: Any, X_train: Any, sample_shape: Sequence[int] | None = None) -> list:
    """Build each preprocessor from its spec and fit them in sequence on ``X_train``.

    ``specs`` is one spec (name, ``"name:k=v"`` string, mapping or instance) or a
    list of them (None or ``[]``: no preprocessing). Each is fitted on the output
    of the previous one. Instances are copied, never fitted in place.

    ``sample_shape`` (such as ``(3, 32, 32)``) declares that each row of a 2-D ``X_train``
    is an image flattened in C order: a preprocessor that does not take rows (its
    ``accepted_ranks`` lack 2, such as ``mean_subtraction:axis=channel``) is fitted on
    ``X.reshape(N, *sample_shape)``, and its output is flattened back to rows, as
    :func:`apply_preprocessors` does later, so the model sees rows.
    """
    from .registry import create

    fitted = []
    X = X_train
    for spec in _spec_list(specs):
        pre = create("preprocessor", spec)
        if pre is spec:
            pre = copy.deepcopy(spec)
        X = np.asarray(X)
        if X.ndim == 2 and 2 not in pre.accepted_ranks:
            if sample_shape is None or len(sample_shape) + 1 not in pre.accepted_ranks \
                    or int(np.prod(sample_shape)) != X.shape[1]:
                raise InvalidInput(
                    f"{pre.name} works on data of rank {pre.accepted_ranks} such as images (N, C, H, W), but here "
                    f"each sample is a row of {X.shape[1]} features"
                    + ("" if sample_shape is None else f" (not the declared image shape {tuple(sample_shape)})")
                    + "; use it on a dataset that declares its image shape (such as cifar10) or on image arrays")
            pre.fit(X.reshape(len(X), *sample_shape))
            X = _transform(pre, X)
        else:
            X = pre.fit_transform(X)
        fitted.append(pre)
    return fitted


def _transform(pre: Any, X: Any) -> np.ndarray:
    """``pre.transform(X)``; rows of a preprocessor fitted on images (see :func:`fit_preprocessors`)
    are reshaped to its fitted sample shape, transformed, and flattened back to rows."""
    X = np.asarray(X)
    shape = getattr(pre, "feature_shape", None) if getattr(pre, "fitted", False) else None
    if shape is not None and X.ndim == 2 and len(shape) > 1 and X.shape[1] == int(np.prod(shape)):
        return pre.transform(X.reshape(len(X), *shape)).reshape(len(X), -1)
    return pre.transform(X)


def apply_preprocessors(fitted: Sequence[Any], X: Any) -> np.ndarray:
    """``X`` transformed by each fitted preprocessor in turn (their training statistics).
    Rows given to a preprocessor fitted on images of the same size are reshaped to those
    images and the output flattened back to rows (see :func:`fit_preprocessors`)."""
    for pre in fitted:
        X = _transform(pre, X)
    return X if fitted else np.asarray(X)


def preprocess_data(data: Data, specs: Any) -> tuple[Data, list]:
    """Fit ``specs`` on ``data.X_train`` only; transform train, val and test with those statistics.

    Returns ``(new Data, fitted preprocessors)``; labels and classes are unchanged.
    Validation and test data never contribute to any statistic.
    """
    fitted = fit_preprocessors(specs, data.X_train, sample_shape=data.sample_shape)
    if not fitted:
        return data, fitted
    X_train = apply_preprocessors(fitted, data.X_train)
    shape = data.sample_shape  # kept while the rows still have its size
    if shape is not None and X_train.shape[1:] not in (shape, (int(np.prod(shape)),)):
        shape = None
    new = Data(X_train=X_train, y_train=data.y_train,
               X_val=apply_preprocessors(fitted, data.X_val), y_val=data.y_val,
               X_test=apply_preprocessors(fitted, data.X_test), y_test=data.y_test,
               classes=data.classes, sample_shape=shape)
    return new, fitted


def preprocessors_state(fitted: Sequence[Any]) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """``(arrays, specs)`` to save fitted preprocessors: arrays keyed ``"<index>.<key>"``
    (``"0.mean"``), specs as plain mappings (``{"name": ..., **hyperparameters}``)."""
    arrays: dict[str, np.ndarray] = {}
    specs: list[dict[str, Any]] = []
    for i, pre in enumerate(fitted):
        specs.append(spec_of(pre))
        for key, value in pre.state_dict().items():
            arrays[f"{i}.{key}"] = value
    return arrays, specs


def restore_preprocessors(arrays: Mapping[str, np.ndarray], specs: Sequence[Any]) -> list:
    """The fitted preprocessors that :func:`preprocessors_state` saved, rebuilt exactly."""
    from .registry import create

    specs = list(specs)
    known = {f"{i}." for i in range(len(specs))}
    stray = sorted(k for k in arrays if k.split(".", 1)[0] + "." not in known)
    if stray:
        raise InvalidFile(f"saved preprocessor state has arrays for no saved preprocessor: {stray}")
    restored = []
    for i, spec in enumerate(specs):
        pre = create("preprocessor", spec)
        prefix = f"{i}."
        state = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        try:
            pre.load_state_dict(state)
        except InvalidInput as exc:
            raise InvalidFile(f"saved state of preprocessor {i} ({pre.name}) is damaged: {exc}") from exc
        restored.append(pre)
    return restored
