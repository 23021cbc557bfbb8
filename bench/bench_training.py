"""Training throughput of corenn against two references measured in the same run.

    python3 dev.py python bench/bench_training.py [--repeats 3] [--torch]

For each float32 MLP (small 64-100-10 batch 32, medium 784-256-256-10 batch 128,
large 3072-1024-1024-10 batch 256) and each optimizer (SGD+momentum, Adam) it
times, in samples per second:

- corenn: ``corenn.Trainer.fit`` for one epoch (no validation, no per-epoch
  train-accuracy pass, no update-ratio logging: the training steps alone);
- hand: a minimal hand-written numpy loop for the same model (bench/handwritten.py:
  preallocated buffers, ``out=`` arguments, in-place updates);
- floor: the GEMM floor, only the matrix products one step needs;
- torch: the same model in PyTorch, when ``--torch`` is given and torch imports.

and prints a Markdown table with corenn/hand and corenn/floor ratios.

Each cell is the best of ``--repeats`` timings after one warm-up, the columns
taking turns (corenn, hand, floor, corenn, hand, floor, ...) so that a burst
of load from elsewhere on the machine hits them alike; the best timing is the
one least disturbed by other processes. Ratios compare timings of the same run
only. The small model gets more samples per timing (its steps take ~0.1 ms).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import handwritten  # noqa: E402

import corenn  # noqa: E402

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


def time_corenn(sizes, batch, X, y, optimizer):
    model = corenn.mlp(sizes, activation="relu", weight_init="he", seed=0)
    trainer = corenn.Trainer(model, optimizer=optimizer, batch_size=batch, epochs=1, seed=0,
                             ratio_every=0, train_eval_size=0)
    start = time.perf_counter()
    trainer.fit(X, y)
    return len(X) / (time.perf_counter() - start)


def time_hand(sizes, batch, X, y, optimizer):
    loop = handwritten.MLP(sizes, batch, optimizer.split(":")[0], seed=0)
    start = time.perf_counter()
    loop.epoch(X, y, np.random.default_rng(0))
    return len(X) / (time.perf_counter() - start)


def time_floor(sizes, batch, X, y, optimizer):
    floor = handwritten.GemmFloor(sizes, batch)
    steps = len(X) // batch
    start = time.perf_counter()
    for i in range(steps):
        floor.step(X[i * batch:(i + 1) * batch])
    return steps * batch / (time.perf_counter() - start)


def time_torch(sizes, batch, X, y, optimizer):
    import torch

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
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(X)))
    start = time.perf_counter()
    for i in range(0, len(X), batch):
        idx = perm[i:i + batch]
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(Xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    return len(X) / (time.perf_counter() - start)


def best_of(timers, repeats, *args):
    """The best rate of each timer over ``repeats`` interleaved runs, after one warm-up run each."""
    for fn in timers.values():
        fn(*args)
    rates = {name: [] for name in timers}
    for _ in range(repeats):
        for name, fn in timers.items():
            rates[name].append(fn(*args))
    return {name: max(r) for name, r in rates.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch", action="store_true", help="also time PyTorch (if installed)")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args(argv)
    columns = ["corenn", "hand", "floor"] + (["torch"] if args.torch else [])
    header = "| model | optimizer | " + " | ".join(f"{c} samples/s" for c in columns) + \
             " | corenn/hand | corenn/floor |" + (" corenn/torch |" if args.torch else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    timers = {"corenn": time_corenn, "hand": time_hand, "floor": time_floor, "torch": time_torch}
    for model_name in args.models.split(","):
        sizes, batch, n = MODELS[model_name]
        X, y = data(sizes, n)
        for opt_name, spec in OPTIMIZERS.items():
            rates = best_of({c: timers[c] for c in columns}, args.repeats, sizes, batch, X, y, spec)
            cells = [f"{rates[c]:,.0f}" for c in columns]
            ratios = [f"{rates['corenn'] / rates['hand']:.2f}", f"{rates['corenn'] / rates['floor']:.2f}"]
            if args.torch:
                ratios.append(f"{rates['corenn'] / rates['torch']:.2f}")
            print(f"| {model_name} {'-'.join(map(str, sizes))} b{batch} | {opt_name} | " + " | ".join(cells + ratios) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
