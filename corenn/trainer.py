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

from .arrays import as_float_array, as_labels, flat_buffer, views_like
from .component import hyperparameters, spec_of, value_at
from .errors import CorennError, InvalidFile, InvalidHyperparameter, InvalidInput
from .files import flatten_state, load_arrays, save_arrays, unflatten_state
from .model import BatchLoss, Sequential, apply_constraints, as_regularizers, evaluate
from .protocols import CurrentValues, NeedsClosure, StatefulCallback, Stochastic
from .registry import create
from .threads import blas_threads, check_threads, thread_count

CHECKPOINT_VERSION = 1
#: the per-epoch training accuracy's automatic subset: a fortieth of the training set, within these
#: bounds (its forward pass then costs ~1% of an epoch, and it is as large as a small validation set)
EVAL_FRACTION, EVAL_LEAST, EVAL_MOST = 40, 250, 2000
#: elements per block of the update-ratio difference (256 KiB of float32: stays in cache)
RATIO_BLOCK = 1 << 16


class TrainingDiverged(CorennError):
    """The loss became NaN or infinite; the model holds its last good weights."""


class InterruptedMidStep(KeyboardInterrupt):
    """A Ctrl-C that stops training in the middle of an update: nothing is written, so the last
    checkpoint (of a consistent point) stays as it was."""


class Callback:
    """Base class for training callbacks; override the events you need.

    ``logs`` of ``on_batch_end`` hold ``loss``, ``data_loss``, ``reg_loss``, ``lr``;
    those of ``on_epoch_end`` hold ``epoch``, ``train_acc``, ``val_acc``,
    ``val_loss``, ``seconds``. Set ``trainer.stop_training = True`` to stop: set in
    ``on_batch_begin`` or ``on_batch_end``, the run ends right after that batch (the
    unfinished epoch gets no end-of-epoch evaluation, and a checkpoint keeps the
    position, so a resumed fit continues with the next batch); set in ``on_epoch_end``,
    it ends after that epoch. During ``fit``, ``trainer.validation_data`` is the checked
    ``(X, y)`` given as validation (None without), e.g. for a held-out batch.

    A callback a plugin registers (hook ``corenn_callbacks``, kind ``callback``) is a
    component like any other: an attrs class (``@corenn.component``) with a ``name``
    whose hyperparameters are its fields, so ``--callback doctor:gap=0.1`` builds it;
    it may define any of the events below (the names in :data:`EVENTS`), a class
    attribute ``enabled_by_default = True`` to run in every ``corenn train`` unless
    switched off, and ``report() -> str``, printed when the run ends.
    """

    def on_train_begin(self, trainer: Trainer) -> None: ...
    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...
    def on_batch_begin(self, trainer: Trainer, step: int) -> None: ...
    def on_batch_end(self, trainer: Trainer, step: int, logs: dict) -> None: ...
    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None: ...
    def on_train_end(self, trainer: Trainer, history: History) -> None: ...


#: the events the trainer calls on a callback, in the order of a run
EVENTS = ("on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end", "on_epoch_end", "on_train_end")


@attrs.define
class History:
    """What a run recorded.

    Per iteration: ``loss`` (data + regularization), ``data_loss``, ``reg_loss``, ``lr``.
    Per epoch: ``epochs``, a list of dicts with ``epoch``, ``train_acc``, ``val_acc``,
    ``val_loss``, ``seconds``. ``ratios``: dicts ``{"step": t, "<param>": ||update|| / ||param||}``,
    the tutorial's update/weight ratio (healthy near 1e-3), every ``ratio_every`` steps.
    ``stopped``: why the last :meth:`Trainer.fit` ended early ("interrupted", "diverged", a
    callback's reason), None when it ran to the end. ``seconds``: the time spent in ``fit``,
    summed over every segment of a resumed run.
    ``series``: rows a callback records under a name of its own, e.g. ``series["dead_units"]``,
    a list of dicts ``{"step": t, ...}`` (kept in checkpoints and ``history.json``).
    """

    loss: list[float] = attrs.Factory(list)
    data_loss: list[float] = attrs.Factory(list)
    reg_loss: list[float] = attrs.Factory(list)
    lr: list[float] = attrs.Factory(list)
    epochs: list[dict] = attrs.Factory(list)
    ratios: list[dict] = attrs.Factory(list)
    stopped: str | None = None
    seconds: float = 0.0
    series: dict[str, list[dict]] = attrs.Factory(dict)

    def to_dict(self) -> dict:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{a.name: d.get(a.name, a.default.factory() if isinstance(a.default, attrs.Factory) else a.default)
                      for a in attrs.fields(cls)})

    def metric(self, key: str) -> list:
        """One per-epoch metric as a list, e.g. ``history.metric("val_acc")``."""
        return [e.get(key) for e in self.epochs]


def _as_callback(spec: Any) -> Any:
    return create("callback", spec) if isinstance(spec, (str, dict)) else spec


class Trainer:
    """Trains a model (a :class:`corenn.Sequential`) by minibatch gradient descent (or full batch, for
    closure optimizers).

    ``loss``, ``optimizer``, ``regularizer``, ``schedule`` and ``callbacks`` are
    specs (names, ``"name:k=v"`` strings, mappings) or instances; ``regularizer``
    may be a list (penalties and gradients add up, constraints apply in the order
    given). ``shuffle=False`` takes the batches in dataset order. ``schedule`` is
    shorthand for the optimizer's ``lr`` (:func:`corenn.optim.with_schedule`); a
    schedule spec that names no ``unit`` counts ``schedule_unit`` ("epoch" or
    "step"). Every schedule-valued hyperparameter of the optimizer is read in its
    own unit: the trainer tells the optimizer its steps per epoch. ``regularized_layers`` restricts the regularizer to those layer
    indices (default: every layer's ``regularized`` params, i.e. dense weights).
    ``checkpoint`` is a file path written atomically after every epoch.
    ``ratio_every`` is how often (in steps; 0: never) the update/weight ratios are
    recorded; ``train_eval_size`` how many training samples the per-epoch training
    accuracy is measured on (negative: all; None: a fortieth of the training set, at
    least 250 and at most 2000 samples, so that the pass costs ~1% of an epoch).
    When the loss becomes NaN or infinite the model goes back to its last good weights:
    those of the latest step whose loss was finite among the first step of each epoch
    (and of each :meth:`fit`) and every ``ratio_every``-th step (the ratios are measured
    against them, so they cost no second copy of the model). ``threads`` is the number of
    BLAS threads of :meth:`fit` and :meth:`evaluate`, or ``"auto"`` (see :mod:`corenn.threads`).
    """

    def __init__(self, model: Any, loss: Any = "softmax_cross_entropy", optimizer: Any = "adam",
                 regularizer: Any = None, batch_size: int = 64, epochs: int = 20, seed: int = 0,
                 callbacks: Iterable[Any] = (), *, schedule: Any = None, schedule_unit: str = "epoch",
                 regularized_layers: Sequence[int] | None = None, checkpoint: str | Path | None = None,
                 ratio_every: int = 10, train_eval_size: int | None = None, shuffle: bool = True,
                 threads: int | str = "auto"):
        for field, value, least in (("batch_size", batch_size, 1), ("epochs", epochs, 0), ("seed", seed, 0),
                                    ("ratio_every", ratio_every, 0)):
            if field == "seed" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
                raise InvalidHyperparameter("Trainer", field, value, f"must be an integer >= {least}"
                                            + (" or None" if field == "seed" else ""))
        if schedule_unit not in ("epoch", "step"):
            raise InvalidHyperparameter("Trainer", "schedule_unit", schedule_unit, "must be 'epoch' or 'step'")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise InvalidHyperparameter("Trainer", "shuffle", shuffle, "must be True or False")
        self.model = model
        self.loss = create("loss", loss)
        if schedule is not None:
            from .optim import with_schedule

            optimizer = with_schedule(optimizer, schedule, schedule_unit)
        self.optimizer = create("optimizer", optimizer)
        self.regularizers = as_regularizers(regularizer)
        # one instance stays one (as given); a list stays a list
        self.regularizer = self.regularizers if isinstance(regularizer, (list, tuple)) else \
            (self.regularizers[0] if self.regularizers else None)
        self.shuffle = bool(shuffle)
        self.batch_size, self.epochs, self.seed = batch_size, epochs, seed
        self.callbacks = [_as_callback(c) for c in callbacks]
        self.regularized_layers = regularized_layers
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.ratio_every = ratio_every
        if train_eval_size is not None and (isinstance(train_eval_size, bool)
                                            or not isinstance(train_eval_size, (int, np.integer))):
            raise InvalidHyperparameter("Trainer", "train_eval_size", train_eval_size, "must be an integer or None")
        self.train_eval_size = train_eval_size
        self.threads = check_threads(threads)
        self._fit_threads: int | None = None  # the count in force while fit runs
        self.history = History()
        self.stop_training = False
        self.run_folder: Path | None = None
        self.epoch = 0
        self.step = 0
        self.steps_per_epoch = 0
        self.full_batch = isinstance(self.optimizer, NeedsClosure) and bool(self.optimizer.needs_closure)
        self._reads_current = isinstance(self.optimizer, CurrentValues)  # once: a protocol check costs ~6 us
        self.rng = np.random.default_rng(seed)
        model.reseed(self.rng.spawn(1)[0])
        self._params = model.parameters()
        self._grads = model.gradients()
        self._names = [n for n, _ in model.named_parameters()]
        self._flat_params = flat_buffer(self._params)  # the model's one parameter buffer, if it has one
        self._good_flat = None if self._flat_params is None else self._flat_params.copy()
        self._good = [np.array(p, copy=True) for p in self._params] if self._good_flat is None else \
            views_like(self._good_flat, self._params)
        self._remember_next = True  # copy the weights to _good at the next step (an epoch's or fit's first)
        self._scratch: np.ndarray | None = None  # for the update ratios, made on first use
        self._ratio_views: list = []  # (name, before, after, its part of the scratch or None) per parameter
        self._position: tuple[np.ndarray, int] | None = None  # (permutation, next batch) of an interrupted epoch
        self._interrupted = False
        self._stopped_at_checkpoint = False  # a callback had stopped the run that a loaded checkpoint holds
        self._callback_states: dict[str, Any] = {}  # loaded, handed to the callbacks after on_train_begin
        self._segment: tuple[float, float] | None = None  # (start of this fit, seconds of earlier ones)

    # -- the loop -------------------------------------------------------------
    def fit(self, X: Any, y: Any, validation: tuple[Any, Any] | None = None) -> History:
        """Train for ``epochs`` epochs (continuing from a loaded checkpoint's position)."""
        batch = len(X) if self.full_batch and hasattr(X, "__len__") else self.batch_size
        self._fit_threads = thread_count(self.threads, self.model, batch)
        shares = hasattr(self.optimizer, "update_threads")  # a packed update may use the same threads
        if shares:
            self.optimizer.update_threads = self._fit_threads
        try:
            with blas_threads(self._fit_threads):
                return self._fit(X, y, validation)
        finally:
            self._fit_threads = None
            if shares:
                self.optimizer.update_threads = 1

    def _fit(self, X: Any, y: Any, validation: tuple[Any, Any] | None) -> History:
        X = as_float_array(X, "Trainer.fit X", ndim=2, dtype=self.model.dtype)
        # checked once here, so that each step can skip the checks (see BatchLoss)
        classes = self.model.out_features
        self.model.check_width(X, "Trainer.fit X")
        y = as_labels(y, "Trainer.fit y", n=X.shape[0], num_classes=classes)
        if validation is not None:
            Xv = as_float_array(validation[0], "Trainer.fit validation X", ndim=2, dtype=self.model.dtype)
            yv = as_labels(validation[1], "Trainer.fit validation y", n=Xv.shape[0], num_classes=classes)
        n = X.shape[0]
        self.steps_per_epoch = 1 if self.full_batch else math.ceil(n / self.batch_size)
        self.optimizer.steps_per_epoch = self.steps_per_epoch  # for schedules that count epochs
        bs = min(self.batch_size, n)
        xbuf = np.empty((bs, X.shape[1]), dtype=X.dtype)
        ybuf = np.empty(bs, dtype=np.int64)
        eval_idx = self._train_eval_indices(n)

        batch_loss = BatchLoss(self.model, self.loss, self.regularizers, self.regularized_layers)
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

        self.validation_data = validation and (Xv, yv)
        self._check_position(n)
        self.stop_training, self._stopped_at_checkpoint = self._stopped_at_checkpoint, False
        if not self.stop_training:
            self.history.stopped = None  # a resumed run is judged by how this segment ends
        self._segment = (time.perf_counter(), self.history.seconds)
        self._remember_next = True
        with _deferred_interrupts(self), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                self._loop(X, y, validation and (Xv, yv), bs, xbuf, ybuf, eval_idx, objective)
            finally:
                self._count_seconds()
                self._segment = None
        for cb in self.callbacks:
            _call(cb, "on_train_end", self, self.history)
        return self.history

    def _loop(self, X, y, validation, bs, xbuf, ybuf, eval_idx, objective) -> None:
        n, steps_per_epoch = X.shape[0], self.steps_per_epoch
        for cb in self.callbacks:
            _call(cb, "on_train_begin", self)
        self._restore_callback_states()
        try:
            while self.epoch < self.epochs and not self.stop_training:
                epoch_start = time.perf_counter()
                for cb in self.callbacks:
                    _call(cb, "on_epoch_begin", self, self.epoch)
                if self.full_batch:
                    self._full_batch_step(X, y, objective)
                else:
                    if self._position is None:
                        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
                        self._position = (order, 0)
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
                        if self.stop_training:
                            break
                    if self._position[1] < steps_per_epoch:  # a callback stopped the run mid-epoch
                        if self.checkpoint is not None:
                            self.save_checkpoint(self.checkpoint)
                        break
                self._position = None
                logs = self._end_of_epoch(X, y, eval_idx, validation, epoch_start)
                for schedule in self.observing_schedules():
                    schedule.observe(self.epoch, logs)
                self.epoch += 1
                self._remember_next = True
                for cb in self.callbacks:
                    _call(cb, "on_epoch_end", self, self.epoch - 1, logs)
                if self._interrupted:  # during a full-batch step or the end-of-epoch work: checkpointed below
                    raise KeyboardInterrupt
                if self.checkpoint is not None:
                    self.save_checkpoint(self.checkpoint)
        except InterruptedMidStep:
            self.history.stopped = "interrupted"  # the model is mid-update: the last checkpoint stays
            raise
        except KeyboardInterrupt:
            self.history.stopped = "interrupted"
            if self.checkpoint is not None:
                self.save_checkpoint(self.checkpoint)
            raise
        except TrainingDiverged:
            self.history.stopped = "diverged"
            self._restore_good()
            raise

    def _count_seconds(self) -> None:
        """history.seconds: the earlier segments' time plus this fit's so far."""
        if self._segment is not None:
            started, before = self._segment
            self.history.seconds = before + time.perf_counter() - started

    def _train_eval_indices(self, n: int) -> np.ndarray:
        """A fixed subset of the training set on which per-epoch train accuracy is measured."""
        size = self.train_eval_size
        if size is None:
            size = max(EVAL_LEAST, min(EVAL_MOST, n // EVAL_FRACTION))
        if n <= size or size < 0:
            return np.arange(n)
        seed = None if self.seed is None else self.seed + 1
        return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))

    def _minibatch_step(self, Xb, yb, objective) -> tuple[float, float, float]:
        for cb in self.callbacks:
            _call(cb, "on_batch_begin", self, self.step)
        data_loss, reg_loss = objective(Xb, yb)
        self._check_finite(data_loss + reg_loss)
        lr = self.current_lr()
        measure = self.ratio_every and self.step % self.ratio_every == 0
        if measure or self._remember_next:
            self._remember_good()  # the loss was finite at these weights
        self.optimizer.step(self._params, self._grads)
        if self.regularizers:
            apply_constraints(self.model, self.regularizers, self.regularized_layers)
        if measure:
            self._record_ratios()
        return data_loss, reg_loss, lr

    def _full_batch_step(self, X, y, objective) -> None:
        def closure():
            if self._interrupted:  # a full-batch step can take long: stop inside it (the checkpoint stays)
                raise InterruptedMidStep
            data_loss, reg_loss = objective(X, y)
            self._check_finite(data_loss + reg_loss)
            return data_loss + reg_loss, self._grads

        for cb in self.callbacks:
            _call(cb, "on_batch_begin", self, self.step)
        lr = self.current_lr()
        self._remember_good()  # the loss was finite at these weights (checked after the last step)
        self.optimizer.step(self._params, self._grads, closure=closure)
        if self.regularizers:
            apply_constraints(self.model, self.regularizers, self.regularized_layers)
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

    def observing_schedules(self) -> list:
        """The schedules whose value follows the epoch metrics (:class:`corenn.protocols.ObservesMetrics`,
        such as reduce on plateau) among the optimizer's hyperparameters (``schedule=`` sets its lr)."""
        from .protocols import ObservesMetrics

        found: dict[int, Any] = {}
        for a in hyperparameters(self.optimizer):
            value = getattr(self.optimizer, a.name)
            if isinstance(value, ObservesMetrics):
                found.setdefault(id(value), value)
        return list(found.values())

    def current_lr(self) -> float:
        """The learning rate the optimizer's next step uses (its ``lr`` read in the schedule's unit)."""
        opt = self.optimizer
        if self._reads_current:
            return float(opt.current("lr"))
        return float(value_at(opt.lr, self.step, self.steps_per_epoch))

    def _check_finite(self, loss: float) -> None:
        if not math.isfinite(loss):
            if self.checkpoint is not None and self.checkpoint.is_file():
                kept = "weights (and the last checkpoint is intact)"
            elif self.checkpoint is not None:
                kept = "weights (no checkpoint was written yet: resuming starts the run over)"
            else:
                kept = "weights"
            raise TrainingDiverged(
                f"the loss became {loss} at step {self.step} (epoch {self.epoch}); the model keeps its last good "
                f"{kept}. Lower the learning rate (try 10x smaller), "
                "check the data for NaN or huge values, or standardize the inputs")

    def _record_ratios(self) -> None:
        """``||W - W_before|| / ||W_before||`` per parameter, ``W_before`` being the last good weights
        (copied just before this step's update); ``||a||^2`` as ``a.a`` (BLAS dot), the difference
        taken and both sums made block by block of ``RATIO_BLOCK`` elements (no copy of the model);
        a model of one block in one flat buffer takes its whole difference in one call."""
        if self._scratch is None:
            self._plan_ratios()
        row = {"step": self.step}
        if self._ratio_views[0][3] is not None:  # one flat block
            np.subtract(self._flat_params, self._good_flat, out=self._scratch)
            for name, before, _, diff in self._ratio_views:
                weight = float(np.dot(before, before))
                row[name] = math.sqrt(float(np.dot(diff, diff)) / weight) if weight > 0 else float("nan")
            self.history.ratios.append(row)
            return
        for name, before, after, _ in self._ratio_views:
            weight = moved = 0.0
            for a in range(0, before.size, RATIO_BLOCK):  # each block of `before` read once from memory
                block = before[a:a + RATIO_BLOCK]
                diff = self._scratch[:block.size]
                np.subtract(after[a:a + RATIO_BLOCK], block, out=diff)
                moved += float(np.dot(diff, diff))
                weight += float(np.dot(block, block))
            row[name] = math.sqrt(moved / weight) if weight > 0 else float("nan")
        self.history.ratios.append(row)

    def _plan_ratios(self) -> None:
        """The scratch of the ratios (the whole difference for a one-block flat model, else one
        block) and, per parameter, ``(name, before, after, its part of the scratch or None)``, 1-d."""
        params = self._params
        total = sum(p.size for p in params)
        whole = self._good_flat is not None and total <= RATIO_BLOCK
        self._scratch = np.empty(total if whole else min(RATIO_BLOCK, max(p.size for p in params)), params[0].dtype)
        diffs = views_like(self._scratch, params) if whole else [None] * len(params)
        self._ratio_views = [(name, good.reshape(-1), p.reshape(-1), None if diff is None else diff.reshape(-1))
                             for name, good, p, diff in zip(self._names, self._good, params, diffs)]

    def _remember_good(self) -> None:
        self._remember_next = False
        if self._good_flat is not None:
            np.copyto(self._good_flat, self._flat_params)
            return
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
        """Accuracy in inference mode on the samples ``idx`` of X (checked on entry to fit), gathered
        into one buffer of at most ~1 MiB at a time (not one copy of them all)."""
        rows = min(len(idx), max(64, min(1024, (1 << 20) // max(1, X.shape[1] * X.itemsize))))
        batch = np.empty((rows, X.shape[1]), X.dtype)
        model = self.model
        run = model._run if isinstance(model, Sequential) else model.forward
        correct = 0
        for start in range(0, len(idx), rows):
            part = idx[start:start + rows]
            xb = batch[:len(part)]
            X.take(part, axis=0, out=xb)
            correct += int(np.count_nonzero(np.argmax(run(xb, False), axis=1) == y[part]))
        return correct / len(idx)

    def evaluate(self, X: Any, y: Any, batch_size: int = 1024) -> dict:
        """Data loss and accuracy in inference mode: ``{"loss": ..., "accuracy": ..., "n": N}``
        (:func:`corenn.model.evaluate` with this trainer's model and loss)."""
        count = self._fit_threads or thread_count(self.threads, self.model, batch_size)  # within fit: fit's
        with blas_threads(count):
            return evaluate(self.model, self.loss, X, y, batch_size, where="Trainer.evaluate")

    # -- checkpoints ----------------------------------------------------------
    def save_checkpoint(self, path: str | Path) -> Path:
        """Write model, optimizer state, generator states, history and position atomically."""
        self._count_seconds()
        arrays = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        opt_arrays, opt_doc = flatten_state(self.optimizer.state_dict())
        arrays.update({f"optimizer/{k}": v for k, v in opt_arrays.items()})
        if self._position is not None:
            arrays["position/perm"] = self._position[0]
        callback_arrays, callback_doc = flatten_state(self._callback_state_dicts(), prefix="callbacks/")
        arrays.update(callback_arrays)
        doc = {
            "format": "corenn-checkpoint", "version": CHECKPOINT_VERSION,
            "model": self.model.config(), "optimizer": opt_doc,
            "optimizer_spec": _spec_or_none(self.optimizer),
            "epoch": self.epoch, "step": self.step, "seed": self.seed,
            "batch": None if self._position is None else self._position[1],
            "rng": self.rng.bit_generator.state, "layer_rngs": rng_states(self.model),
            "history": self.history.to_dict(),
            "schedules": [s.state_dict() for s in self.observing_schedules()],
            "callbacks": callback_doc, "stopped": bool(self.stop_training),
        }
        return save_arrays(path, arrays, doc)

    def _callback_state_dicts(self) -> dict[str, Any]:
        """The state of every callback that declares one (``state_dict``), keyed by name (name#2, ... for repeats)."""
        states: dict[str, Any] = {}
        for key, cb in self._keyed_callbacks():
            if isinstance(cb, StatefulCallback):
                states[key] = cb.state_dict()
        return states

    def _keyed_callbacks(self) -> list[tuple[str, Any]]:
        seen: dict[str, int] = {}
        keyed = []
        for cb in self.callbacks:
            name = str(getattr(cb, "name", type(cb).__name__))
            seen[name] = seen.get(name, 0) + 1
            keyed.append((name if seen[name] == 1 else f"{name}#{seen[name]}", cb))
        return keyed

    def _restore_callback_states(self) -> None:
        for key, cb in self._keyed_callbacks():
            if key in self._callback_states and isinstance(cb, StatefulCallback):
                cb.load_state_dict(self._callback_states[key])
        self._callback_states = {}

    def _check_position(self, n: int) -> None:
        """A loaded checkpoint's position in an epoch must fit the data it continues on."""
        if self._position is None:
            return
        perm, batch = self._position
        if (perm.ndim != 1 or perm.dtype.kind not in "iu" or len(perm) != n
                or not np.array_equal(np.sort(perm), np.arange(n)) or not 0 <= batch <= self.steps_per_epoch):
            raise InvalidFile(f"the checkpoint's position in epoch {self.epoch} (batch {batch} of a shuffle order of "
                              f"{perm.size} samples) does not fit this data ({n} samples, {self.steps_per_epoch} "
                              "batches); resume with the run's own config and data")

    @property
    def finished(self) -> bool:
        """Whether the run has nothing left to do: all epochs done, or a callback stopped it
        (in this process, or in the one that wrote the loaded checkpoint)."""
        return self.epoch >= self.epochs or self.stop_training or self._stopped_at_checkpoint

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore everything :meth:`save_checkpoint` wrote; :meth:`fit` then continues from there."""
        arrays, doc = load_arrays(path, what="checkpoint")
        if not isinstance(doc, dict) or doc.get("format") != "corenn-checkpoint":
            raise InvalidFile(f"{path} is not a corenn checkpoint")
        saved_by = (doc.get("optimizer_spec") or {}).get("name")
        if saved_by is not None and saved_by != self.optimizer.name:
            raise InvalidFile(f"checkpoint {path} does not match this trainer: it was saved by optimizer "
                              f"{saved_by!r}, this trainer uses {self.optimizer.name!r}; resume with the run's "
                              "own config")
        before = self._resumable_state()
        try:
            self.model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
            self.optimizer.load_state_dict(unflatten_state(
                {k[10:]: v for k, v in arrays.items() if k.startswith("optimizer/")}, doc["optimizer"]))
            self.epoch, self.step = _count(doc["epoch"], "epoch"), _count(doc["step"], "step")
            self.rng.bit_generator.state = doc["rng"]
            set_rng_states(self.model, doc["layer_rngs"])
            self.history = _history_from(doc["history"])
            self._load_schedule_states(doc.get("schedules", []))
            batch = doc.get("batch")
            self._position = None if batch is None else (arrays["position/perm"], _count(batch, "batch"))
            self._stopped_at_checkpoint = doc.get("stopped", False) is True
            self._callback_states = unflatten_state(
                {k: v for k, v in arrays.items() if k.startswith("callbacks/")}, doc.get("callbacks") or {})
            if not isinstance(self._callback_states, dict):
                raise ValueError("its callback states are not a mapping")
        except (InvalidFile, InvalidInput, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            self._restore_resumable_state(before)  # a checkpoint that does not fit changes nothing
            if isinstance(exc, InvalidFile):
                raise
            raise InvalidFile(f"checkpoint {path} does not match this model and optimizer ({exc}); "
                              "resume with the run's own config") from exc
        self._remember_good()

    def _load_schedule_states(self, states: list) -> None:
        schedules = self.observing_schedules()
        if len(states) != len(schedules):
            raise ValueError(f"it holds the state of {len(states)} metric-driven schedule(s), this trainer has "
                             f"{len(schedules)}")
        for schedule, state in zip(schedules, states):
            schedule.load_state_dict(state)

    def _resumable_state(self) -> tuple:
        """A copy of everything :meth:`load_checkpoint` replaces."""
        model_state = {k: v.copy() for k, v in self.model.state_dict().items()}
        return (model_state, self.optimizer.state_dict(), self.epoch, self.step, self.rng.bit_generator.state,
                rng_states(self.model), self.history, self._position, self._stopped_at_checkpoint,
                self._callback_states, [s.state_dict() for s in self.observing_schedules()])

    def _restore_resumable_state(self, state: tuple) -> None:
        (model_state, optimizer_state, self.epoch, self.step, rng, layer_rngs, self.history, self._position,
         self._stopped_at_checkpoint, self._callback_states, schedule_states) = state
        self._load_schedule_states(schedule_states)
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(optimizer_state)
        self.rng.bit_generator.state = rng
        set_rng_states(self.model, layer_rngs)


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"its {what} is {value!r}, not a count >= 0")
    return value


def _history_from(d: Any) -> History:
    """A History from a checkpoint's dict, each field checked to be of the right kind of data."""
    if not isinstance(d, dict):
        raise ValueError(f"its history is a {type(d).__name__}, not a mapping")
    history = History.from_dict(d)

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    for a in attrs.fields(History):
        value = getattr(history, a.name)
        if a.name == "stopped":
            ok, what = value is None or isinstance(value, str), "a text"
        elif a.name == "seconds":
            ok, what = number(value) and value >= 0, "a number of seconds"
        elif a.name == "series":
            ok = isinstance(value, dict) and all(isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
                                                 for rows in value.values())
            what = "a mapping of lists of mappings"
        elif a.name in ("epochs", "ratios"):
            ok, what = isinstance(value, list) and all(isinstance(v, dict) for v in value), "a list of mappings"
        else:
            ok = isinstance(value, list) and all(v is None or number(v) for v in value)
            what = "a list of numbers"
        if not ok:
            raise ValueError(f"its history's {a.name!r} is not {what}")
    return history


def rng_states(model: Any) -> list:
    """The bit-generator state of every stochastic element of a model (None for the others)."""
    return [el.rng.bit_generator.state if isinstance(el, Stochastic) else None for el in model.layers]


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
    checkpoint it writes is consistent; a second Ctrl-C interrupts at once and writes nothing."""

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
            raise InterruptedMidStep
        self.trainer._interrupted = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _call(callback: Any, event: str, *args: Any) -> None:
    method = getattr(callback, event, None)
    if method is not None:
        method(*args)
