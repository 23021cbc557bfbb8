"""A training run from a config: data, preprocessing, model, trainer, run folder.

``RunConfig``'s fields are the keys of a TOML config file and the options of
``corenn train``; ``corenn train --help`` and ``docs/config.md`` come from them.
A run folder holds ``config.toml`` (the resolved config), ``checkpoint.npz``
(written atomically every epoch), ``model.npz``, ``preprocess.npz``,
``history.json``, ``history.csv``, ``iterations.csv`` and ``summary.json``.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import os
import time
import tomllib
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


class InvalidConfig(CorennError, ValueError):
    """A config file or option that cannot be used."""


def _doc(text: str, default: Any, **kw: Any) -> Any:
    if isinstance(default, list):
        return attrs.field(factory=lambda d=default: list(d), metadata={"doc": text}, **kw)
    return attrs.field(default=default, metadata={"doc": text}, **kw)


@attrs.define(kw_only=True)
class RunConfig:
    """Every choice of a training run. Component values are specs: ``"adam:lr=1e-3"`` or mappings."""

    dataset: Any = _doc("dataset spec", "digits")
    preprocess: list = _doc("preprocessor specs, fitted on the training split only, applied in order",
                            ["mean_subtraction"])
    hidden: list = _doc("hidden layer widths of the MLP", [128, 64])
    activation: Any = _doc("activation spec", "relu")
    init: Any = _doc("weight initializer spec", "he")
    dropout: float | None = _doc("dropout keep probability after each hidden layer (none: no dropout)", None)
    batchnorm: bool = _doc("batch normalization after each hidden dense layer", False)
    dtype: str = _doc("float32 or float64", "float32")
    loss: Any = _doc("loss spec", "softmax_cross_entropy")
    optimizer: Any = _doc("optimizer spec", "adam:lr=0.001")
    schedule: Any = _doc("learning-rate schedule spec (replaces the optimizer's lr)", None)
    schedule_unit: str = _doc("what a schedule's t counts: epoch or step", "epoch")
    regularizer: Any = _doc("regularizer spec, applied to dense weights", None)
    epochs: int = _doc("number of epochs", 30)
    batch_size: int = _doc("minibatch size", 64)
    seed: int = _doc("seed of data splits, initial weights, shuffling and dropout", 0)
    callbacks: list = _doc("callback specs", [])
    default_callbacks: bool = _doc("also run the callbacks that plugins switch on by default "
                                   "(such as the training doctor and the figures)", True)
    threads: int | str = _doc("BLAS threads for training and evaluation: a count, or auto (CORENN_THREADS "
                              "if set, else one thread unless the model's matrix products are large; "
                              "see docs/performance.md)", "auto")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "config") -> RunConfig:
        fields = {a.name for a in attrs.fields(cls)}
        flat: dict[str, Any] = {}
        for key, value in values.items():
            if isinstance(value, Mapping) and key not in fields:  # [section] tables are flattened
                flat.update(value)
            else:
                flat[key] = value
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
        if self.dropout is not None and not (_is_number(self.dropout) and 0 < self.dropout <= 1):
            raise bad("dropout", "must be a keep probability in (0, 1]")
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
        if isinstance(self.callbacks, (str, Mapping)):
            self.callbacks = [self.callbacks]

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def to_toml(self) -> str:
        lines = ["# corenn run config: every key is an option of 'corenn train' (see docs/config.md)"]
        for a in attrs.fields(type(self)):
            value = getattr(self, a.name)
            lines.append(f"# {a.metadata['doc']}")
            lines.append(f"{a.name} = {_toml_value(value)}" if value is not None else f"# {a.name} = (none)")
        return "\n".join(lines) + "\n"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def config_reference() -> str:
    """The Markdown table of every config key (docs/config.md embeds it; a test keeps them equal)."""
    rows = ["| key | option | default | meaning |", "|---|---|---|---|"]
    for a in attrs.fields(RunConfig):
        default = a.default.factory() if isinstance(a.default, attrs.Factory) else a.default
        option = "--init" if a.name == "init" else "--" + a.name.replace("_", "-")
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
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise InvalidConfig(f"cannot write {value!r} to TOML")


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping in a TOML config file, or a clear error."""
    path = Path(path)
    if not path.is_file():
        raise InvalidConfig(f"config file {str(path)!r} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"config file {str(path)!r} is not valid TOML: {exc}") from exc


def load_data(cfg: RunConfig):
    """The dataset's splits, preprocessed with statistics fitted on the training split only."""
    from .preprocessing import preprocess_data

    data = create("dataset", cfg.dataset).load(seed=cfg.seed)
    return preprocess_data(data, list(cfg.preprocess))


def build_model(cfg: RunConfig, num_features: int, num_classes: int):
    from .model import mlp

    return mlp([num_features, *cfg.hidden, num_classes], activation=cfg.activation, weight_init=cfg.init,
               dropout=cfg.dropout, batchnorm=cfg.batchnorm, seed=cfg.seed, dtype=cfg.dtype)


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
                   batch_size=cfg.batch_size, epochs=cfg.epochs, seed=cfg.seed,
                   callbacks=[*chosen, *callbacks], schedule=cfg.schedule,
                   schedule_unit=cfg.schedule_unit, checkpoint=checkpoint, threads=cfg.threads)


@attrs.define
class RunResult:
    folder: Path
    history: Any
    test: dict
    seconds: float
    trainer: Any = attrs.field(repr=False, default=None)


def check_folder(folder: Path, *, resume: bool) -> None:
    """A new run needs a folder that holds no run yet; a resumed one needs its checkpoint."""
    if resume:
        if not (folder / CHECKPOINT_FILE).is_file():
            raise InvalidConfig(f"cannot resume {str(folder)!r}: it holds no {CHECKPOINT_FILE}")
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


def train(cfg: RunConfig, folder: str | os.PathLike, *, resume: bool = False,
          callbacks: Iterable[Any] = ()) -> RunResult:
    """Run ``cfg`` into ``folder`` (or resume the run there) and write the run files.

    Everything that can fail on bad input (the data, the components) is built
    before the folder is touched, so a bad config leaves nothing behind.
    """
    from .preprocessing import preprocessors_state

    folder = Path(folder)
    check_folder(folder, resume=resume)
    data, fitted = load_data(cfg)
    model = build_model(cfg, data.num_features, data.num_classes)
    trainer = build_trainer(cfg, model, checkpoint=folder / CHECKPOINT_FILE, callbacks=callbacks)
    trainer.run_folder = folder  # callbacks that write files (figures, reports) put them here
    if resume:
        trainer.load_checkpoint(folder / CHECKPOINT_FILE)
    else:
        make_folder(folder)
        atomic_write_text(folder / CONFIG_FILE, cfg.to_toml())
        arrays, specs = preprocessors_state(fitted)
        save_arrays(folder / PREPROCESS_FILE, arrays, {"preprocess": specs, "classes": list(data.classes)})
    started = time.perf_counter()
    validation = (data.X_val, data.y_val) if len(data.y_val) else None
    try:
        history = trainer.fit(data.X_train, data.y_train, validation=validation)
    finally:
        write_history(folder, trainer.history)
    model.save(folder / MODEL_FILE)
    test = trainer.evaluate(data.X_test, data.y_test) if len(data.y_test) else {}
    seconds = time.perf_counter() - started
    summary = {"test": test, "epochs": trainer.epoch, "steps": trainer.step, "seconds": seconds,
               "final_val_acc": history.epochs[-1].get("val_acc") if history.epochs else None}
    atomic_write_text(folder / SUMMARY_FILE, json.dumps(summary, indent=2))
    return RunResult(folder, history, test, seconds, trainer)


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
        raise InvalidFile(f"run {str(folder)!r} has no {MODEL_FILE} yet; wait for it to finish or resume it")
    model = load_model(model_path)
    arrays, doc = load_arrays(folder / PREPROCESS_FILE, what="preprocessing file")
    if not isinstance(doc, dict) or not isinstance(doc.get("preprocess"), list):
        raise InvalidFile(f"{str(folder / PREPROCESS_FILE)!r} is not a corenn preprocessing file (it lists no "
                          "'preprocess' specs); restore the run folder's own copy")
    fitted = restore_preprocessors(arrays, doc["preprocess"])
    return cfg, model, fitted, list(doc.get("classes", []))


def predict(folder: str | os.PathLike, X: Any) -> np.ndarray:
    """Class indices predicted by a run's model for raw (unpreprocessed) inputs X."""
    from .arrays import as_float_array
    from .preprocessing import apply_preprocessors

    cfg, model, fitted, _ = open_run(folder)
    X = as_float_array(X, "predict input", ndim=2)
    X = apply_preprocessors(fitted, X)
    with blas_threads(thread_count(cfg.threads, model, 1024)):  # predict's batch size
        return model.predict(X)
