"""Orthogonal initializer for corenn."""

import math

import numpy as np

import corenn


@corenn.component
class Orthogonal:
    """Random orthogonal matrix times gain: W.T @ W = gain**2 I (tall) or W @ W.T = gain**2 I (wide).

    Saxe et al. 2013: draw a Gaussian matrix A of shape (max(r, c), min(r, c)), take its QR
    decomposition and flip each column of Q by the sign of R's diagonal (which makes Q
    uniformly distributed over orthogonal matrices, not biased by the QR routine's sign
    convention), then transpose for a wide shape. Shape (fan_in, fan_out) gives r = fan_in,
    c = fan_out; more axes are flattened into c, a vector (n,) is one column of norm gain.
    Keeps every singular value at gain, so norms are preserved exactly through linear layers.
    """

    name = "orthogonal"

    gain: float = corenn.hyperparameter(1.0, doc="scale of the orthogonal matrix (its singular values)", check=corenn.validators.positive)

    def __call__(self, shape, rng=None, dtype=np.float32) -> np.ndarray:
        dtype = corenn.resolve_dtype(dtype)
        shape = tuple(int(s) for s in np.atleast_1d(shape))
        rows, cols = shape[0] if shape else 1, math.prod(shape[1:])
        a = corenn.as_generator(rng).standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.where(np.diagonal(r) < 0, -self.gain, self.gain)
        w = q.T if rows < cols else q
        return w.reshape(shape).astype(dtype)


@corenn.hookimpl
def corenn_initializers():
    return [Orthogonal]
