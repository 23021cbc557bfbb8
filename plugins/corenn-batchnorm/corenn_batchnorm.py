"""The batch normalization layer for corenn."""

from typing import ClassVar

import numpy as np

import corenn
from corenn import validators as v


@corenn.component
class BatchNorm(corenn.Module):
    """Batch normalization: y = gamma * (x - mean) / sqrt(var + eps) + beta, per feature.

    At training mean and var are the batch's (biased variance, divided by N) and
    the running averages move towards them, running = momentum * running +
    (1 - momentum) * batch; at inference the running averages are used
    (Ioffe and Szegedy 2015, the tutorial's Batch Normalization). Learnable
    ``params["gamma"]`` (starts at 1) and ``params["beta"]`` (starts at 0);
    ``buffers["running_mean"]`` (starts at 0) and ``buffers["running_var"]``
    (starts at 1). Backward in the compact form, with x_hat the normalized input:
    dx = gamma / sqrt(var + eps) * (dy - mean(dy) - x_hat * mean(dy * x_hat)).
    Shapes: (N, num_features) -> (N, num_features). The output keeps the
    input's dtype: a float64 batch through a float32 layer is computed in float64.
    """

    name = "batchnorm"
    conformance_kwargs: ClassVar[dict] = {"num_features": 6}
    #: the hyperparameter that takes the input width (in a layer list)
    input_width_field: ClassVar[str] = "num_features"

    num_features: int = corenn.hyperparameter(doc="width of the input and output", check=v.integer(1))
    momentum: float = corenn.hyperparameter(0.9, doc="weight of the old running average in each update",
                                            check=v.in_range(0, 1))
    eps: float = corenn.hyperparameter(1e-5, doc="added to the variance before the square root",
                                       check=v.positive)
    dtype: str = corenn.hyperparameter("float32", doc="dtype of the params and buffers (float32 or float64)",
                                       check=v.one_of("float32", "float64"))

    def __attrs_post_init__(self) -> None:
        self.dtype = str(np.dtype(self.dtype))
        d = self.num_features
        self.params.update(gamma=np.ones(d, self.dtype), beta=np.zeros(d, self.dtype))
        self.grads.update(gamma=np.zeros(d, self.dtype), beta=np.zeros(d, self.dtype))
        self.buffers.update(running_mean=np.zeros(d, self.dtype), running_var=np.ones(d, self.dtype))
        self.check_input = True  # Sequential turns this off: it checks the model input once
        self._xhat = None
        self._inv_std = None

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if self.check_input:
            x = corenn.as_layer_input(x, "batchnorm", self.num_features, self.dtype,
                                      "build batchnorm with num_features={got} or fix the layer before it")
        if training:
            mean = x.mean(axis=0)
            xhat = x - mean
            residual = xhat.mean(axis=0)  # 0 up to the rounding of the first mean (large offsets in float32)
            xhat -= residual
            mean += residual
            var = np.einsum("ij,ij->j", xhat, xhat) / x.shape[0]  # centred first: no E[x^2] - E[x]^2 cancellation
            m = self.momentum
            for key, batch in (("running_mean", mean), ("running_var", var)):
                running = self.buffers[key]
                running *= m
                running += (1 - m) * batch
        else:
            xhat = x - self.buffers["running_mean"]
            var = self.buffers["running_var"].astype(x.dtype, copy=False)
        self._inv_std = inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat *= inv_std
        self._xhat = xhat
        self._training = training
        y = xhat * self.params["gamma"]
        y += self.params["beta"]
        return y

    def output_width(self, input_width: int) -> int:
        """Normalizing keeps the width."""
        return input_width

    def backward(self, dy: np.ndarray) -> np.ndarray:
        xhat = corenn.from_forward(self, "_xhat")
        dy = np.asarray(dy, dtype=xhat.dtype)
        dbeta = np.sum(dy, axis=0, out=self.grads["beta"])
        if self.grads["gamma"].dtype == xhat.dtype:
            dgamma = np.einsum("ij,ij->j", dy, xhat, out=self.grads["gamma"])
        else:  # float64 input through float32 params: computed in float64, stored as the param's dtype
            dgamma = np.einsum("ij,ij->j", dy, xhat)
            self.grads["gamma"][...] = dgamma
        scale = self.params["gamma"].astype(xhat.dtype, copy=False) * self._inv_std
        if not self._training:  # the statistics are constants at inference
            return dy * scale
        n = dy.shape[0]
        dx = xhat * (dgamma / n)
        dx += dbeta / n
        np.subtract(dy, dx, out=dx)
        dx *= scale
        return dx


@corenn.hookimpl
def corenn_layers():
    return [BatchNorm]
