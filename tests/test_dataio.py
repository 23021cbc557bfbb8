"""corenn.dataio: splits, data folders and verified downloads (against a server on 127.0.0.1)."""

import hashlib
import socket

import numpy as np
import pytest

import corenn
from corenn import dataio
from corenn.testing.dataset import serve_files

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


# -- splits ------------------------------------------------------------------------------------------

def test_split_indices_partition_the_rows_with_the_requested_share_held_out():
    y = np.repeat(np.arange(3), [50, 30, 20])
    kept, held = dataio.split_indices(y, 0.2, np.random.default_rng(0))
    assert len(held) == 20 and len(kept) == 80
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(100))
    assert np.bincount(y[held]).tolist() == [10, 6, 4]  # stratified: each class gives 20%


def test_stratified_rounding_hands_the_remainder_to_the_largest_fractions():
    y = np.repeat(np.arange(3), [5, 5, 4])  # 14 rows, 3 held: 1.07, 1.07, 0.86 -> floors 1, 1, 0
    kept, held = dataio.split_indices(y, 3 / 14, np.random.default_rng(0))
    assert len(held) == 3 and np.bincount(y[held], minlength=3).tolist() == [1, 1, 1]


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    y = np.arange(200) % 4
    split = lambda seed, **kw: dataio.split_indices(y, 0.25, np.random.default_rng(seed), **kw)
    for stratify in (True, False):
        a, b, c = split(1, stratify=stratify), split(1, stratify=stratify), split(2, stratify=stratify)
        assert all(np.array_equal(u, v) for u, v in zip(a, b))
        assert not np.array_equal(np.sort(a[1]), np.sort(c[1]))


def test_unstratified_split_and_zero_fraction():
    y = np.zeros(10, dtype=np.int64)
    kept, held = dataio.split_indices(y, 0.0, np.random.default_rng(0), stratify=False)
    assert len(held) == 0 and sorted(kept.tolist()) == list(range(10))
    kept, held = dataio.split_indices(y, 0.0, np.random.default_rng(0))
    assert len(held) == 0 and len(kept) == 10


def test_split_pool_and_split_train_build_data_from_arrays():
    rng = np.random.default_rng(0)
    X = np.arange(100, dtype=np.float32).reshape(50, 2)
    y = np.arange(50) % 2
    data = dataio.split_pool(X, y, ["a", "b"], test_fraction=0.2, val_fraction=0.25, rng=rng)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (30, 10, 10)
    rows = np.concatenate([data.X_train, data.X_val, data.X_test])
    assert sorted(rows[:, 0].tolist()) == X[:, 0].tolist()
    pixels = np.full((20, 3), 255, np.uint8)
    data = dataio.split_train(pixels, y[:20], pixels[:4], y[:4], ["a", "b"], val_fraction=0.1, rng=rng,
                              features=dataio.unit_pixels)
    assert data.X_train.dtype == np.float32 and data.X_train.max() == 1.0 and len(data.y_val) == 2
    np.testing.assert_array_equal(data.y_test, y[:4])  # the test part keeps its order


def test_unit_pixels_maps_bytes_to_the_unit_interval_exactly():
    x = dataio.unit_pixels(np.array([0, 51, 255], np.uint8))
    assert x.dtype == np.float32 and x.tolist() == [0.0, np.float32(0.2), 1.0]


# -- the dataset base --------------------------------------------------------------------------------

@corenn.component
class Counting(dataio.DatasetBase):
    """Toy dataset for testing the base class."""

    name = "counting"
    n: int = corenn.hyperparameter(20, doc="rows", check=corenn.validators.integer(4, None))

    def _load(self, rng):
        X = rng.standard_normal((self.n, 2)).astype(np.float32)
        return dataio.split_pool(X, np.arange(self.n) % 2, ["even", "odd"], test_fraction=0.25,
                                 val_fraction=0.0, rng=rng)


def test_load_takes_a_seed_or_a_generator_and_hyperparameter_overrides():
    ds = Counting()
    np.testing.assert_array_equal(ds.load(seed=3).X_train, ds.load(seed=3).X_train)
    np.testing.assert_array_equal(ds.load(seed=np.random.default_rng(3)).X_train, ds.load(seed=3).X_train)
    assert len(ds.load(seed=0, n=40).y_test) == 10 and ds.n == 20  # the override does not stick
    with pytest.raises(corenn.InvalidHyperparameter, match="did you mean 'n'"):
        ds.load(seed=0, nn=4)
    with pytest.raises(corenn.InvalidHyperparameter, match="n=2"):
        ds.load(seed=0, n=2)


def test_the_kit_checks_a_dataset(monkeypatch):
    from corenn.testing import ConformanceError, check_component

    check_component(Counting, "dataset")
    monkeypatch.setattr(Counting, "_load", lambda self, rng: dataio.split_pool(
        np.ones((8, 2)), np.arange(8) % 2, ["a", "b"], test_fraction=0.25, val_fraction=0.0,
        rng=np.random.default_rng(0)))
    with pytest.raises(ConformanceError, match="seeds 0 and 1 give identical data"):
        check_component(Counting, "dataset")
    monkeypatch.setattr(Counting, "randomized", False, raising=False)
    check_component(Counting, "dataset")


# -- folders -----------------------------------------------------------------------------------------

def test_data_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CORENN_DATA", str(tmp_path))
    assert dataio.data_home("mnist") == tmp_path / "mnist"
    monkeypatch.delenv("CORENN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert dataio.data_home() == tmp_path / "cache" / "corenn"


def test_locate_finds_alternatives_and_names_what_is_missing(tmp_path):
    (tmp_path / "a.gz").write_bytes(b"x")
    found = dataio.locate(tmp_path, {"a": ["a", "a.gz"]}, dataset="toy", hint="get it from X")
    assert found == {"a": tmp_path / "a.gz"}
    with pytest.raises(corenn.InvalidFile, match=r"toy: .* lacks b or b\.gz \(it holds a\.gz\); get it from X"):
        dataio.locate(tmp_path, {"a": ["a", "a.gz"], "b": ["b", "b.gz"]}, dataset="toy", hint="get it from X")
    with pytest.raises(corenn.InvalidFile, match="does not exist; get it from X"):
        dataio.locate(tmp_path / "nowhere", {"a": ["a"]}, dataset="toy", hint="get it from X")
    with pytest.raises(corenn.InvalidFile, match="is a file, not a folder"):
        dataio.locate(tmp_path / "a.gz", {"a": ["a"]}, dataset="toy", hint="get it from X")


def test_source_url_prefers_the_mirror_then_the_environment(monkeypatch):
    urls = {"f.gz": "https://official.example/data/f.gz"}
    assert dataio.source_url("f.gz", urls) == urls["f.gz"]
    monkeypatch.setenv("TOY_MIRROR", "http://env.example/base/")
    assert dataio.source_url("f.gz", urls, variable="TOY_MIRROR") == "http://env.example/base/f.gz"
    assert dataio.source_url("f.gz", urls, mirror="http://m.example", variable="TOY_MIRROR") == "http://m.example/f.gz"


# -- downloads ---------------------------------------------------------------------------------------

def test_a_verified_download_lands_atomically(tmp_path):
    with serve_files({"f.bin": PAYLOAD}) as served:
        path = dataio.download(f"{served.url}/f.bin", tmp_path / "sub" / "f.bin", sha256=DIGEST,
                               size=len(PAYLOAD), quiet=True)
    assert path.read_bytes() == PAYLOAD and dataio.sha256_file(path) == DIGEST
    assert _leftovers(tmp_path / "sub") == ["f.bin"]


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(tmp_path):
    with serve_files({"f.bin": PAYLOAD}) as served, \
            pytest.raises(corenn.InvalidFile, match=f"failed verification: SHA-256 {DIGEST} differs"):
        dataio.download(f"{served.url}/f.bin", tmp_path / "f.bin", sha256="0" * 64, quiet=True)
    assert _leftovers(tmp_path) == []


def test_a_short_file_is_refused_as_truncated(tmp_path):
    short = PAYLOAD[:5000]
    with serve_files({"f.bin": short}) as served, pytest.raises(corenn.InvalidFile, match="truncated"):
        dataio.download(f"{served.url}/f.bin", tmp_path / "f.bin", sha256=DIGEST, size=len(PAYLOAD), quiet=True)
    assert _leftovers(tmp_path) == []


def test_a_connection_that_closes_early_is_refused_as_truncated(tmp_path):
    with serve_files({"f.bin": PAYLOAD}, cut_short={"f.bin": 3000}) as served, \
            pytest.raises(corenn.InvalidFile, match="truncated"):
        dataio.download(f"{served.url}/f.bin", tmp_path / "f.bin", sha256=DIGEST, quiet=True)
    assert _leftovers(tmp_path) == []


def test_missing_files_and_unreachable_servers_are_clear_errors(tmp_path):
    with serve_files({}) as served, pytest.raises(corenn.InvalidFile, match="could not download .*404"):
        dataio.download(f"{served.url}/nope.bin", tmp_path / "f.bin", sha256=DIGEST, quiet=True)
    with socket.socket() as s:  # a port on 127.0.0.1 that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(corenn.InvalidFile, match="could not download"):
        dataio.download(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin", sha256=DIGEST, timeout=5, quiet=True)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("check, value", [(dataio.folder_or_none, 3), (dataio.folder_or_none, ""),
                                          (dataio.base_url_or_none, "ftp://x"), (dataio.base_url_or_none, 1)])
def test_path_and_mirror_validators(check, value):
    with pytest.raises(corenn.InvalidHyperparameter):
        check(Counting(), type("A", (), {"name": "field"}), value)
    check(Counting(), type("A", (), {"name": "field"}), None)
