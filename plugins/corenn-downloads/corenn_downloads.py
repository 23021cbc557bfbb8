"""Verified downloads and data folders, shared by the dataset plugins that read files.

A helper distribution: it registers no component (no entry point); corenn-mnist
and corenn-cifar10 depend on it. :class:`FolderDataset` is the base of a dataset
read from files in a folder that can be downloaded: the hyperparameters
``path``, ``val_fraction``, ``download`` and ``mirror``.

Downloads (:func:`download`) go to a temporary file beside the destination,
are checked against the expected size and SHA-256, and only then renamed into
place: a wrong checksum, a truncated transfer or a network error leaves
nothing behind but a clear :class:`corenn.InvalidFile`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import corenn
from corenn import InvalidFile, InvalidHyperparameter, validators
from corenn.dataio import DatasetBase
from corenn.files import atomic_write

__all__ = ["FolderDataset", "data_home", "locate", "sha256_file", "copy_atomic", "source_url", "download",
           "folder_or_none", "base_url_or_none", "DATA_HOME_VARIABLE"]

#: environment variable naming the folder where datasets are kept by default
DATA_HOME_VARIABLE = "CORENN_DATA"
CHUNK = 1 << 20


def _name(component: Any) -> str:
    return getattr(component, "name", None) or type(component).__name__


# -- folders ----------------------------------------------------------------------------------------

def folder_or_none(instance: Any, attribute: Any, value: Any) -> None:
    """Validator: None (the default folder) or a folder path (str or PathLike), checked when loading."""
    if value is not None and not (isinstance(value, (str, os.PathLike)) and str(value)):
        raise InvalidHyperparameter(_name(instance), attribute.name, value,
                                    "must be a folder path (a string), or None for the default folder")


def base_url_or_none(instance: Any, attribute: Any, value: Any) -> None:
    """Validator: None or an http(s):// or file:// base URL."""
    if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://", "file://"))):
        raise InvalidHyperparameter(_name(instance), attribute.name, value,
                                    "must be a base URL starting with http://, https:// or file://, or None")


@corenn.component
class FolderDataset(DatasetBase):
    """Base for datasets read from files in a folder that can be downloaded: the
    hyperparameters ``path``, ``val_fraction``, ``download`` and ``mirror``.

    Subclasses set ``name`` and write ``fetch()`` (download what the folder lacks) and
    ``read(rng)`` (the files as Data). The environment variable ``CORENN_<NAME>_MIRROR``
    may hold a base URL to download from.
    """

    path: str | None = corenn.hyperparameter(None, doc="folder holding the data files (None: $CORENN_DATA/<name>, "
                                                       "else ~/.cache/corenn/<name>)", check=folder_or_none)
    val_fraction: float = corenn.hyperparameter(0.1, doc="share of the training files held out for validation",
                                                check=validators.unit_interval_open_right)
    download: bool = corenn.hyperparameter(False, doc="fetch missing files, verified by their official SHA-256",
                                           check=validators.one_of(False, True))
    mirror: str | None = corenn.hyperparameter(None, doc="base URL to download from (else $CORENN_<NAME>_MIRROR, "
                                                         "else the official URL)", check=base_url_or_none)

    @property
    def folder(self) -> Path:
        """The folder the files are read from (and downloaded to)."""
        return Path(self.path).expanduser() if self.path is not None else data_home(self.name)

    @property
    def mirror_variable(self) -> str:
        """The environment variable that may hold a base URL: ``CORENN_<NAME>_MIRROR``."""
        return f"CORENN_{self.name.upper()}_MIRROR"

    def source(self, filename: str, urls: Mapping[str, str]) -> str:
        """The URL to download ``filename`` from (see :func:`source_url`)."""
        return source_url(filename, urls, mirror=self.mirror, variable=self.mirror_variable)

    def _load(self, rng: np.random.Generator) -> corenn.Data:
        if self.download:
            self.fetch()
        return self.read(rng)

    def fetch(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, rng: np.random.Generator) -> corenn.Data:  # pragma: no cover - abstract
        raise NotImplementedError


def data_home(name: str | None = None) -> Path:
    """Where datasets live when no folder is given: ``$CORENN_DATA``, else
    ``$XDG_CACHE_HOME/corenn``, else ``~/.cache/corenn`` (then ``/name``)."""
    root = os.environ.get(DATA_HOME_VARIABLE)
    if root:
        base = Path(root).expanduser()
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corenn"
    return base / name if name else base


def locate(folder: str | os.PathLike, wanted: Mapping[str, Sequence[str]], *, dataset: str,
           hint: str) -> dict[str, Path]:
    """For each key of ``wanted``, the first of its file names present in ``folder``.

    A missing folder, or missing files, raise :class:`InvalidFile` naming them
    and ending with ``hint`` (where to get the data).
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise InvalidFile(f"{dataset}: data folder {str(folder)!r} does not exist; {hint}")
    if not folder.is_dir():
        raise InvalidFile(f"{dataset}: {str(folder)!r} is a file, not a folder holding the data files; {hint}")
    found, missing = {}, []
    for key, names in wanted.items():
        path = next((folder / n for n in names if (folder / n).is_file()), None)
        if path is None:
            missing.append(" or ".join(names))
        else:
            found[key] = path
    if missing:
        present = sorted(p.name for p in folder.iterdir())
        holds = (f"it holds {', '.join(present[:8])}" + (f" and {len(present) - 8} more" if len(present) > 8 else "")
                 if present else "it is empty")
        raise InvalidFile(f"{dataset}: {str(folder)!r} lacks {'; '.join(missing)} ({holds}); {hint}")
    return found


# -- downloads --------------------------------------------------------------------------------------

def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, as 64 lower-case hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def copy_atomic(source: Any, dest: str | os.PathLike) -> Path:
    """Copy the readable binary file object ``source`` to ``dest`` atomically (temporary file, fsync, rename)."""
    def copy(target) -> None:
        while chunk := source.read(CHUNK):
            target.write(chunk)

    return atomic_write(dest, copy)


def source_url(filename: str, urls: Mapping[str, str], *, mirror: str | None = None,
               variable: str | None = None) -> str:
    """The URL to fetch ``filename`` from: ``mirror`` (a base URL) if given, else
    the base URL in the environment variable ``variable`` if set, else ``urls[filename]``."""
    base = mirror or (os.environ.get(variable) if variable else None)
    if base:
        return f"{base.rstrip('/')}/{filename}"
    return urls[filename]


def download(url: str, dest: str | os.PathLike, *, sha256: str, size: int | None = None,
             timeout: float = 60.0, what: str = "download", quiet: bool = False) -> Path:
    """Fetch ``url`` into ``dest``, verified: the bytes go to a temporary file beside
    ``dest``; only when their length (``size``, and the server's Content-Length)
    and SHA-256 match is it renamed to ``dest``. Otherwise nothing is left and
    :class:`InvalidFile` says what went wrong."""
    dest = Path(dest)
    expected = sha256.lower()
    if not quiet:
        mb = f" ({size / 1e6:.1f} MB)" if size else ""
        print(f"corenn: downloading {url}{mb} to {dest}", file=sys.stderr)

    import http.client  # only now: every 'corenn list' imports this module
    import urllib.error
    import urllib.request

    def fetch(f) -> None:
        digest, got = hashlib.sha256(), 0
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                announced = response.headers.get("Content-Length")
                while chunk := response.read(CHUNK):
                    digest.update(chunk)
                    f.write(chunk)
                    got += len(chunk)
        except http.client.IncompleteRead as exc:
            raise InvalidFile(f"{what}: {url} was truncated (the connection closed after "
                              f"{got + len(exc.partial)} bytes); nothing was kept, try again") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = exc if isinstance(exc, urllib.error.HTTPError) else getattr(exc, "reason", None) or exc
            raise InvalidFile(f"{what}: could not download {url}: {reason}; check the network or use a "
                              "mirror, or put the files in the folder by hand") from exc
        for promised, source in ((announced, "the server's Content-Length"), (size, "the official file")):
            if promised is not None and int(promised) != got:
                raise InvalidFile(f"{what}: {url} gave {got} bytes but {source} has {int(promised)}; the "
                                  "transfer was truncated or the file is not the official one; nothing was kept")
        actual = digest.hexdigest()
        if actual != expected:
            raise InvalidFile(f"{what}: {url} failed verification: SHA-256 {actual} differs from the official "
                              f"{expected}; the file is corrupt or not the official one; nothing was kept")

    dest.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(dest, fetch)
