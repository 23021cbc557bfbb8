"""``corenn search``: the command over :func:`corenn_search.search` and :func:`corenn_search.show`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .runner import SearchResult, search, show
from .space import Param, SearchError, Trial, _run_config, _show


def command():
    """The ``search`` command: its own options plus every RunConfig option of ``corenn train``."""

    import typer
    from corenn.cli.run_options import options_to_config, with_run_options

    def search_command(
        config: Optional[Path] = typer.Argument(None, help="TOML run config (options override it)."),
        param: Optional[list[str]] = typer.Option(
            None, "--param", "-p", help="PATH=DIST:RANGE to search (examples above); repeat for several."),
        trials: int = typer.Option(20, "--trials", min=1, help="Trials per stage."),
        stages: int = typer.Option(1, "--stages", min=1, help="2: a coarse stage, then a fine stage whose ranges "
                                   "narrow around the best coarse trials."),
        fine_epochs: Optional[int] = typer.Option(None, "--fine-epochs", min=1, help="Epochs of the trials after "
                                                  "the first stage (default: --epochs)."),
        workers: Optional[int] = typer.Option(None, "--workers", min=0, help="Processes of the local pool "
                                              "(0: trials in this process) (default: one per core)."),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a Dask scheduler "
                                                "(host:port or a tcp URL) whose cluster runs the trials."),
        connect_timeout: float = typer.Option(5.0, "--connect-timeout", help="Seconds to wait for the scheduler."),
        storage: Optional[Path] = typer.Option(None, "--storage", help="SQLite file of the trials "
                                               "(default: search.sqlite in the search folder)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Search folder: storage, figure, best.toml "
                                           "(default: a folder in searches/ named by the dataset and the search)."),
        force_new: bool = typer.Option(False, "--force-new", metavar="",
                                       help="Discard what the storage holds and start over."),
        show_path: Optional[Path] = typer.Option(None, "--show", help="Print the table of a stored search "
                                            "(its storage file or folder), finished or not, and exit."),
        top: int = typer.Option(20, "--top", min=1, help="Rows of the ranked table."),
        progress: bool = typer.Option(True, "--progress/--no-progress", metavar="", help="Show a progress bar."),
        as_json: bool = typer.Option(False, "--json", metavar="", help="Print the search as JSON (see docs/cli.md)."),
        **fields: Any) -> None:
        """Random hyperparameter search, coarse to fine, resumable; local processes or a Dask cluster.

        Each --param is PATH=DIST:RANGE, for example:

          optimizer.lr=log:1e-5..1e-2
          regularizer.strength=log:1e-6..1e-1
          dropout=uniform:0.3..0.9
          epochs=int:2..8
          activation=choice:relu|tanh

        An item of a list (layers, regularizer, hidden, dropout) by its index:

          layers.0.out_features=int:32..256
          regularizer.1.strength=log:1e-6..1e-2
          bias_init.value=uniform:0..0.1
        """
        from corenn.run import check_installed, read_config
        from rich.console import Console

        console = Console()
        if show_path is not None:
            if config is not None or param or any(v is not None for v in fields.values()):
                raise SearchError("--show prints a stored search; give it without a config or search options")
            result = show(show_path)
            _report(console, result, top, ran=None, as_json=as_json)
            return
        base = read_config(config) if config is not None else {}
        cfg = _run_config().from_mapping(options_to_config(base, fields), where=str(config or "options"))
        check_installed(cfg, "this search")  # one error naming every missing distribution, before any trial
        bar = _Progress(trials, stages) if progress and not as_json else None
        try:
            result = search(cfg, param or [], trials=trials, stages=stages, fine_epochs=fine_epochs, workers=workers,
                            scheduler=scheduler, connect_timeout=connect_timeout, storage=storage, out=out,
                            force_new=force_new, on_trial=bar.trial if bar else None,
                            on_stage=bar.stage if bar else (None if as_json else _announce(console)))
        except KeyboardInterrupt as exc:
            if bar:
                bar.close()
            where = getattr(exc, "storage", None) or "the storage"
            console.print(f"interrupted: every finished trial is stored in {where}; run the same command again "
                          "to continue", highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
        finally:
            if bar:
                bar.close()
        _report(console, result, top, ran=result.ran, as_json=as_json)

    return with_run_options(search_command)


def _announce(console):
    def on_stage(stage: int, space: list[Param], epochs: int, done: int) -> None:
        stored = f", {done} trials already stored" if done else ""
        console.print(f"stage {stage + 1}: " + ", ".join(str(p) for p in space) + f" ({epochs} epochs{stored})",
                      highlight=False, soft_wrap=True)
    return on_stage


class _Progress:
    """A rich progress bar per stage, with the best validation accuracy so far."""

    def __init__(self, trials: int, stages: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("best val acc {task.fields[best]}"), TimeElapsedColumn(),
                                 console=Console(stderr=True))
        self.trials, self.stages, self.task, self.best = trials, stages, None, None
        self.started = False

    def stage(self, stage: int, space: list[Param], epochs: int, done: int) -> None:
        if not self.started:
            self.progress.start()
            self.started = True
        stored = f", {done} trials already stored" if done else ""
        self.progress.console.print(f"stage {stage + 1}/{self.stages}: " + ", ".join(str(p) for p in space) +
                                    f" ({epochs} epochs{stored})", highlight=False, soft_wrap=True)
        self.task = self.progress.add_task(f"stage {stage + 1}/{self.stages}", total=self.trials,
                                           completed=min(done, self.trials), best="-")

    def trial(self, trial: Trial) -> None:
        if trial.ok and (self.best is None or trial.val_acc > self.best):
            self.best = trial.val_acc
        self.progress.update(self.task, advance=1, best="-" if self.best is None else f"{self.best:.4f}")

    def close(self) -> None:
        if self.started:
            self.progress.stop()
            self.started = False


def as_dict(result: SearchResult, top: int | None = None) -> dict:
    """A search as plain data (``corenn search --json``): every trial best first, or the ``top`` best
    finished ones and every failed one; values as the trials used them."""
    ok = [t for t in result.trials if t.ok]
    failed = [t for t in result.trials if not t.ok]

    def trial(t: Trial) -> dict:
        return {"stage": t.stage + 1, "trial": t.index, "params": t.params, "status": t.status,
                "val_acc": t.val_acc, "train_acc": t.train_acc, "val_loss": t.val_loss, "loss": t.loss,
                "epochs": t.epochs, "seconds": t.seconds, "error": t.error}

    return {"storage": str(result.storage), "folder": str(result.folder), "finished": result.finished,
            "planned": dict(result.planned), "ran": result.ran,
            "space": [str(p) for p in result.space],
            "trials": [trial(t) for t in [*(ok[:top] if top else ok), *failed]],
            "best": trial(result.best) if result.best is not None else None,
            "importance": dict(result.importance), "warnings": [str(w) for w in result.warnings],
            "figure": None if result.figure is None else str(result.figure),
            "best_config": None if result.best_config is None else str(result.best_config)}


def _report(console, result: SearchResult, top: int, ran: int | None, as_json: bool = False) -> None:
    if as_json:
        import json

        print(json.dumps(as_dict(result, top), indent=2, default=repr))
        return
    console.print(f"search {result.storage}: {result.progress_text()}", highlight=False, soft_wrap=True)
    console.print(result.table(top))
    if ran is not None:
        console.print(f"ran {ran} trials this time; storage: {result.storage}", highlight=False, soft_wrap=True)
    if result.importance:
        console.print("importance (rank correlation with val acc): " +
                      ", ".join(f"{k} {v:.2f}" for k, v in sorted(result.importance.items(), key=lambda kv: -kv[1])),
                      highlight=False, soft_wrap=True)
    best = result.best
    if best is not None:
        values = ", ".join(f"{k}={_show(v)}" for k, v in best.params.items())
        console.print(f"best: val acc {best.val_acc:.4f} (stage {best.stage + 1}, trial {best.index}): {values}",
                      highlight=False, soft_wrap=True)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)
    if result.figure is not None:
        console.print(f"figure: {result.figure}", highlight=False, soft_wrap=True)
    if result.best_config is not None:
        console.print(f"best config: {result.best_config} (train it longer: corenn train {result.best_config} "
                      "--epochs 30)", highlight=False, soft_wrap=True)
