"""Conformance checks for datasets.

A dataset that needs files (downloaded data, a folder the user points to)
cannot be loaded by the kit as it is. Such a class provides a class method
``example_files(folder) -> dict``: it writes a tiny valid dataset into
``folder`` (an empty temporary folder) and returns the hyperparameters that
load it. The kit then loads through those. A dataset whose ``load`` ignores
the seed declares ``randomized = False`` (a class attribute); every other one
must give a different split for a different seed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import tempfile
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..data import Data
from ._kit import Subject, register_check

SPLITS = ("train", "val", "test")


@dataclasses.dataclass
class Served:
    """What :func:`serve_files` yields: the base URL and the names requested so far."""

    url: str
    requests: list[str]


@contextlib.contextmanager
def serve_files(files: Mapping[str, bytes], *, cut_short: Mapping[str, int] | None = None) -> Iterator[Served]:
    """Serve ``files`` (name -> bytes) over HTTP on 127.0.0.1 while the block runs.

    For testing downloads without the internet: yields a :class:`Served` with the base
    ``url`` and the list of ``requests`` (file names asked for). A name in ``cut_short``
    announces its full length but the connection closes after that many bytes.
    """
    cut_short = dict(cut_short or {})
    served = Served("", [])
    requests = served.requests

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 10

        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            requests.append(name)
            body = files.get(name)
            if body is None:
                self.send_error(404, "no such file")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:cut_short.get(name, len(body))])
            self.close_connection = True

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        served.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _load(subject: Subject, seed: Any) -> Data:
    """``load(seed)`` of a fresh instance, through ``example_files`` where the class has it."""
    example_files = getattr(subject.cls, "example_files", None)
    if example_files is None:
        return subject.make().load(seed=seed)
    with tempfile.TemporaryDirectory(prefix="corenn-kit-") as folder:
        kwargs = example_files(folder)
        assert isinstance(kwargs, dict), f"example_files() must return a dict of hyperparameters, got {kwargs!r}"
        return subject.make(**kwargs).load(seed=seed)


def _arrays(data: Data) -> list[np.ndarray]:
    return [getattr(data, f"{part}_{split}") for split in SPLITS for part in ("X", "y")]


@register_check("dataset")
def check_load_gives_valid_data(subject: Subject) -> None:
    """load(seed=0) gives a corenn.Data: float32 X (N, F) with the same F in every
    split, int64 y of matching length, labels in range, finite values, named classes,
    non-empty train and test parts."""
    data = _load(subject, 0)
    assert isinstance(data, Data), f"load() must return corenn.Data, got {type(data).__name__}"
    assert len(data.classes) >= 2, f"a classification dataset needs at least 2 classes, got {data.classes!r}"
    assert len(set(data.classes)) == len(data.classes), f"class names repeat: {data.classes!r}"
    features = data.X_train.shape[1:]
    for split in SPLITS:
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        assert X.dtype == np.float32, f"X_{split} has dtype {X.dtype}, want float32"
        assert y.dtype == np.int64 and y.ndim == 1, f"y_{split} has dtype {y.dtype} and shape {y.shape}, want int64 (N,)"
        assert X.ndim >= 2 and X.shape[1:] == features, f"X_{split} has shape {X.shape}, train has features {features}"
        assert len(X) == len(y), f"X_{split} has {len(X)} rows but y_{split} has {len(y)} labels"
        assert np.isfinite(X).all(), f"X_{split} holds NaN or inf"
        if y.size:
            assert 0 <= y.min() and y.max() < len(data.classes), f"y_{split} outside [0, {len(data.classes)})"
    assert len(data.X_train) > 0 and len(data.X_test) > 0, "the train and test parts must not be empty"


@register_check("dataset")
def check_same_seed_same_data(subject: Subject) -> None:
    """Two loads with the same seed give identical arrays, bit for bit."""
    first, second = _load(subject, 0), _load(subject, 0)
    assert first.classes == second.classes, "classes differ between two loads with seed 0"
    for a, b, name in zip(_arrays(first), _arrays(second), [f"{p}_{s}" for s in SPLITS for p in "Xy"]):
        assert a.shape == b.shape and np.array_equal(a, b), f"{name} differs between two loads with seed 0"


@register_check("dataset")
def check_different_seed_different_split(subject: Subject) -> None:
    """A different seed gives a different split (unless the class sets ``randomized = False``);
    the number of examples stays the same."""
    first, second = _load(subject, 0), _load(subject, 1)
    for split in SPLITS:
        a, b = getattr(first, f"X_{split}"), getattr(second, f"X_{split}")
        assert a.shape == b.shape, f"X_{split} has shape {a.shape} with seed 0 but {b.shape} with seed 1"
    if getattr(subject.cls, "randomized", True):
        same = all(np.array_equal(a, b) for a, b in zip(_arrays(first), _arrays(second)))
        assert not same, "seeds 0 and 1 give identical data; use the seed, or declare randomized = False"
