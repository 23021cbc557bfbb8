"""Minibatch training: ``corenn.Trainer`` and its ``History``.

    trainer = corenn.Trainer(model, loss="softmax_cross_entropy", optimizer="adam",
                             regularizer=None, batch_size=64, epochs=20, seed=0)
    history = trainer.fit(X, y, validation=(Xv, yv))

Each step: forward, loss (+ regularization penalty), backward, optimizer step,
regularizer constraints. The same seed gives the same numbers bit for bit: one
``numpy.random.Generator`` drives shuffling, and stochastic layers get
generators spawned from it. With ``checkpoint=PATH`` every epoch (and an
interrupted one) ends with an atomic checkpoint from which :meth:`Trainer.fit`
resumes exactly.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .arrays import as_float_array, as_labels
from .component import spec_of, value_at
from .errors import CorennError, InvalidFile, InvalidHyperparameter, InvalidInput
from .files import load_arrays, save_arrays
from .model import BatchLoss, apply_constraints
from .registry import create
from .threads import blas_threads, check_threads, thread_count

CHECKPOINT_VERSION = 1


class TrainingDiverged(CorennError):
    """The loss became NaN or infinite; the model holds its last good weights."""


class Callback:
    """Base class for training callbacks; override the events you need.

    ``logs`` of ``on_batch_end`` hold ``loss``, ``data_loss``, ``reg_loss``, ``lr``;
    those of ``on_epoch_end`` hold ``epoch``, ``train_acc``, ``val_acc``,
    ``val_loss``, ``seconds``. Set ``trainer.stop_training = True`` to stop after
    the current epoch.
    """

    def on_train_begin(self, trainer: Trainer) -> None: ...
    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...
    def on_batch_begin(self, trainer: Trainer, step: int) -> None: ...
    def on_batch_end(self, trainer: Trainer, step: int, logs: dict) -> None: ...
    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None: ...
    def on_train_end(self, trainer: Trainer, history: History) -> None: ...


@attrs.define
class History:
    """What a run recorded.

    Per iteration: ``loss`` (data + regularization), ``data_loss``, ``reg_loss``, ``lr``.
    Per epoch: ``epochs``, a list of dicts with ``epoch``, ``train_acc``, ``val_acc``,
    ``val_loss``, ``seconds``. ``ratios``: dicts ``{"step": t, "<param>": ||update|| / ||param||}``,
    the tutorial's update/weight ratio (healthy near 1e-3), every ``ratio_every`` steps.
    """

    loss: list[float] = attrs.Factory(list)
    data_loss: list[float] = attrs.Factory(list)
    reg_loss: list[float] = attrs.Factory(list)
    lr: list[float] = attrs.Factory(list)
    epochs: list[dict] = attrs.Factory(list)
    ratios: list[dict] = attrs.Factory(list)
    stopped: str | None = None

    def to_dict(self) -> dict:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{a.name: d.get(a.name, a.default.factory() if isinstance(a.default, attrs.Factory) else a.default)
                      for a in attrs.fields(cls)})

    def metric(self, key: str) -> list:
        """One per-epoch metric as a list, e.g. ``history.metric("val_acc")``."""
        return [e.get(key) for e in self.epochs]


@attrs.define
class PerEpoch:
    """A schedule read per epoch by an optimizer that counts steps: value(t) = schedule(t // steps_per_epoch)."""

    schedule: Any
    steps_per_epoch: int

    def __call__(self, t: int) -> float:
        return self.schedule(t // self.steps_per_epoch)


def _as_callback(spec: Any) -> Any:
    return create("callback", spec) if isinstance(spec, (str, dict)) else spec


class Trainer:
    """Trains a model by minibatch gradient descent (or full batch, for closure optimizers).

    ``loss``, ``optimizer``, ``regularizer``, ``schedule`` and ``callbacks`` are
    specs (names, ``"name:k=v"`` strings, mappings) or instances. ``schedule`` sets
    the optimizer's learning rate, evaluated per ``schedule_unit`` ("epoch" or
    "step"). ``regularized_layers`` restricts the regularizer to those layer
    indices (default: every layer's ``regularized`` params, i.e. dense weights).
    ``checkpoint`` is a file path written atomically after every epoch.
    ``ratio_every`` is how often (in steps; 0: never) the update/weight ratios are
    recorded; ``train_eval_size`` how many training samples the per-epoch training
    accuracy is measured on (negative: all). ``threads`` is the number of BLAS threads
    of :meth:`fit` and :meth:`evaluate`, or ``"auto"`` (see :mod:`corenn.threads`).
    """

    def __init__(self, model: Any, loss: Any = "softmax_cross_entropy", optimizer: Any = "adam",
                 regularizer: Any = None, batch_size: int = 64, epochs: int = 20, seed: int = 0,
                 callbacks: Iterable[Any] = (), *, schedule: Any = None, schedule_unit: str = "epoch",
                 regularized_layers: Sequence[int] | None = None, checkpoint: str | Path | None = None,
                 ratio_every: int = 10, train_eval_size: int = 2000, threads: int | str = "auto"):
        for field, value, least in (("batch_size", batch_size, 1), ("epochs", epochs, 0), ("seed", seed, 0),
                                    ("ratio_every", ratio_every, 0)):
            if field == "seed" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
                raise InvalidHyperparameter("Trainer", field, value, f"must be an integer >= {least}"
                                            + (" or None" if field == "seed" else ""))
        if schedule_unit not in ("epoch", "step"):
            raise InvalidHyperparameter("Trainer", "schedule_unit", schedule_unit, "must be 'epoch' or 'step'")
        self.model = model
        self.loss = create("loss", loss)
        self.optimizer = create("optimizer", optimizer)
        self.regularizer = None if regularizer is None else create("regularizer", regularizer)
        self.schedule = None if schedule is None else create("schedule", schedule)
        self.schedule_unit = schedule_unit
        self.batch_size, self.epochs, self.seed = batch_size, epochs, seed
        self.callbacks = [_as_callback(c) for c in callbacks]
        self.regularized_layers = regularized_layers
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.ratio_every = ratio_every
        self.train_eval_size = train_eval_size
        self.threads = check_threads(threads)
        self._fit_threads: int | None = None  # the count in force while fit runs
        self.history = History()
        self.stop_training = False
        self.run_folder: Path | None = None
        self.epoch = 0
        self.step = 0
        self.steps_per_epoch = 0
        self.full_batch = bool(getattr(self.optimizer, "needs_closure", False))  # e.g. lbfgs: full batch
        self.rng = np.random.default_rng(seed)
        model.reseed(self.rng.spawn(1)[0])
        self._params = model.parameters()
        self._grads = model.gradients()
        self._names = [n for n, _ in model.named_parameters()]
        self._before = None  # buffers for update ratios, made on first use
        self._good = [np.array(p, copy=True) for p in self._params]
        self._position: tuple[np.ndarray, int] | None = None  # (permutation, next batch) of an interrupted epoch
        self._interrupted = False

    # -- the loop -------------------------------------------------------------
    def fit(self, X: Any, y: Any, validation: tuple[Any, Any] | None = None) -> History:
        """Train for ``epochs`` epochs (continuing from a loaded checkpoint's position)."""
        batch = len(X) if self.full_batch and hasattr(X, "__len__") else self.batch_size
        self._fit_threads = thread_count(self.threads, self.model, batch)
        try:
            with blas_threads(self._fit_threads):
                return self._fit(X, y, validation)
        finally:
            self._fit_threads = None

    def _fit(self, X: Any, y: Any, validation: tuple[Any, Any] | None) -> History:
        X = as_float_array(X, "Trainer.fit X", ndim=2, dtype=self.model.dtype)
        # checked once here, so that each step can skip the checks (see BatchLoss)
        classes = getattr(self.model, "out_features", None)
        if hasattr(self.model, "check_width"):
            self.model.check_width(X, "Trainer.fit X")
        y = as_labels(y, "Trainer.fit y", n=X.shape[0], num_classes=classes)
        if validation is not None:
            Xv = as_float_array(validation[0], "Trainer.fit validation X", ndim=2, dtype=self.model.dtype)
            yv = as_labels(validation[1], "Trainer.fit validation y", n=Xv.shape[0], num_classes=classes)
        n = X.shape[0]
        steps_per_epoch = self.steps_per_epoch = 1 if self.full_batch else math.ceil(n / self.batch_size)
        if self.schedule is not None:
            lr = self.schedule if self.schedule_unit == "step" else PerEpoch(self.schedule, steps_per_epoch)
            self.optimizer.lr = lr
        bs = min(self.batch_size, n)
        xbuf = np.empty((bs, X.shape[1]), dtype=X.dtype)
        ybuf = np.empty(bs, dtype=np.int64)
        eval_idx = self._train_eval_indices(n)

        batch_loss = BatchLoss(self.model, self.loss, self.regularizer, self.regularized_layers)
        trusted = classes is not None  # X and y are checked, labels against the number of classes

        def objective(Xb, yb):
            try:
                return batch_loss(Xb, yb, trusted)
            except InvalidInput:
                # the data was checked finite on entry: non-finite scores mean the weights blew up
                if np.isfinite(self.model.forward(Xb, training=False)).all():
                    raise
                self._check_finite(float("nan"))
                raise

        self.stop_training = False
        with _deferred_interrupts(self), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._loop(X, y, validation and (Xv, yv), bs, xbuf, ybuf, eval_idx, objective)
        for cb in self.callbacks:
            _call(cb, "on_train_end", self, self.history)
        return self.history

    def _loop(self, X, y, validation, bs, xbuf, ybuf, eval_idx, objective) -> None:
        n, steps_per_epoch = X.shape[0], self.steps_per_epoch
        for cb in self.callbacks:
            _call(cb, "on_train_begin", self)
        try:
            while self.epoch < self.epochs and not self.stop_training:
                epoch_start = time.perf_counter()
                for cb in self.callbacks:
                    _call(cb, "on_epoch_begin", self, self.epoch)
                if self.full_batch:
                    self._full_batch_step(X, y, objective)
                else:
                    if self._position is None:
                        self._position = (self.rng.permutation(n), 0)
                    perm, start_batch = self._position
                    for b in range(start_batch, steps_per_epoch):
                        idx = perm[b * bs:(b + 1) * bs]
                        m = len(idx)
                        Xb, yb = xbuf[:m], ybuf[:m]
                        X.take(idx, axis=0, out=Xb)
                        y.take(idx, out=yb)
                        losses = self._minibatch_step(Xb, yb, objective)
                        self._position = (perm, b + 1)
                        self._log_step(*losses)
                        if self._interrupted:
                            raise KeyboardInterrupt
                self._position = None
                logs = self._end_of_epoch(X, y, eval_idx, validation, epoch_start)
                self.epoch += 1
                self._remember_good()
                for cb in self.callbacks:
                    _call(cb, "on_epoch_end", self, self.epoch - 1, logs)
                if self.checkpoint is not None:
                    self.save_checkpoint(self.checkpoint)
        except KeyboardInterrupt:
            self.history.stopped = "interrupted"
            if self.checkpoint is not None:
                self.save_checkpoint(self.checkpoint)
            raise
        except TrainingDiverged:
            self.history.stopped = "diverged"
            self._restore_good()
            raise

    def _train_eval_indices(self, n: int) -> np.ndarray:
        """A fixed subset of the training set on which per-epoch train accuracy is measured."""
        if n <= self.train_eval_size or self.train_eval_size < 0:
            return np.arange(n)
        seed = None if self.seed is None else self.seed + 1
        return np.random.default_rng(seed).choice(n, self.train_eval_size, replace=False)

    def _minibatch_step(self, Xb, yb, objective) -> tuple[float, float, float]:
        for cb in self.callbacks:
            _call(cb, "on_batch_begin", self, self.step)
        data_loss, reg_loss = objective(Xb, yb)
        self._check_finite(data_loss + reg_loss)
        lr = self.current_lr()
        measure = self.ratio_every and self.step % self.ratio_every == 0
        if measure:
            self._snapshot()
        self.optimizer.step(self._params, self._grads)
        if self.regularizer is not None:
            apply_constraints(self.model, self.regularizer, self.regularized_layers)
        if measure:
            self._record_ratios()
        return data_loss, reg_loss, lr

    def _full_batch_step(self, X, y, objective) -> None:
        def closure():
            data_loss, reg_loss = objective(X, y)
            self._check_finite(data_loss + reg_loss)
            return data_loss + reg_loss, self._grads

        for cb in self.callbacks:
            _call(cb, "on_batch_begin", self, self.step)
        lr = self.current_lr()
        self._snapshot()
        self.optimizer.step(self._params, self._grads, closure=closure)
        if self.regularizer is not None:
            apply_constraints(self.model, self.regularizer, self.regularized_layers)
        self._record_ratios()
        data_loss, reg_loss = objective(X, y)
        self._check_finite(data_loss + reg_loss)
        self._log_step(data_loss, reg_loss, lr)

    def _log_step(self, data_loss: float, reg_loss: float, lr: float) -> None:
        h = self.history
        h.loss.append(float(data_loss + reg_loss))
        h.data_loss.append(float(data_loss))
        h.reg_loss.append(float(reg_loss))
        h.lr.append(float(lr))
        self.step += 1
        if self.callbacks:
            logs = {"loss": h.loss[-1], "data_loss": h.data_loss[-1], "reg_loss": h.reg_loss[-1], "lr": h.lr[-1]}
            for cb in self.callbacks:
                _call(cb, "on_batch_end", self, self.step - 1, logs)

    def current_lr(self) -> float:
        opt = self.optimizer
        if hasattr(opt, "current"):
            return float(opt.current("lr"))
        return float(value_at(getattr(opt, "lr", float("nan")), getattr(opt, "steps", 0)))

    def _check_finite(self, loss: float) -> None:
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"the loss became {loss} at step {self.step} (epoch {self.epoch}); the model keeps its last good "
                "weights (and the last checkpoint is intact). Lower the learning rate (try 10x smaller), "
                "check the data for NaN or huge values, or standardize the inputs")

    def _snapshot(self) -> None:
        if self._before is None:
            self._before = [np.empty_like(p) for p in self._params]
        for buf, p in zip(self._before, self._params):
            np.copyto(buf, p)

    def _record_ratios(self) -> None:
        row = {"step": self.step}
        for name, buf, p in zip(self._names, self._before, self._params):
            flat = buf.reshape(-1)  # ||a|| as sqrt(a.a): one BLAS call, a third of np.linalg.norm's time
            weight = math.sqrt(float(np.dot(flat, flat)))
            np.subtract(p, buf, out=buf)
            row[name] = math.sqrt(float(np.dot(flat, flat))) / weight if weight > 0 else float("nan")
        self.history.ratios.append(row)

    def _remember_good(self) -> None:
        for good, p in zip(self._good, self._params):
            np.copyto(good, p)

    def _restore_good(self) -> None:
        for good, p in zip(self._good, self._params):
            np.copyto(p, good)

    def _end_of_epoch(self, X, y, eval_idx, validation, started: float) -> dict:
        train_acc = self._accuracy(X, y, eval_idx) if len(eval_idx) else None
        logs = {"epoch": self.epoch, "train_acc": train_acc}
        if validation:
            result = self.evaluate(*validation)
            logs["val_acc"], logs["val_loss"] = result["accuracy"], result["loss"]
        else:
            logs["val_acc"] = logs["val_loss"] = None
        logs["loss"] = float(np.mean(self.history.loss[-self.steps_per_epoch:])) if self.history.loss else None
        logs["lr"] = self.history.lr[-1] if self.history.lr else None
        logs["seconds"] = time.perf_counter() - started
        self.history.epochs.append(logs)
        return logs

    def _accuracy(self, X, y, idx) -> float:
        """Accuracy on the samples ``idx`` of X, in chunks of at most ~4 MiB of X (not one copy of them all)."""
        rows = max(64, min(1024, (4 << 20) // max(1, X.shape[1] * X.itemsize)))
        correct = 0
        for start in range(0, len(idx), rows):
            part = idx[start:start + rows]
            correct += int(np.count_nonzero(self.model.predict(X[part], batch_size=rows) == y[part]))
        return correct / len(idx)

    def evaluate(self, X: Any, y: Any, batch_size: int = 1024) -> dict:
        """Data loss and accuracy in inference mode: ``{"loss": ..., "accuracy": ..., "n": N}``."""
        count = self._fit_threads or thread_count(self.threads, self.model, batch_size)  # within fit: fit's
        with blas_threads(count):
            return self._evaluate(X, y, batch_size)

    def _evaluate(self, X: Any, y: Any, batch_size: int) -> dict:
        X = as_float_array(X, "Trainer.evaluate X", ndim=2, dtype=self.model.dtype)
        y = as_labels(y, "Trainer.evaluate y", n=X.shape[0])
        total, correct = 0.0, 0
        for i in range(0, X.shape[0], batch_size):
            scores = self.model.forward(X[i:i + batch_size], training=False)
            total += self.loss.forward(scores, y[i:i + batch_size]) * len(scores)
            correct += int(np.sum(np.argmax(scores, axis=1) == y[i:i + batch_size]))
        return {"loss": total / X.shape[0], "accuracy": correct / X.shape[0], "n": int(X.shape[0])}

    # -- checkpoints ----------------------------------------------------------
    def save_checkpoint(self, path: str | Path) -> Path:
        """Write model, optimizer state, generator states, history and position atomically."""
        from .optim import flatten_state

        arrays = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        opt_arrays, opt_doc = flatten_state(self.optimizer.state_dict())
        arrays.update({f"optimizer/{k}": v for k, v in opt_arrays.items()})
        if self._position is not None:
            arrays["position/perm"] = self._position[0]
        doc = {
            "format": "corenn-checkpoint", "version": CHECKPOINT_VERSION,
            "model": self.model.config(), "optimizer": opt_doc,
            "optimizer_spec": _spec_or_none(self.optimizer),
            "epoch": self.epoch, "step": self.step, "seed": self.seed,
            "batch": None if self._position is None else self._position[1],
            "rng": self.rng.bit_generator.state, "layer_rngs": rng_states(self.model),
            "history": self.history.to_dict(),
        }
        return save_arrays(path, arrays, doc)

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore everything :meth:`save_checkpoint` wrote; :meth:`fit` then continues from there."""
        from .optim import unflatten_state

        arrays, doc = load_arrays(path, what="checkpoint")
        if not isinstance(doc, dict) or doc.get("format") != "corenn-checkpoint":
            raise InvalidFile(f"{path} is not a corenn checkpoint")
        saved_by = (doc.get("optimizer_spec") or {}).get("name")
        if saved_by is not None and saved_by != getattr(self.optimizer, "name", saved_by):
            raise InvalidFile(f"checkpoint {path} does not match this trainer: it was saved by optimizer "
                              f"{saved_by!r}, this trainer uses {self.optimizer.name!r}; resume with the run's "
                              "own config")
        before = self._resumable_state()
        try:
            self.model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
            self.optimizer.load_state_dict(unflatten_state(
                {k[10:]: v for k, v in arrays.items() if k.startswith("optimizer/")}, doc["optimizer"]))
            self.epoch, self.step = int(doc["epoch"]), int(doc["step"])
            self.rng.bit_generator.state = doc["rng"]
            set_rng_states(self.model, doc["layer_rngs"])
            self.history = History.from_dict(doc["history"])
            batch = doc.get("batch")
            self._position = None if batch is None else (arrays["position/perm"], int(batch))
        except (InvalidFile, KeyError, TypeError, ValueError) as exc:
            self._restore_resumable_state(before)  # a checkpoint that does not fit changes nothing
            if isinstance(exc, InvalidFile):
                raise
            raise InvalidFile(f"checkpoint {path} does not match this model and optimizer ({exc}); "
                              "resume with the run's own config") from exc
        self._remember_good()

    def _resumable_state(self) -> tuple:
        """A copy of everything :meth:`load_checkpoint` replaces."""
        model_state = {k: v.copy() for k, v in self.model.state_dict().items()}
        return (model_state, self.optimizer.state_dict(), self.epoch, self.step, self.rng.bit_generator.state,
                rng_states(self.model), self.history, self._position)

    def _restore_resumable_state(self, state: tuple) -> None:
        model_state, optimizer_state, self.epoch, self.step, rng, layer_rngs, self.history, self._position = state
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(optimizer_state)
        self.rng.bit_generator.state = rng
        set_rng_states(self.model, layer_rngs)


def rng_states(model: Any) -> list:
    """The bit-generator state of every stochastic element of a model (None for the others)."""
    return [el.rng.bit_generator.state if hasattr(el, "rng") else None for el in model.layers]


def set_rng_states(model: Any, states: list) -> None:
    if len(states) != len(model.layers):
        raise ValueError(f"{len(states)} generator states for {len(model.layers)} layers")
    for el, state in zip(model.layers, states):
        if state is not None:
            el.rng.bit_generator.state = state


def _spec_or_none(component: Any) -> dict | None:
    try:
        return spec_of(component)
    except Exception:
        return None


class _deferred_interrupts:
    """Ctrl-C during training takes effect at the next batch boundary, so the
    checkpoint it writes is consistent; a second Ctrl-C interrupts at once."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.previous = None

    def __enter__(self):
        self.trainer._interrupted = False
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.trainer._interrupted:
            raise KeyboardInterrupt
        self.trainer._interrupted = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _call(callback: Any, event: str, *args: Any) -> None:
    method = getattr(callback, event, None)
    if method is not None:
        method(*args)
