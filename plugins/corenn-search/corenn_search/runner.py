"""The search: stages of sampled trials into the storage, and the summary of a stored search."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
import corenn

from .execution import Job, executor
from .space import (
    EdgeWarning,
    Param,
    SearchError,
    Trial,
    _run_config,
    _show,
    apply_params,
    check_space,
    edge_warnings,
    importance,
    narrow,
    parse_params,
    ranked,
    sample,
)
from .storage import FORMAT, Storage, identity_hash

STORAGE_FILE, FIGURE_FILE, BEST_FILE = "search.sqlite", "search.png", "best.toml"


@attrs.define
class SearchResult:
    """A search as stored: ranked trials, each stage's ranges, warnings, where its files are."""

    trials: list[Trial]
    stages: dict[int, tuple[list[Param], int]]
    planned: dict[str, int]
    warnings: list[EdgeWarning]
    importance: dict[str, float]
    storage: Path
    folder: Path
    figure: Path | None = None
    best_config: Path | None = None
    ran: int = 0  # trials this call ran

    @property
    def best(self) -> Trial | None:
        return self.trials[0] if self.trials and self.trials[0].ok else None

    @property
    def space(self) -> list[Param]:
        return self.stages[0][0] if self.stages else []

    @property
    def finished(self) -> bool:
        want = self.planned.get("trials", 0)
        counts = {s: 0 for s in range(self.planned.get("stages", 1))}
        for t in self.trials:
            counts[t.stage] = counts.get(t.stage, 0) + 1
        return all(c >= want for c in counts.values())

    def progress_text(self) -> str:
        want, n = self.planned.get("trials", 0), self.planned.get("stages", 1)
        parts = []
        for s in range(n):
            done = [t for t in self.trials if t.stage == s]
            failed = sum(not t.ok for t in done)
            parts.append(f"stage {s + 1}: {len(done)}/{want} trials" + (f" ({failed} failed)" if failed else ""))
        return "; ".join(parts) + ("" if self.finished else " (unfinished: run the same command to continue)")

    def table(self, top: int | None = 20):
        """The ranked trials as a rich Table (the ``top`` best, then every failed one), narrow enough for 80
        columns: the borders of ``corenn list``, each parameter headed by the last part of its path where
        that is unique, a stage column only for a search of several stages, a status column only if one failed."""
        from rich.table import Table

        space = self.space
        shown = [t for t in self.trials if t.ok][:top] if top else [t for t in self.trials if t.ok]
        failed = [t for t in self.trials if not t.ok]
        tails = [p.path.rsplit(".", 1)[-1] for p in space]
        heads = [tail if tails.count(tail) == 1 else p.path for p, tail in zip(space, tails)]
        stages = len(self.stages) > 1 or any(t.stage for t in self.trials)
        table = Table(box=None, header_style="bold", pad_edge=False, collapse_padding=True)
        for name in ("rank", *(["stage"] if stages else []), "trial", *heads, "val\nacc", "train\nacc", "val\nloss",
                     "epochs", "seconds"):
            table.add_column(name, justify="right", no_wrap=True)
        if failed:
            table.add_column("status", overflow="fold")
        dist = {p.path: p.dist for p in space}
        for rank, t in enumerate([*shown, *failed], 1):
            cells = [str(rank) if t.ok else "-", *([str(t.stage + 1)] if stages else []), str(t.index),
                     *(_show(t.params.get(p.path), dist[p.path]) for p in space),
                     *(f"{v:.4f}" if v is not None else "-" for v in (t.val_acc, t.train_acc, t.val_loss)),
                     str(t.epochs), f"{t.seconds:.2f}", *(["ok" if t.ok else _short(t.error)] if failed else [])]
            table.add_row(*cells, style="bold green" if rank == 1 and t.ok else ("red" if not t.ok else None))
        hidden = sum(t.ok for t in self.trials) - len(shown)
        if hidden > 0:
            table.caption = f"{hidden} more finished trials not shown (--top)"
        return table


def _short(text: str | None, n: int = 60) -> str:
    text = (text or "failed").splitlines()[0]
    return text if len(text) <= n else text[:n - 1] + "…"


def summarize(store: Storage, folder: Path | None = None) -> SearchResult:
    meta = store.meta()
    stages = store.stages()
    trials = ranked(store.trials())
    best = trials[0] if trials and trials[0].ok else None
    config = (meta.get("identity") or {}).get("config")
    spaces = [stages[s][0] for s in sorted({0, best.stage} if best is not None else ()) if s in stages]
    return SearchResult(trials, stages, {"trials": int(meta.get("trials", 0)), "stages": int(meta.get("stages", 1))},
                        edge_warnings(spaces, best, config),
                        importance(stages[0][0] if stages else [], trials),
                        store.path, folder or store.path.parent)


def show(path: str | os.PathLike) -> SearchResult:
    """The stored search at ``path`` (its storage file or its folder), finished or not."""
    path = Path(path)
    if path.is_dir():
        path = path / STORAGE_FILE
    if not path.is_file():
        raise corenn.InvalidFile(f"no search storage at {str(path)!r}")
    store = Storage(path, readonly=True)
    try:
        if store.meta().get("format") != FORMAT:
            raise corenn.InvalidFile(f"{str(path)!r} is not a corenn search storage file")
        result = summarize(store)
    finally:
        store.close()
    figure = result.folder / FIGURE_FILE
    result.figure = figure if figure.is_file() else None
    best = result.folder / BEST_FILE
    result.best_config = best if best.is_file() else None
    return result


def _resolve_config(config: Any):
    RunConfig = _run_config()
    if config is None:
        return RunConfig()
    if isinstance(config, RunConfig):
        cfg = RunConfig(**config.to_dict())
        cfg.validate()
        return cfg
    if isinstance(config, (str, os.PathLike)):
        from corenn.run import read_config

        return RunConfig.from_mapping(read_config(config), where=str(config))
    return RunConfig.from_mapping(config)


def default_folder(cfg: Any, digest: str) -> Path:
    name, _ = corenn.parse_spec(cfg.dataset)
    return Path("searches") / f"{name}-{digest[:10]}"


def search(config: Any = None, params: Iterable[str | Param] = (), *, trials: int = 20, stages: int = 1,
           fine_epochs: int | None = None, workers: int | None = None, scheduler: Any = None,
           connect_timeout: float = 5.0, storage: str | os.PathLike | None = None,
           out: str | os.PathLike | None = None, force_new: bool = False, seed: int | None = None,
           fraction: float = 0.2, figure: bool = True, on_trial: Callable[[Trial], None] | None = None,
           on_stage: Callable[[int, list[Param], int, int], None] | None = None) -> SearchResult:
    """Random search over ``params`` (``"PATH=DIST:RANGE"`` strings or :class:`Param`) around ``config``.

    ``config`` is a RunConfig, a mapping of its keys, a TOML path or None (the defaults).
    ``trials`` per stage; with ``stages`` > 1 each later stage narrows the ranges around the top
    ``fraction`` of the stage before and trains ``fine_epochs`` epochs (default: the config's).
    ``seed`` seeds the sampling (default: the config's seed; every trial trains with the config's seed).
    ``workers``: 0 runs trials in this process, N in a pool of N processes (default: one per core);
    ``scheduler``: a Dask scheduler address (or a ``distributed.Client``) instead.
    The storage defaults to ``out/search.sqlite``; ``out`` to ``searches/<dataset>-<hash>``.
    Running it again with the same config, params and seed continues where it stopped.
    ``on_trial(trial)`` is called as each trial is stored, ``on_stage(stage, ranges, epochs, done)`` as each
    stage begins (``done``: its trials already stored).
    """
    from corenn.files import atomic_write_text
    from corenn.run import load_data

    for name, value, least in (("trials", trials, 1), ("stages", stages, 1), ("fine_epochs", fine_epochs, 1)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
            raise SearchError(f"{name} must be a positive integer, got {value!r}")
    if not 0 < fraction <= 1:
        raise SearchError(f"fraction must be in (0, 1], got {fraction!r}")
    cfg = _resolve_config(config)
    cfg.default_callbacks = False  # figures and reports of every trial would only cost time
    base = cfg.to_dict()
    space = parse_params(params)
    check_space(base, space)
    seed = cfg.seed if seed is None else seed
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SearchError(f"seed must be a non-negative integer, got {seed!r}")
    identity = {"config": base, "params": [str(p) for p in space], "seed": seed, "fine_epochs": fine_epochs,
                "fraction": fraction}
    if out is not None:
        folder = Path(out)
    elif storage is not None:
        folder = Path(storage).parent
    else:
        folder = default_folder(cfg, identity_hash(identity))
    runner = executor(workers=workers, scheduler=scheduler, connect_timeout=connect_timeout)  # fails fast
    try:
        store = Storage.open(Path(storage) if storage is not None else folder / STORAGE_FILE, identity,
                             force_new=force_new)
        try:
            store.set_meta(trials=trials, stages=stages)
            stage_plan = _Stages(store, cfg, space, trials=trials, stages=stages, fine_epochs=fine_epochs, seed=seed,
                                 fraction=fraction, session=store.new_session())
            ran = stage_plan.run(runner, load=lambda: load_data(cfg)[0], on_trial=on_trial, on_stage=on_stage)
            result = summarize(store, folder)
        except KeyboardInterrupt as exc:
            exc.storage = store.path  # for the message: where the finished trials are
            runner.close(now=True)
            raise
        finally:
            store.close()
    finally:
        runner.close()
    result.ran = ran
    if result.best is not None:
        epochs = result.stages[result.best.stage][1]
        best = _run_config().from_mapping(apply_params({**base, "epochs": epochs, "default_callbacks": True},
                                                       result.best.params), where="best trial")
        result.best_config = folder / BEST_FILE
        atomic_write_text(result.best_config, best.to_toml())
    if figure and result.trials:
        from .figure import plot

        result.figure = plot(result, folder / FIGURE_FILE)
    return result


@attrs.define
class _Stages:
    """The stages of one search call: ranges fixed as each stage begins, the missing trials run."""

    store: Storage
    cfg: Any
    space: list[Param]
    trials: int
    stages: int
    fine_epochs: int | None
    seed: int
    fraction: float
    session: int

    def ranges(self, stage: int) -> tuple[list[Param], int]:
        stored = self.store.stage(stage)
        if stored is None:  # a new stage: narrow around the stage before, and keep that for good
            space = self.space if stage == 0 else narrow(self.store.stage(stage - 1)[0],
                                                         self.store.trials(stage - 1), self.fraction)
            epochs = self.cfg.epochs if stage == 0 or self.fine_epochs is None else self.fine_epochs
            self.store.set_stage(stage, space, epochs)
            stored = self.store.stage(stage)
        return stored

    def jobs(self, stage: int, space: list[Param], epochs: int) -> list[Job]:
        done = {t.index for t in self.store.trials(stage)}
        base = self.cfg.to_dict()
        jobs = []
        for index in range(self.trials):
            if index not in done:
                values = sample(space, self.seed, stage, index)
                jobs.append(Job(stage, index, values, apply_params({**base, "epochs": epochs}, values)))
        return jobs

    def run(self, runner: Any, *, load: Callable[[], Any], on_trial: Callable | None,
            on_stage: Callable | None) -> int:
        ran, started = 0, False
        for stage in range(self.stages):
            space, epochs = self.ranges(stage)
            jobs = self.jobs(stage, space, epochs)
            if on_stage is not None:
                on_stage(stage, space, epochs, self.trials - len(jobs))
            if jobs and not started:
                data = load()
                if not len(data.y_val):
                    raise SearchError("the dataset has no validation split, and a search ranks trials by "
                                      "validation accuracy; choose a dataset (or options) that make one")
                runner.start(data)
                started = True
            for job, result in runner.run(jobs) if jobs else ():
                trial = Trial(job.stage, job.index, job.params, result["status"], result.get("val_acc"),
                              result.get("val_loss"), result.get("train_acc"), result.get("loss"),
                              int(result.get("epochs", 0)), float(result.get("seconds", 0.0)), result.get("error"),
                              result.get("worker", ""), self.session)
                if self.store.add(trial):
                    ran += 1
                    if on_trial is not None:
                        on_trial(trial)
        return ran
