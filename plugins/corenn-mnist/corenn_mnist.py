"""MNIST for corenn: the four IDX files from a folder, gzip or not; optional verified download."""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

import corenn
from corenn import dataio

import corenn_downloads

#: the four files, by role; each may also be present gzipped (name + ".gz") or with the dotted
#: names that Kaggle and several packages use (``train-images.idx3-ubyte``), see :func:`file_names`
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# The official home, http://yann.lecun.com/exdb/mnist/, often refuses downloads; these URLs are the
# byte-identical copy that TensorFlow Datasets downloads. Sizes and SHA-256 are from
# tensorflow/datasets, tensorflow_datasets/url_checksums/mnist.txt.
BASE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
URLS = {f"{name}.gz": f"{BASE_URL}{name}.gz" for name in FILES.values()}
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
SIZES = {
    "train-images-idx3-ubyte.gz": 9912422,
    "train-labels-idx1-ubyte.gz": 28881,
    "t10k-images-idx3-ubyte.gz": 1648877,
    "t10k-labels-idx1-ubyte.gz": 4542,
}
HINT = ("get train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte "
        "(.gz or not; the dotted names such as train-images.idx3-ubyte also work) from http://yann.lecun.com/exdb/mnist/ or a mirror into that folder, or load with "
        "download=True to fetch and verify them")


def file_names(name: str) -> list[str]:
    """The names a file may have in the folder, in order of preference:
    ``train-images-idx3-ubyte``, its ``.gz``, ``train-images.idx3-ubyte``, its ``.gz``."""
    dotted = name.replace("-idx", ".idx")
    return [name, f"{name}.gz", dotted, f"{dotted}.gz"]


IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # IDX: 0x08 (unsigned byte) then the number of dimensions
SIDE = 28


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":  # not gzip: the raw IDX file
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise corenn.InvalidFile(f"mnist: {str(path)!r} is a damaged or truncated gzip file ({exc}); "
                                 "fetch it again") from exc


def read_idx(path, *, images: bool) -> np.ndarray:
    """An IDX file's records as uint8: images (N, 28, 28) or labels (N,), every header field checked."""
    path = Path(path)
    data = _read_bytes(path)
    what = "image" if images else "label"
    magic, dims = (IMAGES_MAGIC, 3) if images else (LABELS_MAGIC, 1)
    header = 4 + 4 * dims

    def bad(problem: str) -> corenn.InvalidFile:
        return corenn.InvalidFile(f"mnist: {str(path)!r} is not a valid IDX {what} file: {problem}")

    if len(data) < 4:
        raise bad(f"only {len(data)} bytes, not even a magic number")
    found = struct.unpack(">I", data[:4])[0]
    if found != magic:
        looks = {LABELS_MAGIC: "; it looks like a label file", IMAGES_MAGIC: "; it looks like an image file"}
        raise bad(f"magic number {found}, expected {magic}{looks.get(found, '')}")
    if len(data) < header:
        raise bad(f"only {len(data)} bytes, shorter than the {header}-byte header")
    shape = struct.unpack(f">{dims}I", data[4:header])
    if images and tuple(shape[1:]) != (SIDE, SIDE):
        raise bad(f"images of {shape[1]}x{shape[2]} pixels, MNIST's are {SIDE}x{SIDE}")
    if shape[0] == 0:
        raise bad("the header says it holds no records")
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise bad(f"the header promises {shape[0]} records ({expected} bytes) but it has {len(data)} bytes ({state})")
    records = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
    if not images and records.max() > 9:
        raise bad(f"label {int(records.max())} found; labels must be digits 0..9")
    return records


def write_idx(path, records) -> Path:
    """Write uint8 images (N, 28, 28) or labels (N,) as an IDX file (gzipped if the name ends in .gz)."""
    records = np.ascontiguousarray(records, dtype=np.uint8)
    magic = IMAGES_MAGIC if records.ndim == 3 else LABELS_MAGIC
    data = struct.pack(f">{1 + records.ndim}I", magic, *records.shape) + records.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


@corenn.component
class Mnist(corenn_downloads.FolderDataset):
    """MNIST handwritten digits: 28x28 grey images from the four IDX files in a folder (gzip or not).

    X (N, 784) float32, pixels / 255 in [0, 1], rows of each image one after another;
    y (N,) int64 digits 0..9. The validation part is ``val_fraction`` of the training
    files (stratified, chosen by ``seed``); the test part is the t10k files, in order.
    Any record count consistent with the headers loads (subsets work); magic numbers,
    sizes, labels and counts are checked. ``download=True`` fetches missing files and
    verifies their official SHA-256 before use.
    """

    name = "mnist"

    def fetch(self) -> None:
        """Download whichever of the four files the folder lacks (verified, atomically)."""
        for name in FILES.values():
            if not any((self.folder / n).is_file() for n in file_names(name)):
                gz = f"{name}.gz"
                url = self.source(gz, URLS)
                corenn_downloads.download(url, self.folder / gz, sha256=SHA256[gz], size=SIZES.get(gz), what="mnist")

    def read(self, rng):
        found = corenn_downloads.locate(self.folder, {k: file_names(n) for k, n in FILES.items()}, dataset="mnist", hint=HINT)
        parts = {}
        for split in ("train", "test"):
            images = read_idx(found[f"{split}_images"], images=True)
            labels = read_idx(found[f"{split}_labels"], images=False)
            if len(images) != len(labels):
                raise corenn.InvalidFile(f"mnist: {found[f'{split}_images'].name} holds {len(images)} images but "
                                         f"{found[f'{split}_labels'].name} holds {len(labels)} labels; they must match")
            parts[split] = images.reshape(len(images), -1), labels.astype(np.int64)
        return dataio.split_train(*parts["train"], *parts["test"], [str(d) for d in range(10)],
                                  val_fraction=self.val_fraction, rng=rng, features=dataio.unit_pixels)

    @classmethod
    def example_files(cls, folder) -> dict:
        """Write a tiny valid MNIST (40 training and 10 test images) into ``folder``; the kwargs to load it."""
        rng = np.random.default_rng(0)
        for split, n in (("train", 40), ("t10k", 10)):
            write_idx(Path(folder) / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, SIDE, SIDE)))
            write_idx(Path(folder) / f"{split}-labels-idx1-ubyte", np.arange(n) % 10)
        return {"path": str(folder)}


@corenn.hookimpl
def corenn_datasets():
    return [Mnist]
