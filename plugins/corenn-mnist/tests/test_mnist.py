import gzip
import hashlib
import struct

import numpy as np
import pytest

import corenn
import corenn_mnist
from corenn.testing import check_component
from corenn.testing.dataset import serve_files
from corenn_mnist import FILES, Mnist, read_idx, write_idx


def _write_set(folder, n_train=40, n_test=10, gz=()):
    """A small MNIST in the real format; names in ``gz`` are written gzipped. Returns the arrays."""
    rng = np.random.default_rng(1)
    arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28)), "train_labels": np.arange(n_train) % 10,
              "test_images": rng.integers(0, 256, (n_test, 28, 28)), "test_labels": (np.arange(n_test) * 3) % 10}
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in FILES.items():
        write_idx(folder / (f"{name}.gz" if key in gz else name), arrays[key])
    return arrays


def test_mnist_passes_the_conformance_kit():
    check_component(Mnist)


def test_images_become_rows_of_784_pixels_over_255_and_the_test_files_stay_in_order(tmp_path):
    arrays = _write_set(tmp_path)
    data = corenn.create("dataset", {"name": "mnist", "path": str(tmp_path)}).load(seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (36, 4, 10)
    assert data.X_train.shape[1] == 784 and data.classes == tuple("0123456789")
    np.testing.assert_array_equal(data.X_test, arrays["test_images"].reshape(10, 784).astype(np.float32) / 255)
    np.testing.assert_array_equal(data.y_test, arrays["test_labels"])
    # the training files are split, not changed: every (image, label) pair is still there
    pairs = lambda X, y: sorted((int(l), np.round(x * 255).astype(np.uint8).tobytes()) for x, l in zip(X, y))
    assert pairs(np.concatenate([data.X_train, data.X_val]), np.concatenate([data.y_train, data.y_val])) == \
        pairs(arrays["train_images"].reshape(40, 784) / 255, arrays["train_labels"])


def test_gzip_and_raw_files_load_alike(tmp_path):
    _write_set(tmp_path / "raw")
    _write_set(tmp_path / "gz", gz=set(FILES))
    _write_set(tmp_path / "mixed", gz={"train_images", "test_labels"})
    loads = [Mnist(path=str(tmp_path / k)).load(seed=2) for k in ("raw", "gz", "mixed")]
    assert (tmp_path / "gz" / "train-images-idx3-ubyte.gz").read_bytes()[:2] == b"\x1f\x8b"
    for other in loads[1:]:
        np.testing.assert_array_equal(other.X_train, loads[0].X_train)
        np.testing.assert_array_equal(other.y_val, loads[0].y_val)


def test_any_record_count_that_matches_the_headers_loads(tmp_path):
    _write_set(tmp_path, n_train=7, n_test=3)
    data = Mnist(path=str(tmp_path)).load(seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (6, 1, 3)


def _idx(magic, dims, payload=b""):
    return struct.pack(f">{1 + len(dims)}I", magic, *dims) + payload


@pytest.mark.parametrize("content, images, message", [
    (_idx(2049, [3], bytes(3)), True, "magic number 2049, expected 2051; it looks like a label file"),
    (_idx(2051, [1, 28, 28], bytes(784)), False, "magic number 2051, expected 2049; it looks like an image file"),
    (_idx(1234, [1, 28, 28], bytes(784)), True, "magic number 1234, expected 2051"),
    (_idx(2051, [2, 32, 32], bytes(2048)), True, "images of 32x32 pixels, MNIST's are 28x28"),
    (_idx(2051, [3, 28, 28], bytes(2 * 784)), True, r"promises 3 records .* \(truncated\)"),
    (_idx(2049, [3], bytes(4)), False, "longer than its header says"),
    (_idx(2049, [3], bytes([1, 10, 2])), False, "label 10 found; labels must be digits 0..9"),
    (_idx(2049, [0]), False, "holds no records"),
    (b"\x00\x00\x08\x01\x00", False, "only 5 bytes, shorter than the 8-byte header"),
    (b"\x00\x00", True, "only 2 bytes, not even a magic number"),
])
def test_files_that_are_not_what_they_claim_are_refused_by_name(tmp_path, content, images, message):
    path = tmp_path / "some-file"
    path.write_bytes(content)
    with pytest.raises(corenn.InvalidFile, match=f"mnist: .*some-file.* is not a valid IDX .*{message}"):
        read_idx(path, images=images)


def test_a_damaged_gzip_file_is_refused(tmp_path):
    good = gzip.compress(_idx(2049, [1000], bytes(1000)))
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(corenn.InvalidFile, match="damaged or truncated gzip"):
        read_idx(path, images=False)


def test_images_and_labels_must_agree_in_number(tmp_path):
    _write_set(tmp_path)
    write_idx(tmp_path / FILES["train_labels"], np.arange(39) % 10)
    with pytest.raises(corenn.InvalidFile, match="holds 40 images but train-labels-idx1-ubyte holds 39 labels"):
        Mnist(path=str(tmp_path)).load()


def test_a_missing_folder_or_file_says_where_to_get_the_data(tmp_path):
    with pytest.raises(corenn.InvalidFile, match="does not exist; get train-images.*download=True"):
        Mnist(path=str(tmp_path / "nowhere")).load()
    _write_set(tmp_path)
    (tmp_path / FILES["test_labels"]).unlink()
    with pytest.raises(corenn.InvalidFile, match=r"lacks t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz or t10k-labels.idx1-ubyte.* \(it holds .*\); .*yann"):
        Mnist(path=str(tmp_path)).load()


def test_the_default_folder_is_under_corenn_data(monkeypatch, tmp_path):
    monkeypatch.setenv("CORENN_DATA", str(tmp_path))
    _write_set(tmp_path / "mnist")
    assert len(Mnist().load(seed=0).y_test) == 10


# -- download, against a server on 127.0.0.1 ---------------------------------------------------------

@pytest.fixture
def official(tmp_path, monkeypatch):
    """Serve a small MNIST in the real (gzip) format and make it the 'official' one, checksums included."""
    source = tmp_path / "source"
    _write_set(source, gz=set(FILES))
    files = {f"{n}.gz": (source / f"{n}.gz").read_bytes() for n in FILES.values()}
    monkeypatch.setattr(corenn_mnist, "SHA256", {k: hashlib.sha256(v).hexdigest() for k, v in files.items()})
    monkeypatch.setattr(corenn_mnist, "SIZES", {k: len(v) for k, v in files.items()})
    monkeypatch.delenv("CORENN_MNIST_MIRROR", raising=False)
    return files


def test_download_fetches_verifies_and_then_loads(tmp_path, monkeypatch, official):
    folder = tmp_path / "data"
    with serve_files(official) as served:
        monkeypatch.setattr(corenn_mnist, "URLS", {k: f"{served.url}/{k}" for k in official})
        data = Mnist(path=str(folder), download=True).load(seed=0)
        assert sorted(served.requests) == sorted(official)
        Mnist(path=str(folder), download=True).load(seed=0)  # all there: nothing more is fetched
        assert len(served.requests) == 4
    assert sorted(p.name for p in folder.iterdir()) == sorted(official)
    assert len(data.y_test) == 10 and len(data.y_train) == 36


def test_only_missing_files_are_fetched_from_the_mirror(tmp_path, official, monkeypatch):
    folder = tmp_path / "data"
    _write_set(folder)
    for key in ("test_images", "test_labels"):
        (folder / FILES[key]).unlink()
    monkeypatch.setattr(corenn_mnist, "URLS", {k: "http://127.0.0.1:9/unused" for k in official})
    with serve_files(official) as served:
        Mnist(path=str(folder), download=True, mirror=served.url + "/").load()
        assert sorted(served.requests) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
        (folder / "t10k-images-idx3-ubyte.gz").unlink()
        monkeypatch.setenv("CORENN_MNIST_MIRROR", served.url)
        Mnist(path=str(folder), download=True).load()
        assert served.requests[-1] == "t10k-images-idx3-ubyte.gz"


def test_a_download_with_the_wrong_checksum_is_refused_and_not_kept(tmp_path, official, monkeypatch):
    folder = tmp_path / "data"
    bad = dict(corenn_mnist.SHA256, **{"train-labels-idx1-ubyte.gz": "ab" * 32})
    monkeypatch.setattr(corenn_mnist, "SHA256", bad)
    with serve_files(official) as served, pytest.raises(corenn.InvalidFile, match="failed verification"):
        Mnist(path=str(folder), download=True, mirror=served.url).load()
    assert "train-labels-idx1-ubyte.gz" not in [p.name for p in folder.iterdir()]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_truncated_download_is_refused_and_not_kept(tmp_path, official):
    folder = tmp_path / "data"
    short = dict(official, **{"t10k-images-idx3-ubyte.gz": official["t10k-images-idx3-ubyte.gz"][:100]})
    with serve_files(short) as served, pytest.raises(corenn.InvalidFile, match="truncated"):
        Mnist(path=str(folder), download=True, mirror=served.url).load()
    assert "t10k-images-idx3-ubyte.gz" not in [p.name for p in folder.iterdir()]


def test_the_checksums_are_the_official_ones():
    assert set(corenn_mnist.SHA256) == set(corenn_mnist.URLS) == {f"{n}.gz" for n in FILES.values()}
    assert corenn_mnist.SHA256["train-images-idx3-ubyte.gz"].startswith("440fcabf73cc546f")
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in corenn_mnist.SHA256.values())


def _write_dotted_set(folder, gz=()):
    """The same tiny set under the dotted names (train-images.idx3-ubyte), as Kaggle distributes MNIST."""
    arrays = _write_set(folder, gz=gz)
    for key, name in FILES.items():
        plain = folder / (f"{name}.gz" if key in gz else name)
        plain.rename(folder / plain.name.replace("-idx", ".idx"))
    return arrays


@pytest.mark.parametrize("gz", [(), ("train_images", "test_labels")])
def test_the_dotted_file_names_load_like_the_official_ones(tmp_path, gz):
    arrays = _write_dotted_set(tmp_path, gz=gz)
    assert (tmp_path / "t10k-labels.idx1-ubyte" if not gz else tmp_path / "t10k-labels.idx1-ubyte.gz").is_file()
    data = corenn.create("dataset", {"name": "mnist", "path": str(tmp_path)}).load(seed=0)
    np.testing.assert_array_equal(data.y_test, arrays["test_labels"])


def test_a_folder_without_the_files_is_refused_naming_what_it_holds(tmp_path):
    (tmp_path / "train.csv").write_text("label,pixel0\n")
    (tmp_path / "test.csv").write_text("pixel0\n")
    with pytest.raises(corenn.InvalidFile, match=r"\(it holds test\.csv, train\.csv\)"):
        corenn.create("dataset", {"name": "mnist", "path": str(tmp_path)}).load(seed=0)


def test_corenn_train_takes_an_unquoted_folder_with_dotted_names(tmp_path, capsys):
    from corenn.cli import main

    _write_dotted_set(tmp_path / "mnist data")
    folder = tmp_path / "mnist data"
    code = main(["train", "--dataset", f"mnist:path={folder},download=false", "--epochs", "1", "--hidden", "8",
                 "--no-default-callbacks", "--no-progress", "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (tmp_path / "run" / "model.npz").is_file()
