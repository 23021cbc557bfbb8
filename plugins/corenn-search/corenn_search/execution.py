"""Where trials run: this process, a local pool of spawned processes, or a Dask cluster."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import corenn
import numpy as np

from .space import SearchError

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


class SchedulerUnreachable(corenn.CorennError, ConnectionError):
    """The Dask scheduler given with ``--scheduler`` did not answer."""


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def run_trial(config: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """Train one trial's config on ``data`` (already preprocessed) and score it on the validation split.

    Runs anywhere (this process, a pool worker, a Dask worker). A trial that diverges or raises
    returns ``status="failed"`` with the reason instead of raising.
    """
    from corenn.run import RunConfig, build_model, build_trainer
    from corenn.trainer import TrainingDiverged

    started = time.perf_counter()
    out: dict[str, Any] = {"status": "failed", "error": None, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        with np.errstate(all="ignore"):  # wild values are the point of a search; divergence is caught below
            cfg = RunConfig.from_mapping(config, where="trial config")
            model = build_model(cfg, data.num_features, data.num_classes)
            trainer = build_trainer(cfg, model)
            history = trainer.fit(data.X_train, data.y_train, validation=(data.X_val, data.y_val))
        last = history.epochs[-1] if history.epochs else {}
        out.update(status="ok", val_acc=_finite(last.get("val_acc")), val_loss=_finite(last.get("val_loss")),
                   train_acc=_finite(last.get("train_acc")), loss=_finite(last.get("loss")),
                   epochs=len(history.epochs))
        if out["val_acc"] is None:
            out.update(status="failed", error="no validation accuracy was recorded")
    except TrainingDiverged as exc:
        out["error"] = f"diverged: {exc}"
    except Exception as exc:  # any failure is this trial's result; the search goes on
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["seconds"] = time.perf_counter() - started
    return out


@attrs.frozen
class Job:
    stage: int
    index: int
    params: dict
    config: dict


class InProcess:
    """Trials one after another in this process, with one BLAS thread as in a pool or Dask worker: the
    same numbers as theirs, and small matrix products run faster without threads that wait on each other."""

    def start(self, data: Any) -> None:
        self.data = data

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        from threadpoolctl import threadpool_limits

        for job in jobs:
            with threadpool_limits(1):
                result = run_trial(job.config, self.data)
            yield job, result

    def close(self, *, now: bool = False) -> None:
        pass


_WORKER_DATA: Any = None


def _init_worker(data: Any, parent: int | None = None) -> None:
    import signal
    import threading

    global _WORKER_DATA
    _WORKER_DATA = data
    if parent is not None:
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True, name="parent-watch").start()
    corenn.available("layer")  # load the plugins now, not inside the first trial's time
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the search's to handle: it stops the pool


def _exit_when_orphaned(parent: int, every: float = 0.5) -> None:
    """End this worker as soon as the search that started it is gone (even killed with -9): it is then
    re-parented, so its parent PID changes."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _pool_trial(config: Mapping[str, Any]) -> dict[str, Any]:
    return run_trial(config, _WORKER_DATA)


@contextlib.contextmanager
def _one_thread_each() -> Iterator[None]:
    """Children started inside get one BLAS thread each (unless the user set the variables), as Dask's do."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    for k in _THREAD_VARIABLES:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class LocalPool:
    """A pool of spawned processes; each receives the dataset once, when it starts."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None

    def start(self, data: Any) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_worker, initargs=(data, os.getpid()))

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        with _one_thread_each():  # processes start on submit
            futures = {self.pool.submit(_pool_trial, job.config): job for job in jobs}
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    raise SearchError(f"a worker process died ({exc}); the finished trials are stored: "
                                      "run the same command again to continue") from exc
                yield futures[future], result
        finally:
            for future in futures:
                future.cancel()

    def close(self, *, now: bool = False) -> None:
        if self.pool is None:
            return
        if now:  # stop the running trials too (Ctrl-C)
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster:
    """Trials on a Dask cluster; the dataset is scattered to every worker once."""

    def __init__(self, scheduler: Any, connect_timeout: float = 5.0, retries: int = 3):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a dependency of this plugin
            raise SearchError("--scheduler needs dask's distributed package (pip install distributed)") from exc
        self.retries = retries
        if isinstance(scheduler, Client):
            self.client, self.own = scheduler, False
        else:
            address = str(scheduler)
            try:
                self.client = Client(address, timeout=connect_timeout, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise SchedulerUnreachable(
                    f"cannot reach the Dask scheduler {address!r} within {connect_timeout:g} s ({exc}); start one "
                    "with 'dask scheduler' and workers with 'dask worker tcp://HOST:8786', or leave out "
                    "--scheduler to use a local process pool") from exc
            self.own = True
        self.tag = uuid.uuid4().hex[:8]
        self.scattered = None

    def start(self, data: Any) -> None:
        # hash=False: each copy gets a key of its own, so cancelling a lost copy cannot take a new one with it
        self.data = data
        self.scattered = self.client.scatter(data, broadcast=True, hash=False)

    def _submit(self, job: Job, attempt: int):
        future = self.client.submit(run_trial, job.config, self.scattered, pure=False,
                                    key=f"corenn-trial-{self.tag}-{job.stage}-{job.index}-{attempt}")
        return future, (job, self.scattered)

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        from distributed import as_completed

        attempts = {(job.stage, job.index): 0 for job in jobs}
        futures = dict(self._submit(job, 0) for job in jobs)  # future -> (job, the dataset it reads)
        pending = as_completed(list(futures), loop=self.client.loop)
        try:
            for future in pending:
                job, dataset = futures.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # the cluster lost it (a killed worker, a lost dataset): try again
                    key = (job.stage, job.index)
                    attempts[key] += 1
                    if attempts[key] > self.retries:
                        raise SearchError(f"trial {job.index} of stage {job.stage + 1} was lost by the cluster "
                                          f"{attempts[key]} times ({type(exc).__name__}: {exc}); the finished "
                                          "trials are stored: run the same command again to continue") from exc
                    # The dataset may have gone with the workers that held it, and its future's status
                    # can lag behind: send it again once per loss (trials that read the copy already
                    # replaced just use the new one).
                    if dataset is self.scattered:
                        self.scattered = self.client.scatter(self.data, broadcast=True, hash=False)
                    retry, entry = self._submit(job, attempts[key])
                    futures[retry] = entry
                    pending.add(retry)
                    continue
                yield job, result
        finally:
            if futures:
                self.client.cancel(list(futures))

    def close(self, *, now: bool = False) -> None:
        if self.scattered is not None:
            with contextlib.suppress(Exception):
                self.client.cancel([self.scattered])
        if self.own:
            self.client.close()


def executor(*, workers: int | None = None, scheduler: Any = None, connect_timeout: float = 5.0):
    """Where the trials will run (a Dask scheduler is connected to now); ``start(data)`` before ``run``."""
    if scheduler is not None:
        return DaskCluster(scheduler, connect_timeout)
    workers = default_workers() if workers is None else workers
    if not isinstance(workers, int) or workers < 0:
        raise SearchError(f"workers must be 0 (trials in this process) or more, got {workers!r}")
    return InProcess() if workers == 0 else LocalPool(workers)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
