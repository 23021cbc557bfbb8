"""Models: :class:`Sequential`, :func:`mlp`, saving and loading, and the loss of a model.

    model = corenn.mlp([64, 100, 10], activation="relu", batchnorm=True, dropout=0.5, seed=0)
    data_loss, reg_loss = compute_loss(model, loss, X, y, regularizer=l2)   # forward + backward
    optimizer.step(model.parameters(), model.gradients())
    apply_constraints(model, max_norm)

A Sequential holds layers (``forward(x, training)``) and activations
(``forward(x)``) and runs them in order. Its parameter and gradient lists are
the layers' own arrays, the same objects for the model's whole life, so an
optimizer updates them in place and every backward overwrites the gradients.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import files
from .arrays import as_float_array, resolve_dtype
from .component import component_name, hyperparameter_values, hyperparameters, spec_of
from .errors import CorennError, InvalidFile, InvalidHyperparameter, InvalidInput, PluginError, UnknownComponent
from .registry import create, kind_of

FORMAT = "corenn.sequential"
FORMAT_VERSION = 1
_ELEMENT_KINDS = ("layer", "activation")


def _element_kind(el: Any, index: int) -> str:
    """``"layer"`` or ``"activation"``: the registered kind, else whether ``forward`` takes ``training``."""
    kind = kind_of(el)
    if kind in _ELEMENT_KINDS:
        return kind
    forward, backward = getattr(el, "forward", None), getattr(el, "backward", None)
    if not callable(forward) or not callable(backward):
        raise InvalidInput(f"Sequential: element {index} ({el!r}) is not a layer or an activation "
                           "(it needs forward() and backward()); build it with corenn.create('layer', ...)")
    return "layer" if _takes_keyword(forward, "training") else "activation"


def _declared_width(el: Any) -> int | None:
    """The input width an element declares (dense's in_features, batchnorm's num_features), if any."""
    for attr in ("in_features", "num_features"):
        value = getattr(el, attr, None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    return None


class Sequential:
    """Layers and activations applied in order: ``scores = f_n(... f_1(X))``."""

    def __init__(self, layers: Iterable[Any], seed: Any = None):
        self.layers = list(layers)
        if not self.layers:
            raise InvalidInput("Sequential: give at least one layer")
        ids = [id(el) for el in self.layers]
        for i, el in enumerate(self.layers):
            if ids.index(id(el)) != i:
                raise InvalidInput(f"Sequential: element {i} ({component_name(el)}) is the same object as element "
                                   f"{ids.index(id(el))}; each position needs its own instance (it caches its input)")
        self._kinds = [_element_kind(el, i) for i, el in enumerate(self.layers)]
        self._is_layer = [k == "layer" for k in self._kinds]
        self._dtype = self._common_dtype()
        self._slots: list[tuple[int, str, np.ndarray, np.ndarray]] = []  # (index, key, param, grad)
        for i, el in enumerate(self.layers):
            params = getattr(el, "params", None) or {}
            grads = el.grads if isinstance(getattr(el, "grads", None), dict) else {}
            for key, p in params.items():
                g = grads.get(key)
                if not isinstance(g, np.ndarray) or g.shape != p.shape or g.dtype != p.dtype:
                    g = grads[key] = np.zeros_like(p)
                self._slots.append((i, key, p, g))
        self.in_features = _declared_width(self.layers[0])
        self.out_features: int | None = None
        self._widths: list[int | None] = [None] * len(self.layers)  # output width of each element
        if self.in_features is not None:
            self._trace(np.zeros((2, self.in_features), self._dtype))
        for el in self.layers:
            if hasattr(el, "check_input"):
                el.check_input = False  # the model checks its input once, in forward(); layers need not
        # training needs no gradient for the data: a first element whose backward takes
        # input_grad=False (dense) skips computing it
        self._skip_input_grad = _takes_keyword(self.layers[0].backward, "input_grad")
        self._reg_scratch: dict[tuple[int, str], np.ndarray] = {}
        if seed is not None:
            self.reseed(seed)

    # -- structure -----------------------------------------------------------
    def _common_dtype(self) -> np.dtype:
        seen: dict[np.dtype, str] = {}
        for i, el in enumerate(self.layers):
            arrays = {**(getattr(el, "params", None) or {}), **(getattr(el, "buffers", None) or {})}
            for key, arr in arrays.items():
                seen.setdefault(np.asarray(arr).dtype, f"element {i} ({component_name(el)}) {key!r}")
        if len(seen) > 1:
            listing = ", ".join(f"{where} is {dt}" for dt, where in seen.items())
            raise InvalidInput(f"Sequential: the layers mix dtypes ({listing}); build every layer with the same dtype")
        return resolve_dtype(next(iter(seen))) if seen else np.dtype(np.float32)

    def _describe_position(self, i: int) -> str:
        return f"layer {i} ({component_name(self.layers[i])})"

    def _trace(self, x: np.ndarray) -> np.ndarray:
        """Run ``x`` through every element in inference mode, naming both layers of any shape mismatch."""
        for i, el in enumerate(self.layers):
            width = x.shape[1]
            want = _declared_width(el)
            if i == 0:
                where = "the model input"
            else:
                where = f"{self._describe_position(i - 1)}, which gives shape (N, {width})"
            if want is not None and want != width:
                raise InvalidInput(f"Sequential: {self._describe_position(i)} takes input of shape (N, {want}) but "
                                   f"gets {where}; make the widths agree")
            try:
                x = el.forward(x, training=False) if self._is_layer[i] else el.forward(x)
            except (ValueError, IndexError, TypeError) as exc:
                raise InvalidInput(f"Sequential: {self._describe_position(i)} cannot take {where} "
                                   f"({type(exc).__name__}: {exc}); make the widths agree") from exc
            if getattr(x, "ndim", None) != 2 or x.shape[0] != 2:
                raise InvalidInput(f"Sequential: {self._describe_position(i)} turned a batch of shape (2, {width}) "
                                   f"into {getattr(x, 'shape', type(x).__name__)}; it must keep the batch axis")
            self._widths[i] = x.shape[1]
        self.out_features = x.shape[1]
        return x

    @property
    def dtype(self) -> np.dtype:
        """The dtype of every parameter; input is cast to it."""
        return self._dtype

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Any:
        return self.layers[i]

    def __repr__(self) -> str:
        return f"Sequential([{', '.join(component_name(el) for el in self.layers)}], dtype={self._dtype.name})"

    # -- computing -----------------------------------------------------------
    def _check_input(self, X: Any, where: str) -> np.ndarray:
        x = as_float_array(X, where, ndim=2, dtype=self._dtype)
        self.check_width(x, where)
        return x

    def check_width(self, x: np.ndarray, where: str) -> None:
        """Raise :class:`corenn.InvalidInput` (naming ``where``) unless ``x`` has the model's input width."""
        if self.in_features is not None and x.shape[1] != self.in_features:
            raise InvalidInput(f"{where}: X has shape {x.shape} but the model takes (N, {self.in_features}) "
                               f"({self._describe_position(0)}); give {self.in_features} features per sample")

    def _run(self, x: np.ndarray, training: bool) -> np.ndarray:
        for el, is_layer in zip(self.layers, self._is_layer):
            x = el.forward(x, training) if is_layer else el.forward(x)
        return x

    def forward(self, X: Any, training: bool = True) -> np.ndarray:
        """Scores ``(N, classes)`` for a batch ``X`` of shape ``(N, features)``.

        ``training=True`` uses batch statistics and draws dropout masks;
        ``training=False`` is inference. X is checked (rank 2, finite, width) and
        cast to the model's dtype once; nothing is re-checked between layers.
        """
        x = self._check_input(X, "Sequential.forward")
        if self.in_features is None:  # widths unknown until now: trace them once, naming any mismatch
            self._trace(x[:2] if x.shape[0] >= 2 else np.repeat(x, 2, axis=0))
            self.in_features = x.shape[1]
        return self._run(x, bool(training))

    def backward(self, dscores: Any) -> np.ndarray:
        """Backpropagate ``dscores`` (the loss's gradient w.r.t. the scores); returns dX.

        Overwrites every array of :meth:`gradients` (nothing to zero between steps).
        """
        return self._backward(self._as_gradient(dscores), True)

    def _as_gradient(self, dscores: Any) -> np.ndarray:
        d = np.asarray(dscores)
        return d if d.dtype == self._dtype else d.astype(self._dtype)

    def _backward(self, d: np.ndarray, input_grad: bool) -> np.ndarray | None:
        """Backpropagate ``d`` (an array of the model's dtype); with ``input_grad=False`` the
        gradient with respect to the input may be skipped (then None is returned)."""
        layers = self.layers
        for el in layers[:0:-1]:
            d = el.backward(d)
        d = layers[0].backward(d) if input_grad or not self._skip_input_grad else layers[0].backward(d, input_grad=False)
        for i, key, _, g in self._slots:  # a layer that rebinds its grads still fills the model's arrays
            grads = self.layers[i].grads
            if grads[key] is not g:
                np.copyto(g, grads[key])
                grads[key] = g
        return d

    def predict(self, X: Any, batch_size: int = 1024) -> np.ndarray:
        """Class indices (int64), the argmax of the scores in inference mode, in batches of ``batch_size``."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InvalidInput(f"Sequential.predict: batch_size must be a positive integer, got {batch_size!r}")
        x = self._check_input(X, "Sequential.predict")
        if self.in_features is None:
            self.forward(x[:1], training=False)
        out = np.empty(x.shape[0], dtype=np.int64)
        for start in range(0, x.shape[0], batch_size):
            scores = self._run(x[start:start + batch_size], False)
            out[start:start + batch_size] = np.argmax(scores, axis=1)
        return out

    # -- parameters ----------------------------------------------------------
    def parameters(self) -> list[np.ndarray]:
        """Every learnable array, in a stable order (layer by layer, key by key); the live arrays, not copies."""
        return [p for _, _, p, _ in self._slots]

    def gradients(self) -> list[np.ndarray]:
        """The gradient of each of :meth:`parameters`, same order and shapes; overwritten by each backward."""
        return [g for _, _, _, g in self._slots]

    def named_parameters(self) -> list[tuple[str, np.ndarray]]:
        """``("<index>.<layer name>.<key>", array)`` for each of :meth:`parameters`, e.g. ``"0.dense.W"``."""
        return [(f"{i}.{component_name(self.layers[i])}.{key}", p) for i, key, p, _ in self._slots]

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-learned state saved with the model (batchnorm's running statistics), by the same naming."""
        out = {}
        for i, el in enumerate(self.layers):
            for key, arr in (getattr(el, "buffers", None) or {}).items():
                out[f"{i}.{component_name(el)}.{key}"] = arr
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter (by its :meth:`named_parameters` name) and buffer (``"buffer:<name>"``): the live arrays."""
        state = dict(self.named_parameters())
        state.update({f"buffer:{k}": v for k, v in self.buffers().items()})
        return state

    def load_state_dict(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Copy arrays named as in :meth:`state_dict` into the model's own arrays (which stay the same objects).

        Every name must be present, with the same shape and dtype, and finite; else :class:`corenn.InvalidInput`.
        """
        own = self.state_dict()
        missing, extra = sorted(set(own) - set(arrays)), sorted(set(arrays) - set(own))
        if missing or extra:
            raise InvalidInput(f"Sequential.load_state_dict: the arrays do not match the model: missing {missing}, "
                               f"unexpected {extra}")
        for key, target in own.items():
            arr = np.asarray(arrays[key])
            if arr.shape != target.shape or arr.dtype != target.dtype:
                raise InvalidInput(f"Sequential.load_state_dict: {key!r} has shape {arr.shape} and dtype {arr.dtype}, "
                                   f"but the model needs shape {target.shape} and dtype {target.dtype}")
            if not np.isfinite(arr).all():
                raise InvalidInput(f"Sequential.load_state_dict: {key!r} holds NaN or infinite values")
        for key, target in own.items():
            np.copyto(target, arrays[key])

    def regularized_parameters(self, layers: Iterable[int] | None = None) -> list[tuple[int, str]]:
        """``(layer index, param key)`` of each param a regularizer applies to: the keys each layer names
        in its ``regularized`` attribute (dense: its weights ``W``, not its bias), only in ``layers`` if given."""
        n = len(self.layers)
        chosen = None
        if layers is not None:
            chosen = set()
            for i in layers:
                if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
                    raise InvalidInput(f"regularized layers: {i!r} is not a layer index of this model (0 to {n - 1})")
                chosen.add(int(i) % n)
        out = []
        for i, el in enumerate(self.layers):
            if chosen is not None and i not in chosen:
                continue
            params = getattr(el, "params", None) or {}
            out += [(i, key) for key in getattr(el, "regularized", ()) if key in params]
        return out

    def reseed(self, rng_or_seed: Any) -> None:
        """Give every element with an ``rng`` attribute its own child Generator of ``rng_or_seed``
        (a seed or a Generator), so that a seeded run draws the same dropout masks every time."""
        if isinstance(rng_or_seed, np.random.Generator):
            children = rng_or_seed.spawn(len(self.layers))
        else:
            children = [np.random.default_rng(s) for s in np.random.SeedSequence(rng_or_seed).spawn(len(self.layers))]
        for el, child in zip(self.layers, children):
            if hasattr(el, "rng"):
                el.rng = child

    # -- configuration and files ---------------------------------------------
    def config(self) -> dict[str, Any]:
        """Plain data (JSON) from which :meth:`from_config` rebuilds the architecture."""
        elements = []
        for i, (el, kind) in enumerate(zip(self.layers, self._kinds)):
            spec = spec_of(el)
            try:
                json.dumps(spec)
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"Sequential.config: {self._describe_position(i)} has a hyperparameter that is "
                                   f"not plain data ({exc}); give it as a spec string or mapping") from exc
            elements.append({"kind": kind, "spec": spec})
        return {"format": FORMAT, "version": FORMAT_VERSION, "dtype": self._dtype.name, "layers": elements}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sequential:
        """Rebuild a model (fresh weights) from :meth:`config`; components come from the registry."""
        if not isinstance(config, Mapping) or not isinstance(config.get("layers"), list) or not config["layers"]:
            raise InvalidInput("Sequential.from_config: expected a mapping with a non-empty list 'layers'")
        if config.get("format", FORMAT) != FORMAT:
            raise InvalidInput(f"Sequential.from_config: format {config.get('format')!r} is not {FORMAT!r}")
        elements = []
        for i, entry in enumerate(config["layers"]):
            if not isinstance(entry, Mapping) or entry.get("kind") not in _ELEMENT_KINDS \
                    or not isinstance(entry.get("spec"), Mapping):
                raise InvalidInput(f"Sequential.from_config: layers[{i}] must be "
                                   "{'kind': 'layer' or 'activation', 'spec': {'name': ...}}")
            elements.append(create(entry["kind"], dict(entry["spec"])))
        model = cls(elements)
        if "dtype" in config and np.dtype(model.dtype).name != config["dtype"]:
            raise InvalidInput(f"Sequential.from_config: the config says dtype {config['dtype']!r} but its layers "
                               f"build as {model.dtype.name}")
        return model

    def _check_savable(self) -> None:
        for i, (el, kind) in enumerate(zip(self.layers, self._kinds)):
            if kind_of(el) != kind:
                raise InvalidInput(f"Sequential.save: {self._describe_position(i)} is not a registered {kind}, so "
                                   "load_model could not rebuild it; register its plugin first")

    def save(self, path: str | os.PathLike) -> Path:
        """Write parameters, buffers and config to one ``.npz`` file, atomically (no pickle).

        A path without the ``.npz`` suffix gets it. Returns the path written.
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        self._check_savable()
        return files.save_arrays(path, self.state_dict(), self.config())

    def summary(self) -> str:
        """A small table: each element, its output shape and its parameter count."""
        rows = [("#", "layer", "output", "params")]
        total = 0
        for i, el in enumerate(self.layers):
            count = sum(int(np.size(p)) for p in (getattr(el, "params", None) or {}).values())
            total += count
            hp = ", ".join(f"{k}={v!r}" for k, v in hyperparameter_values(el).items()
                           if k in ("in_features", "out_features", "num_features", "keep_prob"))
            width = self._widths[i]
            rows.append((str(i), f"{component_name(el)}({hp})" if hp else component_name(el),
                         f"(N, {width if width is not None else '?'})", f"{count:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = ["  ".join(r[c].ljust(widths[c]) if c < 2 else r[c].rjust(widths[c]) for c in range(4))
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"total: {total:,} parameters, dtype {self._dtype.name}")
        return "\n".join(lines)


def load_model(path: str | os.PathLike) -> Sequential:
    """Read a model written by :meth:`Sequential.save` (``allow_pickle=False``).

    A truncated, corrupt or hostile file, or arrays whose names, shapes or dtypes
    do not match the config, raise :class:`corenn.InvalidFile`; a component that
    is not installed raises :class:`corenn.UnknownComponent`.
    """
    path = Path(path)
    if not path.exists() and path.suffix != ".npz" and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    arrays, config = files.load_arrays(path, what="model file")
    where = f"model file {str(path)!r}"
    declared, stored = _declared_values(config), sum(a.size for a in arrays.values())
    if declared > 2 * stored + 1_000_000:  # would allocate far more than the file holds: refuse before building
        raise InvalidFile(f"{where} is truncated or corrupt: its config declares layers of about {declared} values "
                          f"but it stores {stored}; use an intact copy or retrain")
    try:
        model = Sequential.from_config(config)
    except (UnknownComponent, PluginError):
        raise
    except (CorennError, TypeError, ValueError, KeyError, AttributeError, OverflowError, MemoryError) as exc:
        raise InvalidFile(f"{where} has an invalid config ({type(exc).__name__}: {exc})") from exc
    try:
        model.load_state_dict(arrays)
    except InvalidInput as exc:
        raise InvalidFile(f"{where}: {exc}") from exc
    return model


def _declared_values(config: Any) -> int:
    """About how many parameter values a model config asks for: per layer, the product of its
    integer hyperparameters (the seed aside), e.g. in_features * out_features for dense."""
    import math

    total = 0
    for entry in config.get("layers", []) if isinstance(config, Mapping) else []:
        spec = entry.get("spec") if isinstance(entry, Mapping) else None
        if isinstance(spec, Mapping):
            total += math.prod(v for k, v in spec.items()
                               if k != "seed" and isinstance(v, int) and not isinstance(v, bool) and v > 0)
    return total


def _fresh_spec(kind: str, spec: Any) -> Any:
    """A spec from which a new instance can be built each time (an instance is turned back into its spec)."""
    if isinstance(spec, (str, Mapping)):
        return spec
    if not hasattr(spec, "forward"):
        raise InvalidInput(f"mlp: {kind} must be a spec (name, 'name:k=v' or mapping) or a component, got {spec!r}")
    return spec_of(spec)


def mlp(sizes: Sequence[int], activation: Any = "relu", weight_init: Any = "he", dropout: float | None = None,
        batchnorm: bool = False, seed: int | None = 0, dtype: Any = "float32") -> Sequential:
    """A multilayer perceptron: ``dense -> [batchnorm] -> activation -> [dropout]`` per hidden layer,
    then a last ``dense`` that gives the scores (no activation).

    ``sizes`` = [inputs, hidden..., classes]; ``dropout`` is the keep probability
    (or None for no dropout); the same ``seed`` gives the same initial weights
    and dropout masks. Every piece comes from the registry by spec.
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2 or any(
            isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise InvalidHyperparameter("mlp", "sizes", sizes, "must be a list of at least two positive integers "
                                    "[inputs, hidden..., classes]")
    if not isinstance(batchnorm, bool):
        raise InvalidHyperparameter("mlp", "batchnorm", batchnorm, "must be True or False")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InvalidHyperparameter("mlp", "seed", seed, "must be a non-negative integer or None")
    try:
        dt = resolve_dtype(dtype).name
    except InvalidInput as exc:
        raise InvalidHyperparameter("mlp", "dtype", dtype, "must be 'float32' or 'float64'") from exc
    activation = _fresh_spec("activation", activation)
    sizes = [int(s) for s in sizes]
    n_dense = len(sizes) - 1
    # one seed per dense and dropout layer, derived from the mlp seed (plain ints, so they survive the config)
    seeds = [None] * (2 * n_dense) if seed is None else [int(s) for s in np.random.SeedSequence(int(seed))
                                                           .generate_state(2 * n_dense)]
    elements: list[Any] = []
    for j, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        elements.append(create("layer", {"name": "dense", "in_features": fan_in, "out_features": fan_out,
                                         "weight_init": copy.deepcopy(weight_init), "dtype": dt,
                                         "seed": seeds[2 * j]}))
        if j == n_dense - 1:
            break
        if batchnorm:
            elements.append(create("layer", {"name": "batchnorm", "num_features": fan_out, "dtype": dt}))
        elements.append(_activation(activation, dt))
        if dropout is not None:
            elements.append(create("layer", {"name": "dropout", "keep_prob": dropout, "seed": seeds[2 * j + 1]}))
    return Sequential(elements)


def _activation(spec: Any, dtype: str) -> Any:
    act = create("activation", spec)
    if any(a.name == "dtype" for a in hyperparameters(act)) and getattr(act, "dtype", None) != dtype:
        act = create("activation", spec, dtype=dtype)
    for store in ("params", "grads"):  # an activation with params but no dtype: cast them to the model's
        arrays = getattr(act, store, None) or {}
        for key, arr in list(arrays.items()):
            if isinstance(arr, np.ndarray) and arr.dtype != dtype:
                arrays[key] = arr.astype(dtype)
    return act


def _takes_keyword(method: Any, name: str) -> bool:
    """Whether ``method`` has a parameter called ``name``."""
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


_ACCEPTS_OUT: dict[type, bool] = {}


def _accepts_out(regularizer: Any) -> bool:
    """Whether ``regularizer.gradient`` takes ``out=`` (looked up once per class)."""
    cls = type(regularizer)
    if cls not in _ACCEPTS_OUT:
        _ACCEPTS_OUT[cls] = _takes_keyword(regularizer.gradient, "out")
    return _ACCEPTS_OUT[cls]


def compute_loss(model: Sequential, loss: Any, X: Any, y: Any, *, regularizer: Any = None,
                 regularized_layers: Iterable[int] | None = None, training: bool = True,
                 backward: bool = True) -> tuple[float, float]:
    """``(data_loss, regularization_loss)`` of ``model`` on a batch; with ``backward`` also the gradients.

    Forward, ``loss.forward(scores, y)``, and the regularizer's penalty summed over
    ``model.regularized_parameters(regularized_layers)`` (the weights of every
    dense layer when None). With ``backward=True`` it backpropagates
    ``loss.backward()`` and adds the regularizer's gradient into those weights'
    gradients, in place. The loss to report (and minimize) is the sum of both.
    """
    scores = model.forward(X, training=training)
    data_loss = float(loss.forward(scores, y))
    slots = model.regularized_parameters(regularized_layers) if regularizer is not None else []
    reg_loss = _penalty(model, regularizer, slots)
    if backward:
        model.backward(loss.backward())
        _add_penalty_gradients(model, regularizer, slots)
    return data_loss, reg_loss


class BatchLoss:
    """:func:`compute_loss` with backward, prepared once for a training run.

    ``batch_loss(X, y)`` is ``compute_loss(model, loss, X, y, regularizer=...,
    regularized_layers=...)``, the same numbers bit for bit, minus the work a
    trainer need not repeat every step: the regularized weights are looked up
    once, and with ``trusted=True`` (for batches of data the caller has checked
    once: X finite, 2-d, of the model's dtype and width; y int64 labels of its
    length in ``[0, classes)``) the model skips its input checks, a loss with
    ``forward_trusted`` skips its label checks, and the gradient with respect
    to X, which training never uses, is not computed where the first layer can
    skip it. Non-finite scores then show up as a non-finite loss.
    """

    def __init__(self, model: Any, loss: Any, regularizer: Any = None,
                 regularized_layers: Iterable[int] | None = None):
        self.model, self.loss, self.regularizer = model, loss, regularizer
        self.slots = model.regularized_parameters(regularized_layers) if regularizer is not None else []
        self._sequential = isinstance(model, Sequential)
        self._forward_trusted = getattr(loss, "forward_trusted", None)

    def __call__(self, X: Any, y: Any, trusted: bool = False) -> tuple[float, float]:
        model, loss = self.model, self.loss
        fast = trusted and self._sequential
        if fast and model.in_features is not None:
            scores = model._run(X, True)
        else:
            scores = model.forward(X, training=True)
        if trusted and self._forward_trusted is not None:
            data_loss = float(self._forward_trusted(scores, y))
        else:
            data_loss = float(loss.forward(scores, y))
        reg_loss = _penalty(model, self.regularizer, self.slots) if self.slots else 0.0
        if self._sequential:
            model._backward(model._as_gradient(loss.backward()), not fast)
        else:
            model.backward(loss.backward())
        if self.slots:
            _add_penalty_gradients(model, self.regularizer, self.slots)
        return data_loss, reg_loss


def _penalty(model: Sequential, regularizer: Any, slots: list[tuple[int, str]]) -> float:
    reg_loss = 0.0
    for i, key in slots:
        reg_loss += float(regularizer.penalty(model.layers[i].params[key]))
    return reg_loss


def _add_penalty_gradients(model: Sequential, regularizer: Any, slots: list[tuple[int, str]]) -> None:
    with_out = bool(slots) and _accepts_out(regularizer)
    for i, key in slots:
        layer = model.layers[i]
        if with_out:
            scratch = model._reg_scratch.get((i, key))
            if scratch is None:
                scratch = model._reg_scratch[(i, key)] = np.empty_like(layer.params[key])
            layer.grads[key] += regularizer.gradient(layer.params[key], out=scratch)
        else:
            layer.grads[key] += regularizer.gradient(layer.params[key])


def apply_constraints(model: Sequential, regularizer: Any, regularized_layers: Iterable[int] | None = None) -> None:
    """``regularizer.constrain(w)`` on every regularized weight, in place (call it after each optimizer step)."""
    if regularizer is None:
        return
    for i, key in model.regularized_parameters(regularized_layers):
        regularizer.constrain(model.layers[i].params[key])


__all__ = ["Sequential", "mlp", "load_model", "compute_loss", "apply_constraints"]
