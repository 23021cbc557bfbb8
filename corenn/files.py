"""Files that lose nothing and trust nothing: ``.npz`` arrays + a JSON document.

One ``.npz`` file holds named arrays and, under the key ``__json__``, a UTF-8
JSON document stored as a uint8 array. Files are written atomically
(temporary file in the same folder, fsync, rename) and read with
``allow_pickle=False``; a truncated, corrupt or hostile file is a clear
:class:`corenn.InvalidFile` error. Before anything is inflated or allocated,
every array's declared shape is checked against the bytes the file really
holds, so reading a file never takes much more memory than the file's size
(compressed members, which corenn never writes, at most
``MAX_COMPRESSED_MEMBER_BYTES``). :func:`flatten_state` and
:func:`unflatten_state` turn a nested state (an optimizer's, a checkpoint's)
into such arrays and document and back.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidFile

JSON_KEY = "__json__"
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_COMPRESSED_MEMBER_BYTES = 64 * 1024 * 1024


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], *, mode: str = "wb",
                 permissions: int = 0o644) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``.

    A crash at any moment leaves either the old file or the new one, never half of one.
    The file gets ``permissions`` (mkstemp would leave it readable by its owner only).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    try:
        os.chmod(tmp, permissions)
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # e.g. a full disk: name the file being written, not the temporary one
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dirfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except OSError:
        pass
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], document: Any) -> Path:
    """Write ``arrays`` and the JSON-serializable ``document`` to one ``.npz``, atomically."""
    payload = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    if JSON_KEY in payload:
        raise ValueError(f"{JSON_KEY!r} is reserved")
    for key, value in payload.items():
        if value.dtype.hasobject:
            raise ValueError(f"array {key!r} has dtype object, which cannot be saved without pickle")
    payload[JSON_KEY] = np.frombuffer(json.dumps(document).encode("utf-8"), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez(f, **payload))


def load_arrays(path: str | os.PathLike, *, what: str = "file") -> tuple[dict[str, np.ndarray], Any]:
    """Read a file written by :func:`save_arrays`: ``(arrays, document)``.

    Never unpickles. Missing, truncated, corrupt or foreign files raise
    :class:`InvalidFile` naming the path and what to do.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidFile(f"{what} {str(path)!r} does not exist")
    if path.is_dir():
        raise InvalidFile(f"{what} {str(path)!r} is a folder, not a file")
    try:
        _check_members(path, what)
        with np.load(path, allow_pickle=False) as npz:
            if JSON_KEY not in npz.files:
                raise InvalidFile(f"{what} {str(path)!r} is not a corenn file (no {JSON_KEY} entry)")
            raw = npz[JSON_KEY]
            if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_JSON_BYTES:
                raise InvalidFile(f"{what} {str(path)!r} has a malformed {JSON_KEY} entry")
            document = json.loads(raw.tobytes().decode("utf-8"))
            arrays = {k: npz[k] for k in npz.files if k != JSON_KEY}
    except InvalidFile:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise InvalidFile(f"{what} {str(path)!r} is truncated or corrupt ({type(exc).__name__}: {exc}); "
                          "use an intact copy or retrain") from exc
    return arrays, document


# -- checkpoints: state <-> (arrays, JSON document) -----------------------------------------

#: the key that marks an array reference in the JSON document of :func:`flatten_state`
STATE_ARRAY = "__array__"


def flatten_state(state: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], Any]:
    """Split a state (nested dicts/lists of arrays and JSON scalars) into
    ``(arrays, document)``: ``arrays`` maps keys such as ``prefix + "slots/m/0"`` to
    the arrays, ``document`` is JSON-able and holds ``{"__array__": key}`` where each
    array was. :func:`unflatten_state` inverts it exactly."""
    arrays: dict[str, np.ndarray] = {}

    def walk(obj: Any, path: str) -> Any:
        if isinstance(obj, np.ndarray):
            if path in arrays:
                raise ValueError(f"flatten_state: two arrays map to the key {path!r}")
            if obj.dtype.hasobject:
                raise ValueError(f"flatten_state: {path!r} has dtype object, which cannot be saved")
            arrays[path] = obj
            return {STATE_ARRAY: path}
        if isinstance(obj, Mapping):
            out = {}
            for k, v in obj.items():
                if not isinstance(k, str) or k == STATE_ARRAY:
                    raise ValueError(f"flatten_state: key {k!r} at {path or '/'!r} must be a str other than {STATE_ARRAY!r}")
                out[k] = walk(v, f"{path}/{k}" if path else f"{prefix}{k}")
            return out
        if isinstance(obj, (list, tuple)):
            return [walk(v, f"{path}/{i}" if path else f"{prefix}{i}") for i, v in enumerate(obj)]
        if isinstance(obj, np.generic):
            return obj.item()
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        raise ValueError(f"flatten_state: {type(obj).__name__} at {path!r} is not plain data")

    return arrays, walk(state, "")


def unflatten_state(arrays: Mapping[str, np.ndarray], document: Any) -> Any:
    """The state that :func:`flatten_state` split into ``(arrays, document)``.
    A reference to an array that is not in ``arrays`` is an :class:`InvalidFile` error."""

    def walk(obj: Any) -> Any:
        if isinstance(obj, Mapping):
            if STATE_ARRAY in obj:
                key = obj[STATE_ARRAY]
                if len(obj) != 1 or not isinstance(key, str):
                    raise InvalidFile(f"optimizer state: malformed array reference {obj!r}")
                if key not in arrays:
                    raise InvalidFile(f"optimizer state: the array {key!r} is missing; the checkpoint is incomplete")
                return np.asarray(arrays[key])
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj

    return walk(document)


def _npy_header(f: Any) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, header length)`` of the ``.npy`` stream ``f``, reading nothing else."""
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(f)
    return shape, dtype, f.tell()


def _declared_bytes(shape: tuple[int, ...], dtype: np.dtype, header: int) -> int:
    return header + math.prod(shape) * dtype.itemsize


def _check_members(path: Path, what: str) -> None:
    """Refuse, before inflating or allocating anything, an ``.npz`` whose members claim more than it holds."""
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_size > size:
                raise InvalidFile(f"{what} {str(path)!r} is truncated or corrupt: its array {name!r} claims "
                                  f"{info.compress_size} bytes in a file of {size}; use an intact copy or retrain")
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise InvalidFile(f"{what} {str(path)!r} is truncated or corrupt: its array {name!r} declares "
                                  f"{info.file_size} bytes but stores {info.compress_size}")
            if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_COMPRESSED_MEMBER_BYTES:
                raise InvalidFile(f"{what} {str(path)!r} is refused: its compressed array {name!r} would inflate "
                                  f"to {info.file_size} bytes (corenn writes uncompressed files; compressed "
                                  f"arrays may hold at most {MAX_COMPRESSED_MEMBER_BYTES})")
            with zf.open(info) as f:
                shape, dtype, header = _npy_header(f)
            if dtype.hasobject:
                raise InvalidFile(f"{what} {str(path)!r} is truncated or corrupt: its array {name!r} holds Python "
                                  "objects, which corenn never loads (no pickle); use an intact copy or retrain")
            if _declared_bytes(shape, dtype, header) != info.file_size:
                raise InvalidFile(f"{what} {str(path)!r} is truncated or corrupt: its array {name!r} declares shape "
                                  f"{shape} of {dtype} but holds {info.file_size - header} bytes; use an intact "
                                  "copy or retrain")


def load_npy(path: str | os.PathLike, *, what: str = "array file") -> np.ndarray:
    """A ``.npy`` array of numbers, its declared shape checked against the file's size before reading it."""
    path = Path(path)
    if not path.is_file():
        raise InvalidFile(f"{what} {str(path)!r} does not exist")
    advice = "give a .npy array of numbers, as numpy.save writes them"
    try:
        with open(path, "rb") as f:
            shape, dtype, header = _npy_header(f)
        if dtype.hasobject:
            raise InvalidFile(f"{what} {str(path)!r} holds Python objects, which corenn never loads; {advice}")
        size = path.stat().st_size
        if _declared_bytes(shape, dtype, header) != size:
            raise InvalidFile(f"{what} {str(path)!r} declares shape {shape} of {dtype} but holds {size - header} "
                              f"bytes: it is truncated or not what it claims; {advice}")
        return np.load(path, allow_pickle=False)
    except InvalidFile:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidFile(f"{what} {str(path)!r} is not a .npy array of numbers ({exc}); {advice}; corenn never "
                          "loads pickled or object arrays") from exc
