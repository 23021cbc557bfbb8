"""How many BLAS threads training and evaluation use: the ``threads`` setting.

    with blas_threads(thread_count("auto", model, batch=64)):
        ...   # numpy's matrix products run on that many threads; the old count comes back after

numpy's BLAS (OpenBLAS) starts one thread per core and splits every large
enough matrix product between them. That pays on an idle machine for products
of some tens of millions of multiply-adds; for the small products of a small
model the threads only wait on each other, and on a busy machine (other
processes on the cores) a product waits for its slowest thread, which the
operating system has put aside: a run slows down 5-20x instead of the 1.5x of
a fair share. So training holds the pool at the count this setting gives:

- an integer >= 1: that many threads;
- ``"auto"`` (the default): ``CORENN_THREADS`` when that environment variable
  is set, else one thread per :data:`WORK_PER_THREAD` multiply-adds of the
  step's matrix products (the batch size times the sizes of the model's 2-d
  parameters: a dense layer's ``x @ W`` costs ``batch * fan_in * fan_out``),
  at least 1 and at most the threads the pool has (``OPENBLAS_NUM_THREADS``
  and any outer limit, such as the search's one thread per trial, still hold)
  and the cores that other processes leave free when it is decided (on Linux:
  the runnable tasks of ``/proc/loadavg`` less this process's own, sampled for
  ~5 ms, only where the work alone would ask for more than one thread: a process
  that keeps a core busy is runnable at every reading).

See docs/performance.md for the measurements behind :data:`WORK_PER_THREAD`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import InvalidHyperparameter

#: the environment variable that sets what ``threads="auto"`` means (an integer >= 1, or auto)
ENV = "CORENN_THREADS"
#: multiply-adds per training step that one more BLAS thread needs before it pays: below
#: 2 * WORK_PER_THREAD a step runs on one thread (digits' default MLP: ~1.1 M; MNIST-1D's
#: 512-512 MLP at batch 100: ~29 M; a 3072-1024-1024-10 MLP at batch 256: ~1.07 G)
WORK_PER_THREAD = 64_000_000

#: OpenBLAS's idle-worker spin, as 2**n cycles (its own default: 28, ~0.1 s), set where corenn
#: loads before numpy (see :func:`quiet_idle_blas_workers`)
SPIN_VARIABLE, SPIN_EXPONENT = "OPENBLAS_THREAD_TIMEOUT", "4"

_controller = None


def quiet_idle_blas_workers() -> bool:
    """Have OpenBLAS's worker threads sleep as soon as a product ends instead of spinning for
    ~0.1 s, where numpy has not loaded yet (OpenBLAS reads the setting once, when it loads)
    and the user has not set it: a spinning worker holds a core that the next elementwise
    work wants (a blockwise optimizer's second thread, another process on a busy machine).
    Whether it was set."""
    if "numpy" in sys.modules or SPIN_VARIABLE in os.environ:
        return False
    os.environ[SPIN_VARIABLE] = SPIN_EXPONENT
    return True


def check_threads(value: Any, owner: str = "Trainer", field: str = "threads") -> str | int:
    """``"auto"`` or an integer >= 1 (a string of digits counts); anything else is an
    :class:`~corenn.InvalidHyperparameter` naming ``owner`` and ``field``."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        if text.isdigit() and int(text) >= 1:
            return int(text)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise InvalidHyperparameter(owner, field, value, "must be 'auto' or an integer >= 1 (BLAS threads)")


def step_work(model: Any, batch: int) -> int:
    """Multiply-adds of the forward matrix products of one batch: ``batch`` times the
    size of every 2-d parameter (backward does about twice as many, in products of the
    same sizes)."""
    params = model.parameters() if hasattr(model, "parameters") else []
    return int(batch) * sum(int(p.size) for p in params if getattr(p, "ndim", 0) == 2)


def auto_count(work: int, available: int) -> int:
    """The rule of ``"auto"``: one thread per :data:`WORK_PER_THREAD` multiply-adds, 1 to ``available``."""
    return max(1, min(int(available), int(work) // WORK_PER_THREAD))


def thread_count(setting: Any, model: Any, batch: int) -> int:
    """The BLAS thread count for running ``model`` on batches of ``batch`` rows under ``setting``."""
    setting = check_threads(setting)
    if setting == "auto" and os.environ.get(ENV, "").strip():
        setting = check_threads(os.environ[ENV], ENV, "value")
    if setting != "auto":
        return setting
    count = auto_count(step_work(model, batch), pool_size())
    if count > 1:
        count = min(count, free_cores())
    return count


def free_cores() -> int:
    """The cores this process may use that other processes are not running on now (at least 1)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    others = others_running()
    return cores if others is None else max(1, cores - round(others))


def others_running(samples: int = 5, interval: float = 0.001) -> float | None:
    """The median number of runnable tasks of other processes over ``samples`` readings of
    ``/proc/loadavg`` (its fourth field, running/total) less this process's own runnable
    threads (``/proc/self/task``: BLAS workers spin for a while after a product, and are
    not another process's load); None where there is no such file."""
    counts = []
    for i in range(samples):
        running = _all_running()
        if running is None:
            return None
        counts.append(max(0, running - _own_running()))
        if i < samples - 1:
            time.sleep(interval)
    return statistics.median(counts)


def _all_running() -> int | None:
    """The runnable tasks of the whole machine now (``/proc/loadavg``), or None."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def _own_running() -> int:
    """This process's threads in the running state (at least 1: the one reading)."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", encoding="ascii") as f:
                count += f.read().rsplit(")", 1)[1].split()[0] == "R"
        except (OSError, IndexError):
            continue
    return max(1, count)


def pool_size() -> int:
    """The most threads numpy's BLAS uses now (its own setting, or an outer limit)."""
    counts = [lib.num_threads for lib in _blas().lib_controllers]
    return max(counts) if counts else 1


@contextmanager
def blas_threads(count: int) -> Iterator[None]:
    """Hold numpy's BLAS at ``count`` threads inside the block; the previous count comes back after."""
    with _blas().limit(limits=count):
        yield


def _blas():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.select(user_api="blas")


__all__ = ["ENV", "WORK_PER_THREAD", "quiet_idle_blas_workers", "check_threads", "step_work", "auto_count", "thread_count", "free_cores",
           "others_running", "pool_size", "blas_threads"]
