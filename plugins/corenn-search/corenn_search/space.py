"""Parameter spaces and trials: ``PATH=DIST:RANGE`` parsing, sampling, narrowing, edges, importance.

A path is ``KEY`` (a whole config value: ``dropout``, ``optimizer``), ``COMPONENT.HYPERPARAMETER``
(``optimizer.lr``, ``bias_init.value``), ``LIST.INDEX`` (an item of a list: ``hidden.0``, ``dropout.1``,
``layers.2``) or ``LIST.INDEX.HYPERPARAMETER`` (``layers.0.out_features``, ``regularizer.1.strength``).
"""

from __future__ import annotations

import ast
import difflib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import corenn
import numpy as np

#: config keys holding one component spec, and their component kind
COMPONENT_FIELDS = {"dataset": "dataset", "activation": "activation", "init": "initializer",
                    "bias_init": "initializer", "loss": "loss", "optimizer": "optimizer", "schedule": "schedule",
                    "regularizer": "regularizer"}
#: config keys holding a list of component specs, and the kinds their items may be
LIST_FIELDS = {"layers": ("layer", "activation"), "regularizer": ("regularizer",),
               "preprocess": ("preprocessor",), "callbacks": ("callback",)}
#: config keys holding a list of numbers (or one number standing for every item)
NUMBER_LIST_FIELDS = ("hidden", "dropout")
DISTRIBUTIONS = ("log", "uniform", "int", "choice")
EDGE = 0.1  # a best value in the outer tenth of its range is suspect


class SearchError(corenn.CorennError, ValueError):
    """A search that cannot run as asked: a bad parameter, a storage file of another search."""


def _number(text: str, what: str, integer: bool) -> float | int:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise SearchError(f"{what}: {text!r} is not {'an integer' if integer else 'a number'}") from None
    if not math.isfinite(value):
        raise SearchError(f"{what}: {text!r} is not a finite number")
    return value


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word: choice:relu|tanh


def _sig(value: float) -> float:
    return float(f"{value:.3g}")


@attrs.frozen
class Param:
    """One searched hyperparameter: ``path`` in the config, its distribution and range."""

    path: str
    dist: str
    low: float | int | None = None
    high: float | int | None = None
    choices: tuple = ()
    text: str = attrs.field(default="", eq=False, repr=False)  # as the user wrote it, for messages

    @property
    def given(self) -> str:
        return self.text or str(self)

    @classmethod
    def parse(cls, text: str) -> Param:
        """Read ``PATH=DIST:RANGE``, e.g. ``optimizer.lr=log:1e-5..1e-2`` or ``activation=choice:relu|tanh``."""
        what = f"--param {text!r}"
        path, eq, rest = str(text).partition("=")
        path, rest = path.strip(), rest.strip()
        parts = path.split(".")
        if not eq or not path or not parts[0].isidentifier() or \
                not all(part.isidentifier() or part.isdigit() for part in parts[1:]):
            raise SearchError(f"{what}: write PATH=DIST:RANGE, e.g. optimizer.lr=log:1e-5..1e-2")
        dist, colon, spec = rest.partition(":")
        if not colon or dist not in DISTRIBUTIONS:
            close = difflib.get_close_matches(dist, DISTRIBUTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SearchError(f"{what}: the distribution must be one of {', '.join(DISTRIBUTIONS)}{hint}, "
                              f"as in log:1e-5..1e-2, uniform:0.2..0.8, int:16..256 or choice:relu|tanh")
        if dist == "choice":
            choices = tuple(_literal(v.strip()) for v in spec.split("|") if v.strip())
            if len(choices) < 2:
                raise SearchError(f"{what}: a choice needs at least two values separated by '|'")
            if len({json.dumps(c, sort_keys=True, default=str) for c in choices}) < len(choices):
                raise SearchError(f"{what}: a choice lists the same value twice")
            return cls(path, dist, choices=choices, text=str(text))
        low_text, dots, high_text = spec.partition("..")
        if not dots:
            raise SearchError(f"{what}: write the range as LOW..HIGH, e.g. {dist}:1e-5..1e-2")
        low = _number(low_text.strip(), what, dist == "int")
        high = _number(high_text.strip(), what, dist == "int")
        if low >= high:
            raise SearchError(f"{what}: the low end {low!r} must be below the high end {high!r}")
        if dist == "log" and low <= 0:
            raise SearchError(f"{what}: a log range needs positive bounds (got {low!r}); "
                              "search a range that includes 0 with uniform:")
        return cls(path, dist, low, high, text=str(text))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Param:
        return cls(d["path"], d["dist"], d.get("low"), d.get("high"), tuple(d.get("choices", ())))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "dist": self.dist, "low": self.low, "high": self.high,
                "choices": list(self.choices)}

    @property
    def numeric(self) -> bool:
        return self.dist != "choice"

    def range_text(self) -> str:
        if self.dist == "choice":
            return "choice:" + "|".join(_show(c) for c in self.choices)
        return f"{self.dist}:{self.low:.3g}..{self.high:.3g}" if self.dist != "int" else f"int:{self.low}..{self.high}"

    def __str__(self) -> str:
        return f"{self.path}={self.range_text()}"

    def sample(self, rng: np.random.Generator) -> Any:
        if self.dist == "log":
            return float(10 ** rng.uniform(math.log10(self.low), math.log10(self.high)))
        if self.dist == "uniform":
            return float(rng.uniform(self.low, self.high))
        if self.dist == "int":
            return int(rng.integers(self.low, self.high, endpoint=True))
        return self.choices[int(rng.integers(len(self.choices)))]

    def coordinate(self, value: Any) -> float:
        """Where ``value`` lies in the parameter's own space: log10 for log, the index of a choice."""
        if self.dist == "log":
            return math.log10(value)
        if self.dist == "choice":
            return float(self.choices.index(value)) if value in self.choices else math.nan
        return float(value)

    def _from_coordinate(self, c: float) -> float | int:
        return 10 ** c if self.dist == "log" else c

    def bounds(self) -> tuple[float, float]:
        """The range in the parameter's own space."""
        return self.coordinate(self.low), self.coordinate(self.high)

    def position(self, value: Any) -> float | None:
        """0 at the low end, 1 at the high end (in own space); None for a choice."""
        if not self.numeric:
            return None
        lo, hi = self.bounds()
        return (self.coordinate(value) - lo) / (hi - lo) if hi > lo else 0.5

    def narrowed(self, values: Sequence[Any], pad: float = 0.25, least: float = 0.05) -> Param:
        """The span of ``values`` in own space, padded by ``pad`` of itself (at least ``least`` of the
        whole range) on each side, kept inside this range; a choice keeps the values that occur."""
        if not self.numeric:
            kept = tuple(c for c in self.choices if c in values)
            return attrs.evolve(self, text="", choices=kept or self.choices)
        lo, hi = self.bounds()
        coords = [self.coordinate(v) for v in values]
        a, b = min(coords), max(coords)
        margin = max(pad * (b - a), least * (hi - lo))
        a, b = max(lo, a - margin), min(hi, b + margin)
        if self.dist == "int":
            a, b = math.floor(a), math.ceil(b)
            if a == b:  # keep a range to sample from
                a, b = (a - 1, b) if a > self.low else (a, b + 1)
            return attrs.evolve(self, text="", low=int(a), high=int(b))
        low = min(max(_sig(self._from_coordinate(a)), self.low), self.high)
        high = max(min(_sig(self._from_coordinate(b)), self.high), low)
        return attrs.evolve(self, text="", low=low, high=high) if high > low else self

    def widened(self, side: str) -> Param:
        """This range with the ``side`` ("low" or "high") end pushed out by half its width (own space)."""
        lo, hi = self.bounds()
        step = (hi - lo) / 2
        if self.dist == "int":
            step = max(1, round(step))
            if side == "low":
                return attrs.evolve(self, text="", low=self.low - step)
            return attrs.evolve(self, text="", high=self.high + step)
        if side == "low":
            return attrs.evolve(self, text="", low=_sig(self._from_coordinate(lo - step)))
        return attrs.evolve(self, text="", high=_sig(self._from_coordinate(hi + step)))


def _show(value: Any, dist: str = "") -> str:
    if isinstance(value, float):
        return f"{value:.2e}" if dist == "log" else f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)


def parse_params(params: Iterable[str | Param]) -> list[Param]:
    space = [p if isinstance(p, Param) else Param.parse(p) for p in params]
    if not space:
        raise SearchError("nothing to search: give at least one --param PATH=DIST:RANGE, "
                          "e.g. --param optimizer.lr=log:1e-5..1e-2")
    seen: set[str] = set()
    for p in space:
        if p.path in seen:
            raise SearchError(f"--param {p.path} is given twice")
        seen.add(p.path)
    return space


def _split(path: str) -> tuple[str, int | None, str]:
    """``(head, index or None, hyperparameter or "")`` of a path."""
    parts = path.split(".")
    if len(parts) > 1 and parts[1].isdigit():
        return parts[0], int(parts[1]), ".".join(parts[2:])
    return parts[0], None, ".".join(parts[1:])


def _items(value: Any, count: int | None = None) -> list:
    """A list value as a list; one value standing for every item (``dropout = 0.5``) repeated ``count`` times."""
    if isinstance(value, list):
        return list(value)
    return [value] * (count or 1)


def apply_params(config: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` (a RunConfig mapping) with each ``path: value`` set; whole keys first, then list items,
    then hyperparameters inside component specs (rebuilt as ``{"name": ..., **params, key: value}``)."""
    out = dict(config)
    for path in sorted(values, key=lambda p: p.count(".")):
        head, index, key = _split(path)
        value = values[path]
        if index is None and not key:
            out[head] = value
            continue
        if index is None:
            name, params = corenn.parse_spec(out[head])
            out[head] = {"name": name, **params, key: value}
            continue
        count = len(out.get("hidden") or []) if head == "dropout" else None
        items = _items(out.get(head), count)
        if key:
            name, params = corenn.parse_spec(items[index])
            value = {"name": name, **params, key: value}
        items[index] = value
        out[head] = items
    return out


def _run_config():
    from corenn.run import RunConfig

    return RunConfig


def _fields() -> list[str]:
    return [a.name for a in attrs.fields(_run_config())]


def check_space(config: Mapping[str, Any], space: Sequence[Param]) -> None:
    """Refuse paths that name nothing, and ranges whose ends the config's components reject."""
    fields = _fields()
    by_path = {p.path: p for p in space}
    for p in space:
        head, index, key = _split(p.path)
        if head not in fields:
            close = difflib.get_close_matches(head, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            inside = ", ".join(f"{f}.NAME" for f in COMPONENT_FIELDS)
            raise SearchError(f"--param {p.given}: unknown config key {head!r}{hint} (keys: {', '.join(fields)}; "
                              f"hyperparameters inside a component: {inside})")
        if index is None and not key:
            continue
        if "." in key:
            raise SearchError(f"--param {p.given}: a path is KEY, COMPONENT.HYPERPARAMETER, LIST.INDEX or "
                              "LIST.INDEX.HYPERPARAMETER (one dot after the component)")
        if index is not None:
            if head not in LIST_FIELDS and head not in NUMBER_LIST_FIELDS:
                raise SearchError(f"--param {p.given}: {head!r} is not a list, so it has no item {index}; lists: "
                                  f"{', '.join([*LIST_FIELDS, *NUMBER_LIST_FIELDS])}")
            count = len(config.get("hidden") or []) if head == "dropout" else None
            items = [] if config.get(head) is None and head != "dropout" else _items(config.get(head), count)
            if index >= len(items):
                raise SearchError(f"--param {p.given}: the config's {head} has {len(items)} item(s), so there is "
                                  f"no item {index} (items count from 0)")
            if not key:
                continue
            if head not in LIST_FIELDS:
                raise SearchError(f"--param {p.given}: the items of {head!r} are numbers, with no hyperparameter "
                                  f"{key!r}; search the item whole ({head}.{index}=...)")
            kinds, specs = LIST_FIELDS[head], [items[index]]
        else:
            if head not in COMPONENT_FIELDS:
                raise SearchError(f"--param {p.given}: {head!r} is not a component spec, so it has no hyperparameter "
                                  f"{key!r}; search it whole ({head}=...), or one of: "
                                  f"{', '.join(f'{f}.NAME' for f in COMPONENT_FIELDS)}")
            kinds = (COMPONENT_FIELDS[head],)
            whole = by_path.get(head)
            specs = whole.choices if whole is not None and not whole.numeric else [config.get(head)]
        for spec in specs:
            if spec is None:
                raise SearchError(f"--param {p.given}: the config has no {head}; choose one (e.g. --{head} NAME) "
                                  f"to search its {key!r}")
            if isinstance(spec, list):
                raise SearchError(f"--param {p.given}: the config's {head} is a list; name the item, "
                                  f"e.g. {head}.0.{key}")
            name, _ = corenn.parse_spec(spec)
            kind = next((k for k in kinds if name in corenn.available(k)), kinds[0])
            names = [h.name for h in corenn.describe(kind, name).hyperparameters]
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise SearchError(f"--param {p.given}: {kind} {name!r} has no hyperparameter {key!r}{hint} "
                                  f"(it has: {', '.join(names) or 'none'})")
    for p in space:
        for value in (p.choices if not p.numeric else (p.low, p.high)):
            problem = config_problem(apply_params(config, {p.path: value}), [p.path])
            if problem:
                raise SearchError(f"--param {p.given}: the value {_show(value)} is not allowed: {problem}")


def config_problem(config: Mapping[str, Any], paths: Iterable[str]) -> str | None:
    """Why ``config`` cannot be built (checking the components that ``paths`` touch), or None."""
    try:
        cfg = _run_config().from_mapping(config, where="search")
        for head in {p.partition(".")[0] for p in paths}:
            value = getattr(cfg, head)
            if head in COMPONENT_FIELDS and value is not None:
                for item in _items(value):  # one spec, or a list of them (several regularizers)
                    corenn.create(COMPONENT_FIELDS[head], item)
            elif head in LIST_FIELDS and head != "layers":  # layers need their widths: checked when built
                for item in value or []:
                    corenn.create(LIST_FIELDS[head][0], item)
    except corenn.CorennError as exc:
        return str(exc)
    return None


def sample(space: Sequence[Param], seed: int, stage: int, index: int) -> dict[str, Any]:
    """The values of trial ``index`` of ``stage``: the same for the same arguments, in any order, on resume."""
    rng = np.random.default_rng([seed, stage, index])
    return {p.path: p.sample(rng) for p in space}


@attrs.define
class Trial:
    """One finished trial: its values and what it scored (or why it failed)."""

    stage: int
    index: int
    params: dict
    status: str  # "ok" or "failed"
    val_acc: float | None = None
    val_loss: float | None = None
    train_acc: float | None = None
    loss: float | None = None
    epochs: int = 0
    seconds: float = 0.0  # training time inside the worker
    error: str | None = None
    worker: str = ""
    session: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.val_acc is not None


def ranked(trials: Iterable[Trial]) -> list[Trial]:
    """Finished trials best first (validation accuracy, then lower validation loss), failed ones last."""
    def key(t: Trial):
        if not t.ok:
            return (1, 0.0, 0.0, t.stage, t.index)
        return (0, -t.val_acc, t.val_loss if t.val_loss is not None else math.inf, t.stage, t.index)
    return sorted(trials, key=key)


def narrow(space: Sequence[Param], trials: Iterable[Trial], fraction: float = 0.2) -> list[Param]:
    """The next stage's ranges: around the top ``fraction`` (at least 2) of the finished trials."""
    good = [t for t in ranked(trials) if t.ok]
    if len(good) < 2:
        return list(space)
    top = good[:max(2, math.ceil(fraction * len(good)))]
    return [p.narrowed([t.params[p.path] for t in top]) for p in space]


@attrs.frozen
class EdgeWarning:
    """The best value of ``param`` lies in the outer tenth of the range it was drawn from."""

    param: Param
    value: Any
    side: str
    suggestion: Param
    limit: str | None = None  # why the range cannot widen that way (the component's own rule)

    def __str__(self) -> str:
        space = " (in log space)" if self.param.dist == "log" else ""
        text = (f"the best {self.param.path}={_show(self.value, self.param.dist)} lies in the "
                f"{'lowest' if self.side == 'low' else 'highest'} tenth of its range "
                f"{self.param.range_text()}{space}: the best value may lie beyond it")
        if self.limit:
            return f"{text}, but the range cannot widen that way ({self.limit})"
        return f"{text}; widen it: --param {self.suggestion}"


def edge_warnings(spaces: Sequence[Sequence[Param]], best: Trial | None, config: Mapping[str, Any] | None = None,
                  edge: float = EDGE) -> list[EdgeWarning]:
    """A warning for each numeric parameter whose best value sits within ``edge`` (of the width, in its own
    space) of an end of its range. ``spaces``: the ranges to check, first match wins (the search checks
    the first stage's, then those of the stage that drew the best trial)."""
    if best is None or not best.ok:
        return []
    out = []
    for path in best.params:
        for p in (p for space in spaces for p in space if p.path == path):
            position = p.position(best.params[path])
            if position is not None and not edge <= position <= 1 - edge:
                break
        else:
            continue
        side = "low" if position < edge else "high"
        wide = p.widened(side)
        limit = None
        if config is not None:
            limit = config_problem(apply_params(config, {p.path: wide.low if side == "low" else wide.high}), [p.path])
        out.append(EdgeWarning(p, best.params[p.path], side, wide, limit))
    return out


def _ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks with ties averaged (as scipy.stats.rankdata)."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end - 1) / 2
            start = end
    return ranks


def _correlation_ratio(groups: np.ndarray, y: np.ndarray) -> float:
    """sqrt of eta squared (between-group share of the variance of centered ``y``), corrected for the
    number of groups so that noise scores near 0."""
    labels = np.unique(groups)
    n, k = len(y), len(labels)
    if k < 2 or n <= k:
        return 0.0
    between = sum(np.sum(groups == g) * y[groups == g].mean() ** 2 for g in labels)
    eta2 = 1 - (1 - between / float(y @ y)) * (n - 1) / (n - k)
    return math.sqrt(max(eta2, 0.0))


def importance(space: Sequence[Param], trials: Iterable[Trial]) -> dict[str, float]:
    """How strongly each parameter goes with validation accuracy, in [0, 1], from the ranks of the
    accuracies: for a number the larger of the absolute Spearman correlation (a monotone effect) and
    the correlation ratio over quantile bins (a peak, as the learning rate's usually is); for a choice
    the correlation ratio over its values."""
    good = [t for t in trials if t.ok]
    out = {p.path: 0.0 for p in space}
    if len(good) < 3:
        return out
    acc = _ranks([t.val_acc for t in good])
    acc = acc - acc.mean()
    if not acc.any():
        return out
    n = len(good)
    for p in space:
        x = np.array([p.coordinate(t.params[p.path]) for t in good])
        if not p.numeric:
            out[p.path] = _correlation_ratio(x, acc)
            continue
        r = _ranks(x)
        centered = r - r.mean()
        denom = math.sqrt(float(centered @ centered) * float(acc @ acc))
        spearman = abs(float(centered @ acc)) / denom if denom else 0.0
        bins = np.floor(r * min(5, max(3, n // 4)) / n)
        out[p.path] = max(spearman, _correlation_ratio(bins, acc))
    return out
