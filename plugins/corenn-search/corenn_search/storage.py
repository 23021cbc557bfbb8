"""Storage that loses nothing: a search in a SQLite file (WAL mode), one transaction per finished trial."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import corenn

from .space import Param, SearchError, Trial

FORMAT = "corenn-search"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (stage INTEGER PRIMARY KEY, space TEXT NOT NULL, epochs INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    stage INTEGER NOT NULL, idx INTEGER NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
    val_acc REAL, val_loss REAL, train_acc REAL, loss REAL, epochs INTEGER, seconds REAL,
    error TEXT, worker TEXT, session INTEGER, finished TEXT,
    PRIMARY KEY (stage, idx));
"""


def identity_hash(identity: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


class Storage:
    """A search in a SQLite file (WAL mode): its identity, each stage's ranges, each finished trial."""

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False):
        self.path = Path(path)
        try:
            if readonly:
                self.conn = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, timeout=30)
            else:
                self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=FULL")
                self.conn.executescript(_SCHEMA)
            self.meta()
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise corenn.InvalidFile(f"{str(self.path)!r} is not a corenn search storage file ({exc})") from exc

    @classmethod
    def open(cls, path: str | os.PathLike, identity: Mapping[str, Any], *, force_new: bool = False) -> Storage:
        """The storage at ``path`` for the search ``identity`` (new, or the same search to resume).
        A file of another search is refused unless ``force_new``, which discards it."""
        path = Path(path)
        if force_new:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        elif path.exists() and path.stat().st_size:
            stored = cls.peek(path)  # read-only: a foreign file is refused untouched
            if stored.get("format") != FORMAT:
                raise SearchError(f"{str(path)!r} is not a corenn search storage file; choose another --storage "
                                  "(or --force-new to overwrite it)")
            if stored.get("hash") != identity_hash(identity):
                raise SearchError(f"storage {str(path)!r} holds another search ({_difference(stored, identity)}); "
                                  "re-run with --force-new to discard it and start over, or choose another "
                                  "--storage or --out")
            return cls(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path)
        with store.transaction():
            store._set_meta({"format": FORMAT, "hash": identity_hash(identity), "identity": identity,
                             "created": _now()})
        return store

    @classmethod
    def peek(cls, path: str | os.PathLike) -> dict[str, Any]:
        """The meta table of the file at ``path``, read without writing anything to it ({} if it has none)."""
        try:
            conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30)
        except sqlite3.DatabaseError as exc:
            raise corenn.InvalidFile(f"{str(path)!r} is not a corenn search storage file ({exc})") from exc
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                return {}
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        except (sqlite3.DatabaseError, ValueError, TypeError) as exc:
            raise corenn.InvalidFile(f"{str(path)!r} is not a corenn search storage file ({exc})") from exc
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _set_meta(self, values: Mapping[str, Any]) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                              [(k, json.dumps(v, sort_keys=True, default=str)) for k, v in values.items()])

    def set_meta(self, **values: Any) -> None:
        with self.transaction():
            self._set_meta(values)

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def new_session(self) -> int:
        with self.transaction():
            session = int(self.meta().get("sessions", 0)) + 1
            self._set_meta({"sessions": session})
        return session

    def stage(self, stage: int) -> tuple[list[Param], int] | None:
        row = self.conn.execute("SELECT space, epochs FROM stages WHERE stage = ?", (stage,)).fetchone()
        return None if row is None else ([Param.from_dict(d) for d in json.loads(row[0])], int(row[1]))

    def stages(self) -> dict[int, tuple[list[Param], int]]:
        rows = self.conn.execute("SELECT stage, space, epochs FROM stages ORDER BY stage")
        return {int(s): ([Param.from_dict(d) for d in json.loads(space)], int(e)) for s, space, e in rows}

    def set_stage(self, stage: int, space: Sequence[Param], epochs: int) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO stages VALUES (?, ?, ?)",
                         (stage, json.dumps([p.to_dict() for p in space]), epochs))

    def add(self, trial: Trial) -> bool:
        """Store a finished trial in one transaction; False if that (stage, index) is already stored."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (trial.stage, trial.index, json.dumps(trial.params), trial.status, trial.val_acc, trial.val_loss,
                 trial.train_acc, trial.loss, trial.epochs, trial.seconds, trial.error, trial.worker,
                 trial.session, _now()))
        return cursor.rowcount == 1

    def trials(self, stage: int | None = None) -> list[Trial]:
        sql = ("SELECT stage, idx, params, status, val_acc, val_loss, train_acc, loss, epochs, seconds, error, "
               "worker, session FROM trials")
        rows = self.conn.execute(sql + (" WHERE stage = ?" if stage is not None else "") + " ORDER BY stage, idx",
                                 () if stage is None else (stage,))
        return [self._trial(row) for row in rows]

    def _trial(self, row: Sequence[Any]) -> Trial:
        """A stored row as a Trial, or an error naming the damaged row."""
        stage, index, params, status, *numbers, error, worker, session = row
        try:
            params = json.loads(params)
            if not isinstance(params, dict) or status not in ("ok", "failed"):
                raise ValueError("params must be a JSON object and status 'ok' or 'failed'")
            for value in (stage, index, session, numbers[-2]):
                if value is not None and not isinstance(value, int):
                    raise ValueError(f"{value!r} is not an integer")
            for value in numbers:
                if value is not None and not isinstance(value, (int, float)):
                    raise ValueError(f"{value!r} is not a number")
            return Trial(stage, index, params, status, *numbers, error, worker, session)
        except (ValueError, TypeError) as exc:
            raise corenn.InvalidFile(f"storage {str(self.path)!r} has a damaged trial row (stage {stage!r}, index "
                                     f"{index!r}: {exc}); delete that row, or start over with --force-new") from exc

    def close(self) -> None:
        self.conn.close()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _difference(stored: Mapping[str, Any], identity: Mapping[str, Any]) -> str:
    old = stored.get("identity") or {}
    changed = [k for k in identity if k != "config" and old.get(k) != json.loads(json.dumps(identity[k], default=str))]
    old_cfg, new_cfg = old.get("config") or {}, json.loads(json.dumps(identity.get("config", {}), default=str))
    changed += [f"config {k}" for k in sorted(set(old_cfg) | set(new_cfg)) if old_cfg.get(k) != new_cfg.get(k)]
    return "it differs in: " + ", ".join(changed) if changed else "it was made by another version"


# -- ranking, narrowing, edges, importance -------------------------------------------------------
