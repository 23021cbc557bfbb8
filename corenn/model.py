"""Models: :class:`Sequential`, :func:`mlp`, saving and loading, and the loss of a model.

    model = corenn.Sequential.from_specs(["dense:out_features=128", "maxout:k=2", "dense:out_features=10"],
                                         in_features=64, seed=0)
    model = corenn.mlp([64, 100, 10], activation="relu", batchnorm=True, dropout=0.5, seed=0)
    data_loss, reg_loss = compute_loss(model, loss, X, y, regularizer=[l2, max_norm])   # forward + backward
    optimizer.step(model.parameters(), model.gradients())
    apply_constraints(model, [l2, max_norm])
    evaluate(model, loss, X_test, y_test)     # {"loss": ..., "accuracy": ..., "n": ...}

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
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import files
from .arrays import as_float_array, as_labels, flat_buffer, resolve_dtype
from .component import NOTHING, component_name, hyperparameter_values, hyperparameters, spec_of
from .errors import CorennError, InvalidFile, InvalidHyperparameter, InvalidInput, PluginError, UnknownComponent
from .protocols import (ChecksInput, DropsUnits, HasBuffers, InvertsWidth, MapsWidth, Regularized,
                        SetsOutputWidth, SkipsInputGradient, Stochastic, TakesInputWidth, TrustedLoss,
                        declared_input_width)
from .registry import available, create, field_types, get, kind_of
from .spec import InvalidSpec, format_spec, parse_spec

FORMAT = "corenn.sequential"
FORMAT_VERSION = 1
_ELEMENT_KINDS = ("layer", "activation")
#: the flat parameter and gradient buffers of living models (see Sequential._lay_flat), by id
_FLAT_BUFFERS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
#: the hyperparameters a model summary shows: those the capabilities name
_WIDTH_FIELDS = ((TakesInputWidth, "input_width_field"), (SetsOutputWidth, "output_width_field"),
                 (DropsUnits, "keep_prob_field"))


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
        self._lay_flat()
        self.in_features = declared_input_width(self.layers[0])
        self.out_features: int | None = None
        self._widths: list[int | None] = [None] * len(self.layers)  # output width of each element
        if self.in_features is not None:
            self._trace(np.zeros((2, self.in_features), self._dtype))
        for el in self.layers:
            if isinstance(el, ChecksInput):
                el.check_input = False  # the model checks its input once, in forward(); layers need not
        # training needs no gradient for the data: a first element that can skip it (dense) does
        self._skip_input_grad = isinstance(self.layers[0], SkipsInputGradient) and \
            bool(self.layers[0].skips_input_gradient)
        self._reg_scratch: dict[tuple[int, str], np.ndarray] = {}
        # (index, key) of every param a regularizer applies to, found once (the layers never change)
        self._regularized = [(i, key) for i, el in enumerate(self.layers) if isinstance(el, Regularized)
                             for key in el.regularized if key in (getattr(el, "params", None) or {})]
        if seed is not None:
            self.reseed(seed)

    def _lay_flat(self) -> None:
        """Make every parameter a view into one flat buffer, and every gradient a view into
        another, laid end to end in :meth:`parameters` order (values copied in; same shapes
        and dtypes), so that an optimizer's packed update (:class:`corenn.optim.Packed`) takes
        one numpy call per operation for the whole model instead of one per array.

        The layers keep their own arrays where that cannot be done: parameters that are not
        float32 or float64 arrays of one dtype, or an element whose ``params`` or ``grads``
        do not keep what is assigned to them."""
        slots = self._slots
        if not slots:
            return
        dtype = slots[0][2].dtype
        if dtype not in (np.float32, np.float64) or any(type(p) is not np.ndarray or p.dtype != dtype
                                                        for _, _, p, _ in slots):
            return
        if flat_buffer([p for _, _, p, _ in slots]) is not None \
                and flat_buffer([g for _, _, _, g in slots]) is not None:
            return  # already laid flat (the same layers in another Sequential): shared, as before
        if any(a.base is not None and _FLAT_BUFFERS.get(id(a.base)) is a.base
               for _, _, p, g in slots for a in (p, g)):
            return  # some layers are another model's (in its buffers): re-laying them would cut that model off
        offsets = np.cumsum([0, *(p.size for _, _, p, _ in slots)]).tolist()
        flat_params, flat_grads = np.empty(offsets[-1], dtype), np.empty(offsets[-1], dtype)
        laid = []
        for (i, key, p, g), a, b in zip(slots, offsets, offsets[1:]):
            p_view, g_view = flat_params[a:b].reshape(p.shape), flat_grads[a:b].reshape(p.shape)
            np.copyto(p_view, p)
            np.copyto(g_view, g)
            laid.append((i, key, p_view, g_view))
        try:
            for (i, key, p, g), (_, _, p_view, g_view) in zip(slots, laid):
                el = self.layers[i]
                el.params[key] = p_view
                if el.grads.get(key) is g:
                    el.grads[key] = g_view
            kept = all(self.layers[i].params[key] is p and self.layers[i].grads.get(key) is g
                       for i, key, p, g in laid)
        except (TypeError, AttributeError):
            kept = False
        if not kept:  # back to the layers' own arrays
            for i, key, p, g in slots:
                params, grads = self.layers[i].params, getattr(self.layers[i], "grads", None)
                if params.get(key) is not p:
                    params[key] = p
                if isinstance(grads, dict) and grads.get(key) is not g:
                    grads[key] = g
            return
        self._slots = laid
        _FLAT_BUFFERS[id(flat_params)], _FLAT_BUFFERS[id(flat_grads)] = flat_params, flat_grads

    # -- structure -----------------------------------------------------------
    def _common_dtype(self) -> np.dtype:
        seen: dict[np.dtype, str] = {}
        for i, el in enumerate(self.layers):
            buffers = el.buffers if isinstance(el, HasBuffers) else {}
            arrays = {**(getattr(el, "params", None) or {}), **buffers}
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
            want = declared_input_width(el)
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

    def __deepcopy__(self, memo: dict) -> Sequential:
        """A copy with copies of every layer, its parameters and gradients laid flat again
        (a deep copy of the views would leave each one an array of its own)."""
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            setattr(clone, key, copy.deepcopy(value, memo))
        clone._lay_flat()
        return clone

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
            for key, arr in (el.buffers if isinstance(el, HasBuffers) else {}).items():
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
        return [(i, key) for i, key in self._regularized if chosen is None or i in chosen]

    def reseed(self, rng_or_seed: Any) -> None:
        """Give every stochastic element (one with an ``rng``) its own child Generator of ``rng_or_seed``
        (a seed or a Generator), so that a seeded run draws the same dropout masks every time."""
        if isinstance(rng_or_seed, np.random.Generator):
            children = rng_or_seed.spawn(len(self.layers))
        else:
            children = [np.random.default_rng(s) for s in np.random.SeedSequence(rng_or_seed).spawn(len(self.layers))]
        for el, child in zip(self.layers, children):
            if isinstance(el, Stochastic):
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
        A path that names an existing folder raises :class:`corenn.InvalidInput`
        (as ``torch.save`` does) rather than writing ``folder.npz`` beside it;
        save inside it with ``model.save("runs/model.npz")``.
        """
        given = Path(path)
        path = given if given.suffix == ".npz" else given.with_name(given.name + ".npz")
        for folder in (given, path):
            if folder.is_dir():
                raise InvalidInput(f"cannot save the model to {str(folder)!r}: it is a folder; give a file path "
                                   f"such as {str(folder / 'model.npz')!r}")
        self._check_savable()
        return files.save_arrays(path, self.state_dict(), self.config())

    def summary(self) -> str:
        """A small table: each element, its output shape and its parameter count."""
        rows = [("#", "layer", "output", "params")]
        total = 0
        for i, el in enumerate(self.layers):
            count = sum(int(np.size(p)) for p in (getattr(el, "params", None) or {}).values())
            total += count
            shown = {getattr(el, attr) for protocol, attr in _WIDTH_FIELDS if isinstance(el, protocol)}
            hp = ", ".join(f"{k}={v!r}" for k, v in hyperparameter_values(el).items() if k in shown)
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


def _show_spec(spec: Any) -> str:
    if isinstance(spec, str):
        return repr(spec)
    try:
        name, params = parse_spec(spec)
        return repr(format_spec(name, params))
    except (CorennError, TypeError, ValueError):
        return repr(spec)


def _element_class(spec: Any, where: str) -> tuple[str, type, dict[str, Any]]:
    """``(kind, class, hyperparameters)`` of a layer or activation spec; a name registered as
    both is taken as the layer."""
    try:
        name, params = parse_spec(spec, field_types(*_ELEMENT_KINDS))
    except InvalidSpec as exc:
        raise InvalidSpec(f"{where}: {exc}") from exc
    for kind in _ELEMENT_KINDS:
        if name in available(kind):
            return kind, get(kind, name), dict(params)
    err = UnknownComponent("layer", name, {*available("layer"), *available("activation")},
                           what="layer or activation")
    err.args = (f"{where}: {err.args[0]}",)
    raise err


def _fields_of(cls: type) -> set[str]:
    return {a.name for a in hyperparameters(cls)}


def _output_width(el: Any, kind: str, width: int, where: str) -> int:
    """The width ``el`` gives for input ``width``: declared (:class:`MapsWidth`) or measured on a tiny batch."""
    try:
        if isinstance(el, MapsWidth):
            out = el.output_width(width)
        else:
            x = np.zeros((2, width), dtype=np.float64)
            y = el.forward(x, training=False) if kind == "layer" else el.forward(x)
            if getattr(y, "ndim", None) != 2 or y.shape[0] != 2:
                raise InvalidInput(f"turned a batch of shape (2, {width}) into {getattr(y, 'shape', y)!r}; "
                                   "it must keep the batch axis")
            out = y.shape[1]
    except CorennError as exc:
        raise InvalidInput(f"{where} cannot take input of width {width}: {exc}") from exc
    except (ValueError, IndexError, TypeError) as exc:
        raise InvalidInput(f"{where} cannot take input of width {width} ({type(exc).__name__}: {exc}); "
                           "make the widths agree") from exc
    if isinstance(out, bool) or not isinstance(out, (int, np.integer)) or out < 1:
        raise InvalidInput(f"{where} gives an output width of {out!r} for input width {width}; "
                           "its output_width() must return a positive integer")
    return int(out)


def _element_seeds(seed: int | None, n: int) -> list[int | None]:
    """One plain-int seed per position, derived from ``seed`` (so they survive the config)."""
    if seed is None:
        return [None] * n
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(n)]


def from_specs(specs: Sequence[Any], in_features: int, *, seed: int | None = 0,
               dtype: Any = "float32", defaults: Mapping[str, Any] | None = None) -> Sequential:
    """A :class:`Sequential` from a list of layer and activation specs, each input width inferred.

    Element ``i`` takes the width element ``i - 1`` gives (the first takes
    ``in_features``): a layer that declares :class:`corenn.protocols.TakesInputWidth`
    gets it in its ``input_width_field`` (dense's ``in_features``), so a list writes
    only ``"dense:out_features=128"``. The output width is the element's
    ``output_width(width)`` (:class:`~corenn.protocols.MapsWidth`) or is measured
    on a batch of two zero rows. An element with a ``dtype`` hyperparameter is built
    with ``dtype``, one with a ``seed`` hyperparameter not given in its spec gets a
    plain-int seed derived from ``seed`` (None: fresh draws). ``defaults`` are
    hyperparameter values for every element that takes them and whose spec leaves
    them out (e.g. ``{"bias_init": "constant:value=0.01"}``). Errors name the item:
    ``layers[2] 'maxout:k=3': ...``.
    """
    if isinstance(specs, (str, bytes, Mapping)) or not isinstance(specs, Sequence) or not specs:
        raise InvalidInput(f"Sequential.from_specs: give a non-empty list of layer specs, got {specs!r}")
    if isinstance(in_features, bool) or not isinstance(in_features, (int, np.integer)) or in_features < 1:
        raise InvalidHyperparameter("Sequential.from_specs", "in_features", in_features, "must be a positive integer")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InvalidHyperparameter("Sequential.from_specs", "seed", seed, "must be a non-negative integer or None")
    try:
        dt = resolve_dtype(dtype).name
    except InvalidInput as exc:
        raise InvalidHyperparameter("Sequential.from_specs", "dtype", dtype, "must be 'float32' or 'float64'") from exc
    seeds = _element_seeds(seed, len(specs))
    width = int(in_features)
    elements = []
    for i, spec in enumerate(specs):
        where = f"layers[{i}] {_show_spec(spec)}"
        kind, cls, params = _element_class(spec, where)
        fields = _fields_of(cls)
        if isinstance(cls, TakesInputWidth):
            field = cls.input_width_field
            given = params.get(field)
            if given is not None and given != width:
                before = "the input has" if i == 0 else "the element before gives"
                raise InvalidInput(f"{where}: {field}={given!r} but {before} width {width}; "
                                   f"leave {field} out of a layer list (it is inferred)")
            params[field] = width
        if "dtype" in fields:
            params.setdefault("dtype", dt)
        for key, value in (defaults or {}).items():
            if key in fields and key not in params:
                params[key] = copy.deepcopy(value)
        if "seed" in fields and params.get("seed") is None:
            params["seed"] = seeds[i]
        try:
            el = create(kind, {"name": cls.name, **params})
        except CorennError as exc:
            missing = [a.name for a in hyperparameters(cls) if a.default is NOTHING and a.name not in params]
            if missing and not isinstance(cls, TakesInputWidth):
                raise InvalidInput(f"{where}: its width cannot be inferred: {cls.name!r} does not declare which "
                                   f"hyperparameter takes its input width (input_width_field), and "
                                   f"{', '.join(missing)} is not given ({exc})") from exc
            raise type(exc)(f"{where}: {exc}") if isinstance(exc, (InvalidInput, InvalidSpec)) else \
                InvalidInput(f"{where}: {exc}") from exc
        if kind == "activation":
            el = _cast_params(el, dt)
        width = _output_width(el, kind, width, where)
        elements.append(el)
    model = Sequential(elements)
    if model.in_features is None:  # a first element that declares no width (dropout): the list's own
        model.in_features = int(in_features)
        model._trace(np.zeros((2, model.in_features), model.dtype))
    return model


def _cast_params(act: Any, dtype: str) -> Any:
    """An activation's params (and grads) in the model's dtype, for one that takes no ``dtype``."""
    for store in ("params", "grads"):
        arrays = getattr(act, store, None) or {}
        for key, arr in list(arrays.items()):
            if isinstance(arr, np.ndarray) and arr.dtype != dtype:
                arrays[key] = arr.astype(dtype)
    return act


Sequential.from_specs = staticmethod(from_specs)


def classifier(layers: Sequence[Any], in_features: int, classes: int, *, output: Any = "dense",
               weight_init: Any = None, bias_init: Any = None, seed: int | None = 0,
               dtype: Any = "float32") -> Sequential:
    """``layers`` (specs, widths inferred) followed by an ``output`` layer giving ``classes``
    scores, built by :meth:`Sequential.from_specs`. ``output`` is a layer that declares its output
    width field (:class:`~corenn.protocols.SetsOutputWidth`); ``weight_init`` and ``bias_init``
    (None: the layers' defaults) go to every layer that takes them and whose spec leaves them out."""
    if isinstance(layers, (str, bytes, Mapping)) or not isinstance(layers, Sequence):
        raise InvalidInput(f"layers must be a list of layer specs, got {layers!r}")
    name, params, cls = _role(output, "output", "layer", SetsOutputWidth, "its output width field")
    defaults = {k: v for k, v in (("weight_init", weight_init), ("bias_init", bias_init)) if v is not None}
    specs = [*layers, {"name": name, **params, cls.output_width_field: int(classes)}]
    return from_specs(specs, in_features, seed=seed, dtype=dtype, defaults=defaults)


def _keep_probs(value: Any, n_hidden: int, field: str) -> list[float | None]:
    """``dropout`` as one keep probability (or None) per hidden layer."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n_hidden
    if len(values) != n_hidden:
        raise InvalidHyperparameter("mlp", field, value, f"must be one keep probability or a list of {n_hidden} "
                                    "(one per hidden layer)")
    return values  # each checked by the dropout layer's own keep probability rule


def _role(spec: Any, role: str, kind: str, protocol: type, what: str) -> tuple[str, dict[str, Any], type]:
    """The ``(name, params, class)`` of a role's spec, whose class must declare ``protocol``."""
    try:
        name, params = parse_spec(_fresh_spec(kind, spec))
    except InvalidSpec as exc:
        raise InvalidHyperparameter("mlp", role, spec, str(exc)) from exc
    cls = get(kind, name)
    if not isinstance(cls, protocol):
        raise InvalidHyperparameter("mlp", role, spec, f"{kind} {name!r} does not declare {what} "
                                    f"({protocol.__name__} in corenn.protocols)")
    return name, dict(params), cls


def mlp(sizes: Sequence[int], activation: Any = "relu", weight_init: Any = "he", dropout: Any = None,
        batchnorm: bool = False, seed: int | None = 0, dtype: Any = "float32", *, bias_init: Any = None,
        input_dropout: float | None = None, dense: Any = "dense", norm: Any = "batchnorm",
        dropout_layer: Any = "dropout") -> Sequential:
    """A multilayer perceptron: ``[dropout] -> (dense -> [norm] -> activation -> [dropout]) per hidden
    layer -> dense`` giving the scores (no activation), built by :meth:`Sequential.from_specs`.

    ``sizes`` = [inputs, hidden..., classes]; a hidden width counts the units after
    the activation, so the dense layer before ``maxout:k=2`` gets 2 x that many.
    ``dropout`` is the keep probability after each hidden layer (one number, a list
    with one per hidden layer, or None for none); ``input_dropout`` the keep
    probability before the first layer. ``weight_init`` and ``bias_init`` are
    initializer specs for every dense layer (``bias_init=None``: the layer's default).
    The roles are specs: ``dense`` (a layer that declares its output width field),
    ``norm`` (used with ``batchnorm=True``) and ``dropout_layer`` (a layer that declares
    its keep probability field). The same ``seed`` gives the same initial weights and
    dropout masks.
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
        resolve_dtype(dtype)
    except InvalidInput as exc:
        raise InvalidHyperparameter("mlp", "dtype", dtype, "must be 'float32' or 'float64'") from exc
    sizes = [int(s) for s in sizes]
    n_dense = len(sizes) - 1
    keep = _keep_probs(dropout, n_dense - 1, "dropout")
    (in_keep,) = _keep_probs(input_dropout, 1, "input_dropout")
    dense_name, dense_params, dense_cls = _role(dense, "dense", "layer", SetsOutputWidth, "its output width field")
    out_field = dense_cls.output_width_field
    dense_params["weight_init"] = copy.deepcopy(weight_init)
    if bias_init is not None:
        dense_params["bias_init"] = copy.deepcopy(bias_init)
    activation = _fresh_spec("activation", activation)
    act = create("activation", activation)
    # one seed per dense and dropout layer, derived from the mlp seed (plain ints, so they survive the
    # config); the first 2 * n_dense are those of earlier versions, so the same seed gives the same weights
    seeds = _element_seeds(seed, 2 * n_dense + 1)
    norm_spec = None
    if batchnorm:
        norm_name, norm_params, _ = _role(norm, "norm", "layer", TakesInputWidth, "its input width field")
        norm_spec = {"name": norm_name, **norm_params}
    specs: list[Any] = []
    if in_keep is not None:
        specs.append(_dropout_spec(dropout_layer, in_keep, seeds[2 * n_dense]))
    for j, units in enumerate(sizes[1:]):
        last = j == n_dense - 1
        width = units if last or not isinstance(act, InvertsWidth) else act.input_width_for(units)
        specs.append({"name": dense_name, **copy.deepcopy(dense_params), out_field: width, "seed": seeds[2 * j]})
        if last:
            break
        if norm_spec is not None:
            specs.append(copy.deepcopy(norm_spec))
        specs.append(activation)
        if keep[j] is not None:
            specs.append(_dropout_spec(dropout_layer, keep[j], seeds[2 * j + 1]))
    return from_specs(specs, sizes[0], seed=seed, dtype=dtype)


def _dropout_spec(spec: Any, keep_prob: float, seed: int | None) -> dict[str, Any]:
    name, params, cls = _role(spec, "dropout_layer", "layer", DropsUnits, "its keep probability field")
    out = {"name": name, **params, cls.keep_prob_field: keep_prob}
    if "seed" in _fields_of(cls):
        out["seed"] = seed
    return out


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


_NOT_INSTANCES = (str, Mapping, int, float, bytes, type, list, tuple, set)


def as_regularizers(regularizer: Any) -> list[Any]:
    """None, one regularizer (spec or instance) or a list of them, as a list of instances."""
    if regularizer is None:
        return []
    if type(regularizer) is list and not any(r is None or isinstance(r, _NOT_INSTANCES) for r in regularizer):
        return regularizer  # instances already (the trainer's list, every step)
    items = list(regularizer) if isinstance(regularizer, (list, tuple)) else [regularizer]
    out = []
    for i, spec in enumerate(items):
        try:
            out.append(create("regularizer", spec))
        except CorennError as exc:
            if len(items) == 1:
                raise
            exc.args = (f"regularizer[{i}] {_show_spec(spec)}: {exc.args[0] if exc.args else exc}",)
            raise
    return out


def compute_loss(model: Sequential, loss: Any, X: Any, y: Any, *, regularizer: Any = None,
                 regularized_layers: Iterable[int] | None = None, training: bool = True,
                 backward: bool = True) -> tuple[float, float]:
    """``(data_loss, regularization_loss)`` of ``model`` on a batch; with ``backward`` also the gradients.

    Forward, ``loss.forward(scores, y)``, and the regularizers' penalties summed over
    ``model.regularized_parameters(regularized_layers)`` (the weights of every
    dense layer when None). ``regularizer`` is one regularizer or a list (penalties
    and gradients add up). With ``backward=True`` it backpropagates
    ``loss.backward()`` and adds the regularizers' gradients into those weights'
    gradients, in place. The loss to report (and minimize) is the sum of both.
    """
    regularizers = as_regularizers(regularizer)
    scores = model.forward(X, training=training)
    data_loss = float(loss.forward(scores, y))
    slots = model.regularized_parameters(regularized_layers) if regularizers else []
    reg_loss = _penalty(model, regularizers, slots)
    if backward:
        model.backward(loss.backward())
        _add_penalty_gradients(model, regularizers, slots)
    return data_loss, reg_loss


class BatchLoss:
    """:func:`compute_loss` with backward, prepared once for a training run.

    ``batch_loss(X, y)`` is ``compute_loss(model, loss, X, y, regularizer=...,
    regularized_layers=...)``, the same numbers bit for bit, minus the work a
    trainer need not repeat every step: the regularized weights are looked up
    once, and with ``trusted=True`` (for batches of data the caller has checked
    once: X finite, 2-d, of the model's dtype and width; y int64 labels of its
    length in ``[0, classes)``) the model skips its input checks, a
    :class:`~corenn.protocols.TrustedLoss` skips its label checks, and the gradient
    with respect to X, which training never uses, is not computed where the first
    layer can skip it. Non-finite scores then show up as a non-finite loss.
    """

    def __init__(self, model: Any, loss: Any, regularizer: Any = None,
                 regularized_layers: Iterable[int] | None = None):
        self.model, self.loss = model, loss
        self.regularizers = as_regularizers(regularizer)
        self.slots = model.regularized_parameters(regularized_layers) if self.regularizers else []
        self._sequential = isinstance(model, Sequential)
        self._forward_trusted = loss.forward_trusted if isinstance(loss, TrustedLoss) else None

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
        reg_loss = _penalty(model, self.regularizers, self.slots) if self.slots else 0.0
        if self._sequential:
            model._backward(model._as_gradient(loss.backward()), not fast)
        else:
            model.backward(loss.backward())
        if self.slots:
            _add_penalty_gradients(model, self.regularizers, self.slots)
        return data_loss, reg_loss


def _penalty(model: Sequential, regularizers: list[Any], slots: list[tuple[int, str]]) -> float:
    reg_loss = 0.0
    for regularizer in regularizers:
        for i, key in slots:
            reg_loss += float(regularizer.penalty(model.layers[i].params[key]))
    return reg_loss


def _add_penalty_gradients(model: Sequential, regularizers: list[Any], slots: list[tuple[int, str]]) -> None:
    for regularizer in regularizers:
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
    """``constrain(w)`` of each regularizer, in the order given, on every regularized weight, in place
    (call it after each optimizer step); ``regularizer`` is one regularizer, a list or None."""
    regularizers = as_regularizers(regularizer)
    if not regularizers:
        return
    slots = model.regularized_parameters(regularized_layers)
    for regularizer in regularizers:
        for i, key in slots:
            regularizer.constrain(model.layers[i].params[key])


def evaluate(model: Any, loss: Any, X: Any, y: Any, batch_size: int = 1024, *, where: str = "evaluate") -> dict:
    """Mean data loss and accuracy of ``model`` in inference mode, in batches of ``batch_size``:
    ``{"loss": ..., "accuracy": ..., "n": N}``. ``loss`` is a spec or an instance; no optimizer
    is needed (``Trainer.evaluate`` and ``corenn evaluate`` both call this)."""
    loss = create("loss", loss)
    X = as_float_array(X, f"{where} X", ndim=2, dtype=model.dtype)
    y = as_labels(y, f"{where} y", n=X.shape[0])
    total, correct = 0.0, 0
    for i in range(0, X.shape[0], batch_size):
        scores = model.forward(X[i:i + batch_size], training=False)
        total += loss.forward(scores, y[i:i + batch_size]) * len(scores)
        correct += int(np.sum(np.argmax(scores, axis=1) == y[i:i + batch_size]))
    return {"loss": total / X.shape[0], "accuracy": correct / X.shape[0], "n": int(X.shape[0])}


__all__ = ["Sequential", "mlp", "classifier", "load_model", "compute_loss", "apply_constraints", "evaluate",
           "from_specs"]
