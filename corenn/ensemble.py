"""Model ensembles: several trained classifiers voting on each sample.

    ensemble = corenn.Ensemble([model_a, model_b, model_c])          # mean of the class probabilities
    ensemble = corenn.Ensemble(models, weights=[2, 1, 1])             # a trusted member counts double
    ensemble = corenn.Ensemble(models, vote="majority")               # one (weighted) vote per member
    ensemble.predict(X); ensemble.predict_proba(X); ensemble.evaluate(X, y)
    ensemble = corenn.Ensemble.from_runs(["runs/a", "runs/b"])       # each run with its own preprocessing

The tutorial's bagging (its dropout section): train several models apart and let
them vote, one vote per model or weighted by how much each is trusted; networks
trained on the same data still make a useful ensemble when they differ in their
random initialization, the order of their minibatches or their hyperparameters.

With ``vote="mean"`` the ensemble's probabilities are the weighted mean of the
members' softmax probabilities, ``p = sum_i w_i softmax(s_i)`` with the weights
normalized to sum 1. With ``vote="majority"`` each member casts its weight for
its own argmax class and ``p`` is the share of the votes each class gets; ties
go to the class with the higher mean probability.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .arrays import as_float_array, as_labels
from .errors import InvalidFile, InvalidHyperparameter, InvalidInput

VOTES = ("mean", "majority")


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise ``exp(s - max s) / sum exp(s - max s)`` of scores ``(N, C)``, in their dtype."""
    p = scores - scores.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return p


class Ensemble:
    """Averages the class probabilities of several classifiers (see the module docstring).

    ``models``: objects with ``forward(X, training=False)`` giving scores ``(N, C)``
    (a :class:`corenn.Sequential`, or a run member of :meth:`from_runs`), all with
    the same C. ``weights``: one number >= 0 per member, not all 0 (default: equal).
    ``vote``: ``"mean"`` or ``"majority"``.
    """

    def __init__(self, models: Sequence[Any], weights: Sequence[float] | None = None, vote: str = "mean"):
        models = list(models) if isinstance(models, (list, tuple)) else models
        if not isinstance(models, list) or not models:
            raise InvalidInput("Ensemble: models must be a non-empty list of trained models")
        for i, model in enumerate(models):
            if not callable(getattr(model, "forward", None)):
                raise InvalidInput(f"Ensemble: member {i} ({type(model).__name__}) has no forward(X, training=False)")
        if vote not in VOTES:
            raise InvalidHyperparameter("Ensemble", "vote", vote, f"must be one of {', '.join(map(repr, VOTES))}")
        self.models, self.vote = models, vote
        self.weights = _normalized_weights(weights, len(models))

    @classmethod
    def from_runs(cls, folders: Sequence[str | os.PathLike], weights: Sequence[float] | None = None,
                  vote: str = "mean") -> Ensemble:
        """An ensemble of the models of run folders; each member applies its run's fitted
        preprocessing to the raw inputs it is given. The runs must name the same classes."""
        members = [RunMember.open(folder) for folder in folders]
        for member in members[1:]:
            if member.classes != members[0].classes:
                raise InvalidFile(f"runs {str(members[0].folder)!r} and {str(member.folder)!r} predict different "
                                  f"classes ({_short(members[0].classes)} and {_short(member.classes)}); "
                                  "ensemble runs of the same dataset")
        return cls(members, weights=weights, vote=vote)

    def __len__(self) -> int:
        return len(self.models)

    def member_probabilities(self, X: Any) -> list[np.ndarray]:
        """Each member's softmax probabilities ``(N, C)`` for the inputs X (inference mode)."""
        probabilities = [softmax(np.asarray(model.forward(X, training=False))) for model in self.models]
        widths = {p.shape[1] for p in probabilities}
        if len(widths) > 1:
            raise InvalidInput(f"Ensemble: the members give different numbers of classes "
                               f"({', '.join(str(p.shape[1]) for p in probabilities)}); ensemble models of one task")
        return probabilities

    def predict_proba(self, X: Any) -> np.ndarray:
        """The ensemble's class probabilities ``(N, C)``; rows sum to 1."""
        return self._combine(self.member_probabilities(X))

    def predict(self, X: Any) -> np.ndarray:
        """Class indices ``(N,)`` (int64) the ensemble votes for."""
        return self._decide(self.member_probabilities(X))

    def evaluate(self, X: Any, y: Any) -> dict[str, Any]:
        """Accuracy and log loss of each member and of the ensemble on (X, y).

        ``{"n": N, "members": [{"accuracy", "log_loss"}, ...], "mean_member_accuracy": ...,
        "ensemble": {"accuracy", "log_loss"}}``; log loss is the mean of ``-log p[y]``
        (the softmax cross-entropy for a member; None for a majority vote, whose
        vote shares are no probabilities to score).
        """
        probabilities = self.member_probabilities(X)
        n = probabilities[0].shape[0]
        y = as_labels(y, "Ensemble.evaluate y", n=n, num_classes=probabilities[0].shape[1])
        members = [{"accuracy": _accuracy(np.argmax(p, axis=1), y), "log_loss": _log_loss(p, y)}
                   for p in probabilities]
        combined = self._combine(probabilities)
        ensemble = {"accuracy": _accuracy(self._decide(probabilities, combined), y),
                    "log_loss": _log_loss(combined, y) if self.vote == "mean" else None}
        return {"n": int(n), "vote": self.vote, "weights": [float(w) for w in self.weights], "members": members,
                "mean_member_accuracy": float(np.mean([m["accuracy"] for m in members])), "ensemble": ensemble}

    def _combine(self, probabilities: list[np.ndarray]) -> np.ndarray:
        dtype = np.result_type(*probabilities)
        out = np.zeros(probabilities[0].shape, dtype=np.float64)
        for w, p in zip(self.weights, probabilities):
            if self.vote == "mean":
                out += w * p
            else:
                out[np.arange(len(p)), np.argmax(p, axis=1)] += w
        return out.astype(dtype, copy=False)

    def _decide(self, probabilities: list[np.ndarray], combined: np.ndarray | None = None) -> np.ndarray:
        combined = self._combine(probabilities) if combined is None else combined
        if self.vote == "mean":
            return np.argmax(combined, axis=1)
        mean = sum(w * p for w, p in zip(self.weights, probabilities))
        leaders = combined == combined.max(axis=1, keepdims=True)
        return np.argmax(np.where(leaders, mean, -1.0), axis=1)


class RunMember:
    """A run's model behind its run's fitted preprocessing: ``forward`` takes raw inputs."""

    def __init__(self, folder: Any, model: Any, preprocessors: list, classes: list, config: Any = None):
        self.folder, self.model, self.preprocessors, self.classes, self.config = folder, model, preprocessors, classes, config

    @classmethod
    def open(cls, folder: str | os.PathLike) -> RunMember:
        from .run import open_run

        config, model, fitted, classes = open_run(folder)
        return cls(folder, model, fitted, classes, config)

    def forward(self, X: Any, training: bool = False) -> np.ndarray:
        from .preprocessing import apply_preprocessors

        X = as_float_array(X, f"run {str(self.folder)!r} input", ndim=2)
        return self.model.forward(apply_preprocessors(self.preprocessors, X), training=training)


def _normalized_weights(weights: Sequence[float] | None, count: int) -> np.ndarray:
    if weights is None:
        return np.full(count, 1.0 / count)
    values = list(weights) if isinstance(weights, (list, tuple, np.ndarray)) else None
    if values is None or len(values) != count or not all(
            isinstance(w, (int, float, np.number)) and not isinstance(w, bool) and math.isfinite(w) and w >= 0
            for w in values) or sum(values) <= 0:
        raise InvalidHyperparameter("Ensemble", "weights", weights,
                                    f"must be {count} finite numbers >= 0 (one per member), not all 0")
    total = float(sum(values))
    return np.array([float(w) / total for w in values])


def _accuracy(predicted: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predicted == y))


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    picked = p[np.arange(len(y)), y].astype(np.float64)
    return float(-np.mean(np.log(np.maximum(picked, np.finfo(p.dtype).tiny))))


def _short(classes: list) -> str:
    text = ", ".join(map(str, classes[:5]))
    return f"[{text}{', ...' if len(classes) > 5 else ''}] ({len(classes)} classes)"
