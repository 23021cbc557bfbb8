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
from typing import Any, List, Optional

import numpy as np
import typer

from ..errors import InvalidFile, InvalidInput
from ..protocols import Reports
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
        if out is not None and out.resolve() != resume.resolve():
            raise runs.InvalidConfig(f"--resume continues the run in {resume} itself; leave out --out {out} "
                                     "(to start a new run elsewhere, give its config and --out)")
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
        saved = (f"the checkpoint in {folder} is saved" if (folder / runs.CHECKPOINT_FILE).is_file()
                 else "no checkpoint was written yet, so resuming starts the run over")
        console.print(f"interrupted: {saved}; continue with 'corenn train --resume {folder}'", highlight=False)
        raise typer.Exit(130)
    except BaseException as exc:
        if bar:
            bar.close()
        if isinstance(exc, TrainingDiverged) and not as_json:
            reports.print(console)  # e.g. the training doctor's diagnosis of the divergence
        raise
    if result.already_finished and not as_json:
        stopped = f" ({result.history.stopped})" if result.history.stopped else ""
        tested = f" (test accuracy {result.test['accuracy']:.4f})" if result.test else ""
        console.print(f"run {folder} already finished after {result.trainer.epoch} epochs{stopped}{tested}; nothing "
                      "to do, its files are unchanged", highlight=False, soft_wrap=True)
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
            text = callback.report() if isinstance(callback, Reports) else None
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


_WEIGHTS_HELP = "Several runs: one weight per run, comma-separated, e.g. 2,1,1 (default: equal)."
_VOTE_HELP = "Several runs: mean (of the class probabilities) or majority (one weighted vote per run)."


def evaluate_command(runs: List[Path] = typer.Argument(..., help="A run folder, or several: an ensemble."),
                     dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset spec (default: the run's)."),
                     split: str = typer.Option("test", "--split", help="train, val or test."),
                     as_json: bool = typer.Option(False, "--json", metavar="", help="Print JSON."),
                     weights: Optional[str] = typer.Option(None, "--weights", help=_WEIGHTS_HELP),
                     vote: str = typer.Option("mean", "--vote", help=_VOTE_HELP)) -> None:
    """Evaluate a run's model on a dataset split (with the run's fitted preprocessing);
    several runs are evaluated one by one and as an ensemble."""
    from ..model import evaluate
    from ..preprocessing import apply_preprocessors
    from ..registry import create

    if split not in ("train", "val", "test"):
        raise InvalidFile(f"--split must be train, val or test, not {split!r}")
    if len(runs) > 1 or weights is not None or vote != "mean":
        return _evaluate_ensemble(runs, dataset, split, as_json, weights, vote)
    run = runs[0]
    cfg, model, fitted, _ = open_run(run)
    data = create("dataset", dataset or cfg.dataset).load(seed=cfg.split_seed)
    X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
    result = evaluate(model, cfg.loss, apply_preprocessors(fitted, X), y)
    if as_json:
        print(json.dumps(result))
    else:
        print(f"{split} accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}  ({result['n']} samples)")


def predict_command(runs: List[Path] = typer.Argument(..., help="A run folder, or several: an ensemble."),
                    file: Path = typer.Argument(..., help="A .npy file of inputs, shape (N, features)."),
                    out: Optional[Path] = typer.Option(None, "--out", help="Write the predictions to this .npy."),
                    proba: bool = typer.Option(False, "--proba", metavar="", help="Class probabilities (N, classes), "
                                               "the softmax of the model's scores (the members' weighted mean for "
                                               "several runs), instead of class indices."),
                    weights: Optional[str] = typer.Option(None, "--weights", help=_WEIGHTS_HELP),
                    vote: str = typer.Option("mean", "--vote", help=_VOTE_HELP),
                    as_json: bool = typer.Option(False, "--json", metavar="",
                                                 help="Print JSON (see docs/cli.md).")) -> None:
    """Predict class indices (or, with --proba, class probabilities) for the inputs in a .npy file;
    several runs vote as an ensemble."""
    from ..ensemble import Ensemble
    from ..files import atomic_write, load_npy
    from ..run import predict

    X = load_npy(file, what="input file")
    if len(runs) == 1 and weights is None and vote == "mean":
        values = predict(runs[0], X, proba=proba)
    else:
        ensemble = Ensemble.from_runs(runs, weights=_weights(weights), vote=vote)
        values = ensemble.predict_proba(X) if proba else ensemble.predict(X)
    classes = open_run(runs[0])[3] if as_json else None
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


def _weights(text: Optional[str]) -> Optional[list[float]]:
    if text is None:
        return None
    try:
        return [float(w) for w in text.split(",")]
    except ValueError:
        raise InvalidInput(f"--weights must be numbers separated by commas, one per run (e.g. 2,1,1), "
                           f"not {text!r}") from None


def _evaluate_ensemble(runs: list[Path], dataset: Optional[str], split: str, as_json: bool,
                       weights: Optional[str], vote: str) -> None:
    """Each run and their ensemble on the same split; refused where the runs see different data."""
    from ..ensemble import Ensemble
    from ..registry import create

    ensemble = Ensemble.from_runs(runs, weights=_weights(weights), vote=vote)
    loaded: dict[str, Any] = {}
    first = None
    for member in ensemble.models:
        spec, seed = dataset or member.config.dataset, member.config.split_seed
        key = json.dumps([spec, seed], sort_keys=True)
        if key not in loaded:
            loaded[key] = create("dataset", spec).load(seed=seed)
        X, y = getattr(loaded[key], f"X_{split}"), getattr(loaded[key], f"y_{split}")
        if first is None:
            first = (member, spec, seed, X, y)
        elif not (X.shape == first[3].shape and np.array_equal(X, first[3]) and np.array_equal(y, first[4])):
            raise InvalidFile(
                f"runs {str(first[0].folder)!r} and {str(member.folder)!r} have different {split} splits "
                f"(dataset {first[1]!r} data seed {first[2]} and {spec!r} data seed {seed}), so a member may have "
                f"trained on what another is tested on; train the members with one --data-seed (their --seed, "
                f"--hidden, --optimizer... may differ) or use a dataset whose {split} split does not depend on "
                f"the seed")
    result = ensemble.evaluate(X, y)
    if as_json:
        print(json.dumps({"split": split, "runs": [str(r) for r in runs], **result}))
        return
    how = "mean of the class probabilities" if vote == "mean" else "majority vote"
    weighted = "" if weights is None else ", weights " + ", ".join(f"{w:.3g}" for w in result["weights"])
    print(f"{split} split, {result['n']} samples; ensemble of {len(runs)} run{'s' if len(runs) > 1 else ''} ({how}{weighted})")
    print(f"{'accuracy':>10}  {'log loss':>9}  run")

    def row(scores: dict, name: str) -> None:
        loss = "-" if scores["log_loss"] is None else f"{scores['log_loss']:.4f}"
        print(f"{scores['accuracy']:>10.4f}  {loss:>9}  {name}")

    for run, scores in zip(runs, result["members"]):
        row(scores, str(run))
    row(result["ensemble"], "ensemble")
    gain = result["ensemble"]["accuracy"] - result["mean_member_accuracy"]
    print(f"mean member accuracy {result['mean_member_accuracy']:.4f}; the ensemble: {gain:+.4f}")


def register(app: typer.Typer) -> None:
    app.command("train")(with_run_options(train_command))
    app.command("evaluate")(evaluate_command)
    app.command("predict")(predict_command)
