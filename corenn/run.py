"""A training run from a config: data, preprocessing, model, trainer, run folder.

``RunConfig``'s fields are the keys of a TOML config file and the options of
``corenn train``; ``corenn train --help`` and ``docs/config.md`` come from them.
A run folder holds ``config.toml`` (the resolved config), ``checkpoint.npz``
(written atomically every epoch), ``model.npz``, ``preprocess.npz``,
``history.json``, ``history.csv``, ``iterations.csv`` and ``summary.json``.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import errno
import io
import json
import math
import os
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .errors import CorennError, InvalidFile, InvalidHyperparameter
from .files import atomic_write_text, load_arrays, save_arrays
from .registry import create
from .threads import blas_threads, check_threads, thread_count

CONFIG_FILE, CHECKPOINT_FILE, MODEL_FILE = "config.toml", "checkpoint.npz", "model.npz"
PREPROCESS_FILE, HISTORY_FILE, SUMMARY_FILE = "preprocess.npz", "history.json", "summary.json"
LOCK_FILE = ".lock"


class InvalidConfig(CorennError, ValueError):
    """A config file or option that cannot be used."""


def _doc(text: str, default: Any, option: str = "spec", flag: str | None = None, **kw: Any) -> Any:
    """A RunConfig field: its doc line, default, and how its command-line option reads (``option``):
    ``"spec"`` one text, ``"specs"`` repeatable, ``"numbers"`` comma-separated numbers,
    ``"flag"`` --x/--no-x, ``"int"`` / ``"float"`` one number; ``flag`` the option's name when it is not
    ``--<field-with-dashes>``."""
    metadata = {"doc": text, "option": option, "flag": flag}
    if isinstance(default, list):
        return attrs.field(factory=lambda d=default: list(d), metadata=metadata, **kw)
    return attrs.field(default=default, metadata=metadata, **kw)


@attrs.define(kw_only=True)
class RunConfig:
    """Every choice of a training run. Component values are specs: ``"adam:lr=1e-3"`` or mappings."""

    dataset: Any = _doc("dataset spec", "digits")
    preprocess: list = _doc("preprocessor specs, fitted on the training split only, applied in order "
                            "(none or an empty list: no preprocessing)", ["mean_subtraction"], "specs")
    layers: list = _doc("the model as a list of layer and activation specs, each input width inferred "
                        "(e.g. dense:out_features=128, maxout:k=2, dropout:keep_prob=0.5); the output dense "
                        "layer to the dataset's classes is appended for you; replaces hidden, activation, "
                        "batchnorm, dropout and input_dropout", [], "specs", flag="--layer")
    hidden: list = _doc("hidden layer widths of the MLP (units after the activation)", [128, 64], "numbers")
    activation: Any = _doc("activation spec", "relu")
    init: Any = _doc("weight initializer spec of the dense layers", "he")
    bias_init: Any = _doc("bias initializer spec of the dense layers (none: the layer's default, zeros)", None)
    input_dropout: float | None = _doc("dropout keep probability before the first layer (none: no dropout)",
                                       None, "float")
    dropout: Any = _doc("dropout keep probability after each hidden layer, or one per hidden layer "
                        "(e.g. 0.5,0.6; none: no dropout)", None, "numbers")
    batchnorm: bool = _doc("batch normalization after each hidden dense layer", False, "flag")
    dtype: str = _doc("float32 or float64", "float32")
    loss: Any = _doc("loss spec", "softmax_cross_entropy")
    optimizer: Any = _doc("optimizer spec (adam's own lr is 0.001)", "adam")
    schedule: Any = _doc("learning-rate schedule spec: shorthand for the optimizer's lr (an lr given in "
                         "both is an error)", None)
    schedule_unit: str = _doc("what t counts in a schedule that names no unit: epoch or step", "epoch")
    regularizer: Any = _doc("regularizer spec, or several (penalties add up, constraints apply in order), "
                            "applied to dense weights", None, "specs")
    epochs: int = _doc("number of epochs", 30, "int")
    batch_size: int = _doc("minibatch size", 64, "int")
    shuffle: bool = _doc("shuffle the training set every epoch (off: batches in dataset order)", True, "flag")
    seed: int = _doc("seed of initial weights, shuffling and dropout, and of the data split unless data_seed "
                     "is given", 0, "int")
    data_seed: int | None = _doc("seed of the dataset's split into train/val/test (none: the seed); runs that "
                                 "differ only in seed with one data_seed share a test set (an ensemble)", None, "int")
    callbacks: list = _doc("callback specs, e.g. doctor:gap=0.1", [], "specs", flag="--callback")
    default_callbacks: bool = _doc("also run the callbacks that plugins switch on by default "
                                   "(such as the training doctor and the figures)", True, "flag")
    threads: int | str = _doc("BLAS threads for training and evaluation: a count, or auto (CORENN_THREADS "
                              "if set, else one thread unless the model's matrix products are large; "
                              "see docs/performance.md)", "auto")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "config") -> RunConfig:
        fields = {a.name for a in attrs.fields(cls)}
        flat: dict[str, Any] = {}
        for key, value in values.items():
            table = isinstance(value, Mapping) and key not in fields  # [section] tables are flattened
            for k, v in (value.items() if table else [(key, value)]):
                if k in flat:
                    raise InvalidConfig(f"{where}: {k!r} is given twice (at the top level and in a [section], or "
                                        "in two sections); keep one")
                flat[k] = v
        for key in flat:
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise InvalidConfig(f"{where}: unknown key {key!r}{hint} (keys: {', '.join(sorted(fields))})")
        cfg = cls(**flat)
        cfg.validate(where)
        return cfg

    def validate(self, where: str = "config") -> None:
        def bad(key: str, rule: str) -> InvalidConfig:
            return InvalidConfig(f"{where}: {key}={getattr(self, key)!r} is invalid: {rule}")

        for key in ("epochs", "batch_size", "seed"):
            value = getattr(self, key)
            if not _is_int(value) or value < (1 if key == "batch_size" else 0):
                raise bad(key, "must be a non-negative integer" if key != "batch_size" else "must be a positive integer")
        if not isinstance(self.hidden, list) or not all(_is_int(h) and h > 0 for h in self.hidden):
            raise bad("hidden", "must be a list of positive integers")
        if self.data_seed is not None and not (_is_int(self.data_seed) and self.data_seed >= 0):
            raise bad("data_seed", "must be a non-negative integer (or none: the seed)")
        if isinstance(self.dropout, list):  # "none" (as TOML writes None in a list): no dropout after that layer
            self.dropout = [None if p == "none" else p for p in self.dropout]
        keeps = self.dropout if isinstance(self.dropout, list) else [self.dropout]
        if not keeps or not all(p is None or (_is_number(p) and 0 < p <= 1) for p in keeps):
            raise bad("dropout", "must be a keep probability in (0, 1], or a list of them (one per hidden layer)")
        if isinstance(self.dropout, list) and len(self.dropout) != len(self.hidden) and not self.layers:
            raise bad("dropout", f"gives {len(self.dropout)} keep probabilities for {len(self.hidden)} hidden "
                                 "layers; give one, or one per hidden layer")
        if self.input_dropout is not None and not (_is_number(self.input_dropout) and 0 < self.input_dropout <= 1):
            raise bad("input_dropout", "must be a keep probability in (0, 1]")
        if not isinstance(self.shuffle, bool):
            raise bad("shuffle", "must be true or false")
        if isinstance(self.layers, (str, Mapping)):
            self.layers = [self.layers]
        if not isinstance(self.layers, list):
            raise bad("layers", "must be a list of layer specs")
        if self.layers:
            for key in ("dropout", "input_dropout"):
                if getattr(self, key) is not None:
                    raise bad(key, "is not used with layers; write dropout as a layer in the list "
                                   "(e.g. dropout:keep_prob=0.5)")
            if self.batchnorm:
                raise bad("batchnorm", "is not used with layers; write the normalization as a layer in the list")
        if isinstance(self.regularizer, list) and not self.regularizer:
            self.regularizer = None
        if not isinstance(self.default_callbacks, bool):
            raise bad("default_callbacks", "must be true or false")
        if self.dtype not in ("float32", "float64"):
            raise bad("dtype", "must be float32 or float64")
        if self.schedule_unit not in ("epoch", "step"):
            raise bad("schedule_unit", "must be epoch or step")
        try:
            self.threads = check_threads(self.threads)
        except InvalidHyperparameter:
            raise bad("threads", "must be auto or an integer >= 1") from None
        if isinstance(self.preprocess, (str, Mapping)):
            self.preprocess = [self.preprocess]
        if self.preprocess in (["none"], [None]):  # "none" (or an empty list): no preprocessing
            self.preprocess = []
        if isinstance(self.callbacks, (str, Mapping)):
            self.callbacks = [self.callbacks]

    @property
    def split_seed(self) -> int:
        """The seed the dataset's ``load`` gets: ``data_seed``, or ``seed`` where it is none."""
        return self.seed if self.data_seed is None else self.data_seed

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def to_toml(self) -> str:
        lines = ["# corenn run config: every key is an option of 'corenn train' (see docs/config.md)"]
        for a in attrs.fields(type(self)):
            value = getattr(self, a.name)
            lines.append(f"# {a.metadata['doc']}")
            lines.append(f"{a.name} = {_toml_value(value)}" if value is not None else f"# {a.name} = (none)")
        return "\n".join(lines) + "\n"


def option_name(a: attrs.Attribute) -> str:
    """The command-line option of a RunConfig field: ``--<field-with-dashes>`` unless it names its own."""
    return a.metadata.get("flag") or "--" + a.name.replace("_", "-")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def config_reference() -> str:
    """The Markdown table of every config key (docs/config.md embeds it; a test keeps them equal)."""
    rows = ["| key | option | default | meaning |", "|---|---|---|---|"]
    for a in attrs.fields(RunConfig):
        default = a.default.factory() if isinstance(a.default, attrs.Factory) else a.default
        option = option_name(a)
        rows.append(f"| `{a.name}` | `{option}` | `{_toml_value(default) if default is not None else '(none)'}` "
                    f"| {a.metadata['doc']} |")
    return "\n".join(rows) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidConfig(f"cannot write {value} to TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join('"none"' if v is None else _toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise InvalidConfig(f"cannot write {value!r} to TOML")


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping in a TOML config file, or a clear error."""
    path = Path(path)
    if not path.is_file():
        raise InvalidConfig(f"config file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
        values = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
    if not text.strip():  # e.g. cut short by a crash: not the same thing as "all defaults"
        raise InvalidConfig(f"config file {str(path)!r} is empty; give at least one key (see docs/config.md)")
    return values


def wanted_components(cfg: RunConfig) -> list[tuple[str, Any]]:
    """(kind, spec) of every component the run builds: data, preprocessing, the model's layers
    (``layers``, or the roles :func:`corenn.mlp` fills with its defaults), loss, optimizer,
    schedule, regularizers and callbacks."""
    import inspect

    from .model import classifier, mlp
    from .registry import registry

    def element(spec: Any) -> tuple[str, Any]:  # a layer-list item may be a layer or an activation
        name = spec.get("name") if isinstance(spec, Mapping) else str(spec).split(":")[0]
        return ("activation" if ("activation", name) in registry().entries else "layer", spec)

    roles = {**{n: p.default for n, p in inspect.signature(mlp).parameters.items()},
             **{n: p.default for n, p in inspect.signature(classifier).parameters.items()}}
    wanted: list[tuple[str, Any]] = [("dataset", cfg.dataset), *(("preprocessor", p) for p in cfg.preprocess),
                                     ("initializer", cfg.init)]
    wanted += [("initializer", cfg.bias_init)] if cfg.bias_init is not None else []
    if cfg.layers:
        wanted += [element(spec) for spec in cfg.layers] + [("layer", roles["output"])]
    else:
        wanted.append(("layer", roles["dense"]))
        if cfg.hidden:
            wanted.append(("activation", cfg.activation))
            wanted += [("layer", roles["norm"])] if cfg.batchnorm else []
        dropout = cfg.dropout if isinstance(cfg.dropout, list) else [cfg.dropout]
        if cfg.input_dropout is not None or any(isinstance(d, (int, float)) and not isinstance(d, bool) for d in dropout):
            wanted.append(("layer", roles["dropout_layer"]))
    wanted += [("loss", cfg.loss), ("optimizer", cfg.optimizer)]
    wanted += [("schedule", cfg.schedule)] if cfg.schedule is not None else []
    regularizers = cfg.regularizer if isinstance(cfg.regularizer, list) else [cfg.regularizer]
    wanted += [("regularizer", r) for r in regularizers if r is not None]
    return wanted + [("callback", c) for c in cfg.callbacks]


def check_installed(cfg: RunConfig, what: str = "this run") -> None:
    """Raise one MissingComponents error naming every component the run needs that is not
    installed, and the distributions to install, before anything is built (when any of them is one of
    ours: a name no distribution provides is left to the builder's error)."""
    from .distributions import providers
    from .needs import missing_components, missing_components_error

    missing = missing_components(wanted_components(cfg))
    # names no distribution of ours provides (typos) are left to the builders, whose errors name
    # the item (layers[2], regularizer[1]) and the closest installed name
    if any(providers(kind, name) for kind, name in missing):
        raise missing_components_error(what, missing)


def load_data(cfg: RunConfig):
    """The dataset's splits, preprocessed with statistics fitted on the training split only."""
    from .preprocessing import preprocess_data

    data = create("dataset", cfg.dataset).load(seed=cfg.split_seed)
    return preprocess_data(data, list(cfg.preprocess))


def build_model(cfg: RunConfig, num_features: int, num_classes: int):
    """``cfg.layers`` plus an output layer to the classes (:func:`corenn.model.classifier`), or else
    the :func:`corenn.mlp` that ``hidden``, ``activation`` and the rest describe."""
    from .model import classifier, mlp

    if cfg.layers:
        return classifier(cfg.layers, num_features, num_classes, weight_init=cfg.init, bias_init=cfg.bias_init,
                          seed=cfg.seed, dtype=cfg.dtype)
    sizes = [num_features, *cfg.hidden, num_classes]
    values = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    needed = 4 * values * np.dtype(cfg.dtype).itemsize  # weights, gradients and two optimizer slots
    if needed > _memory_bytes():
        raise InvalidConfig(f"hidden={cfg.hidden} makes a model of {values:,} parameters, which needs about "
                            f"{needed / 2**30:,.1f} GiB to train, more than this machine's "
                            f"{_memory_bytes() / 2**30:,.1f} GiB; choose smaller hidden widths")
    try:
        return mlp(sizes, activation=cfg.activation, weight_init=cfg.init, bias_init=cfg.bias_init,
                   input_dropout=cfg.input_dropout, dropout=cfg.dropout, batchnorm=cfg.batchnorm, seed=cfg.seed,
                   dtype=cfg.dtype)
    except MemoryError:
        raise InvalidConfig(f"hidden={cfg.hidden}: the model does not fit in memory; choose smaller hidden "
                            "widths") from None


def _memory_bytes() -> int:
    """This machine's physical memory (unbounded where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 2**62


def default_callbacks() -> list[Any]:
    """Instances of the registered callbacks whose class sets ``enabled_by_default = True``."""
    from .registry import available, get

    return [get("callback", name)() for name in available("callback")
            if getattr(get("callback", name), "enabled_by_default", False)]


def build_trainer(cfg: RunConfig, model: Any, *, checkpoint: Path | None = None, callbacks: Iterable[Any] = ()):
    """A Trainer for ``cfg``: its callbacks, then the default ones (unless switched off), then ``callbacks``."""
    from .trainer import Trainer

    chosen = [create("callback", c) for c in cfg.callbacks]
    names = {getattr(c, "name", None) for c in chosen}
    if cfg.default_callbacks:
        chosen += [c for c in default_callbacks() if c.name not in names]
    return Trainer(model, loss=cfg.loss, optimizer=cfg.optimizer, regularizer=cfg.regularizer,
                   batch_size=cfg.batch_size, epochs=cfg.epochs, seed=cfg.seed, shuffle=cfg.shuffle,
                   callbacks=[*chosen, *callbacks], schedule=cfg.schedule,
                   schedule_unit=cfg.schedule_unit, checkpoint=checkpoint, threads=cfg.threads)


@attrs.define
class RunResult:
    folder: Path
    history: Any
    test: dict
    seconds: float
    trainer: Any = attrs.field(repr=False, default=None)
    already_finished: bool = False  # a resumed run that had nothing left to do (nothing was written)


def check_folder(folder: Path, *, resume: bool) -> None:
    """A new run needs a folder that holds no run yet; a resumed one needs its checkpoint, or at least
    its config (a run stopped before its first checkpoint restarts from the beginning)."""
    if resume:
        if not (folder / CHECKPOINT_FILE).is_file() and not (folder / CONFIG_FILE).is_file():
            raise InvalidConfig(f"cannot resume {str(folder)!r}: it holds no {CHECKPOINT_FILE} and no {CONFIG_FILE}")
    elif (folder / CHECKPOINT_FILE).exists() or (folder / CONFIG_FILE).exists():
        raise InvalidConfig(f"run folder {str(folder)!r} already holds a run; resume it with "
                            f"'corenn train --resume {folder}' or choose another --out")


def make_folder(folder: Path) -> None:
    """Create the run folder and make sure it can be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InvalidConfig(f"cannot write the run folder {str(folder)!r}: {exc.strerror or exc}") from exc


class RunLock:
    """An exclusive lock on a run folder while a process trains in it (``.lock``, holding its PID).

    The lock is an advisory ``flock`` on the file, which the system releases when
    the process ends however it ends, so a lock left by a killed process is taken
    over. Taking it also removes the temporary files that a killed writer left.
    """

    def __init__(self, folder: Path):
        self.folder, self.fd = folder, None

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock (Windows): folders are not locked
            return self
        path = self.folder / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InvalidConfig(f"cannot write the run folder {str(self.folder)!r}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):  # no flock on this file system
                os.close(fd)
                return self
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise InvalidConfig(f"run folder {str(self.folder)!r} is in use by process {holder}, which is training "
                                "in it; wait for it to finish (or stop it) or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        for stale in self.folder.glob(".*.tmp"):  # left by a writer killed mid-write (see files.atomic_write)
            stale.unlink(missing_ok=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
            self.fd = None


def train(cfg: RunConfig, folder: str | os.PathLike, *, resume: bool = False,
          callbacks: Iterable[Any] = ()) -> RunResult:
    """Run ``cfg`` into ``folder`` (or resume the run there) and write the run files.

    Everything that can fail on bad input (the data, the components) is built
    before the folder is touched, so a bad config leaves nothing behind.
    A run folder is locked (:class:`RunLock`) while this process trains in it.
    """
    folder = Path(folder)
    with contextlib.ExitStack() as stack:
        locked = folder.is_dir()
        if locked:  # fail fast when another process trains here
            stack.enter_context(RunLock(folder))
        check_folder(folder, resume=resume)
        check_installed(cfg)
        data, fitted = load_data(cfg)
        model = build_model(cfg, data.num_features, data.num_classes)
        trainer = build_trainer(cfg, model, checkpoint=folder / CHECKPOINT_FILE, callbacks=callbacks)
        trainer.run_folder = folder  # callbacks that write files (figures, reports) put them here
        if not locked:
            make_folder(folder)
            stack.enter_context(RunLock(folder))
        check_folder(folder, resume=resume)  # again, now that the folder is ours
        return _train_locked(cfg, folder, data, fitted, model, trainer, resume=resume)


def _train_locked(cfg: RunConfig, folder: Path, data: Any, fitted: Any, model: Any, trainer: Any, *,
                  resume: bool) -> RunResult:
    from .preprocessing import preprocessors_state

    if resume and (folder / CHECKPOINT_FILE).is_file():
        trainer.load_checkpoint(folder / CHECKPOINT_FILE)
        extend_run(folder, cfg, trainer)  # --epochs N: refused where it cannot match a longer run
        if trainer.finished and (folder / MODEL_FILE).is_file():
            trainer.history.stopped = _final_history(folder).get("stopped", trainer.history.stopped)
            test = _finished_test(folder, data, trainer)
            return RunResult(folder, trainer.history, test, 0.0, trainer, already_finished=True)
    else:  # a new run, or one stopped before its first checkpoint: (re)start from the beginning
        make_folder(folder)
        atomic_write_text(folder / CONFIG_FILE, cfg.to_toml())
        arrays, specs = preprocessors_state(fitted)
        save_arrays(folder / PREPROCESS_FILE, arrays, {"preprocess": specs, "classes": list(data.classes)})
    validation = (data.X_val, data.y_val) if len(data.y_val) else None
    try:
        history = trainer.fit(data.X_train, data.y_train, validation=validation)
    finally:
        write_history(folder, trainer.history)
    model.save(folder / MODEL_FILE)
    test = trainer.evaluate(data.X_test, data.y_test) if len(data.y_test) else {}
    seconds = history.seconds  # training time, every segment of a resumed run included
    summary = {"test": test, "epochs": trainer.epoch, "steps": trainer.step, "seconds": seconds,
               "stopped": history.stopped,
               "final_val_acc": history.epochs[-1].get("val_acc") if history.epochs else None}
    atomic_write_text(folder / SUMMARY_FILE, json.dumps(summary, indent=2))
    return RunResult(folder, history, test, seconds, trainer)


def _final_history(folder: Path) -> dict:
    """The history a finished run wrote last ({} if unreadable)."""
    try:
        history = json.loads((folder / HISTORY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return history if isinstance(history, dict) else {}


def _finished_test(folder: Path, data: Any, trainer: Any) -> dict:
    """The test result a finished run wrote (its summary), else that of its saved model."""
    try:
        test = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8")).get("test")
        if isinstance(test, dict):
            return test
    except (OSError, ValueError):
        pass
    from .model import load_model

    trainer.model.load_state_dict(load_model(folder / MODEL_FILE).state_dict())
    return trainer.evaluate(data.X_test, data.y_test) if len(data.y_test) else {}


def extend_run(folder: Path, cfg: RunConfig, trainer: Any) -> None:
    """Let a resumed run train to ``cfg.epochs`` where its config asked for another number.

    The result is bit-identical to a run asked for ``cfg.epochs`` from the start (every
    schedule's length is its own hyperparameter, not the number of epochs), except where
    the run ended early: a divergence or a callback's stop (more epochs would not be
    those of a longer run), which are refused with the reason. ``config.toml`` is updated.
    """
    asked = RunConfig.from_mapping(read_config(folder / CONFIG_FILE), where=str(folder / CONFIG_FILE)).epochs
    if cfg.epochs == asked:
        return
    stopped = _stopped(folder, trainer.history.stopped)
    if cfg.epochs < trainer.epoch:
        raise InvalidConfig(f"cannot train {str(folder)!r} to {cfg.epochs} epochs: it has trained {trainer.epoch} "
                            f"already; give --epochs {trainer.epoch + 1} or more")
    if stopped not in (None, "interrupted"):
        raise InvalidConfig(f"cannot extend {str(folder)!r} to {cfg.epochs} epochs: it stopped early ({stopped}), "
                            "so more epochs would not match a longer run; start a new run with --epochs "
                            f"{cfg.epochs}")
    atomic_write_text(folder / CONFIG_FILE, cfg.to_toml())


def _stopped(folder: Path, default: str | None = None) -> str | None:
    """Why the run in ``folder`` ended early, as its history.json says (callbacks set it after the last checkpoint)."""
    try:
        return json.loads((folder / HISTORY_FILE).read_text(encoding="utf-8")).get("stopped", default)
    except (OSError, ValueError, AttributeError):
        return default


def write_history(folder: Path, history: Any) -> None:
    """history.json (everything), history.csv (per epoch), iterations.csv (per step)."""
    atomic_write_text(folder / HISTORY_FILE, json.dumps(history.to_dict()))
    keys = ["epoch", "loss", "train_acc", "val_acc", "val_loss", "lr", "seconds"]
    atomic_write_text(folder / "history.csv", _csv(keys, [[e.get(k) for k in keys] for e in history.epochs]))
    rows = zip(range(len(history.loss)), history.loss, history.data_loss, history.reg_loss, history.lr)
    atomic_write_text(folder / "iterations.csv", _csv(["step", "loss", "data_loss", "reg_loss", "lr"], rows))


def _csv(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def open_run(folder: str | os.PathLike):
    """The config, model and fitted preprocessors of a finished (or running) run folder."""
    from .model import load_model
    from .preprocessing import restore_preprocessors

    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidFile(f"run folder {str(folder)!r} does not exist")
    if not (folder / CONFIG_FILE).is_file():
        raise InvalidFile(f"{str(folder)!r} is not a run folder (it has no {CONFIG_FILE}); give the folder "
                          "that 'corenn train --out' wrote")
    cfg = RunConfig.from_mapping(read_config(folder / CONFIG_FILE), where=str(folder / CONFIG_FILE))
    model_path = folder / MODEL_FILE
    if not model_path.exists():
        stopped = _stopped(folder)
        if stopped == "diverged":
            raise InvalidFile(f"run {str(folder)!r} diverged (its loss became NaN or infinite), so it has no "
                              f"{MODEL_FILE}; start a new run with a smaller learning rate (try 10x smaller)")
        if stopped == "interrupted":
            raise InvalidFile(f"run {str(folder)!r} was interrupted before it wrote {MODEL_FILE}; finish it with "
                              f"'corenn train --resume {folder}'")
        raise InvalidFile(f"run {str(folder)!r} has no {MODEL_FILE} yet; wait for it to finish or resume it")
    model = load_model(model_path)
    arrays, doc = load_arrays(folder / PREPROCESS_FILE, what="preprocessing file")
    if not isinstance(doc, dict) or not isinstance(doc.get("preprocess"), list):
        raise InvalidFile(f"{str(folder / PREPROCESS_FILE)!r} is not a corenn preprocessing file (it lists no "
                          "'preprocess' specs); restore the run folder's own copy")
    fitted = restore_preprocessors(arrays, doc["preprocess"])
    return cfg, model, fitted, list(doc.get("classes", []))


def predict(folder: str | os.PathLike, X: Any, *, proba: bool = False) -> np.ndarray:
    """Class indices predicted by a run's model for raw (unpreprocessed) inputs X, shape (N,);
    with ``proba=True`` class probabilities, shape (N, classes): softmax(scores) row by row."""
    from .arrays import as_float_array
    from .preprocessing import apply_preprocessors

    cfg, model, fitted, _ = open_run(folder)
    X = as_float_array(X, "predict input", ndim=2)
    values = np.empty((X.shape[0], model.out_features) if proba else X.shape[0],
                      dtype=model.dtype if proba else np.int64)
    broken = 0
    with np.errstate(over="ignore", invalid="ignore"), blas_threads(thread_count(cfg.threads, model, 1024)):
        X = apply_preprocessors(fitted, X)
        for start in range(0, X.shape[0], 1024):
            scores = model.forward(X[start:start + 1024], training=False)
            broken += int(np.count_nonzero(~np.isfinite(scores).all(axis=1)))
            if proba:
                exp = np.exp(scores - scores.max(axis=1, keepdims=True))
                values[start:start + 1024] = exp / exp.sum(axis=1, keepdims=True)
            else:
                values[start:start + 1024] = np.argmax(scores, axis=1)
    if broken:
        warnings.warn(f"{broken} of {len(values)} inputs give NaN or infinite scores, so their predictions mean "
                      "nothing; check those inputs (huge values?)", RuntimeWarning, stacklevel=2)
    return values
