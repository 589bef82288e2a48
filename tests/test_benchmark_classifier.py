"""The classifier benchmark: digits without flips, curves on the validation split, the test split once."""

from __future__ import annotations

import json

import pytest

from benchmarks import classifier as benchmark
from course_utils import judge

from .conftest import small_split, write_split

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(
    "dataset, folder, flips", [("mnist", "MNIST", False), ("fashion-mnist", "FashionMNIST", True)]
)
def test_benchmark_uses_the_judges_augmentation_and_the_validation_split(
    isolated_data, monkeypatch, dataset, folder, flips
):
    raw = isolated_data / "data" / folder / "raw"
    write_split(raw, "train", *small_split(80, seed=0))  # 72 train + 8 validation
    write_split(raw, "test", *small_split(20, seed=1))
    calls, real_training = [], benchmark.train_classifier

    def spy(model, images, labels, **kwargs):  # the real training, with a note of what it was given
        calls.append({"train_images": len(images), "evaluated_on": len(kwargs["test"][1]), **kwargs})
        return real_training(model, images, labels, **kwargs)

    monkeypatch.setattr(benchmark, "train_classifier", spy)
    results = isolated_data / "results"
    benchmark.main(["--dataset", dataset, "--epochs", "1", "--results-dir", str(results)])
    assert calls[0]["flip"] is flips and calls[0]["max_shift"] == judge.AUGMENTATION[dataset]["max_shift"]
    assert calls[0]["train_images"] == 72 and calls[0]["evaluated_on"] == 8  # the curve is on validation
    name = "classifier" if dataset == "fashion-mnist" else "classifier-mnist"
    result = json.loads((results / f"{name}.json").read_text())
    assert result["augmentation"] == judge.AUGMENTATION[dataset]
    assert result["validation_images"] == 8 and result["test_images"] == 20
    assert len(result["validation_accuracy_per_epoch"]) == 1
