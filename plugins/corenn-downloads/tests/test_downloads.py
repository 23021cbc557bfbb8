"""corenn-downloads: data folders and verified downloads (against a server on 127.0.0.1)."""

import hashlib
import socket

import pytest

import corenn
import corenn_downloads
from corenn.testing.dataset import serve_files

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


class Named:
    name = "toy"


# -- folders -----------------------------------------------------------------------------------------

def test_data_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CORENN_DATA", str(tmp_path))
    assert corenn_downloads.data_home("mnist") == tmp_path / "mnist"
    monkeypatch.delenv("CORENN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert corenn_downloads.data_home() == tmp_path / "cache" / "corenn"


def test_locate_finds_alternatives_and_names_what_is_missing(tmp_path):
    (tmp_path / "a.gz").write_bytes(b"x")
    found = corenn_downloads.locate(tmp_path, {"a": ["a", "a.gz"]}, dataset="toy", hint="get it from X")
    assert found == {"a": tmp_path / "a.gz"}
    with pytest.raises(corenn.InvalidFile, match=r"toy: .* lacks b or b\.gz \(it holds a\.gz\); get it from X"):
        corenn_downloads.locate(tmp_path, {"a": ["a", "a.gz"], "b": ["b", "b.gz"]}, dataset="toy", hint="get it from X")
    with pytest.raises(corenn.InvalidFile, match="does not exist; get it from X"):
        corenn_downloads.locate(tmp_path / "nowhere", {"a": ["a"]}, dataset="toy", hint="get it from X")
    with pytest.raises(corenn.InvalidFile, match="is a file, not a folder"):
        corenn_downloads.locate(tmp_path / "a.gz", {"a": ["a"]}, dataset="toy", hint="get it from X")


def test_source_url_prefers_the_mirror_then_the_environment(monkeypatch):
    urls = {"f.gz": "https://official.example/data/f.gz"}
    assert corenn_downloads.source_url("f.gz", urls) == urls["f.gz"]
    monkeypatch.setenv("TOY_MIRROR", "http://env.example/base/")
    assert corenn_downloads.source_url("f.gz", urls, variable="TOY_MIRROR") == "http://env.example/base/f.gz"
    assert corenn_downloads.source_url("f.gz", urls, mirror="http://m.example", variable="TOY_MIRROR") == "http://m.example/f.gz"


# -- downloads ---------------------------------------------------------------------------------------

def test_a_verified_download_lands_atomically(tmp_path):
    with serve_files({"f.bin": PAYLOAD}) as served:
        path = corenn_downloads.download(f"{served.url}/f.bin", tmp_path / "sub" / "f.bin", sha256=DIGEST,
                               size=len(PAYLOAD), quiet=True)
    assert path.read_bytes() == PAYLOAD and corenn_downloads.sha256_file(path) == DIGEST
    assert _leftovers(tmp_path / "sub") == ["f.bin"]


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(tmp_path):
    with serve_files({"f.bin": PAYLOAD}) as served, \
            pytest.raises(corenn.InvalidFile, match=f"failed verification: SHA-256 {DIGEST} differs"):
        corenn_downloads.download(f"{served.url}/f.bin", tmp_path / "f.bin", sha256="0" * 64, quiet=True)
    assert _leftovers(tmp_path) == []


def test_a_short_file_is_refused_as_truncated(tmp_path):
    short = PAYLOAD[:5000]
    with serve_files({"f.bin": short}) as served, pytest.raises(corenn.InvalidFile, match="truncated"):
        corenn_downloads.download(f"{served.url}/f.bin", tmp_path / "f.bin", sha256=DIGEST, size=len(PAYLOAD), quiet=True)
    assert _leftovers(tmp_path) == []


def test_a_connection_that_closes_early_is_refused_as_truncated(tmp_path):
    with serve_files({"f.bin": PAYLOAD}, cut_short={"f.bin": 3000}) as served, \
            pytest.raises(corenn.InvalidFile, match="truncated"):
        corenn_downloads.download(f"{served.url}/f.bin", tmp_path / "f.bin", sha256=DIGEST, quiet=True)
    assert _leftovers(tmp_path) == []


def test_missing_files_and_unreachable_servers_are_clear_errors(tmp_path):
    with serve_files({}) as served, pytest.raises(corenn.InvalidFile, match="could not download .*404"):
        corenn_downloads.download(f"{served.url}/nope.bin", tmp_path / "f.bin", sha256=DIGEST, quiet=True)
    with socket.socket() as s:  # a port on 127.0.0.1 that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(corenn.InvalidFile, match="could not download"):
        corenn_downloads.download(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin", sha256=DIGEST, timeout=5, quiet=True)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("check, value", [(corenn_downloads.folder_or_none, 3), (corenn_downloads.folder_or_none, ""),
                                          (corenn_downloads.base_url_or_none, "ftp://x"), (corenn_downloads.base_url_or_none, 1)])
def test_path_and_mirror_validators(check, value):
    with pytest.raises(corenn.InvalidHyperparameter):
        check(Named(), type("A", (), {"name": "field"}), value)
    check(Named(), type("A", (), {"name": "field"}), None)
