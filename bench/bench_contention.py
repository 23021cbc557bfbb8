"""Training time on an idle and on a busy machine, with each thread setting.

    python3 dev.py python bench/bench_contention.py [--repeats 3] [--busy 2]

Two runs of ``corenn train`` (each a fresh process, as a user starts it):

- digits: the default run (``corenn train``: digits, MLP 64-128-64-10, adam, batch 64,
  30 epochs);
- mnist1d: the MNIST-1D example (``docs/examples/mnist1d.toml``: MLP 40-512-512-10,
  dropout, batch 100), ``--epochs 10`` (of its 80).

Each runs with ``--threads auto`` (the default), ``--threads 1`` and ``--threads N``
(N: the cores, numpy's own default before the threads setting existed), on the idle
machine and while ``--busy`` CPU-bound processes (pure-Python loops, one core each)
run alongside. The time is the ``seconds`` of the run's ``summary.json`` (training and
the test evaluation, without interpreter and plugin start-up; ``--no-default-callbacks``
leaves out the doctor's and the figures' work, which is not BLAS-bound). Repetitions take turns
(idle, busy, idle, busy, ...; every setting in each), so that load from elsewhere hits
all alike, and each cell is the median. It prints the medians and the ratios the goal
is about: busy/idle for auto (a fair share of 2 cores among 3 busy processes is 1.5;
goal <= 3) and busy auto / busy one thread (goal <= 1: never slower than one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "digits": [],
    "mnist1d": [str(ROOT / "docs" / "examples" / "mnist1d.toml"), "--epochs", "10"],
}
BUSY_LOOP = "import time\nwhile True:\n    sum(range(100000))\n"


def train_seconds(run: list[str], threads: str, folder: Path) -> float:
    cmd = [str(Path(sys.executable).with_name("corenn")), "train", *run, "--threads", threads, "--out", str(folder),
           "--no-default-callbacks"]
    env = {k: v for k, v in os.environ.items() if k != "CORENN_THREADS"}
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    return json.loads((folder / "summary.json").read_text())["seconds"]


class Busy:
    """``count`` CPU-bound processes while the block runs."""

    def __init__(self, count: int):
        self.count, self.procs = count, []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(self.count)]
        time.sleep(0.5)  # let them take the cores
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=2, help="CPU-bound background processes")
    parser.add_argument("--runs", default=",".join(RUNS))
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    settings = ["auto", "1", str(cores)]
    names = args.runs.split(",")
    times: dict[tuple, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        k = 0
        for _ in range(args.repeats):
            for state in ("idle", "busy"):
                with Busy(args.busy if state == "busy" else 0):
                    for name in names:
                        for threads in settings:
                            k += 1
                            seconds = train_seconds(RUNS[name], threads, Path(tmp) / str(k))
                            times.setdefault((name, state, threads), []).append(seconds)
    med = {key: statistics.median(v) for key, v in times.items()}
    print(f"{cores} cores, {args.busy} busy processes, median of {args.repeats}; seconds of training + test:\n")
    print("| run | threads | idle s | busy s | busy/idle |")
    print("|---|---|---:|---:|---:|")
    for name in names:
        for threads in settings:
            idle, busy = med[(name, "idle", threads)], med[(name, "busy", threads)]
            print(f"| {name} | {threads} | {idle:.2f} | {busy:.2f} | {busy / idle:.2f} |")
    print("\n| run | auto busy/idle (goal <= 3) | auto / one thread, busy (goal <= 1) | "
          f"{cores} threads / auto, busy |")
    print("|---|---:|---:|---:|")
    for name in names:
        auto_idle, auto_busy = med[(name, "idle", "auto")], med[(name, "busy", "auto")]
        print(f"| {name} | {auto_busy / auto_idle:.2f} | {auto_busy / med[(name, 'busy', '1')]:.2f} | "
              f"{med[(name, 'busy', str(cores))] / auto_busy:.2f} |")


if __name__ == "__main__":
    main()
