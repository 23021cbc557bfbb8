"""Time one optimizer step on a 1M-parameter model, as a ratio to the memory-bandwidth floor.

    python3 dev.py python bench/bench_optimizers.py [--repeats 30] [--dtype float32]

The model is two float32 arrays of shapes (1000, 1000) and (1000,) (1,001,000
parameters). The floor is one ``x -= lr * g`` pass over the same arrays (read
g, write a temporary, read it and x, write x), timed in the same run. Every
registered first-order optimizer (those that need no closure) is timed with its
default hyperparameters after two warm-up steps (which allocate its state);
each number is the median of ``--repeats`` timings, the optimizers taking turns
so that drift in the machine's speed hits them all alike. The best (minimum)
timing is shown too: on a busy machine the median of a longer step catches
more preemptions than the floor's does. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import corenn

SHAPES = [(1000, 1000), (1000,)]


def floor_step(params, grads, lr=0.01):
    for x, g in zip(params, grads):
        x -= lr * g


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    grads = [(rng.standard_normal(s) * 1e-3).astype(args.dtype) for s in SHAPES]
    names = [n for n in corenn.available("optimizer") if not getattr(corenn.get("optimizer", n), "needs_closure", False)]
    runs = {"x -= lr*g": (lambda p, g: floor_step(p, g), [rng.standard_normal(s).astype(args.dtype) for s in SHAPES])}
    for name in names:
        opt = corenn.create("optimizer", name)
        params = [rng.standard_normal(s).astype(args.dtype) for s in SHAPES]
        for _ in range(2):  # the first step allocates the state
            opt.step(params, grads)
        runs[name] = (opt.step, params)
    for step, params in runs.values():  # warm caches and page tables for every run
        step(params, grads)

    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.repeats):
        for key, (step, params) in runs.items():
            start = time.perf_counter()
            step(params, grads)
            times[key].append(time.perf_counter() - start)

    floor = statistics.median(times["x -= lr*g"])
    best_floor = min(times["x -= lr*g"])
    n = sum(int(np.prod(s)) for s in SHAPES)
    print(f"One step on {n:,} {args.dtype} parameters {SHAPES}, median of {args.repeats}; numpy "
          f"{np.__version__}, Python {platform.python_version()}, {platform.machine()}.\n")
    print("| optimizer | median ms per step | ratio to `x -= lr*g` (median) | best ms | ratio (best) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for key, ts in times.items():
        med, best = statistics.median(ts), min(ts)
        label = f"`{key}` (floor)" if key == "x -= lr*g" else key
        print(f"| {label} | {med * 1e3:.2f} | {med / floor:.2f} | {best * 1e3:.2f} | {best / best_floor:.2f} |")


if __name__ == "__main__":
    main()
