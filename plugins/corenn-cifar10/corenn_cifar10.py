"""CIFAR-10 for corenn: the binary version's batch files from a folder; optional verified download.

Only the binary version is read (fixed-size records of bytes); the Python version's
pickled batches are never opened.
"""

import zlib
from pathlib import Path

import numpy as np

import corenn
from corenn import dataio

import corenn_downloads

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
SUBFOLDER = "cifar-10-batches-bin"  # what the archive unpacks into
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE = (3, 32, 32)  # channels, rows, columns: each X row is one image flattened in this order
PIXELS = 3 * 32 * 32  # channel-major: 1024 red, 1024 green, 1024 blue, each row by row
RECORD = 1 + PIXELS
ARCHIVE = "cifar-10-binary.tar.gz"
# The official archive (https://www.cs.toronto.edu/~kriz/cifar.html). Its size and SHA-256 are
# from tensorflow/datasets, tensorflow_datasets/url_checksums/cifar10.txt.
URLS = {ARCHIVE: f"https://www.cs.toronto.edu/~kriz/{ARCHIVE}"}
SHA256 = {ARCHIVE: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}
SIZES = {ARCHIVE: 170052171}
HINT = (f"get the binary version ({ARCHIVE}) from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it "
        "into that folder, or load with download=True to fetch, verify and unpack it")


def read_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """A binary batch file's ``(pixels (N, 3072) uint8, labels (N,) int64)``, size and labels checked."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0 or size % RECORD:
        raise corenn.InvalidFile(
            f"cifar10: {str(path)!r} is not a CIFAR-10 binary batch: its {size} bytes are not a whole, non-zero "
            f"number of {RECORD}-byte records (1 label byte + {PIXELS} pixel bytes); it is truncated, or not "
            "the binary version")
    records = np.fromfile(path, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        first = int(np.argmax(labels > 9))
        raise corenn.InvalidFile(f"cifar10: {str(path)!r} is not a CIFAR-10 binary batch: record {first} has "
                                 f"label {int(labels[first])}, labels must be 0..9")
    return records[:, 1:], labels.astype(np.int64)


def write_batch(path, pixels, labels) -> Path:
    """Write ``pixels`` (N, 3072) and ``labels`` (N,) as a binary batch file."""
    labels = np.asarray(labels, dtype=np.uint8).reshape(-1, 1)
    pixels = np.asarray(pixels, dtype=np.uint8).reshape(len(labels), PIXELS)
    path = Path(path)
    path.write_bytes(np.hstack([labels, pixels]).tobytes())
    return path


def unpack(archive, folder) -> None:
    """Copy the six batch files out of the archive into ``folder``, each atomically.

    Only the expected member names are looked up, only regular files are read, and the
    destination names are ours: nothing in the archive can write anywhere else.
    """
    import tarfile  # imported on first use (about 15 ms): keeps `corenn list` fast

    folder = Path(folder)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in (*TRAIN_FILES, TEST_FILE):
                try:
                    member = tar.getmember(f"{SUBFOLDER}/{name}")
                except KeyError:
                    raise corenn.InvalidFile(f"cifar10: {str(archive)!r} lacks {SUBFOLDER}/{name}") from None
                if not member.isreg():
                    raise corenn.InvalidFile(f"cifar10: {str(archive)!r}: {member.name} is not a regular file")
                corenn_downloads.copy_atomic(tar.extractfile(member), folder / name)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise corenn.InvalidFile(f"cifar10: cannot unpack {str(archive)!r}: {exc}") from exc


@corenn.component
class Cifar10(corenn_downloads.FolderDataset):
    """CIFAR-10: 32x32 colour images of 10 classes, from the binary version's six batch files.

    X (N, 3072) float32, bytes / 255 in [0, 1], in the files' channel-major order (1024 red,
    then green, then blue, each row by row; ``X.reshape(-1, 3, 32, 32)`` gives the images, and
    ``Data.sample_shape`` is ``(3, 32, 32)``, so per-channel preprocessing works on them);
    y (N,) int64 in 0..9. The validation part is ``val_fraction`` of data_batch_1..5 (stratified,
    chosen by ``seed``), the test part is test_batch, in order. Files of any whole number of
    records load (subsets work). ``download=True`` fetches the official archive, verifies its
    SHA-256, and unpacks the batch files. Nothing is ever unpickled.
    """

    name = "cifar10"

    def _wanted(self) -> dict:
        return {name: [name, f"{SUBFOLDER}/{name}"] for name in (*TRAIN_FILES, TEST_FILE)}

    def fetch(self) -> None:
        """If any batch file is missing, download the archive (verified), unpack it, delete it."""
        if all(any((self.folder / n).is_file() for n in names) for names in self._wanted().values()):
            return
        url = self.source(ARCHIVE, URLS)
        archive = corenn_downloads.download(url, self.folder / ARCHIVE, sha256=SHA256[ARCHIVE],
                                            size=SIZES.get(ARCHIVE),
                                            what="cifar10")
        try:
            unpack(archive, self.folder)
        finally:
            archive.unlink(missing_ok=True)

    def read(self, rng):
        found = corenn_downloads.locate(self.folder, self._wanted(), dataset="cifar10", hint=HINT)
        batches = [read_batch(found[name]) for name in TRAIN_FILES]
        pixels = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[1] for b in batches])
        return dataio.split_train(pixels, labels, *read_batch(found[TEST_FILE]), CLASSES,
                                  val_fraction=self.val_fraction, rng=rng, features=dataio.unit_pixels,
                                  sample_shape=IMAGE)

    @classmethod
    def example_files(cls, folder) -> dict:
        """Write a tiny valid CIFAR-10 (8 records per training batch, 10 test records) into ``folder``;
        the kwargs to load it."""
        rng = np.random.default_rng(0)
        for i, name in enumerate((*TRAIN_FILES, TEST_FILE)):
            n = 10 if name == TEST_FILE else 8
            write_batch(Path(folder) / name, rng.integers(0, 256, (n, PIXELS)), (np.arange(n) + i) % 10)
        return {"path": str(folder)}


@corenn.hookimpl
def corenn_datasets():
    return [Cifar10]
