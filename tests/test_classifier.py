"""The lesson-01 classifier: shapes, augmentation, that training learns, bad input, and checkpoint round trips."""

from __future__ import annotations

import pytest
import torch

from course_utils import ShapeError, load_checkpoint, save_checkpoint
from course_utils.images import check_images
from course_utils.models.classifier import (
    Classifier,
    accuracy,
    augment,
    predict_proba,
    train_classifier,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def squares(n_per_class: int = 30, seed: int = 0):
    """Ten easy classes: class k is a bright 6×6 square at one of ten places, plus a little noise."""
    generator = torch.Generator().manual_seed(seed)
    images = 0.1 * torch.rand(10 * n_per_class, 1, 28, 28, generator=generator)
    labels = torch.arange(10).repeat_interleave(n_per_class)
    for i, k in enumerate(labels.tolist()):
        row, col = 3 + 12 * (k // 5), 2 + 5 * (k % 5)
        images[i, 0, row : row + 6, col : col + 6] = 1.0
    return images, labels


def test_shapes_and_size():
    model = Classifier()
    x = torch.rand(4, 1, 28, 28)
    assert model(x).shape == (4, 10)
    assert model.features(x).shape == (4, 128)
    assert 100_000 < sum(p.numel() for p in model.parameters()) < 500_000
    assert Classifier(num_classes=3, hidden=16)(x).shape == (4, 3)


def test_accepts_flat_and_channel_less_images_and_rejects_others():
    x = torch.rand(3, 1, 28, 28)
    model = Classifier().eval()
    assert torch.equal(check_images(x.view(3, 784), reshape=True), x)
    assert torch.equal(check_images(x[:, 0], reshape=True), x)
    assert torch.allclose(model(x.view(3, 784)), model(x))
    with pytest.raises(ShapeError, match="N×1×28×28"):
        check_images(torch.rand(1, 28), reshape=True)
    with pytest.raises(ShapeError, match="N×1×28×28"):
        model(torch.rand(2, 3, 32, 32))
    with pytest.raises(ShapeError, match="float"):
        model((x * 255).to(torch.uint8))
    with pytest.raises(ShapeError, match=r"reshape with x.view\(-1, 1, 28, 28\)"):
        check_images(x.view(3, 784))  # without reshape=True, flat rows are explained, not accepted


def test_augment_flips_and_shifts_whole_batches():
    images = torch.zeros(64, 1, 28, 28)
    images[:, 0, 10:14, 4:8] = 1.0  # a square away from the border, so a 2-pixel shift keeps it whole
    generator = torch.Generator().manual_seed(0)
    flipped_only = augment(images, generator, max_shift=0)
    mirrored = images.flip(3)
    is_flip = [(torch.equal(a, m), torch.equal(a, o)) for a, m, o in zip(flipped_only, mirrored, images)]
    assert all(f or o for f, o in is_flip) and 10 < sum(f for f, _ in is_flip) < 54
    shifted = augment(images, generator, max_shift=2)
    assert shifted.shape == images.shape
    assert torch.allclose(shifted.sum((1, 2, 3)), images.sum((1, 2, 3)))  # content moved, not lost
    assert not torch.equal(shifted, images)


def test_augment_without_flips_only_shifts():
    # A square on the left half: a flip would move it to the right half, which a 1-pixel shift never does.
    images = torch.zeros(64, 1, 28, 28)
    images[:, 0, 10:14, 4:8] = 1.0
    out = augment(images, torch.Generator().manual_seed(0), max_shift=1, flip=False)
    assert float(out[..., 14:].sum()) == 0.0
    assert torch.equal(augment(images, torch.Generator().manual_seed(0), max_shift=0, flip=False), images)
    flipped = augment(images, torch.Generator().manual_seed(0), max_shift=1, flip=True)
    assert float(flipped[..., 14:].sum()) > 0.0  # the same call with flips does mirror some of them


def test_training_learns_an_easy_task_and_records_history():
    torch.manual_seed(0)
    images, labels = squares()
    model = Classifier(channels=(8, 16), hidden=32)
    test = squares(n_per_class=5, seed=1)
    # No flips here: in this toy task a square's position IS its class, so a mirror image changes the class.
    history = train_classifier(
        model, images, labels, epochs=3, batch_size=32, use_augmentation=False, test=test, show_progress=False
    )
    assert history["test_accuracy"][-1] > 0.9 and accuracy(model, *test) > 0.9
    assert history["loss"][-1] < history["loss"][0]
    assert history.seconds > 0 and not model.training
    probs = predict_proba(model, test[0])
    assert probs.shape == (50, 10) and torch.allclose(probs.sum(1), torch.ones(50))


def test_training_rejects_bad_labels():
    images, labels = squares(n_per_class=2)
    with pytest.raises(ShapeError, match="int64"):
        train_classifier(Classifier(), images, labels.float(), epochs=1, show_progress=False)
    with pytest.raises(ShapeError, match="one class index per image"):
        train_classifier(Classifier(), images, labels[:5], epochs=1, show_progress=False)


def test_checkpoint_round_trip_rebuilds_the_model(tmp_path):
    model = Classifier(channels=(8, 16), hidden=24).eval()
    path = save_checkpoint(model, tmp_path / "c.pt", test_accuracy=0.5)
    loaded, meta = load_checkpoint(path)
    x = torch.rand(2, 1, 28, 28)
    assert isinstance(loaded, Classifier) and meta["test_accuracy"] == 0.5
    assert torch.allclose(loaded(x), model(x))
