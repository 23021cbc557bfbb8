"""L-BFGS for corenn: a quasi-Newton method for full-batch problems."""

from __future__ import annotations

import math

import numpy as np

import corenn
from corenn.optim import Optimizer, learning_rate
from corenn.validators import integer, non_negative, one_of

_ARRAYS = ("d", "prev_grad")
_LISTS = ("s", "y")


@corenn.component
class LBFGS(Optimizer):
    """L-BFGS: quasi-Newton steps from the last `history` (s, y) pairs, with a strong-Wolfe line search.

    Liu and Nocedal (1989), the tutorial's "Second-Order Method": ``lbfgs(lr=1.0, history=10, max_iter=20, tolerance_grad=1e-7,
    tolerance_change=1e-9, line_search="strong_wolfe")``. Full batch: ``step(params,
    grads, closure)`` needs ``closure()``, which recomputes the loss at the current
    (updated in place) params and returns ``(loss, grads)``; one step runs up to
    ``max_iter`` iterations (and about 1.25 * max_iter closure calls). Each
    iteration approximates the Newton step ``x -= H^-1 dx`` with the two-loop
    recursion over the pairs ``s = x_new - x_old``, ``y = dx_new - dx_old``
    (Nocedal and Wright, algorithm 7.4), then searches along it for a step
    length meeting the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9).

    The (s, y) pairs, the last direction and step length persist from one ``step``
    call to the next (and through ``state_dict``), as in PyTorch's L-BFGS, so repeated
    calls continue one quasi-Newton run. Two tests differ from PyTorch's so that repeated
    calls keep converging to full precision, as SciPy's L-BFGS-B does: a pair is kept when ``s.y > eps |y|^2`` (relative, not ``s.y > 1e-10``, which drops every pair
    near the optimum), and an iteration stops early only when the direction is not a
    descent direction (``g.d >= 0``), not when ``|g.d|`` is below ``tolerance_change``
    (which left every later call at the same point without a step).

    Params may be any number of arrays of any shapes; they are handled as one
    flat vector of their common dtype. ``grads`` passed to ``step`` are only
    checked: the closure gives the gradients used. After a step, ``last_loss``
    holds the loss at the new params.
    """

    name = "lbfgs"
    needs_closure = True

    lr: float = learning_rate(1.0, doc="scales the step length (the first trial step of each line search), > 0")
    history: int = corenn.hyperparameter(10, doc="how many (s, y) pairs to remember (>= 1)", check=integer(1))
    max_iter: int = corenn.hyperparameter(20, doc="iterations per step() call (>= 1)", check=integer(1))
    tolerance_grad: float = corenn.hyperparameter(1e-7, doc="stop when max |gradient| is at most this",
                                                  check=non_negative, schedulable=True)
    tolerance_change: float = corenn.hyperparameter(1e-9, doc="stop when the loss or the step changes less than this",
                                                    check=non_negative, schedulable=True)
    line_search: str | None = corenn.hyperparameter(
        "strong_wolfe", doc="'strong_wolfe', or 'none' for fixed steps of length lr",
        check=one_of("strong_wolfe", "none", None))

    # -- one step: up to max_iter iterations -------------------------------------------
    def _apply(self, params, grads, closure, hp):
        mem = self._memory()
        flat = _Flat(params, self.name)
        loss, g = flat.evaluate(closure)
        if not (math.isfinite(loss) and np.isfinite(g).all()):
            raise corenn.InvalidInput(f"{self.name}: the closure gave a non-finite loss or gradient at the "
                                      "current params; check the model and data (or lower lr)")
        mem["func_evals"] += 1
        evals = 1
        self.last_loss = loss
        if float(np.abs(g).max()) <= hp.tolerance_grad:
            return
        d, t, prev_grad, prev_loss = mem["d"], mem["t"], mem["prev_grad"], mem["prev_loss"]
        s_hist, y_hist, rho = mem["s"], mem["y"], mem["rho"]
        max_eval = hp.max_iter * 5 // 4
        for n_iter in range(1, hp.max_iter + 1):
            mem["n_iter"] += 1
            if mem["n_iter"] == 1:
                d = -g
                s_hist.clear(), y_hist.clear(), rho.clear()
                mem["h_diag"] = 1.0
            else:
                y = g - prev_grad
                s = d * t
                ys = float(y.dot(s))
                if ys > np.finfo(y.dtype).eps * float(y.dot(y)):  # positive curvature, relative to |y|^2
                    while len(s_hist) >= self.history:
                        s_hist.pop(0), y_hist.pop(0), rho.pop(0)
                    s_hist.append(s), y_hist.append(y), rho.append(1.0 / ys)
                    mem["h_diag"] = ys / float(y.dot(y))
                d = _two_loop(g, s_hist, y_hist, rho, mem["h_diag"])
            prev_grad = g.copy()
            prev_loss = loss
            # first trial step: short on the very first iteration, then lr
            if mem["n_iter"] == 1:
                total = float(np.abs(g).sum())
                t = min(1.0, 1.0 / total) * hp.lr if total > 0 else hp.lr
            else:
                t = hp.lr
            gtd = float(g.dot(d))
            if gtd >= 0:  # not a descent direction any more
                break
            if self.line_search == "strong_wolfe":
                x0 = flat.snapshot()

                def along(step, x0=x0, d=d):
                    flat.add(step, d)
                    value, grad = flat.evaluate(closure)
                    flat.restore(x0)
                    return value, grad

                loss, g, t, ls_evals = _strong_wolfe(along, t, d, loss, g, gtd, hp.tolerance_change)
                flat.add(t, d)
            else:
                flat.add(t, d)
                ls_evals = 0
                if n_iter != hp.max_iter:
                    loss, g = flat.evaluate(closure)
                    ls_evals = 1
            evals += ls_evals
            mem["func_evals"] += ls_evals
            self.last_loss = loss
            if n_iter == hp.max_iter or evals >= max_eval:
                break
            if float(np.abs(g).max()) <= hp.tolerance_grad:
                break
            if float(np.abs(d).max()) * abs(t) <= hp.tolerance_change or abs(loss - prev_loss) < hp.tolerance_change:
                break
        mem.update(d=d, t=t, prev_grad=prev_grad, prev_loss=prev_loss)

    # -- state ---------------------------------------------------------------------------
    def _memory(self) -> dict:
        mem = self.__dict__.get("_lbfgs")
        if mem is None:
            mem = self._lbfgs = {"d": None, "t": None, "s": [], "y": [], "rho": [], "h_diag": 1.0,
                                 "prev_grad": None, "prev_loss": None, "n_iter": 0, "func_evals": 0}
        return mem

    def _extra_state(self):
        mem = self._memory()
        out = dict(mem)
        for k in _ARRAYS:
            out[k] = None if mem[k] is None else mem[k].copy()
        for k in _LISTS:
            out[k] = [a.copy() for a in mem[k]]
        out["rho"] = list(mem["rho"])
        return out

    def _load_extra_state(self, extra, layout, where):
        if not extra:
            self._lbfgs = None
            return
        expected = set(self._memory_keys())
        if set(extra) != expected:
            raise corenn.InvalidInput(f"{where}: lbfgs state needs the keys {sorted(expected)}, got {sorted(extra)}")
        size = sum(math.prod(s) for s, _ in layout) if layout else None
        dtype = np.result_type(*[d for _, d in layout]) if layout else None

        def vector(a, what):
            if a is None:
                return None
            if not isinstance(a, np.ndarray) or a.shape != (size,) or a.dtype != dtype:
                raise corenn.InvalidInput(f"{where}: lbfgs {what} is {getattr(a, 'dtype', type(a).__name__)} "
                                          f"{getattr(a, 'shape', '')}, expected {dtype} ({size},) for these params")
            return a.copy()

        mem = dict(extra)
        for k in _ARRAYS:
            mem[k] = vector(extra[k], k)
        for k in _LISTS:
            mem[k] = [vector(a, f"{k}[{i}]") for i, a in enumerate(extra[k])]
        mem["rho"] = [float(r) for r in extra["rho"]]
        if not len(mem["s"]) == len(mem["y"]) == len(mem["rho"]):
            raise corenn.InvalidInput(f"{where}: lbfgs history lists s, y, rho differ in length")
        for k in ("n_iter", "func_evals"):
            mem[k] = int(mem[k])
        for k in ("t", "prev_loss"):
            mem[k] = None if mem[k] is None else float(mem[k])
        mem["h_diag"] = float(mem["h_diag"])
        self._lbfgs = mem

    @staticmethod
    def _memory_keys():
        return ("d", "t", "s", "y", "rho", "h_diag", "prev_grad", "prev_loss", "n_iter", "func_evals")


class _Flat:
    """A list of parameter arrays seen as one flat vector."""

    def __init__(self, params, name):
        self.params, self.name = params, name
        self.dtype = np.result_type(*params)
        self.slices, start = [], 0
        for p in params:
            self.slices.append(slice(start, start + p.size))
            start += p.size

    def evaluate(self, closure):
        result = closure()
        if not (isinstance(result, tuple) and len(result) == 2):
            raise corenn.InvalidInput(f"{self.name}: the closure must return (loss, grads), got {type(result).__name__}")
        loss, grads = result
        if len(grads) != len(self.params) or any(np.shape(g) != p.shape for g, p in zip(grads, self.params)):
            raise corenn.InvalidInput(f"{self.name}: the closure's grads must match params one to one "
                                      f"(shapes {[p.shape for p in self.params]}), got {[np.shape(g) for g in grads]}")
        flat = np.concatenate([np.asarray(g).reshape(-1) for g in grads]).astype(self.dtype, copy=False)
        loss = float(loss)
        return (loss if not math.isnan(loss) else math.inf), flat

    def add(self, t, d):
        for p, sl in zip(self.params, self.slices):
            p += (t * d[sl]).reshape(p.shape)

    def snapshot(self):
        return [p.copy() for p in self.params]

    def restore(self, saved):
        for p, x in zip(self.params, saved):
            np.copyto(p, x)


def _two_loop(g, s_hist, y_hist, rho, h_diag):
    """The L-BFGS direction -H g from the stored pairs (two-loop recursion)."""
    q = -g
    alpha = [0.0] * len(s_hist)
    for i in range(len(s_hist) - 1, -1, -1):
        alpha[i] = float(s_hist[i].dot(q)) * rho[i]
        q -= alpha[i] * y_hist[i]
    r = q * h_diag
    for i in range(len(s_hist)):
        beta = float(y_hist[i].dot(r)) * rho[i]
        r += (alpha[i] - beta) * s_hist[i]
    return r


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to bounds
    (default: between x1 and x2); the midpoint when the cubic has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    if x1 != x2 and all(math.isfinite(v) for v in (x1, f1, g1, x2, f2, g2)):
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        d2_square = d1 * d1 - g1 * g2
        if math.isfinite(d2_square) and d2_square >= 0:
            d2 = math.sqrt(d2_square)
            if x1 <= x2:
                den, pos = g2 - g1 + 2 * d2, None
                if den:
                    pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / den)
            else:
                den, pos = g1 - g2 + 2 * d2, None
                if den:
                    pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / den)
            if pos is not None and math.isfinite(pos):
                return min(max(pos, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(along, t, d, f, g, gtd, tolerance_change, c1=1e-4, c2=0.9, max_ls=25):
    """Line search for a step t along d meeting the strong Wolfe conditions
    (Nocedal and Wright, algorithms 3.5 and 3.6, with cubic interpolation).
    ``along(t)`` gives (loss, flat gradient) at x + t d. Returns (loss, grad, t, evaluations)."""

    def probe(step):
        f_new, g_new = along(step)
        gtd_new = float(g_new.dot(d))
        if not math.isfinite(gtd_new):
            f_new, gtd_new = math.inf, math.inf
        return f_new, g_new, gtd_new

    d_norm = float(np.abs(d).max())
    f_new, g_new, gtd_new = probe(t)
    evals, ls_iter, done = 1, 0, False
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    while ls_iter < max_ls:  # bracketing phase
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, bracket_gtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        step = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = step
        f_new, g_new, gtd_new = probe(t)
        evals += 1
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g, bracket_gtd = [0.0, t], [f, f_new], [g, g_new], [gtd, gtd_new]

    insufficient = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:  # zoom phase
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_min(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        top, bottom = max(bracket), min(bracket)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:  # too close to an end: move away from it
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new, gtd_new = probe(t)
        evals += 1
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


@corenn.hookimpl
def corenn_optimizers():
    return [LBFGS]
