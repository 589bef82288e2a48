"""The judge: which checkpoint it uses in which mode, what its figures mean, and the Fréchet distance."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils import ShapeError, judge, load_checkpoint, metrics, save_checkpoint
from course_utils.models.classifier import Classifier

from .conftest import small_split, write_split

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def tiny_world(isolated_data, monkeypatch):
    """A tiny offline Fashion-MNIST, an empty checkpoint folder, and training settings that take a second."""
    raw = isolated_data / "data" / "FashionMNIST" / "raw"
    write_split(raw, "train", *small_split(64, seed=0))
    write_split(raw, "test", *small_split(20, seed=1))
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(isolated_data / "checkpoints"))
    monkeypatch.setattr(judge, "FAST_TRAINING", {"train_images": 64, "epochs": 1})
    monkeypatch.setattr(judge, "FULL_TRAINING", {"train_images": 64, "epochs": 1})
    monkeypatch.setattr(judge, "_LOADED", {})
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    return isolated_data / "checkpoints"


def test_fast_mode_trains_and_saves_a_separate_fast_checkpoint_then_loads_it(tiny_world, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FAST", "1")
    model = judge.reference_classifier()
    assert isinstance(model, Classifier) and not model.training
    assert (tiny_world / "classifier-fashion-mnist-fast.pt").is_file()
    assert not (tiny_world / "classifier-fashion-mnist.pt").exists()
    assert "Training a quick fast-mode" in capsys.readouterr().out
    monkeypatch.setattr(judge, "_LOADED", {})
    judge.reference_classifier()
    out = capsys.readouterr().out
    assert "Training" not in out and "classifier-fashion-mnist-fast.pt" in out


def test_full_mode_never_uses_the_fast_checkpoint(tiny_world, monkeypatch, capsys):
    save_checkpoint(Classifier(), tiny_world / "classifier-fashion-mnist-fast.pt", test_accuracy=0.1)
    monkeypatch.delenv("COURSE_FAST", raising=False)
    judge.reference_classifier()
    assert "Training the reference classifier" in capsys.readouterr().out
    assert (tiny_world / "classifier-fashion-mnist.pt").is_file()


def test_a_full_checkpoint_serves_fast_mode_too_and_a_corrupt_one_is_retrained(
    tiny_world, monkeypatch, capsys
):
    monkeypatch.setenv("COURSE_FAST", "1")
    tiny_world.mkdir(parents=True)
    save_checkpoint(Classifier(), tiny_world / "classifier-fashion-mnist.pt", test_accuracy=0.93)
    judge.reference_classifier()
    assert "93.00%" in capsys.readouterr().out
    monkeypatch.setattr(judge, "_LOADED", {})
    (tiny_world / "classifier-fashion-mnist.pt").write_bytes(b"not a checkpoint")
    judge.reference_classifier()
    out = capsys.readouterr().out
    assert "not a readable checkpoint" in out and "Training a quick fast-mode" in out


def test_the_independent_judge_has_its_own_seed_and_files(tiny_world, monkeypatch, capsys):
    """The second judge: another seed (other weights), its own checkpoint names, found again once saved."""
    monkeypatch.setattr(judge, "INDEPENDENT_TRAINING", {"train_images": 64, "epochs": 1})
    monkeypatch.delenv("COURSE_FAST", raising=False)
    reference, independent = judge.reference_classifier(), judge.independent_classifier()
    out = capsys.readouterr().out
    assert "the reference classifier" in out and "seed 0" in out
    assert "the independent classifier" in out and "seed 1" in out
    assert (tiny_world / "classifier-fashion-mnist-independent.pt").is_file()
    first = next(iter(reference.state_dict().values()))
    assert not torch.equal(first, next(iter(independent.state_dict().values())))
    _, saved = load_checkpoint(tiny_world / "classifier-fashion-mnist-independent.pt")
    assert saved["seed"] == judge.INDEPENDENT_SEED == 1
    monkeypatch.setattr(judge, "_LOADED", {})
    judge.independent_classifier()
    out = capsys.readouterr().out
    assert "Training" not in out and "Independent classifier for fashion-mnist" in out
    monkeypatch.setenv(
        "COURSE_FAST", "1"
    )  # fast mode uses the full file when there is one, as the reference does
    monkeypatch.setattr(judge, "_LOADED", {})
    judge.independent_classifier()
    assert "classifier-fashion-mnist-independent.pt" in capsys.readouterr().out
    assert not (tiny_world / "classifier-fashion-mnist-independent-fast.pt").exists()


@pytest.mark.parametrize("dataset, flips", [("mnist", False), ("fashion-mnist", True)])
def test_reference_classifier_flips_clothes_but_not_digits_and_records_it(
    tiny_world, isolated_data, monkeypatch, dataset, flips
):
    raw = isolated_data / "data" / "MNIST" / "raw"
    write_split(raw, "train", *small_split(64, seed=2))
    write_split(raw, "test", *small_split(20, seed=3))
    calls, real_training = [], judge.train_classifier

    def spy(*args, **kwargs):  # the real training, with a note of how it was called
        calls.append(kwargs)
        return real_training(*args, **kwargs)

    monkeypatch.setattr(judge, "train_classifier", spy)
    _, metadata = judge.train_reference_classifier(dataset, device="cpu")
    assert calls[0]["flip"] is flips and calls[0]["max_shift"] == 1
    assert metadata["augmentation"] == {"flip": flips, "max_shift": 1}
    _, saved = load_checkpoint(tiny_world / f"classifier-{dataset}.pt")
    assert saved["augmentation"] == {"flip": flips, "max_shift": 1}


class FirstPixelClassifier(nn.Module):
    """A stand-in judge: the class is round(10 × first pixel) (capped at 9), with logit 10 (p ≈ 1) or 0 (p = 0.1)."""

    def __init__(self, sure: bool = True) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.sure = sure

    def forward(self, x):
        k = (x[:, 0, 0, 0] * 10).round().clamp(0, 9).long()
        return nn.functional.one_hot(k, 10).float() * (10.0 if self.sure else 0.0) + self.dummy


def images_of(classes):
    x = torch.zeros(len(classes), 1, 28, 28)
    x[:, 0, 0, 0] = torch.tensor(classes, dtype=torch.float) / 10
    return x


def test_judge_samples_figures():
    collapsed = judge.judge_samples(images_of([3] * 20), model=FirstPixelClassifier())
    assert collapsed["class_counts"] == [0, 0, 0, 20, 0, 0, 0, 0, 0, 0]
    assert collapsed["classes_produced"] == 1 and collapsed["entropy_ratio"] == 0.0
    assert collapsed["confident_share"] == 1.0 and collapsed["predictions"] == [3] * 20
    even = judge.judge_samples(images_of(list(range(10)) * 3), model=FirstPixelClassifier())
    assert even["classes_produced"] == 10 and math.isclose(even["entropy_ratio"], 1.0)
    unsure = judge.judge_samples(images_of([1, 2]), model=FirstPixelClassifier(sure=False))
    assert unsure["confident_share"] == 0.0 and math.isclose(unsure["mean_confidence"], 0.1, rel_tol=1e-5)


def test_judge_samples_reads_minus_one_one_images_and_rejects_bad_shapes():
    x = images_of([2, 7, 9])
    plain = judge.judge_samples(x, model=FirstPixelClassifier())
    x_tanh = x * 2 - 1
    assert judge.judge_samples(x_tanh, model=FirstPixelClassifier())["predictions"] == plain["predictions"]
    assert judge.judge_samples(x.view(3, 784), model=FirstPixelClassifier())["predictions"] == [2, 7, 9]
    with pytest.raises(ShapeError, match="N×1×28×28"):
        judge.judge_samples(torch.rand(2, 3, 32, 32), model=FirstPixelClassifier())
    with pytest.raises(ShapeError, match="no images"):
        judge.judge_samples(torch.rand(0, 1, 28, 28), model=FirstPixelClassifier())


def test_classifier_features_shape():
    model = Classifier().eval()
    features = judge.classifier_features(torch.rand(5, 1, 28, 28), model=model)
    assert features.shape == (5, 128) and features.dtype == torch.float64


def test_frechet_distance_known_cases():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=generator, dtype=torch.float64)
    assert metrics.frechet_distance(a, a) < 1e-6
    shift = torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    assert math.isclose(
        metrics.frechet_distance(a, a + shift), 5.0, rel_tol=1e-6
    )  # same Σ: only |Δμ|² remains
    cov = torch.cov(a.T)
    # b = 2a: Σb = 4Σ, so tr(Σ + 4Σ − 2·2Σ) = tr(Σ)
    mean_gap = float((a.mean(0) ** 2).sum())  # μb = 2μa, so |Δμ|² = |μa|² (small but not 0)
    assert math.isclose(metrics.frechet_distance(a, 2 * a), float(cov.trace()) + mean_gap, rel_tol=1e-6)
    with pytest.raises(ShapeError, match="different feature sizes"):
        metrics.frechet_distance(a, a[:, :2])
    with pytest.raises(ShapeError, match="N×D"):
        metrics.frechet_distance(a[0], a)
