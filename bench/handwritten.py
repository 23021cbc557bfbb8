"""The two references of bench_training.py, in plain numpy.

``MLP``: a minimal hand-written training loop (dense + ReLU layers, softmax
cross-entropy, SGD+momentum or Adam) with every buffer preallocated and every
update in place: what a careful person writes without a framework.
``GemmFloor``: only the matrix products one training step needs.
"""

from __future__ import annotations

import numpy as np


class MLP:
    def __init__(self, sizes, batch, optimizer, seed=0, lr=None):
        rng = np.random.default_rng(seed)
        f32 = np.float32
        self.W = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(f32) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros(b, f32) for b in sizes[1:]]
        self.params = self.W + self.b
        self.dW = [np.empty_like(w) for w in self.W]
        self.db = [np.empty_like(b) for b in self.b]
        self.grads = self.dW + self.db
        self.h = [np.empty((batch, b), f32) for b in sizes[1:]]  # layer outputs
        self.d = [np.empty((batch, b), f32) for b in sizes[1:]]  # their gradients
        self.xb = np.empty((batch, sizes[0]), f32)
        self.yb = np.empty(batch, np.int64)
        self.optimizer = optimizer
        self.lr = lr or (0.01 if optimizer == "momentum" else 0.001)
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.tmp = [np.empty_like(p) for p in self.params]
        self.t = 0

    def step(self, x, y):
        n = len(x)
        h = [buf[:n] for buf in self.h]
        d = [buf[:n] for buf in self.d]
        inp = x
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            np.matmul(inp, W, out=h[i])
            h[i] += b
            if i < last:
                np.maximum(h[i], 0, out=h[i])
            inp = h[i]
        scores, dscores = h[last], d[last]
        np.subtract(scores, scores.max(axis=1, keepdims=True), out=dscores)
        np.exp(dscores, out=dscores)
        dscores /= dscores.sum(axis=1, keepdims=True)
        loss = -np.log(dscores[np.arange(n), y]).mean()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        for i in range(last, -1, -1):
            below = x if i == 0 else h[i - 1]
            np.matmul(below.T, d[i], out=self.dW[i])
            np.sum(d[i], axis=0, out=self.db[i])
            if i > 0:
                np.matmul(d[i], self.W[i].T, out=d[i - 1])
                d[i - 1] *= h[i - 1] > 0
        self.update()
        return loss

    def update(self):
        self.t += 1
        if self.optimizer == "momentum":
            for p, g, v in zip(self.params, self.grads, self.m):
                v *= 0.9
                v -= self.lr * g
                p += v
        else:
            b1, b2, eps = 0.9, 0.999, 1e-8
            c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
            for p, g, m, v, tmp in zip(self.params, self.grads, self.m, self.v, self.tmp):
                m *= b1
                m += (1 - b1) * g
                np.multiply(g, g, out=tmp)
                v *= b2
                tmp *= 1 - b2
                v += tmp
                np.divide(v, c2, out=tmp)
                np.sqrt(tmp, out=tmp)
                tmp += eps
                np.divide(m, tmp, out=tmp)
                tmp *= self.lr / c1
                p -= tmp

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
