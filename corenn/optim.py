"""What every optimizer and schedule plugin builds on.

An optimizer plugin subclasses :class:`Optimizer`, declares its hyperparameters
with ``corenn.hyperparameter(..., schedulable=True)`` (or the helpers
:func:`learning_rate`, :func:`decay_rate`, :func:`epsilon`) and writes one method,
``update``, for one parameter array::

    @corenn.component
    class SignSGD(Optimizer):
        \"\"\"Sign descent: x -= lr * sign(dx).\"\"\"
        name = "signsgd"
        slot_names = ()          # state arrays per parameter (zeros at first), saved in checkpoints
        scratch_count = 1        # work arrays per parameter, not saved
        lr: float = learning_rate(0.01)

        def update(self, x, dx, slots, scratch, hp):
            (s,) = scratch
            np.sign(dx, out=s)
            s *= hp.lr
            x -= s

The base class does the rest: it checks the arrays, allocates every state slot
(zeros, the parameter's shape and dtype) and scratch buffer once, on the first
step, evaluates schedule-valued hyperparameters at :attr:`Optimizer.steps`
(validating the value a schedule gives with the field's own rule), counts the
steps and saves and loads the state.

An optimizer whose update is the same formula for every coordinate may also
write ``update_packed(params, grads, packed, hp)``, one step over all the
parameters at once: ``packed`` (a :class:`Packed`) holds each slot array of
every parameter laid end to end in one flat buffer, so that the operations on
the state take one numpy call for the whole model instead of one per parameter
(what dominates small models' steps), and big models go block by block through
cache. It must give exactly the numbers ``update`` gives; a
subclass that overrides ``update`` alone gets the per-parameter path.

State layout (what :meth:`Optimizer.state_dict` returns; plain data)::

    {"optimizer": "adam",                       # the registry name
     "steps": 12,                               # steps taken so far
     "params": {"shapes": [[1000, 1000], [1000]],   # the parameters' layout,
                "dtypes": ["float32", "float32"]},  # or None before the first step
     "slots": {"m": [array, array],             # one list per slot name, one array
               "v": [array, array]},            # per parameter, in params order
     "extra": {...}}                            # optimizer-specific (lbfgs: its
                                                # history), arrays and JSON scalars

Only numpy arrays, str, int, float, bool, None, lists and str-keyed dicts
occur. :func:`flatten_state` (from :mod:`corenn.files`) splits such a state into ``{key: array}`` (for an
``.npz``) and a JSON-able document that refers to the arrays by key;
:func:`unflatten_state` puts it back together exactly.

Schedules subclass :class:`Schedule` and write ``at(t)``; the base checks t.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, ClassVar

import attrs
import numpy as np

from .arrays import flat_buffer
from .component import component, hyperparameters, is_schedule, schedule_time
from .errors import InvalidHyperparameter, InvalidInput
from .fields import hyperparameter
from .files import STATE_ARRAY, flatten_state, unflatten_state  # noqa: F401  (part of this module's API)
from .validators import non_negative, one_of, positive, unit_interval_open_right

__all__ = [
    "Optimizer", "Packed", "Block", "Schedule", "flatten_state", "unflatten_state",
    "learning_rate", "decay_rate", "epsilon", "moving_average", "adaptive_step", "STATE_ARRAY",
    "with_schedule", "DEFAULT_UNIT",
]

Closure = Callable[[], tuple[float, Sequence[np.ndarray]]]
#: field metadata key: the rule for values a schedule gives, where it differs from the field's own
SCHEDULED_CHECK = "scheduled_check"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: blocks per thread below which a packed update stays on one thread (the hand-off costs more)
SHARD_BLOCKS = 4
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _update_pool(workers: int) -> ThreadPoolExecutor:
    """The threads that run packed-update shards beside the calling thread (made once, grown on need)."""
    global _pool
    if _pool is None or _pool[0] < workers:
        _pool = (workers, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corenn-update"))
    return _pool[1]


def stop_update_threads() -> None:
    """End the threads of packed-update shards, once they are idle (made again on need)."""
    global _pool
    if _pool is not None:
        _pool[1].shutdown(wait=True)
        _pool = None


class Optimizer:
    """Base of optimizer components (use with ``@corenn.component``).

    Class attributes a subclass sets: ``name``; ``slot_names`` (per-parameter
    state arrays, zeros at the start, saved); ``scratch_count`` (per-parameter
    work arrays, not saved); ``needs_closure`` (True for optimizers such as
    L-BFGS that re-evaluate the loss). First-order optimizers implement
    :meth:`update`; others override :meth:`_apply` (and :meth:`_extra_state` /
    :meth:`_load_extra_state` for state beyond the slots).
    """

    name: ClassVar[str]
    slot_names: ClassVar[tuple[str, ...]] = ()
    scratch_count: ClassVar[int] = 0
    needs_closure: ClassVar[bool] = False
    #: update_packed reaches the state only through ``packed.blocks()`` and each block's work
    #: reads nothing of another block: then a big model's blocks are split over ``update_threads``
    #: threads (:meth:`Packed.shards`), with the same numbers
    blockwise: ClassVar[bool] = False

    def __attrs_pre_init__(self) -> None:
        self.steps: int = 0
        #: optimizer steps per epoch, for schedules that count epochs; the trainer sets it
        self.steps_per_epoch: int | None = None
        self._layout: list[tuple[tuple[int, ...], np.dtype]] | None = None
        self._slots: dict[str, list[np.ndarray]] | None = None
        self._bound: list[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]] | None = None
        self._packed: Packed | None = None
        self._checked: tuple[np.ndarray, ...] | None = None
        #: threads a blockwise packed update may use (the trainer sets its BLAS thread count)
        self.update_threads: int = 1

    # -- the public protocol ------------------------------------------------
    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], closure: Closure | None = None) -> None:
        """Update every array in ``params`` in place from ``grads`` (same order and shapes)."""
        if closure is None and self.needs_closure:
            raise InvalidInput(
                f"{self.name}: step() needs a closure: a function that recomputes the loss at the current "
                f"(updated in place) params and returns (loss, grads); call step(params, grads, closure)")
        if closure is not None and not callable(closure):
            raise InvalidInput(f"{self.name}: closure must be callable, got {type(closure).__name__}")
        self._check_arrays(params, grads)
        hp = self.values()
        self._apply(params, grads, closure, hp)
        self.steps += 1

    def current(self, field: str) -> Any:
        """The value hyperparameter ``field`` has at the current step counter
        (a schedule evaluated at :attr:`steps`, checked against the field's rule)."""
        attribute = self._fields().get(field)
        if attribute is None:
            raise InvalidHyperparameter(self.name, field, None,
                                        f"unknown hyperparameter; {self.name} has: {', '.join(self._fields())}")
        return self._value(attribute)

    def values(self) -> SimpleNamespace:
        """Every hyperparameter at the current step counter, as attributes (``hp.lr``)."""
        hp = SimpleNamespace()
        out = hp.__dict__
        for name, attribute in self._fields().items():
            value = getattr(self, name)
            out[name] = value if type(value) is float else self._value(attribute)  # plain floats: the common case
        return hp

    def update(self, x: np.ndarray, dx: np.ndarray, slots: tuple[np.ndarray, ...],
               scratch: tuple[np.ndarray, ...], hp: SimpleNamespace) -> None:
        """Update one parameter array ``x`` in place from its gradient ``dx``.

        ``slots`` holds this parameter's state arrays (in ``slot_names`` order),
        ``scratch`` its work arrays, ``hp`` the hyperparameters at this step;
        :attr:`steps` is the number of steps before this one.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement update() or _apply()")

    def update_packed(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], packed: Packed,
                      hp: SimpleNamespace) -> None:
        """Optional: the step of :meth:`update` for every parameter at once, with the state
        packed into flat buffers (see :class:`Packed`); the base calls it instead of
        :meth:`update` where a subclass defines it. It must give exactly ``update``'s numbers."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """A copy of the state as plain data (see the module docstring for the layout)."""
        layout = None
        if self._layout is not None:
            layout = {"shapes": [list(s) for s, _ in self._layout], "dtypes": [d.name for _, d in self._layout]}
        slots = {k: [a.copy() for a in v] for k, v in (self._slots or {}).items()}
        return {"optimizer": self.name, "steps": int(self.steps), "params": layout, "slots": slots,
                "extra": self._extra_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a state returned by :meth:`state_dict` (exactly: the next
        steps give the same numbers, bit for bit). A state that does not fit this
        optimizer or its parameters is an :class:`InvalidInput` error."""
        where = f"{self.name}: load_state_dict"
        if not isinstance(state, Mapping):
            raise InvalidInput(f"{where}: expected a mapping from state_dict(), got {type(state).__name__}")
        missing = [k for k in ("steps", "slots") if k not in state]
        if missing:
            raise InvalidInput(f"{where}: the state lacks {missing}; pass what state_dict() returned")
        owner = state.get("optimizer", self.name)
        if owner != self.name:
            raise InvalidInput(f"{where}: the state was saved by optimizer {owner!r}, not {self.name!r}")
        steps = state["steps"]
        if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 0:
            raise InvalidInput(f"{where}: steps must be a non-negative integer, got {steps!r}")
        layout = self._read_layout(state.get("params"), where)
        slots = self._read_slots(state["slots"], layout, where)
        if self._layout is not None and layout is not None and layout != self._layout:
            raise InvalidInput(f"{where}: the state is for parameters {_describe(layout)}, but this optimizer "
                               f"updates {_describe(self._layout)}")
        extra = state.get("extra") or {}
        if not isinstance(extra, Mapping):
            raise InvalidInput(f"{where}: 'extra' must be a mapping, got {type(extra).__name__}")
        self._load_extra_state(extra, layout, where)
        self.steps = int(steps)
        self._layout = layout
        self._slots = slots if layout is not None else None
        self._bound = None
        self._checked = None

    # -- for subclasses -----------------------------------------------------
    def _apply(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], closure: Closure | None,
               hp: SimpleNamespace) -> None:
        """One step over all parameters; the default calls :meth:`update_packed` where the
        optimizer has it (and the parameters share one dtype), else :meth:`update` per array."""
        if self._bound is None:
            self._bind()
        packed = self._packed
        if packed is not None:
            count = self.update_threads
            if count > 1 and self.blockwise and len(packed._blocks) >= SHARD_BLOCKS * count:
                shards = packed.shards(count)
                pending = [_update_pool(count - 1).submit(self.update_packed, params, grads, shard, hp)
                           for shard in shards[1:]]
                try:
                    self.update_packed(params, grads, shards[0], hp)
                finally:  # the other shards finish (or raise) before step returns, also after an error here
                    for future in pending:
                        future.result()
                return
            self.update_packed(params, grads, packed, hp)
            return
        update = self.update
        for x, dx, (slots, scratch) in zip(params, grads, self._bound):
            update(x, dx, slots, scratch, hp)

    def _extra_state(self) -> dict[str, Any]:
        """State beyond the slots (arrays and JSON scalars); copies, not live arrays."""
        return {}

    def _load_extra_state(self, extra: Mapping[str, Any], layout, where: str) -> None:
        """Check and take over what :meth:`_extra_state` returned (copying arrays)."""

    # -- machinery ----------------------------------------------------------
    @classmethod
    def _fields(cls) -> dict[str, Any]:
        cached = cls.__dict__.get("_field_cache")
        if cached is None:
            cached = {a.name: a for a in hyperparameters(cls)}
            cls._field_cache = cached
        return cached

    def _value(self, attribute) -> Any:
        value = getattr(self, attribute.name)
        if is_schedule(value):
            raw = value(schedule_time(value, self.steps, self.steps_per_epoch))
            if isinstance(raw, numbers.Real) and not isinstance(raw, bool):
                raw = float(raw) if not isinstance(raw, numbers.Integral) else raw
            check = attribute.metadata.get(SCHEDULED_CHECK, attribute.validator)
            if check is not None:
                try:
                    check(self, attribute, raw)
                except InvalidHyperparameter as exc:
                    raise InvalidHyperparameter(
                        self.name, attribute.name, raw,
                        f"{exc.rule} (the value its schedule {_schedule_text(value)} gives at step {self.steps})",
                    ) from None
            return raw
        if isinstance(value, np.floating):
            return float(value)
        return value

    def _check_arrays(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        layout = self._layout
        checked = self._checked  # the very arrays checked last step (a trainer passes the same ones)
        if checked is not None and len(checked) == len(params) + len(grads) \
                and all(map(operator.is_, checked, (*params, *grads))):
            return
        self._checked = None
        if layout is not None and len(params) == len(layout) == len(grads):
            for x, dx, (shape, dtype) in zip(params, grads, layout):
                if not (type(x) is np.ndarray and type(dx) is np.ndarray and x.shape == shape == dx.shape
                        and x.dtype == dtype == dx.dtype):
                    break
            else:
                self._checked = (*params, *grads)
                return
        # first step, or something is off: look closely and say what
        where = self.name
        if not isinstance(params, Sequence) or not isinstance(grads, Sequence):
            raise InvalidInput(f"{where}: params and grads must be lists of arrays, got "
                               f"{type(params).__name__} and {type(grads).__name__}")
        if len(params) != len(grads):
            raise InvalidInput(f"{where}: {len(params)} params but {len(grads)} grads; they must pair up")
        if not params:
            raise InvalidInput(f"{where}: no parameters to update (params is empty)")
        found = []
        for i, (x, dx) in enumerate(zip(params, grads)):
            if not isinstance(x, np.ndarray) or x.dtype not in _FLOATS:
                raise InvalidInput(f"{where}: params[{i}] must be a float32 or float64 numpy array, got "
                                   f"{type(x).__name__} {getattr(x, 'dtype', '')}".rstrip())
            if not x.flags.writeable:
                raise InvalidInput(f"{where}: params[{i}] is read-only; optimizers update params in place")
            if not isinstance(dx, np.ndarray) or dx.shape != x.shape or dx.dtype != x.dtype:
                raise InvalidInput(f"{where}: grads[{i}] must be an array like params[{i}] ({x.dtype} {x.shape}), "
                                   f"got {getattr(dx, 'dtype', type(dx).__name__)} {getattr(dx, 'shape', '')}")
            found.append((x.shape, x.dtype))
        if layout is None:
            self._layout = found
            if self._packs(found):  # zeros laid out flat from the start, not copied there in _bind
                self._packed = Packed(found, None, self.slot_names, self.scratch_count)
                self._slots = self._packed.slot_views
            else:
                self._slots = {k: [np.zeros(s, d) for s, d in found] for k in self.slot_names}
            self._bound = None
        elif found != layout:
            raise InvalidInput(f"{where}: the optimizer's state is for parameters {_describe(layout)}, but step() "
                               f"got {_describe(found)}; use a fresh optimizer (or the matching state) for these")

    @classmethod
    def _has_packed_update(cls) -> bool:
        """Whether :meth:`update_packed` belongs with the :meth:`update` in force (a subclass that
        overrides ``update`` but not ``update_packed`` must not get its parent's packed step)."""
        cached = cls.__dict__.get("_packed_cache")
        if cached is None:
            def owner(method: str) -> type | None:
                return next((c for c in cls.__mro__ if method in c.__dict__), None)

            packed, update = owner("update_packed"), owner("update")
            cached = packed is not None and packed is not Optimizer and update is not None and issubclass(packed, update)
            cls._packed_cache = cached
        return cached

    def _packs(self, layout) -> bool:
        """Whether the state of parameters of this layout goes into a :class:`Packed` state."""
        return self._has_packed_update() and len({d for _, d in layout}) == 1

    def _bind(self) -> None:
        """Per parameter: its slot arrays and (allocated once) scratch arrays; with a packed
        update, views into one flat buffer per slot (the slots' values kept), and scratch
        arrays of one block's size (see :class:`Packed`)."""
        assert self._layout is not None and self._slots is not None
        layout = self._layout
        if self._packs(layout):
            if self._packed is None or self._packed.slot_views is not self._slots:
                self._packed = Packed(layout, self._slots, self.slot_names, self.scratch_count)
            self._slots = self._packed.slot_views
            scratch = [() for _ in layout]  # the packed update's scratch is its blocks'
        else:
            self._packed = None
            scratch = [tuple(np.empty(s, d) for _ in range(self.scratch_count)) for s, d in layout]
        slots = [tuple(self._slots[k][i] for k in self.slot_names) for i in range(len(layout))]
        self._bound = list(zip(slots, scratch))

    def _read_layout(self, raw: Any, where: str):
        if raw is None:
            return None
        try:
            shapes = [tuple(int(n) for n in s) for s in raw["shapes"]]
            dtypes = [np.dtype(d) for d in raw["dtypes"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{where}: malformed 'params' layout ({exc}); pass what state_dict() returned") from None
        if len(shapes) != len(dtypes) or any(d not in _FLOATS for d in dtypes):
            raise InvalidInput(f"{where}: malformed 'params' layout: {raw!r}")
        return list(zip(shapes, dtypes))

    def _read_slots(self, raw: Any, layout, where: str) -> dict[str, list[np.ndarray]]:
        if not isinstance(raw, Mapping) or (raw and set(raw) != set(self.slot_names)):
            got = sorted(raw) if isinstance(raw, Mapping) else type(raw).__name__
            raise InvalidInput(f"{where}: {self.name} keeps the slots {list(self.slot_names)}, the state has {got}")
        if layout is None:
            if any(raw.values()):
                raise InvalidInput(f"{where}: the state has slot arrays but no 'params' layout")
            return {}
        if set(raw) != set(self.slot_names):
            raise InvalidInput(f"{where}: {self.name} keeps the slots {list(self.slot_names)}, the state has {sorted(raw)}")
        slots = {}
        for k in self.slot_names:
            arrays = raw[k]
            if not isinstance(arrays, Sequence) or len(arrays) != len(layout):
                n = len(arrays) if isinstance(arrays, Sequence) else type(arrays).__name__
                raise InvalidInput(f"{where}: slot {k!r} holds {n} arrays for {len(layout)} parameters")
            slots[k] = []
            for i, (a, (shape, dtype)) in enumerate(zip(arrays, layout)):
                if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype != dtype:
                    raise InvalidInput(f"{where}: slot {k!r}[{i}] is {getattr(a, 'dtype', type(a).__name__)} "
                                       f"{getattr(a, 'shape', '')}, expected {dtype.name} {shape}")
                slots[k].append(np.array(a, copy=True, order="C"))
        return slots


class Packed:
    """The state of every parameter, each slot in one flat buffer, updated block by block.

    ``slots[name]`` is a 1-d array holding parameter 0's values, then parameter
    1's, and so on; ``slot_views[name][i]`` is the view of parameter i's part, in
    its shape.

    An update goes block by block: :meth:`blocks` cuts the buffers into
    consecutive :class:`Block` s of at most :attr:`BLOCK_BYTES` each (whole
    parameters, or runs of rows of a big one), so that a block's operations run
    in cache instead of streaming every buffer through memory once per
    operation. A small model is one block: one numpy call per operation on the
    state for the whole model. A block's ``scratch`` arrays are work space of
    the block's size, shared by all blocks (scratch costs one block's memory, not
    the model's). Operations that involve the parameters or their gradients go
    through the block's slices of their flat buffers where the parameters lie end
    to end in one buffer and the gradients in another (a :class:`corenn.Sequential`
    lays them so), else through the block's pieces of the separate arrays::

        for block in packed.blocks(params, grads):
            v, s = block.slots["v"], block.scratch[0]
            v *= mu
            np.multiply(block.gradient(s), lr, out=s)   # the gradients end to end (gathered if need be)
            v -= s
            if block.flat_params is not None:
                block.flat_params += v
            else:
                for x, part in zip(block.params, block.slot_views["v"]):
                    x += part
    """

    #: the most bytes of one buffer that a block covers (a block's arrays stay in a core's cache)
    BLOCK_BYTES = 1 << 18

    def __init__(self, layout, slots: Mapping[str, Sequence[np.ndarray]] | None, slot_names: Sequence[str],
                 scratch_count: int):
        """``slots``: each slot's arrays, one per parameter, copied in; None: zeros."""
        dtype = layout[0][1]
        sizes = [int(np.prod(shape, dtype=np.int64)) for shape, _ in layout]
        total = sum(sizes)
        offsets = np.cumsum([0, *sizes]).tolist()

        def views(flat: np.ndarray) -> list[np.ndarray]:
            return [flat[a:b].reshape(shape) for a, b, (shape, _) in zip(offsets, offsets[1:], layout)]

        self.slots: dict[str, np.ndarray] = {}
        self.slot_views: dict[str, list[np.ndarray]] = {}
        for k in slot_names:
            flat = self.slots[k] = np.empty(total, dtype) if slots is not None else np.zeros(total, dtype)
            parts = self.slot_views[k] = views(flat)
            for part, values in zip(parts, slots[k] if slots is not None else ()):
                np.copyto(part, values)
        self._layout, self._sizes, self._offsets = layout, sizes, offsets
        plan = _plan_blocks(layout, sizes, max(1, self.BLOCK_BYTES // dtype.itemsize))
        extents = [self._extent(segments) for segments in plan]
        room = max(b - a for a, b in extents)
        scratch = tuple(np.empty(room, dtype) for _ in range(scratch_count))
        self._blocks = [self._block(segments, a, b, scratch) for segments, (a, b) in zip(plan, extents)]
        self._blocks[0].everything = plan == [[(i, None) for i in range(len(layout))]]
        self._shards: dict[int, list[PackedShard]] = {}

    def blocks(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> list[Block]:
        """The blocks of this step, each with its pieces of ``params`` and ``grads`` (and, where
        ``params`` and ``grads`` each lie end to end in one buffer, its slices of those)."""
        return self._cut(self._blocks, params, grads)

    def shards(self, count: int) -> list[PackedShard]:
        """The blocks in ``count`` consecutive runs of about as many elements each, each run a
        :class:`PackedShard` with scratch arrays of its own: an update that reaches the state
        only through ``blocks()`` can run on the shards at once, one thread each (numpy lets go
        of the GIL inside its operations), with the same result as on the whole."""
        shards = self._shards.get(count)
        if shards is None:
            total = self._blocks[-1].extent[1]
            runs: list[list[Block]] = [[] for _ in range(count)]
            for block in self._blocks:  # each block to the run its middle falls in
                runs[min(count - 1, (block.extent[0] + block.extent[1]) * count // (2 * total))].append(block)
            shards = []
            for run in filter(None, runs):
                room = max(b.extent[1] - b.extent[0] for b in run)
                scratch = tuple(np.empty(room, self._layout[0][1]) for _ in self._blocks[0].scratch)
                shards.append(PackedShard(self, [self._block(b.segments, *b.extent, scratch) for b in run]))
            self._shards[count] = shards
        return shards

    def _cut(self, blocks: list[Block], params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> list[Block]:
        """``blocks`` with their pieces of ``params`` and ``grads`` (cut again only when those change)."""
        first = blocks[0]
        given = first.given  # the arrays the pieces were cut from last time (a trainer passes the same ones)
        if given is not None and len(given) == len(params) + len(grads) \
                and all(map(operator.is_, given, (*params, *grads))):
            return blocks
        first.given = (*params, *grads)
        flat_params, flat_grads = self._flat(params), self._flat(grads)
        if flat_params is None or flat_grads is None or np.shares_memory(flat_params, flat_grads):
            flat_params = flat_grads = None
        for block in blocks:
            if block.everything:
                block.params, block.grads = params, grads
            else:
                block.params = [params[i] if rows is None else params[i][rows[0]:rows[1]]
                                for i, rows in block.segments]
                block.grads = [grads[i] if rows is None else grads[i][rows[0]:rows[1]]
                               for i, rows in block.segments]
            a, b = block.extent
            block.flat_params = None if flat_params is None else flat_params[a:b]
            block.flat_grads = None if flat_grads is None else flat_grads[a:b]
        return blocks

    def _flat(self, arrays: Sequence[np.ndarray]) -> np.ndarray | None:
        """The writable 1-d array of which ``arrays`` are consecutive parts in this layout's order
        (:func:`corenn.arrays.flat_buffer`), or None."""
        flat = flat_buffer(arrays)
        return flat if flat is not None and flat.flags.writeable else None

    def _extent(self, segments) -> tuple[int, int]:
        """The flat range ``[a, b)`` of a block's segments."""
        def flat_range(i, rows):
            if rows is None:
                return self._offsets[i], self._offsets[i + 1]
            row = self._sizes[i] // self._layout[i][0][0]
            return self._offsets[i] + rows[0] * row, self._offsets[i] + rows[1] * row

        return flat_range(*segments[0])[0], flat_range(*segments[-1])[1]

    def _block(self, segments, a: int, b: int, scratch: tuple[np.ndarray, ...]) -> Block:
        def piece(view, rows):
            return view if rows is None else view[rows[0]:rows[1]]

        def scratch_views(flat):  # this block's pieces, end to end from the scratch's start
            out, at = [], 0
            for i, rows in segments:
                shape = self._layout[i][0] if rows is None else (rows[1] - rows[0], *self._layout[i][0][1:])
                n = int(np.prod(shape, dtype=np.int64))
                out.append(flat[at:at + n].reshape(shape))
                at += n
            return out

        return Block(
            segments=segments,
            extent=(a, b),
            slots={k: flat[a:b] for k, flat in self.slots.items()},
            scratch=tuple(flat[:b - a] for flat in scratch),
            slot_views={k: [piece(views[i], rows) for i, rows in segments] for k, views in self.slot_views.items()},
            scratch_views=tuple(scratch_views(flat) for flat in scratch))


class PackedShard:
    """Some consecutive blocks of a :class:`Packed` state, with scratch of their own
    (see :meth:`Packed.shards`); ``blocks()`` as :meth:`Packed.blocks`, for those blocks only."""

    def __init__(self, packed: Packed, blocks: list[Block]):
        self.packed, self._blocks = packed, blocks

    def blocks(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> list[Block]:
        return self.packed._cut(self._blocks, params, grads)


@attrs.define(eq=False)
class Block:
    """A consecutive part of a :class:`Packed` state: ``slots`` are 1-d slices of the flat
    buffers, ``scratch`` 1-d work arrays of the same length; ``params``, ``grads``,
    ``slot_views[name]`` and ``scratch_views[j]`` are the matching pieces (whole parameters,
    or runs of rows of one), in the same order."""

    segments: list
    extent: tuple  # (a, b): the block covers elements a to b of the flat buffers
    slots: dict
    scratch: tuple
    slot_views: dict
    scratch_views: tuple
    params: Sequence[np.ndarray] = ()
    grads: Sequence[np.ndarray] = ()
    everything: bool = False  # whole parameters, all of them: params and grads are the lists given
    given: tuple | None = None  # (on the first block) the params and grads the pieces come from
    #: the block's part of the one flat buffer that every parameter is a view of, laid out as the
    #: slots (a model's parameters are; see corenn.Sequential), else None; likewise the gradients
    flat_params: np.ndarray | None = None
    flat_grads: np.ndarray | None = None

    def gather(self, pieces: Sequence[np.ndarray], out: np.ndarray) -> np.ndarray:
        """``pieces`` (this block's ``params`` or ``grads``) laid end to end into the 1-d ``out``
        (one of :attr:`scratch`): one numpy call where an operation per piece would take one each."""
        return np.concatenate([piece.reshape(-1) for piece in pieces], out=out)

    def gradient(self, out: np.ndarray) -> np.ndarray:
        """The block's gradients end to end as one 1-d array: :attr:`flat_grads` where the
        gradients lie in one buffer (no copy; do not write to it), else gathered into ``out``."""
        flat = self.flat_grads
        return flat if flat is not None else self.gather(self.grads, out)


def _plan_blocks(layout, sizes: list[int], budget: int) -> list[list[tuple[int, tuple[int, int] | None]]]:
    """Consecutive blocks of at most ``budget`` elements: segments ``(i, None)`` (all of
    parameter i) or ``(i, (r0, r1))`` (its rows r0 to r1, for a parameter over budget)."""
    blocks, current, used = [], [], 0
    for i, ((shape, _), size) in enumerate(zip(layout, sizes)):
        if used + size <= budget:  # joins the current block
            current.append((i, None))
            used += size
            continue
        if current:
            blocks.append(current)
        if size <= budget:  # starts a new one
            current, used = [(i, None)], size
            continue
        row = size // shape[0]  # over budget: runs of rows, the last run left open for what follows
        step = max(1, budget // row)
        starts = range(0, shape[0], step)
        blocks += [[(i, (r0, r0 + step))] for r0 in starts[:-1]]
        current, used = [(i, (starts[-1], shape[0]))], (shape[0] - starts[-1]) * row
    if current:
        blocks.append(current)
    return blocks


def _describe(layout) -> str:
    return "[" + ", ".join(f"{d.name}{tuple(s)}" for s, d in layout) + "]"


def _schedule_text(schedule: Any) -> str:
    name = getattr(schedule, "name", None)
    return repr(schedule) if name is None else name


# -- the hyperparameters most optimizers have, with the rules the kit checks ------------------

def learning_rate(default: float, doc: str = "learning rate (step size) > 0; a number or a schedule"):
    """An ``lr`` field: > 0, schedulable. A schedule may bring it to exactly 0 (no
    update at that step): warmup starts there and cosine or linear decay may end there."""
    field = hyperparameter(default, doc=doc, check=positive, schedulable=True)
    field.metadata[SCHEDULED_CHECK] = non_negative
    return field


def decay_rate(default: float, doc: str):
    """A momentum or moving-average rate (mu, decay, beta1, beta2): in [0, 1), schedulable."""
    return hyperparameter(default, doc=doc, check=unit_interval_open_right, schedulable=True)


def epsilon(default: float = 1e-8, doc: str = "added to the denominator to avoid dividing by zero (> 0)"):
    """An ``eps`` field: > 0, schedulable."""
    return hyperparameter(default, doc=doc, check=positive, schedulable=True)


# -- in-place building blocks shared by the first-order optimizers -------------------

def moving_average(avg: np.ndarray, value: np.ndarray, decay: float, scratch: np.ndarray, *,
                   square: bool = False) -> None:
    """``avg = decay*avg + (1-decay)*value`` (``value**2`` with ``square=True``), in place,
    using ``scratch`` (same shape and dtype) as the only work array."""
    if square:
        np.multiply(value, value, out=scratch)
        scratch *= 1.0 - decay
    else:
        np.multiply(value, 1.0 - decay, out=scratch)
    avg *= decay
    avg += scratch


def adaptive_step(x: np.ndarray, direction: np.ndarray, second: np.ndarray, scratch: np.ndarray, lr: float,
                  eps: float) -> None:
    """``x -= lr * direction / (sqrt(second) + eps)``, in place, with one work array:
    the per-coordinate scaled step of AdaGrad, RMSProp and Adam.

    Adam's bias correction fits this form exactly: ``lr * mhat / (sqrt(vhat) + eps)``
    is ``lr' * m / (sqrt(v) + eps')`` with ``c = sqrt(1 - beta2**t)``,
    ``lr' = lr * c / (1 - beta1**t)`` and ``eps' = eps * c`` (Kingma and Ba, section 2),
    which saves two passes over the arrays.
    """
    np.sqrt(second, out=scratch)
    scratch += eps
    np.divide(direction, scratch, out=scratch)
    scratch *= lr
    x -= scratch


# -- schedules --------------------------------------------------------------------------

#: what a schedule's t counts unless it says otherwise
DEFAULT_UNIT = "step"


@component
class Schedule:
    """Base of schedule components (use with ``@corenn.component``): ``__call__(t)``
    checks that t is an integer >= 0 and returns ``float(self.at(t))``.

    Every schedule has the hyperparameter ``unit``: what t counts, optimizer steps
    (``"step"``, the default) or epochs (``"epoch"``). A schedule is the value of a
    schedulable hyperparameter (``"sgd:lr='step:initial=0.1,every=5,unit=\"epoch\"'"``);
    whoever reads it (the optimizer, through :func:`corenn.value_at`) turns its step
    counter into the schedule's t, with the steps per epoch that the trainer gives it.
    """

    name: ClassVar[str]

    unit: str = hyperparameter(DEFAULT_UNIT, doc="what t counts: 'step' (optimizer steps) or 'epoch'",
                               check=one_of("step", "epoch"), kw_only=True)

    def __call__(self, t: int) -> float:
        if not isinstance(t, numbers.Integral) or isinstance(t, bool) or t < 0:
            raise InvalidInput(f"{self.name} schedule: t must be an integer {self.unit} >= 0, got {t!r}")
        return float(self.at(int(t)))

    def at(self, t: int) -> float:
        """The value at step (or epoch, per :attr:`unit`) t >= 0."""
        raise NotImplementedError


def with_schedule(optimizer: Any, schedule: Any, unit: str = "epoch") -> Any:
    """The optimizer spec with ``lr=schedule``: what ``--schedule`` and the
    ``schedule`` of a config or a Trainer mean (shorthand for the optimizer's ``lr``,
    so both spellings give the same numbers).

    A schedule spec that names no ``unit`` gets ``unit`` (epochs by default, as the
    tutorial's "halve it every 5 epochs"); a schedule object keeps its own. An
    optimizer that already has an ``lr`` of its own (in its spec, or an instance whose
    lr is not its default) is an :class:`InvalidHyperparameter` error naming both.
    """
    from .registry import field_types, get
    from .spec import format_spec, parse_spec

    if isinstance(schedule, (str, Mapping)):
        sched_name, sched_params = parse_spec(schedule, field_types("schedule"))
        if "unit" in {a.name for a in hyperparameters(get("schedule", sched_name))}:
            sched_params.setdefault("unit", unit)
        schedule = {"name": sched_name, **sched_params}
        shown = format_spec(sched_name, sched_params)
    else:
        shown = repr(schedule)
    if isinstance(optimizer, (str, Mapping)):
        name, params = parse_spec(optimizer, field_types("optimizer"))
        if "lr" in params:
            raise InvalidHyperparameter(name, "lr", params["lr"], f"the learning rate is given twice: as lr in the "
                                        f"optimizer spec and as the schedule {shown}; give it in one place")
        return {"name": name, **params, "lr": schedule}
    fields = {a.name: a for a in hyperparameters(optimizer)}
    if "lr" not in fields:
        raise InvalidHyperparameter(getattr(optimizer, "name", type(optimizer).__name__), "lr", None,
                                    f"the schedule {shown} sets the learning rate, which this optimizer does not have")
    if getattr(optimizer, "lr") != fields["lr"].default:
        raise InvalidHyperparameter(optimizer.name, "lr", optimizer.lr, f"the learning rate is given twice: as the "
                                    f"optimizer's lr and as the schedule {shown}; give it in one place")
    optimizer.lr = schedule  # through the field's converter and validator
    return optimizer
