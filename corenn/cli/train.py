"""``corenn train``, ``corenn evaluate`` and ``corenn predict``.

The options of ``corenn train`` are generated from :class:`corenn.run.RunConfig`'s
fields, so the config file keys, the options and their help never disagree.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer

from ..errors import InvalidFile
from ..run import CONFIG_FILE, RunConfig, open_run, read_config
from ..trainer import Callback, TrainingDiverged
from .run_options import run_config, with_run_options

def compact(value: float | None) -> str:
    """A metric in a few characters (4 significant digits): 0.2346, 1.235e+30, nan; None as '-'."""
    return "-" if value is None else f"{value:.4g}"


class ProgressBar(Callback):
    """A rich progress bar for a terminal: epoch, the epoch's running mean loss, validation accuracy, time."""

    def __init__(self, epochs: int, steps_per_epoch: int):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(),
                                 TextColumn("loss {task.fields[loss]}"), TextColumn("val acc {task.fields[val]}"),
                                 TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), transient=False)
        self.total, self.epochs = epochs * steps_per_epoch, epochs
        self.task = None
        self.loss_sum, self.batches = 0.0, 0

    def on_train_begin(self, trainer) -> None:
        self.progress.start()
        self.task = self.progress.add_task("train", total=self.total, completed=trainer.step, epoch=trainer.epoch + 1,
                                           epochs=self.epochs, loss="-", val="-")

    def on_epoch_begin(self, trainer, epoch) -> None:
        self.loss_sum, self.batches = 0.0, 0

    def on_batch_end(self, trainer, step, logs) -> None:
        self.loss_sum += logs["loss"]
        self.batches += 1
        self.progress.update(self.task, completed=step + 1, loss=compact(self.loss_sum / self.batches))

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.progress.update(self.task, epoch=min(epoch + 2, self.epochs), val=compact(logs.get("val_acc")))

    def on_train_end(self, trainer, history) -> None:
        self.progress.update(self.task, completed=self.total)
        self.progress.stop()

    def close(self) -> None:
        self.progress.stop()


class EpochLines(Callback):
    """One line per epoch, for a log or a pipe: epoch, mean loss, train and val accuracy, seconds."""

    def __init__(self, write=None):
        self.write = write or (lambda line: print(line, flush=True))

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.write(f"epoch {epoch + 1}/{trainer.epochs}  loss {compact(logs.get('loss'))}  "
                   f"train acc {compact(logs.get('train_acc'))}  val acc {compact(logs.get('val_acc'))}  "
                   f"{logs.get('seconds', 0.0):.1f} s")

    def close(self) -> None: ...


def _default_folder(cfg: RunConfig) -> Path:
    name = cfg.dataset if isinstance(cfg.dataset, str) else cfg.dataset.get("name", "run")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{stamp}-{name.split(':')[0]}"


def train_command(config: Optional[Path] = typer.Argument(None, help="TOML config file (options override it)."),
                  out: Optional[Path] = typer.Option(None, "--out", help="Run folder (default: a new folder in "
                                                     "runs/ named by the time and the dataset)."),
                  resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this folder "
                                                        "(with --epochs N: train it to N epochs)."),
                  progress: bool = typer.Option(True, "--progress/--no-progress", metavar="",
                                                help="Show progress: a bar on a terminal, else a line per epoch."),
                  quiet: bool = typer.Option(False, "--quiet", "-q", metavar="", help="Print only the result line."),
                  as_json: bool = typer.Option(False, "--json", metavar="",
                                               help="Print one JSON object (see docs/cli.md)."),
                  **fields: Any) -> None:
    """Train an MLP (digits and a sensible default model when nothing is given)."""
    from .. import run as runs

    if resume is not None:
        extra = sorted(k for k, v in fields.items() if v is not None and k != "epochs")
        if config is not None or extra:
            raise runs.InvalidConfig("--resume continues a run with its own config; give no config or options "
                                     "other than --epochs")
        folder = resume
        runs.check_folder(folder, resume=True)  # it holds a checkpoint to continue from
        stored = read_config(folder / CONFIG_FILE)
        if fields.get("epochs") is not None:
            stored["epochs"] = fields["epochs"]  # train the run to that many epochs
        cfg = RunConfig.from_mapping(stored, where=str(folder / CONFIG_FILE))
    else:
        cfg = run_config(config, fields)
        folder = out or _default_folder(cfg)
    console = _console()
    talk = not (quiet or as_json)
    reports = _Reports(console, folder, announce=talk)
    callbacks = [reports]
    bar = None
    if progress and talk:
        bar = _LazyProgress(cfg.epochs) if console.is_terminal else EpochLines()
        callbacks.append(bar)
    try:
        result = runs.train(cfg, folder, resume=resume is not None, callbacks=callbacks)
    except KeyboardInterrupt:
        if bar:
            bar.close()
        console.print(f"interrupted: the checkpoint in {folder} is saved; continue with "
                      f"'corenn train --resume {folder}'", highlight=False)
        raise typer.Exit(130)
    except BaseException as exc:
        if bar:
            bar.close()
        if isinstance(exc, TrainingDiverged) and not as_json:
            reports.print(console)  # e.g. the training doctor's diagnosis of the divergence
        raise
    if as_json:
        summary = json.loads((Path(folder) / runs.SUMMARY_FILE).read_text(encoding="utf-8"))
        print(json.dumps({"folder": str(folder), **summary, "reports": reports.texts()}, indent=2))
        return
    test = result.test
    line = (f"test accuracy {test['accuracy']:.4f} (loss {compact(test['loss'])}, {test['n']} samples)"
            if test else "no test split")
    console.print(f"{line}; {result.trainer.epoch} epochs in {result.seconds:.1f} s; run folder: {folder}",
                  highlight=False)
    if not quiet:
        reports.print(console)


class _Reports(Callback):
    """Remembers the trainer, so that the callbacks' ``report()`` texts can be printed also after a divergence."""

    trainer = None

    def __init__(self, console, folder, announce: bool = True):
        self.console, self.folder, self.announce = console, folder, announce

    def on_train_begin(self, trainer) -> None:
        self.trainer = trainer
        if self.announce:  # the run folder exists from now on
            self.console.print(f"training into {self.folder}", highlight=False)

    def texts(self) -> list[str]:
        out = []
        for callback in self.trainer.callbacks if self.trainer is not None else ():
            report = getattr(callback, "report", None)
            text = report() if callable(report) else None
            if text:
                out.append(text)
        return out

    def print(self, console) -> None:
        for text in self.texts():
            console.print(text, highlight=False, markup=False)


class _LazyProgress(Callback):
    """Makes the progress bar once the trainer knows its steps per epoch."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self.bar: ProgressBar | None = None

    def on_train_begin(self, trainer) -> None:
        steps = trainer.steps_per_epoch
        self.bar = ProgressBar(trainer.epochs, steps)
        self.bar.on_train_begin(trainer)

    def on_epoch_begin(self, trainer, epoch) -> None:
        self.bar.on_epoch_begin(trainer, epoch)

    def on_batch_end(self, trainer, step, logs) -> None:
        self.bar.on_batch_end(trainer, step, logs)

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.bar.on_epoch_end(trainer, epoch, logs)

    def on_train_end(self, trainer, history) -> None:
        self.bar.on_train_end(trainer, history)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


def _console():
    from rich.console import Console

    return Console(stderr=False, soft_wrap=True)  # a path or command is never split across lines


def evaluate_command(run: Path = typer.Argument(..., help="A run folder."),
                     dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset spec (default: the run's)."),
                     split: str = typer.Option("test", "--split", help="train, val or test."),
                     as_json: bool = typer.Option(False, "--json", metavar="", help="Print JSON.")) -> None:
    """Evaluate a run's model on a dataset split (with the run's fitted preprocessing)."""
    from ..preprocessing import apply_preprocessors
    from ..registry import create
    from ..trainer import Trainer

    if split not in ("train", "val", "test"):
        raise InvalidFile(f"--split must be train, val or test, not {split!r}")
    cfg, model, fitted, _ = open_run(run)
    data = create("dataset", dataset or cfg.dataset).load(seed=cfg.seed)
    X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
    result = Trainer(model, loss=cfg.loss, optimizer="sgd", epochs=0).evaluate(apply_preprocessors(fitted, X), y)
    if as_json:
        print(json.dumps(result))
    else:
        print(f"{split} accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}  ({result['n']} samples)")


def predict_command(run: Path = typer.Argument(..., help="A run folder."),
                    file: Path = typer.Argument(..., help="A .npy file of inputs, shape (N, features)."),
                    out: Optional[Path] = typer.Option(None, "--out", help="Write the predictions to this .npy."),
                    proba: bool = typer.Option(False, "--proba", metavar="", help="Class probabilities (N, classes), "
                                               "the softmax of the model's scores, instead of class indices."),
                    as_json: bool = typer.Option(False, "--json", metavar="",
                                                 help="Print JSON (see docs/cli.md).")) -> None:
    """Predict class indices (or, with --proba, class probabilities) for the inputs in a .npy file."""
    from ..files import atomic_write
    from ..run import predict

    if not file.is_file():
        raise InvalidFile(f"input file {str(file)!r} does not exist")
    try:
        X = np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidFile(f"{str(file)!r} is not a .npy array of numbers (as numpy.save writes them); "
                          "corenn never loads pickled or object arrays") from exc
    values = predict(run, X, proba=proba)
    classes = open_run(run)[3] if as_json else None
    if out is not None:
        atomic_write(out, lambda f: np.save(f, values))
        what = "class probabilities" if proba else "predictions"
        if as_json:
            print(json.dumps({"file": str(out), "n": len(values), "classes": classes, "proba": proba}))
        else:
            print(f"wrote {len(values)} {what} to {out}")
    elif as_json:
        key = "probabilities" if proba else "labels"
        print(json.dumps({"classes": classes, key: values.tolist()}))
    elif proba:
        sys.stdout.write("".join(" ".join(f"{p:.6g}" for p in row) + "\n" for row in values))
    else:
        sys.stdout.write("\n".join(str(int(v)) for v in values) + "\n")


def register(app: typer.Typer) -> None:
    app.command("train")(with_run_options(train_command))
    app.command("evaluate")(evaluate_command)
    app.command("predict")(predict_command)
