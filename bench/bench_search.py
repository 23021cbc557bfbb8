"""Throughput of ``corenn search``: trials per minute with 1 and 2 workers, and the overhead per trial.

    python3 dev.py python bench/bench_search.py [--trials 40] [--epochs 20] [--hidden 64] [--no-dask]

Runs the same one-stage search (digits, an MLP with one hidden layer, adam, lr and L2 strength
sampled in log space) in this process, in a local pool of 1 and 2 processes, and on a Dask
LocalCluster of 1 and 2 single-threaded worker processes on 127.0.0.1, and prints a Markdown table:

- trials/min: finished trials per minute of wall time, from the first trial stored to the last
  (the steady state; the one-off start-up is its own column);
- start-up: from calling ``search`` to the first stored trial, less that trial's training time
  (data loading, spawning the pool or scattering the dataset to the cluster);
- train s/trial: the training time measured inside the worker (what the trial itself costs);
- overhead s/trial: what each trial costs a worker beyond its training: scheduling, sending the
  config and the result, storing it (``workers * wall / trials - train``, in the steady state).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def run(label: str, slots: int, trials: int, config: dict, params: list[str], **where) -> dict:
    import corenn_search as cs

    stamps: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = cs.search(config, params, trials=trials, out=Path(tmp), figure=False,
                           on_trial=lambda t: stamps.append((time.perf_counter(), t.seconds)), **where)
    assert result.ran == trials and all(t.ok for t in result.trials), [t.error for t in result.trials]
    first, last = stamps[0][0], stamps[-1][0]
    train = statistics.mean(s for _, s in stamps[1:])  # the trials of the steady state
    steady = (last - first) / (trials - 1)  # wall seconds per trial once running
    return {"label": label, "workers": slots, "per_min": 60 / steady, "startup": first - started - stamps[0][1],
            "train": train, "overhead": slots * steady - train, "total": last - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster rows")
    args = parser.parse_args(argv)
    config = {"dataset": "digits", "hidden": [args.hidden], "epochs": args.epochs, "regularizer": "l2"}
    params = ["optimizer.lr=log:1e-4..1e-2", "regularizer.strength=log:1e-6..1e-2"]
    rows = [run("this process (--workers 0)", 1, args.trials, config, params, workers=0)]
    for n in (1, 2):
        rows.append(run(f"local pool (--workers {n})", n, args.trials, config, params, workers=n))
    if not args.no_dask:
        from distributed import LocalCluster

        for n in (1, 2):
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster:
                rows.append(run(f"Dask LocalCluster, {n} worker{'s' * (n > 1)} (--scheduler)", n, args.trials,
                                config, params, scheduler=cluster.scheduler_address))
    print(f"{args.trials} trials of digits, MLP 64-{args.hidden}-10, {args.epochs} epochs each, adam, batch 64; "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| where | workers | trials/min | start-up s | train s/trial | overhead s/trial | overhead / train |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['label']} | {r['workers']} | {r['per_min']:.0f} | {r['startup']:.2f} | {r['train']:.3f} | "
              f"{r['overhead']:.3f} | {r['overhead'] / r['train']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
