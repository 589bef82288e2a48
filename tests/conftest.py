"""Shared fixtures: an isolated, offline data folder and a writer of small IDX files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import data


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file (the format of MNIST and Fashion-MNIST)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.tobytes()


def write_split(folder: Path, split: str, images: np.ndarray, labels: np.ndarray, gz: bool = False) -> None:
    """Write one split as IDX files named as torchvision and Debian name them."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = data.IDX_PREFIX[split]
    for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
        path = folder / f"{prefix}-{kind}"
        payload = idx_bytes(array)
        if gz:
            with gzip.open(str(path) + ".gz", "wb") as f:
                f.write(payload)
        else:
            path.write_bytes(payload)


def small_split(n: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    """An empty data folder, no network, no Debian copy: each test adds the sources it needs."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian-copy")
    data.clear_memory_cache()
    yield tmp_path
    data.clear_memory_cache()


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread; two threads on a busy 2-core machine can be 50× slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
