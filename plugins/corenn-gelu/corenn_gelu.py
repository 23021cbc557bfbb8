"""GELU activation for corenn."""

import math

import numpy as np

import corenn

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_CUBIC = 0.044715


@corenn.component
class GELU(corenn.Module):
    """Gaussian error linear unit: y = x * Phi(x), Phi the standard normal CDF.

    Hendrycks & Gimpel 2016. ``approximate="none"``: Phi(x) = erfc(-x / sqrt(2)) / 2 and
    dx = dy * (Phi(x) + x * phi(x)), phi the normal density. ``approximate="tanh"``:
    Phi(x) ~ (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3))) / 2, differentiated exactly.
    Shapes: x (..., D) -> y (..., D). A smooth ReLU: ~x for large x, ~0 for very negative x.
    """

    name = "gelu"

    approximate: str = corenn.hyperparameter("none", doc='"none" for the exact erf form, "tanh" for the tanh approximation', check=corenn.validators.one_of("none", "tanh"))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        if self.approximate == "tanh":
            t = x * x
            t *= _CUBIC
            t += 1
            t *= x
            t *= _SQRT_2_OVER_PI
            self._tanh = np.tanh(t, out=t)  # Phi ~ (1 + tanh(u)) / 2
            cdf = (t + 1) * 0.5
        else:
            from scipy.special import erfc  # imported on first use: keeps `corenn list` fast

            cdf = self._cdf = erfc(x * -math.sqrt(0.5))
            cdf *= 0.5
        return x * cdf

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = corenn.from_forward(self, "_x")
        if self.approximate == "tanh":
            t = self._tanh
            du = x * x  # du/dx = sqrt(2/pi) * (1 + 3 * 0.044715 x**2)
            du *= 3 * _CUBIC
            du += 1
            du *= _SQRT_2_OVER_PI
            dx = np.square(t)
            np.subtract(1, dx, out=dx)
            dx *= du
            dx *= x  # x * (1 - t**2) * du/dx
            dx += t
            dx += 1
            dx *= 0.5
        else:
            dx = x * x
            dx *= -0.5
            np.exp(dx, out=dx)
            dx *= 1 / math.sqrt(2 * math.pi)  # phi(x)
            dx *= x
            dx += self._cdf
        dx *= dy
        return dx


@corenn.hookimpl
def corenn_activations():
    return [GELU]
