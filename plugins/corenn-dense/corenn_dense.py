"""The dense (fully connected) layer for corenn."""

from typing import Any, ClassVar

import numpy as np

import corenn
from corenn import validators as v


@corenn.component
class Dense(corenn.Module):
    """Fully connected layer: y = x W + b.

    Shapes: x (N, in_features) -> y (N, out_features); ``params["W"]`` is
    (in_features, out_features) (fan_in, fan_out), ``params["b"]`` is
    (out_features,). Backward (the tutorial's "Back Propagation"): dW = x^T dy, db = sum_n dy,
    dx = dy W^T; the gradients are written into the same ``grads`` arrays every
    step. W is drawn from the initializer ``weight_init`` (He by default, the
    tutorial's choice for ReLU networks), b from ``bias_init`` (zeros), with a
    generator made from ``seed``. The output keeps the input's dtype: a float64
    batch through a float32 layer is computed in float64 (W and b cast to it).
    """

    name = "dense"
    #: the params a regularizer applies to: the weights, not the bias
    regularized: ClassVar[tuple[str, ...]] = ("W",)
    #: the hyperparameters that take the input width and set the output width (in a layer list)
    input_width_field: ClassVar[str] = "in_features"
    output_width_field: ClassVar[str] = "out_features"
    #: backward(dy, input_grad=False) skips dx
    skips_input_gradient: ClassVar[bool] = True
    conformance_kwargs: ClassVar[dict] = {"in_features": 6, "out_features": 4}

    in_features: int = corenn.hyperparameter(doc="width of the input (fan_in)", check=v.integer(1))
    out_features: int = corenn.hyperparameter(doc="number of units, the width of the output (fan_out)",
                                              check=v.integer(1))
    weight_init: Any = corenn.hyperparameter("he", doc="initializer spec for W", check=v.spec_of("initializer"))
    bias_init: Any = corenn.hyperparameter("zeros", doc="initializer spec for b", check=v.spec_of("initializer"))
    dtype: str = corenn.hyperparameter("float32", doc="dtype of W and b (float32 or float64)",
                                       check=v.one_of("float32", "float64"))
    seed: int | None = corenn.hyperparameter(None, doc="seed of the initial draw (None: a fresh one)",
                                             check=v.optional(v.integer(0)))

    def __attrs_post_init__(self) -> None:
        self.dtype = str(np.dtype(self.dtype))
        rng = corenn.as_generator(self.seed)
        shapes = {"W": (self.in_features, self.out_features), "b": (self.out_features,)}
        for key, field in (("W", "weight_init"), ("b", "bias_init")):
            spec = getattr(self, field)
            value = np.asarray(corenn.create("initializer", spec)(shapes[key], rng=rng, dtype=self.dtype),
                               dtype=self.dtype)
            if value.shape != shapes[key]:
                raise corenn.InvalidHyperparameter("dense", field, spec,
                                                   f"gave an array of shape {value.shape}, expected {shapes[key]}")
            self.params[key] = np.ascontiguousarray(value)
            self.grads[key] = np.zeros_like(self.params[key])
        self.check_input = True  # Sequential turns this off: it checks the model input once
        self._x = None

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if self.check_input:
            x = corenn.as_layer_input(x, "dense", self.in_features, self.dtype,
                                      f"give {self.in_features} features per sample or build dense with "
                                      "in_features={got}")
        self._x = x
        # A fresh output each call. A layer-owned out= buffer measured no faster (numpy and malloc
        # reuse the freed block; the product dominates) and the next forward would overwrite
        # what a caller of forward() still holds.
        W = self.params["W"]
        y = x @ (W if W.dtype == x.dtype else W.astype(x.dtype))
        y += self.params["b"]
        return y

    def output_width(self, input_width: int) -> int:
        """The number of units, ``out_features``, whatever the input width."""
        return self.out_features

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Fill ``grads`` and return dx; with ``input_grad=False`` skip dx (returns None): a
        model's first layer, whose input is the data, saves a third of its backward work."""
        np.matmul(corenn.from_forward(self, "_x").T, dy, out=self.grads["W"])
        np.add.reduce(dy, axis=0, out=self.grads["b"])
        if not input_grad:
            return None
        W = self.params["W"]
        return dy @ (W.T if W.dtype == dy.dtype else W.T.astype(dy.dtype))


@corenn.hookimpl
def corenn_layers():
    return [Dense]
