"""A search under faults: workers whose parent is killed, a foreign storage file, a damaged row."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corenn.cli import main

import corenn
import corenn_search as cs
from corenn_search.space import Trial
from corenn_search.storage import Storage

CLI = ["--dataset", "digits", "--hidden", "16", "--no-progress", "-p", "optimizer.lr=log:1e-4..1e-1"]


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_search_workers_exit_when_the_search_is_killed(tmp_path):
    code = "import sys; from corenn.cli import main; main()"
    process = subprocess.Popen([sys.executable, "-c", code, "search", *CLI, "--epochs", "50", "--trials", "8",
                                "--workers", "2", "--out", str(tmp_path / "s")], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(workers := children(process.pid)) < 3 and time.monotonic() < deadline:  # 2 workers + tracker
            time.sleep(0.05)
        assert len(workers) >= 3, "the workers did not start"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 10
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(p) for p in workers), "orphaned workers 10 s after the search was killed"
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path, capsys):
    foreign = tmp_path / "contacts.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE people (name TEXT, phone TEXT)")
        conn.execute("INSERT INTO people VALUES ('Ada', '123')")
    conn.close()
    before = foreign.read_bytes()
    assert main(["search", *CLI, "--epochs", "1", "--trials", "2", "--workers", "0", "--storage", str(foreign),
                 "--out", str(tmp_path / "s")]) == 2
    assert "not a corenn search storage file" in capsys.readouterr().err
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contacts.db"]  # no -wal, -shm, nor a search folder


def test_show_of_a_storage_with_a_damaged_row_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "search.sqlite"
    store = Storage.open(path, {"what": "test"})
    store.add(Trial(0, 0, {"optimizer.lr": 0.01}, "ok", 0.9, 0.3, 0.95, 0.2, 1, 0.5))
    store.add(Trial(0, 1, {"optimizer.lr": 0.02}, "ok", 0.8, 0.4, 0.85, 0.3, 1, 0.5))
    store.conn.execute("UPDATE trials SET val_acc = 'lots', params = '{broken' WHERE idx = 1")
    store.close()
    with pytest.raises(corenn.InvalidFile, match=r"damaged trial row \(stage 0, index 1"):
        cs.show(path)
    assert main(["search", "--show", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "damaged trial row" in err and len(err.splitlines()) == 1
