import hashlib
import io
import tarfile

import numpy as np
import pytest

import corenn
import corenn_cifar10
from corenn.testing import check_component
from corenn.testing.dataset import serve_files
from corenn_cifar10 import ARCHIVE, PIXELS, TEST_FILE, TRAIN_FILES, Cifar10, read_batch, write_batch

NAMES = (*TRAIN_FILES, TEST_FILE)


def _write_set(folder, counts=(6, 6, 6, 6, 6, 10)):
    """Small batch files in the real binary format; returns {name: (pixels, labels)}."""
    rng = np.random.default_rng(4)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in zip(NAMES, counts):
        pixels, labels = rng.integers(0, 256, (n, PIXELS)), rng.integers(0, 10, n)
        write_batch(folder / name, pixels, labels)
        out[name] = pixels, labels
    return out


def test_cifar10_passes_the_conformance_kit():
    check_component(Cifar10)


def test_records_become_channel_major_rows_over_255_and_the_test_batch_stays_in_order(tmp_path):
    batches = _write_set(tmp_path)
    data = corenn.create("dataset", {"name": "cifar10", "path": str(tmp_path)}).load(seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (27, 3, 10)
    assert data.classes[0] == "airplane" and data.classes[9] == "truck"
    pixels, labels = batches[TEST_FILE]
    np.testing.assert_array_equal(data.X_test, pixels.astype(np.float32) / 255)
    np.testing.assert_array_equal(data.y_test, labels)
    # the first 1024 bytes of a record are the red plane, row by row
    record = (tmp_path / TEST_FILE).read_bytes()[:1 + PIXELS]
    red = np.frombuffer(record[1:1025], np.uint8).reshape(32, 32)
    np.testing.assert_array_equal(np.round(data.X_test[0].reshape(3, 32, 32)[0] * 255), red)


def test_batches_of_any_whole_number_of_records_load(tmp_path):
    _write_set(tmp_path, counts=(1, 2, 3, 4, 5, 2))
    data = Cifar10(path=str(tmp_path), val_fraction=0.2).load(seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (12, 3, 2)


def test_the_unpacked_archive_folder_is_found_inside_the_folder(tmp_path):
    _write_set(tmp_path / "cifar-10-batches-bin")
    assert len(Cifar10(path=str(tmp_path)).load(seed=0).y_test) == 10


@pytest.mark.parametrize("content, message", [
    (bytes(3073 * 2 + 5), r"its 6151 bytes are not a whole, non-zero number of 3073-byte records"),
    (b"", "its 0 bytes are not a whole"),
    (bytes([3]) + bytes(3072) + bytes([10]) + bytes(3072), "record 1 has label 10, labels must be 0..9"),
    (b"\x80\x02" + bytes(3071), "record 0 has label 128"),  # what a pickled batch starts with
])
def test_files_that_are_not_binary_batches_are_refused_by_name(tmp_path, content, message):
    path = tmp_path / "data_batch_3.bin"
    path.write_bytes(content)
    with pytest.raises(corenn.InvalidFile, match=f"cifar10: .*data_batch_3.bin.* is not a CIFAR-10 binary batch.*{message}"):
        read_batch(path)


def test_a_missing_folder_or_batch_says_where_to_get_the_binary_version(tmp_path):
    with pytest.raises(corenn.InvalidFile, match="does not exist; get the binary version .*download=True"):
        Cifar10(path=str(tmp_path / "nowhere")).load()
    _write_set(tmp_path)
    (tmp_path / "data_batch_4.bin").unlink()
    (tmp_path / "data_batch_4").write_bytes(b"\x80\x04pickled")  # the Python version is never read
    with pytest.raises(corenn.InvalidFile, match=r"lacks data_batch_4.bin or cifar-10-batches-bin/data_batch_4.bin"):
        Cifar10(path=str(tmp_path)).load()


# -- download, against a server on 127.0.0.1 ---------------------------------------------------------

def _tarball(source, extra=()):
    """The archive's real layout (cifar-10-batches-bin/...), plus ``extra`` hostile members."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-bin", recursive=False)
        for name in NAMES:
            tar.add(source / name, arcname=f"cifar-10-batches-bin/{name}")
        meta = b"airplane\nautomobile\n"
        info = tarfile.TarInfo("cifar-10-batches-bin/batches.meta.txt")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
        for member in extra:
            tar.addfile(member, io.BytesIO(b"evil" * (member.size // 4)) if member.size else None)
    return buffer.getvalue()


def _member(name, *, link=None):
    info = tarfile.TarInfo(name)
    if link:
        info.type, info.linkname = tarfile.SYMTYPE, link
    else:
        info.size = 8
    return info


@pytest.fixture
def serve_archive(tmp_path, monkeypatch):
    """Serve a small archive as if it were the official one (its checksum and size patched in)."""
    def serve(archive, *, served_bytes=None):
        monkeypatch.setattr(corenn_cifar10, "SHA256", {ARCHIVE: hashlib.sha256(archive).hexdigest()})
        monkeypatch.setattr(corenn_cifar10, "SIZES", {ARCHIVE: len(archive)})
        return serve_files({ARCHIVE: archive if served_bytes is None else served_bytes})

    monkeypatch.delenv("CORENN_CIFAR10_MIRROR", raising=False)
    return serve


def test_download_verifies_the_archive_and_unpacks_only_the_batch_files(tmp_path, monkeypatch, serve_archive):
    batches = _write_set(tmp_path / "source")
    hostile = [_member("../escaped.bin"), _member("/tmp/absolute.bin"), _member("cifar-10-batches-bin/link", link="/etc/passwd")]
    folder = tmp_path / "data"
    with serve_archive(_tarball(tmp_path / "source", hostile)) as served:
        monkeypatch.setattr(corenn_cifar10, "URLS", {ARCHIVE: f"{served.url}/{ARCHIVE}"})
        data = Cifar10(path=str(folder), download=True).load(seed=0)
        Cifar10(path=str(folder), download=True).load(seed=0)  # all there: nothing more is fetched
        assert served.requests == [ARCHIVE]
    assert sorted(p.name for p in folder.iterdir()) == sorted(NAMES)  # no archive, no extras
    assert not (tmp_path / "escaped.bin").exists()
    np.testing.assert_array_equal(data.y_test, batches[TEST_FILE][1])


def test_an_archive_whose_batch_is_a_link_is_refused(tmp_path, serve_archive):
    source = tmp_path / "source"
    _write_set(source)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in NAMES:
            if name == TEST_FILE:
                tar.addfile(_member(f"cifar-10-batches-bin/{name}", link="/etc/passwd"))
            else:
                tar.add(source / name, arcname=f"cifar-10-batches-bin/{name}")
    with serve_archive(buffer.getvalue()) as served, pytest.raises(corenn.InvalidFile, match="not a regular file"):
        Cifar10(path=str(tmp_path / "data"), download=True, mirror=served.url).load()
    assert ARCHIVE not in [p.name for p in (tmp_path / "data").iterdir()]


def test_a_download_with_the_wrong_checksum_leaves_nothing(tmp_path, monkeypatch, serve_archive):
    _write_set(tmp_path / "source")
    with serve_archive(_tarball(tmp_path / "source")) as served:
        monkeypatch.setattr(corenn_cifar10, "SHA256", {ARCHIVE: "00" * 32})
        with pytest.raises(corenn.InvalidFile, match="failed verification: SHA-256 .* differs from the official"):
            Cifar10(path=str(tmp_path / "data"), download=True, mirror=served.url).load()
    assert list((tmp_path / "data").iterdir()) == []


def test_a_truncated_download_leaves_nothing(tmp_path, monkeypatch, serve_archive):
    _write_set(tmp_path / "source")
    archive = _tarball(tmp_path / "source")
    with serve_archive(archive, served_bytes=archive[:1000]) as served:
        monkeypatch.setenv("CORENN_CIFAR10_MIRROR", served.url)
        with pytest.raises(corenn.InvalidFile, match="truncated"):
            Cifar10(path=str(tmp_path / "data"), download=True).load()
        assert served.requests == [ARCHIVE]
    assert list((tmp_path / "data").iterdir()) == []


def test_the_checksum_is_the_official_one():
    assert corenn_cifar10.URLS[ARCHIVE] == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    assert corenn_cifar10.SHA256[ARCHIVE] == "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
    assert corenn_cifar10.SIZES[ARCHIVE] == 170052171


def test_cifar10_declares_its_rows_as_3x32x32_images(tmp_path):
    _write_set(tmp_path)
    data = Cifar10(path=str(tmp_path)).load(seed=0)
    assert data.X_train.shape[1:] == (PIXELS,) and data.sample_shape == (3, 32, 32)


def test_a_run_subtracts_the_per_channel_mean_of_its_training_images_and_evaluate_and_predict_do_too(
        tmp_path, capsys):
    import json

    from corenn.cli import main
    from corenn.run import open_run, predict

    _write_set(tmp_path / "cifar", counts=(12, 12, 12, 12, 12, 20))
    spec = f"cifar10:path={tmp_path / 'cifar'}"
    run = tmp_path / "run"
    assert main(["train", "--dataset", spec, "--preprocess", "mean_subtraction:axis=channel", "--hidden", "8",
                 "--epochs", "2", "--no-progress", "--no-default-callbacks", "--out", str(run)]) == 0
    _, model, fitted, _ = open_run(run)
    data = Cifar10(path=str(tmp_path / "cifar")).load(seed=0)
    images = data.X_train.reshape(-1, 3, 32, 32).astype(np.float64)
    np.testing.assert_allclose(fitted[0].stat("mean"), images.mean(axis=(0, 2, 3)), rtol=1e-12)
    assert model.in_features == PIXELS  # the model sees rows
    centered = (data.X_test.reshape(-1, 3, 32, 32) - images.mean(axis=(0, 2, 3)).reshape(3, 1, 1)).reshape(-1, PIXELS)
    scores = model.forward(centered.astype(np.float32), training=False)
    np.testing.assert_array_equal(predict(run, data.X_test), scores.argmax(axis=1))
    expected = float(np.mean(scores.argmax(axis=1) == data.y_test))
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(expected)
    np.save(tmp_path / "x.npy", data.X_test)
    assert main(["predict", str(run), str(tmp_path / "x.npy"), "--out", str(tmp_path / "labels.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), scores.argmax(axis=1))
