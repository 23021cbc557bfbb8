"""The component registry, built on a pluggy PluginManager.

Plugins are found through entry points in the group ``corenn`` (one per
plugin distribution) and may also be registered in-process with
:func:`register_plugin` (handy in a notebook or a test). The registry is built
lazily on first use; :func:`reload` rebuilds it (after installing a plugin or
changing ``CORENN_DISABLE_PLUGINS``).
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata as metadata
import inspect
import numbers
import os
import re
import signal
import threading
import traceback
import warnings
from collections.abc import Mapping
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .component import NOTHING, hyperparameters, type_name
from .distributions import install_hint
from .errors import InvalidHyperparameter, PluginError, UnknownComponent
from .spec import InvalidSpec, parse_spec

KINDS = ("activation", "initializer", "regularizer", "optimizer", "schedule",
         "layer", "loss", "preprocessor", "dataset")
#: kinds beyond the nine component kinds that the registry also serves
EXTRA_KINDS = ("callback",)
#: every kind the registry lists, describes and creates (the CLI's list, info and new-plugin)
ALL_KINDS = KINDS + EXTRA_KINDS
HOOK_OF_KIND = {kind: f"corenn_{kind}es" if kind.endswith("s") else f"corenn_{kind}s" for kind in ALL_KINDS}
ENTRY_POINT_GROUP = "corenn"
DISABLE_VARIABLE = "CORENN_DISABLE_PLUGINS"
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@attrs.frozen
class Hyperparameter:
    """One hyperparameter of a component, as plain data."""

    name: str
    type: str
    default: Any
    doc: str
    required: bool = False
    schedulable: bool = False


@attrs.frozen
class Description:
    """What ``corenn.describe`` returns: everything ``corenn info`` shows."""

    name: str
    kind: str
    distribution: str
    version: str
    summary: str
    hyperparameters: tuple[Hyperparameter, ...]
    doc: str = ""

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, value_serializer=lambda inst, a, v: repr(v) if callable(v) else v)


@attrs.define
class Entry:
    kind: str
    name: str
    cls: type
    distribution: str
    version: str
    plugin: str


@attrs.define
class PluginInfo:
    """One plugin (entry point or in-process registration) and what became of it."""

    plugin: str
    distribution: str
    version: str
    module: str
    components: list[tuple[str, str]] = attrs.Factory(list)
    status: str = "ok"  # ok | failed | disabled
    error: str | None = None
    traceback: str | None = attrs.field(default=None, repr=False)
    exception: BaseException | None = attrs.field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "distribution": self.distribution, "version": self.version,
                "module": self.module, "status": self.status, "error": self.error,
                "components": [{"kind": k, "name": n} for k, n in self.components]}


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> Mapping[str, list[str]]:
    """Top-level module -> distributions; it scans every installed distribution, so
    it is read once (:func:`reload` reads it again)."""
    return metadata.packages_distributions()


def _name_and_version(dist: Any) -> tuple[str, str]:
    """A distribution's name and version from the header of its METADATA file: the two
    lines at its top, without parsing the whole file as an email message twice (what
    ``dist.name`` and ``dist.version`` do, a few ms for fifty plugins at every start)."""
    if dist is None:
        return "?", "?"
    name = version = None
    try:
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    except OSError:
        text = ""
    for line in text.splitlines():
        if not line:  # the end of the header
            break
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
    if not name or not version:
        name, version = dist.name, dist.version
    return name, version


def _summary(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return plain_text(doc.splitlines()[0].strip()) if doc else ""


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain_text(doc: str) -> str:
    """A docstring as the plain text ``corenn info`` and ``corenn list`` print: reST
    roles (:func:`x`) and literals (``x``) become x, and a paragraph's closing ``::``
    (which introduces an indented block) becomes ``:``, or nothing on a line of its own."""
    text = _LITERAL.sub(r"\1", _ROLE.sub(r"\1", doc))
    lines = []
    for line in text.splitlines():
        if line.strip() == "::":
            continue
        if line.endswith("::"):
            line = line[:-1].rstrip(" :") + ":" if not line.endswith(" ::") else line[:-3]
        lines.append(line)
    return "\n".join(lines)


def _describe_exception(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _noting_ctrl_c:
    """While plugins load, note on ``registry`` whether a real Ctrl-C (SIGINT) arrives, so that a
    KeyboardInterrupt that a plugin raises itself can be told from the user's."""

    def __init__(self, registry: Registry):
        self.registry, self.previous, self.installed = registry, None, False

    def __enter__(self) -> None:
        self.registry._user_interrupted = False
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
            self.installed = True

    def _handle(self, signum: int, frame: Any) -> None:
        self.registry._user_interrupted = True
        if callable(self.previous):
            self.previous(signum, frame)
        elif self.previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous if self.previous is not None else signal.SIG_DFL)


class Registry:
    def __init__(self, *, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager("corenn")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.entries: dict[tuple[str, str], Entry] = {}
        self.conflicts: dict[tuple[str, str], list[Entry]] = {}
        self._module_dist: dict[str, tuple[str, str]] = {}
        self._user_interrupted = False  # a real Ctrl-C arrived while plugin code ran (see _noting_ctrl_c)
        if load_entry_points:
            self.load_entry_points()

    # -- loading -------------------------------------------------------------
    def load_entry_points(self) -> None:
        disabled = {n.strip() for n in os.environ.get(DISABLE_VARIABLE, "").split(",") if n.strip()}
        eps = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
        for ep in eps:
            self._module_dist[ep.module.split(".")[0]] = _name_and_version(ep.dist)
        unknown = sorted(disabled - {ep.name for ep in eps})
        if unknown:
            names = sorted({ep.name for ep in eps})
            close = sorted({m for name in unknown for m in difflib.get_close_matches(name, names, n=3)})
            hint = f"did you mean {', '.join(close)}?" if close else "`corenn plugins` lists the installed ones"
            warnings.warn(f"{DISABLE_VARIABLE} names {', '.join(map(repr, unknown))}, which no installed plugin is "
                          f"called; {hint}", stacklevel=2)
        with _noting_ctrl_c(self):
            self._load(eps, disabled)

    def _load(self, eps: list, disabled: set[str]) -> None:
        for ep in eps:
            dist, version = self._module_dist[ep.module.split(".")[0]]
            info = PluginInfo(ep.name, dist, version, ep.value)
            if ep.name in self.plugins:
                other = self.plugins[ep.name]
                info.status, info.error = "failed", (
                    f"entry point name {ep.name!r} is used by both {other.distribution} and {dist}")
                self.plugins[f"{ep.name} ({dist})"] = info
                continue
            self.plugins[ep.name] = info
            if ep.name in disabled:
                info.status = "disabled"
                continue
            try:
                module = ep.load()
                self._register_hooks(module, ep.name)
            except BaseException as exc:  # a broken plugin (even one that calls sys.exit) must not break the others
                self._fail_unless_user_interrupt(info, exc)
                continue
            self._collect(info)

    def register(self, plugin: Any, name: str | None = None, distribution: str | None = None) -> PluginInfo:
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if name in self.plugins:
            raise PluginError(f"a plugin named {name!r} is already registered ({self.plugins[name].distribution})")
        module = getattr(plugin, "__name__", type(plugin).__module__)
        info = PluginInfo(name, distribution or f"{module} (in-process)", "", module)
        self.plugins[name] = info
        try:
            self._register_hooks(plugin, name)
        except Exception as exc:
            self._fail(info, exc)
            raise PluginError(f"plugin {name!r} cannot be registered: {_describe_exception(exc)}") from exc
        self._collect(info)
        if info.status == "failed":
            raise PluginError(f"plugin {name!r} failed: {info.error}") from info.exception
        return info

    def _register_hooks(self, plugin: Any, name: str) -> None:
        """Register with pluggy; a function named like a hook that does not exist
        (``corenn_activation`` for ``corenn_activations``) is an error, not silence."""
        self.pm.register(plugin, name=name)
        unknown = sorted(h.name for h in self.pm.get_hookcallers(plugin) or () if not h.has_spec())
        if unknown:
            self.pm.unregister(plugin, name=name)
            hooks = sorted(n for n in dir(hookspecs) if n.startswith("corenn_"))
            close = difflib.get_close_matches(unknown[0], hooks, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (hooks: {', '.join(hooks)})"
            raise PluginError(f"{unknown[0]} is not a corenn hook{hint}")

    def _fail_unless_user_interrupt(self, info: PluginInfo, exc: BaseException) -> None:
        """A plugin's exception fails the plugin, except a KeyboardInterrupt of a real Ctrl-C, which goes on."""
        if isinstance(exc, KeyboardInterrupt) and self._user_interrupted:
            raise exc
        self._fail(info, exc)

    def _fail(self, info: PluginInfo, exc: BaseException) -> None:
        info.status, info.exception = "failed", exc
        info.error = _describe_exception(exc)
        info.traceback = "".join(traceback.format_exception(exc))

    def _distribution_of(self, cls: type, info: PluginInfo) -> tuple[str, str]:
        top = cls.__module__.split(".")[0]
        if top in self._module_dist:
            return self._module_dist[top]
        if top == info.module.split(".")[0].split(":")[0]:
            return info.distribution, info.version
        dists = _packages_distributions().get(top)
        if dists:
            return dists[0], metadata.version(dists[0])
        return info.distribution, info.version

    def _collect(self, info: PluginInfo) -> None:
        """Add every component the plugin's hooks return, or, if any hook raises or
        returns something that is not a component, none of them (the plugin fails)."""
        try:
            entries = [self._entry(kind, cls, info)
                       for kind, hookname in HOOK_OF_KIND.items()
                       for impl in getattr(self.pm.hook, hookname).get_hookimpls() if impl.plugin_name == info.plugin
                       for cls in list(impl.function() or ())]
        except BaseException as exc:
            self._fail_unless_user_interrupt(info, exc)
            return
        for entry in entries:
            self._add(entry, info)

    def _entry(self, kind: str, cls: Any, info: PluginInfo) -> Entry:
        """The registry entry of a class a hook returned, checked to be a component."""
        where = f"{info.distribution} (hook {HOOK_OF_KIND[kind]})"
        if not isinstance(cls, type):
            raise PluginError(f"{where} returned {cls!r}, which is not a class")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not _NAME.match(name):
            raise PluginError(f"{where}: {cls.__qualname__}.name must be a lower-case identifier, got {name!r}")
        if not attrs.has(cls):
            raise PluginError(f"{where}: {cls.__qualname__} is not an attrs class; decorate it with @corenn.component")
        dist, version = self._distribution_of(cls, info)
        return Entry(kind, name, cls, dist, version, info.plugin)

    def _add(self, entry: Entry, info: PluginInfo) -> None:
        kind, name, cls = entry.kind, entry.name, entry.cls
        key = (kind, name)
        if key in self.conflicts:
            self.conflicts[key].append(entry)
        elif key in self.entries and self.entries[key].cls is not cls:
            self.conflicts[key] = [self.entries.pop(key), entry]
        else:
            self.entries[key] = entry
        info.components.append(key)

    def conflict_message(self, kind: str, name: str) -> str:
        """Why (kind, name) is unavailable: the distributions that all register it."""
        both = " and ".join(f"{e.distribution} {e.version} (entry point {e.plugin!r})"
                            for e in self.conflicts[(kind, name)])
        return (f"{kind} {name!r} is registered by both {both}; uninstall one, "
                f"or switch one off with {DISABLE_VARIABLE}=<entry point>")

    # -- queries -------------------------------------------------------------
    def _check_kind(self, kind: str) -> None:
        if kind not in HOOK_OF_KIND:
            raise UnknownComponent("", kind, ALL_KINDS, what="kind")

    def available(self, kind: str) -> list[str]:
        self._check_kind(kind)
        return sorted(name for (k, name) in self.entries if k == kind)

    def entry(self, kind: str, name: str) -> Entry:
        self._check_kind(kind)
        key = (kind, name)
        if key in self.entries:
            return self.entries[key]
        if key in self.conflicts:
            raise PluginError(self.conflict_message(kind, name))
        for info in self.plugins.values():
            if info.status == "failed" and name in (info.plugin, info.distribution.removeprefix("corenn-").replace("-", "_")):
                raise PluginError(f"{kind} {name!r} comes from {info.distribution}, which failed to load: "
                                  f"{info.error}; reinstall or fix it, or see 'corenn plugins'") from info.exception
            if info.status == "disabled" and name == info.plugin:
                raise PluginError(f"{kind} {name!r} comes from {info.distribution}, which is switched off by "
                                  f"{DISABLE_VARIABLE}; remove {name!r} from it to use it")
        raise UnknownComponent(kind, name, self.available(kind), advice=install_hint(kind, name))

    def create(self, kind: str, spec: Any, **overrides: Any) -> Any:
        if not isinstance(spec, (str, Mapping)):
            if spec is None or isinstance(spec, (numbers.Number, bytes, type, list, tuple, set)):
                raise InvalidSpec(f"a {kind} is given as a name, a 'name:key=value,...' string, a mapping or a "
                                  f"component instance, not {spec!r}")
            if overrides:
                raise InvalidHyperparameter(type(spec).__name__, next(iter(overrides)), overrides,
                                            "overrides need a spec (name or mapping), not an instance")
            return spec  # already a component instance
        # values typed as users type them, by the fields' annotations: path=/data, download=true
        name, params = parse_spec(spec, lambda n: {a.name: a.type for a in hyperparameters(self.entry(kind, n).cls)})
        params.update(overrides)
        cls = self.entry(kind, name).cls
        fields = {a.name: a for a in hyperparameters(cls)}
        for key, value in params.items():
            if key not in fields:
                import difflib

                close = difflib.get_close_matches(key, fields, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                takes = ", ".join(fields) or "no hyperparameters"
                raise InvalidHyperparameter(name, key, value, f"unknown hyperparameter; {hint}{name} takes: {takes}")
        for field in fields.values():
            if field.default is NOTHING and field.name not in params:
                err = InvalidHyperparameter(name, field.name, None, "is required")
                err.args = (f"{name}: {field.name} is required ({field.metadata.get('doc', '')}); "
                            f"give it as {name}:{field.name}=...",)
                raise err
        return cls(**params)

    def describe(self, kind: str, name: str) -> Description:
        entry = self.entry(kind, name)
        hps = []
        for a in hyperparameters(entry.cls):
            default = a.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            hps.append(Hyperparameter(a.name, type_name(a.type), None if default is NOTHING else default,
                                      a.metadata.get("doc", ""), default is NOTHING,
                                      bool(a.metadata.get("schedulable"))))
        return Description(name, kind, entry.distribution, entry.version, _summary(entry.cls), tuple(hps),
                           plain_text(inspect.cleandoc(entry.cls.__doc__ or "")))


_lock = threading.Lock()
_registry: Registry | None = None


def registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = Registry()
    return _registry


def reload() -> Registry:
    """Forget every plugin and load the entry points again."""
    global _registry
    with _lock:
        _packages_distributions.cache_clear()
        _registry = Registry()
    return _registry


def available(kind: str) -> list[str]:
    """Sorted names of the registered components of ``kind``."""
    return registry().available(kind)


def get(kind: str, name: str) -> type:
    """The component class registered as (kind, name)."""
    return registry().entry(kind, name).cls


def create(kind: str, spec: Any, **overrides: Any) -> Any:
    """An instance from a spec (name, ``"name:k=v,..."`` or mapping); an instance passes through."""
    return registry().create(kind, spec, **overrides)


def describe(kind: str, name: str) -> Description:
    """Name, kind, distribution, version, summary and hyperparameters of a component."""
    return registry().describe(kind, name)


def plugins() -> list[PluginInfo]:
    """Every plugin the registry knows, loaded, failed or disabled."""
    return list(registry().plugins.values())


def register_plugin(plugin: Any, name: str | None = None) -> PluginInfo:
    """Register an object or module with ``@corenn.hookimpl`` functions in this process."""
    return registry().register(plugin, name)


def field_types(*kinds: str):
    """For :func:`corenn.spec.parse_spec`: a component name -> its fields' annotations, looked up
    among ``kinds`` (the first that has the name; nothing for a name none of them has), so that
    ``path=/data`` and ``download=true`` are read as the fields' types."""
    def types(name: str) -> dict[str, Any]:
        entries = registry().entries
        for kind in kinds:
            entry = entries.get((kind, name))
            if entry is not None:
                return {a.name: a.type for a in hyperparameters(entry.cls)}
        return {}

    return types


def kind_of(component: Any) -> str | None:
    """The registered kind of a component class or instance, or None."""
    cls = component if isinstance(component, type) else type(component)
    for (kind, _), entry in registry().entries.items():
        if entry.cls is cls:
            return kind
    return None
