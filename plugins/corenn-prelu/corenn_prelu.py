"""PReLU activation for corenn."""

import numpy as np

import corenn


@corenn.component
class PReLU(corenn.Module):
    """Parametric ReLU: y = x if x > 0 else alpha * x, with alpha learned.

    He et al. 2015 (tutorial, "PReLU"): a leaky ReLU whose negative slope is trained.
    ``params["alpha"]`` has shape (num_parameters,) and broadcasts over the last axis:
    one slope shared by all features (num_parameters=1) or one per feature
    (num_parameters = D, the input width). Shapes: x (..., D) -> y (..., D).
    Gradients: dx = dy * (1 if x > 0 else alpha); ``grads["alpha"]`` = sum of
    dy * x over the entries with x <= 0 (per feature when num_parameters = D). Outputs
    keep x's dtype whatever ``dtype`` the parameter is stored in: a float64 input is
    computed in float64.
    """

    name = "prelu"

    alpha: float = corenn.hyperparameter(0.25, doc="initial slope for x <= 0", check=corenn.validators.number)
    num_parameters: int = corenn.hyperparameter(1, doc="number of slopes: 1 (shared) or the input width (one per feature)", check=corenn.validators.integer(1))
    dtype: str = corenn.hyperparameter("float32", doc="dtype of params['alpha'] and grads['alpha']", check=corenn.validators.one_of("float32", "float64"))

    def __attrs_post_init__(self) -> None:
        self.params["alpha"] = np.full((self.num_parameters,), self.alpha, dtype=self.dtype)
        self.grads["alpha"] = np.zeros_like(self.params["alpha"])

    def forward(self, x: np.ndarray) -> np.ndarray:
        width = x.shape[-1] if x.ndim else None
        if width is None or self.num_parameters not in (1, width):
            raise corenn.InvalidInput(
                f"prelu: num_parameters={self.num_parameters} slopes do not fit an input of shape {x.shape}; "
                f"the slopes broadcast over the last axis, so use num_parameters=1 or the input width")
        self._positive = x > 0
        self._x_negative = np.minimum(x, 0)  # x where x <= 0, else 0: d y / d alpha
        y = x * self.params["alpha"].astype(x.dtype, copy=False)
        np.copyto(y, x, where=self._positive)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        alpha = self.params["alpha"]
        grad = self.grads.get("alpha")
        if grad is None or grad.shape != alpha.shape or grad.dtype != alpha.dtype:
            grad = self.grads["alpha"] = np.zeros_like(alpha)  # params were replaced (e.g. cast to float64)
        axes = None if self.num_parameters == 1 else tuple(range(dy.ndim - 1))
        grad[...] = np.multiply(dy, corenn.from_forward(self, "_x_negative")).sum(axis=axes)  # summed in dy's dtype, stored in alpha's
        dx = dy * alpha.astype(dy.dtype, copy=False)
        np.copyto(dx, dy, where=self._positive)
        return dx


@corenn.hookimpl
def corenn_activations():
    return [PReLU]
