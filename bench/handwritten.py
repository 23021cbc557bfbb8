"""The two references of bench_training.py, in plain numpy.

``MLP``: a careful hand-written training loop (dense + ReLU layers, softmax
cross-entropy, SGD+momentum or Adam): one flat buffer per kind of array, the
update in cache-sized chunks, every intermediate preallocated, a boolean-mask
ReLU backward.
``GemmFloor``: only the matrix products one training step needs.
"""

from __future__ import annotations

import math

import numpy as np


class MLP:
    """A careful hand-written training loop: what a person who knows numpy well writes
    for one model, without a framework.

    - every parameter, gradient and optimizer state array is a view into one flat
      buffer of its kind (params, grads, velocity or Adam's m and v), so the
      optimizer's operations run over flat memory;
    - the update goes through those buffers in chunks of ``CHUNK`` elements (all of a
      chunk's arrays together stay in the core's cache between the operations);
    - every intermediate (layer outputs, their gradients, ReLU masks, softmax rows) is
      preallocated once and written with ``out=``;
    - ReLU keeps a boolean mask from the forward pass and its backward multiplies by it
      in place.
    """

    #: elements per update chunk: 4 float32 arrays of 64 Ki elements = 1 MiB, within L2
    CHUNK = 1 << 16

    def __init__(self, sizes, batch, optimizer, seed=0, lr=None):
        rng = np.random.default_rng(seed)
        f32 = np.float32
        shapes = [(a, b) for a, b in zip(sizes[:-1], sizes[1:])] + [(b,) for b in sizes[1:]]
        total = sum(int(np.prod(s)) for s in shapes)
        state = ("v",) if optimizer == "momentum" else ("m", "v")  # velocity; or Adam's two moments
        self.flat = {k: np.zeros(total, f32) for k in ("p", "g", *state)}

        def views(flat):
            out, at = [], 0
            for s in shapes:
                n = int(np.prod(s))
                out.append(flat[at:at + n].reshape(s))
                at += n
            return out

        self.params, self.grads = views(self.flat["p"]), views(self.flat["g"])
        layers = len(sizes) - 1
        self.W, self.b = self.params[:layers], self.params[layers:]
        self.dW, self.db = self.grads[:layers], self.grads[layers:]
        for W, (a, _) in zip(self.W, shapes):
            W[...] = rng.standard_normal(W.shape) * np.sqrt(2.0 / a)
        self.h = [np.empty((batch, b), f32) for b in sizes[1:]]  # layer outputs
        self.d = [np.empty((batch, b), f32) for b in sizes[1:]]  # their gradients
        self.mask = [np.empty((batch, b), bool) for b in sizes[1:-1]]  # ReLU: where the input was > 0
        self.rowmax = np.empty((batch, 1), f32)
        self.rowsum = np.empty((batch, 1), f32)
        self.rows = np.arange(batch)
        self.xb = np.empty((batch, sizes[0]), f32)
        self.yb = np.empty(batch, np.int64)
        self.optimizer = optimizer
        self.lr = lr or (0.01 if optimizer == "momentum" else 0.001)
        scratch = np.empty(min(self.CHUNK, total), f32)  # one chunk's work space, shared by all chunks
        self.chunks = [(*(flat[a:a + self.CHUNK] for flat in self.flat.values()), scratch[:min(self.CHUNK, total - a)])
                       for a in range(0, total, self.CHUNK)]
        self.t = 0

    def step(self, x, y):
        n = len(x)
        h = [buf[:n] for buf in self.h]
        d = [buf[:n] for buf in self.d]
        mask = [buf[:n] for buf in self.mask]
        inp = x
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            np.matmul(inp, W, out=h[i])
            h[i] += b
            if i < last:
                np.greater(h[i], 0, out=mask[i])
                np.maximum(h[i], 0, out=h[i])
            inp = h[i]
        scores, dscores = h[last], d[last]
        rowmax, rowsum, rows = self.rowmax[:n], self.rowsum[:n], self.rows[:n]
        np.maximum.reduce(scores, axis=1, keepdims=True, out=rowmax)
        np.subtract(scores, rowmax, out=dscores)
        correct = dscores[rows, y]
        np.exp(dscores, out=dscores)
        np.add.reduce(dscores, axis=1, keepdims=True, out=rowsum)
        loss = float(np.mean(np.log(rowsum[:, 0]) - correct))
        dscores /= rowsum
        dscores[rows, y] -= 1
        dscores *= 1.0 / n
        for i in range(last, -1, -1):
            below = x if i == 0 else h[i - 1]
            np.matmul(below.T, d[i], out=self.dW[i])
            np.add.reduce(d[i], axis=0, out=self.db[i])
            if i > 0:
                np.matmul(d[i], self.W[i].T, out=d[i - 1])
                np.multiply(d[i - 1], mask[i - 1], out=d[i - 1])
        self.update()
        return loss

    def update(self):
        self.t += 1
        lr = self.lr
        if self.optimizer == "momentum":
            for p, g, v, t in self.chunks:
                v *= 0.9
                np.multiply(g, lr, out=t)
                v -= t
                p += v
        else:
            b1, b2, eps = 0.9, 0.999, 1e-8
            # bias corrections folded into lr and eps (Kingma and Ba, section 2); Python floats, not
            # numpy float64 scalars, so that the arithmetic stays in float32
            c = math.sqrt(1 - b2 ** self.t)
            step, eps = lr * c / (1 - b1 ** self.t), eps * c
            for p, g, m, v, t in self.chunks:
                np.multiply(g, 1 - b1, out=t)
                m *= b1
                m += t
                np.multiply(g, g, out=t)
                t *= 1 - b2
                v *= b2
                v += t
                np.sqrt(v, out=t)
                t += eps
                np.divide(m, t, out=t)
                t *= step
                p -= t

    def epoch(self, X, y, rng):
        perm = rng.permutation(len(X))
        batch = len(self.xb)
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            xb, yb = self.xb[:len(idx)], self.yb[:len(idx)]
            np.take(X, idx, axis=0, out=xb)
            np.take(y, idx, out=yb)
            self.step(xb, yb)


class GemmFloor:
    """Forward X@W per layer, backward dY.T-products for dW and dY@W.T for dX (not for the input)."""

    def __init__(self, sizes, batch):
        f32 = np.float32
        self.W = [np.ones((a, b), f32) * 0.01 for a, b in zip(sizes[:-1], sizes[1:])]
        self.h = [np.empty((batch, b), f32) for b in sizes[1:]]
        self.d = [np.ones((batch, b), f32) for b in sizes[1:]]
        self.dW = [np.empty_like(w) for w in self.W]

    def step(self, x):
        inp = x
        for W, h in zip(self.W, self.h):
            np.matmul(inp, W, out=h)
            inp = h
        for i in range(len(self.W) - 1, -1, -1):
            below = x if i == 0 else self.h[i - 1]
            np.matmul(below.T, self.d[i], out=self.dW[i])
            if i > 0:
                np.matmul(self.d[i], self.W[i].T, out=self.d[i - 1])
