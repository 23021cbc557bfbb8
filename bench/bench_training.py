"""Training throughput of corenn against three references measured in the same run.

    python3 dev.py python bench/bench_training.py [--repeats 5] [--torch] [--memory] [--bookkeeping]

For each float32 MLP (small 64-100-10 batch 32, medium 784-256-256-10 batch 128,
large 3072-1024-1024-10 batch 256) and each optimizer (SGD+momentum, Adam) it
times, in samples per second, the second epoch of a fresh model (the first is a
warm-up, untimed: the first touch of new buffers and optimizer state, lazy set-up):

- corenn: a second ``corenn.Trainer.fit`` call for one more epoch (no validation, no
  per-epoch train-accuracy pass, no update-ratio logging: the training steps alone,
  plus what a ``fit`` call costs: checking the data, choosing the thread count);
- hand: a careful hand-written numpy loop for the same model (bench/handwritten.py:
  one flat buffer per kind of array, the update in cache-sized chunks, every
  intermediate preallocated, a boolean-mask ReLU backward);
- floor: the GEMM floor, only the matrix products one step needs;
- torch: the same model in PyTorch, when ``--torch`` is given and torch imports.

and prints a Markdown table with corenn/hand, corenn/floor (and corenn/torch) ratios.

corenn is imported before numpy, as ``corenn train`` does, so OpenBLAS's idle workers
sleep at once in every column (corenn.threads.quiet_idle_blas_workers; PyTorch's own
pool is not OpenBLAS's). Every column of a model runs with the BLAS thread count that corenn's ``threads="auto"``
picks for it (corenn.threads; PyTorch gets the same through ``torch.set_num_threads``),
so the ratios compare the work around the matrix products, not thread policies.
Each cell is the median of ``--repeats`` timings after one warm-up, the columns
taking turns (corenn, hand, floor, corenn, hand, floor, ...) so that a burst
of load from elsewhere on the machine hits them alike. Ratios compare timings of
the same run only. The small model gets more samples per timing (its steps take ~0.1 ms).

``--memory``: the peak of numpy's allocations (tracemalloc) during the two epochs of ``fit``
(momentum; the data and the model made before it count), against the sum of what training must hold:
the data, the parameters, their gradients, the optimizer state and one batch's
activations (every layer's output, kept for backward); also ``fit`` at the defaults
(train accuracy and update ratios on), and the hand loop.
``--bookkeeping``: one epoch of ``fit`` at the defaults (train accuracy on a fortieth of
the training set, 250 to 2000 samples; update ratios every 10 steps) against the training steps
alone run just before it, as the fraction of the epoch the per-epoch bookkeeping takes (the
median over the repetitions).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import corenn  # before numpy, as `corenn train` loads it (see corenn.threads.quiet_idle_blas_workers)
import numpy as np
from corenn.threads import blas_threads, thread_count

sys.path.insert(0, str(Path(__file__).parent))
import handwritten  # noqa: E402

MODELS = {
    "small": ([64, 100, 10], 32, 32768),
    "medium": ([784, 256, 256, 10], 128, 8192),
    "large": ([3072, 1024, 1024, 10], 256, 4096),
}
OPTIMIZERS = {"momentum": "momentum:lr=0.01,mu=0.9", "adam": "adam:lr=0.001"}


def data(sizes, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], n)
    return X, y


def time_corenn(sizes, batch, X, y, optimizer, **defaults):
    model = corenn.mlp(sizes, activation="relu", weight_init="he", seed=0)
    settings = dict(ratio_every=0, train_eval_size=0) | defaults
    trainer = corenn.Trainer(model, optimizer=optimizer, batch_size=batch, epochs=1, seed=0, **settings)
    _fit_starts()
    trainer.fit(X, y)  # the warm-up epoch
    trainer.epochs = 2
    start = time.perf_counter()
    trainer.fit(X, y)
    return len(X) / (time.perf_counter() - start)


def time_corenn_defaults(sizes, batch, X, y, optimizer):
    return time_corenn(sizes, batch, X, y, optimizer, ratio_every=10, train_eval_size=None)


def time_hand(sizes, batch, X, y, optimizer):
    loop = handwritten.MLP(sizes, batch, optimizer.split(":")[0], seed=0)
    _fit_starts()
    rng = np.random.default_rng(0)
    loop.epoch(X, y, rng)  # the warm-up epoch
    start = time.perf_counter()
    loop.epoch(X, y, rng)
    return len(X) / (time.perf_counter() - start)


def time_floor(sizes, batch, X, y, optimizer):
    floor = handwritten.GemmFloor(sizes, batch)
    steps = len(X) // batch
    for i in range(steps):  # the warm-up epoch
        floor.step(X[i * batch:(i + 1) * batch])
    start = time.perf_counter()
    for i in range(steps):
        floor.step(X[i * batch:(i + 1) * batch])
    return steps * batch / (time.perf_counter() - start)


def time_torch(sizes, batch, X, y, optimizer):
    import torch

    torch.set_num_threads(THREADS[0])
    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = (torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if optimizer.startswith("momentum")
           else torch.optim.Adam(model.parameters(), lr=0.001))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)

    def epoch():
        perm = torch.from_numpy(rng.permutation(len(X)))
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=False)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    epoch()  # the warm-up epoch
    start = time.perf_counter()
    epoch()
    return len(X) / (time.perf_counter() - start)


THREADS = [1]  # the BLAS thread count of the model being timed


def auto_threads(sizes, batch):
    return thread_count("auto", corenn.mlp(sizes, seed=0), batch)


def median_of(timers, repeats, *args):
    """The median rate of each timer over ``repeats`` interleaved runs, after one warm-up run each."""
    for fn in timers.values():
        fn(*args)
    rates = {name: [] for name in timers}
    for _ in range(repeats):
        for name, fn in timers.items():
            rates[name].append(fn(*args))
    return {name: statistics.median(r) for name, r in rates.items()}


def _fit_starts():
    """Where training starts: the peak of memory counts from here (what was built before stays counted)."""
    if tracemalloc.is_tracing():
        tracemalloc.reset_peak()


def peak_bytes(run, sizes, batch, n):
    """Peak traced bytes of numpy's allocations during the training in ``run`` (the data and
    the model made before it included)."""
    tracemalloc.start()
    try:
        X, y = data(sizes, n)
        run(sizes, batch, X, y, OPTIMIZERS["momentum"])
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def needed_bytes(sizes, batch, n, slots=1):
    """Data + parameters + gradients + ``slots`` optimizer state arrays per parameter + one batch's
    activations (the input batch, each dense output and each ReLU output)."""
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    activations = batch * (sizes[0] + sum(sizes[1:]) + sum(sizes[1:-1]))
    return 4 * n * sizes[0] + 8 * n + 4 * params * (2 + slots) + 4 * activations


def memory_table(models):
    print("\n| model | needed MB | corenn peak MB | corenn/needed | at the defaults MB | defaults/needed "
          "| hand peak MB | hand/needed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in models:
        sizes, batch, n = MODELS[name]
        THREADS[0] = auto_threads(sizes, batch)
        with blas_threads(THREADS[0]):
            corenn_peak = peak_bytes(time_corenn, sizes, batch, n)
            defaults_peak = peak_bytes(time_corenn_defaults, sizes, batch, n)
            hand_peak = peak_bytes(time_hand, sizes, batch, n)
        need = needed_bytes(sizes, batch, n)
        print(f"| {name} | {need / 1e6:.1f} | {corenn_peak / 1e6:.1f} | {corenn_peak / need:.2f} | "
              f"{defaults_peak / 1e6:.1f} | {defaults_peak / need:.2f} | "
              f"{hand_peak / 1e6:.1f} | {hand_peak / need:.2f} |", flush=True)


def bookkeeping_table(models, repeats):
    """The bookkeeping share of each repetition, from a bare epoch and an epoch at the defaults run
    back to back (so that a burst of load hits both), and the median over the repetitions."""
    print("\n| model | optimizer | steps alone samples/s | at the defaults samples/s | bookkeeping share |")
    print("|---|---|---:|---:|---:|")
    for name, args, opt_name in cells(models):
        time_corenn(*args), time_corenn_defaults(*args)  # warm-up
        pairs = [(time_corenn(*args), time_corenn_defaults(*args)) for _ in range(repeats)]
        share = statistics.median(1 - defaults / bare for bare, defaults in pairs)
        bare, defaults = (statistics.median(rates) for rates in zip(*pairs))
        print(f"| {name} | {opt_name} | {bare:,.0f} | {defaults:,.0f} | {share:.1%} |", flush=True)


def measured(models, timers, repeats):
    """``(model name, sizes, optimizer name, median rates)`` per model and optimizer, at the model's threads."""
    for name, args, opt_name in cells(models):
        yield name, args[0], opt_name, median_of(timers, repeats, *args)


def cells(models):
    """``(model name, timer arguments, optimizer name)`` per model and optimizer, each used inside
    the model's BLAS thread count (THREADS[0])."""
    for name in models:
        sizes, batch, n = MODELS[name]
        X, y = data(sizes, n)
        THREADS[0] = auto_threads(sizes, batch)
        for opt_name, spec in OPTIMIZERS.items():
            with blas_threads(THREADS[0]):
                yield name, (sizes, batch, X, y, spec), opt_name


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch", action="store_true", help="also time PyTorch (if installed)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--memory", action="store_true", help="also measure peak memory")
    parser.add_argument("--bookkeeping", action="store_true", help="also measure the per-epoch bookkeeping")
    args = parser.parse_args(argv)
    models = args.models.split(",")
    columns = ["corenn", "hand", "floor"] + (["torch"] if args.torch else [])
    header = "| model | optimizer | threads | " + " | ".join(f"{c} samples/s" for c in columns) + \
             " | corenn/hand | corenn/floor |" + (" corenn/torch |" if args.torch else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    timers = {"corenn": time_corenn, "hand": time_hand, "floor": time_floor, "torch": time_torch}
    for model_name, sizes, opt_name, rates in measured(models, {c: timers[c] for c in columns}, args.repeats):
        cells = [f"{rates[c]:,.0f}" for c in columns]
        ratios = [f"{rates['corenn'] / rates['hand']:.2f}", f"{rates['corenn'] / rates['floor']:.2f}"]
        if args.torch:
            ratios.append(f"{rates['corenn'] / rates['torch']:.2f}")
        print(f"| {model_name} {'-'.join(map(str, sizes))} b{MODELS[model_name][1]} | {opt_name} | {THREADS[0]} | "
              + " | ".join(cells + ratios) + " |", flush=True)
    if args.memory:
        memory_table(models)
    if args.bookkeeping:
        bookkeeping_table(models, args.repeats)


if __name__ == "__main__":
    main()
