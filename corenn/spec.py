"""Component specs: ``"adam"``, ``"adam:lr=1e-3,beta1=0.9"`` or ``{"name": "adam", "lr": 1e-3}``.

Values in a spec string are Python literals read with ``ast.literal_eval``
(never evaluated as code); a bare word such as ``mode=fan_avg`` or a bare path such
as ``path=/data/mnist`` is a string. Where the component's field types are known
(``field_types``, as :func:`corenn.create` gives them), values are read as users type
them: an unquoted value of a field that holds text (``str``, a path) is that text
(``path=2024`` is ``"2024"``), and ``true``/``false`` are booleans for a ``bool`` field.
Quoted values are always Python string literals.
Commas inside quotes or brackets do not split, so a schedule can be nested:
``"sgd:lr='step:initial=0.1,every=5'"`` or ``"sgd:lr={'name': 'step', 'initial': 0.1}"``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import CorennError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
# a bare file path: /abs, ~/home, ./rel, ../rel, C:\\win or words joined by '/' (not '1/3')
_PATH = re.compile(r"(?:[/~.]|[A-Za-z]:[\\/]|[A-Za-z_][\w.\-]*/)[\w.\-/\\~+@%]*\Z")
_TEXT_TYPES = {"str", "Path", "PathLike"}
_OTHER_TYPES = {"int", "float", "bool", "list", "dict", "tuple", "set", "Any", "Sequence", "Mapping",
                "Callable", "Number", "complex"}


class InvalidSpec(CorennError, ValueError):
    """A spec string or mapping that cannot be read."""


def _split_top_level(text: str) -> list[str]:
    parts, depth, quote, start, escaped = [], 0, None, 0, False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True  # 'it\'s': the next character cannot close the string
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if quote or depth:
        raise InvalidSpec(f"unbalanced quotes or brackets in {text!r}")
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _type_names(annotation: Any) -> set[str]:
    """The type names in a field's annotation: ``"str | None"`` -> ``{"str", "None"}``."""
    if annotation is None:
        return set()
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None) or str(annotation)
    return {word.rsplit(".", 1)[-1] for word in re.findall(r"[A-Za-z_][\w.]*", text)} - {"typing", "Optional", "Union"}

def read_value(text: str, annotation: Any = None) -> Any:
    """One spec value as users type it, for a field annotated ``annotation`` (None: unknown).

    Never evaluated as code: Python literals through ``ast.literal_eval``, bare
    words and paths as strings, ``true``/``false`` for a ``bool`` field.
    """
    text = text.strip()
    types = _type_names(annotation)
    if text[:1] not in ("'", '"'):
        if "bool" in types and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if types & _TEXT_TYPES and not types & _OTHER_TYPES and not (text == "None" and "None" in types):
            return text  # the field holds text: path=/data/mnist, name=2024
    return _literal(text)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        if _NAME.match(text) or _PATH.match(text):
            return text  # a bare word or path is a string: mode=fan_avg, path=/data/mnist
        raise InvalidSpec(f"cannot read the value {_short(text)!r}: use a Python literal (number, 'string', True, None, [..], {{..}})") from None


def parse_spec(spec: str | Mapping[str, Any],
               field_types: Callable[[str], Mapping[str, Any]] | None = None) -> tuple[str, dict[str, Any]]:
    """Split a spec into ``(name, hyperparameters)``.

    ``field_types(name)``, if given, maps the component's field names to their
    annotations, so that a string spec's values are read by :func:`read_value`.
    """
    if isinstance(spec, Mapping):
        if "name" not in spec:
            raise InvalidSpec(f"a component mapping needs a 'name' key, got keys {sorted(spec)}")
        params = {k: v for k, v in spec.items() if k != "name"}
        name = spec["name"]
    elif isinstance(spec, str):
        name, _, rest = spec.strip().partition(":")
        params = {}
        types = field_types(name.strip()) if field_types is not None and rest.strip() else {}
        for item in _split_top_level(rest):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not key.isidentifier():
                raise InvalidSpec(f"cannot read {item!r} in spec {spec!r}: write name:key=value,key=value")
            if key in params:
                raise InvalidSpec(f"{key!r} is given twice in spec {spec!r}")
            params[key] = read_value(value, types.get(key))
    else:
        raise InvalidSpec(f"a spec is a name, a 'name:key=value,...' string or a mapping, not {type(spec).__name__}")
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise InvalidSpec(f"{name!r} is not a component name (letters, digits, '_' and '-')")
    return name.strip(), params


def format_spec(name: str, params: Mapping[str, Any]) -> str:
    """The inverse of :func:`parse_spec` for literal values."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={v!r}" for k, v in params.items())
