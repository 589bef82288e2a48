"""The course's judge: a reference classifier that says what generated images look like.

Later lessons hand their samples to ``judge_samples`` to ask three questions a picture alone answers badly: does
each sample look like *some* class (is the classifier confident?), which classes come out and how evenly (mode
collapse shows as a lopsided histogram), and how many of the ten classes appear at all. ``classifier_features``
gives the feature vectors from which ``metrics.frechet_distance`` compares generated and real images (the idea of
the FID of Heusel et al., 2017, with our small classifier in place of Inception, so the numbers are comparable
only within this course); ``frechet_to_test`` computes it against the test set beside its real-vs-real floor.
The numbers themselves are computed in ``course_utils.metrics``. ``ClassifierFeatures`` hands the same features to
torchmetrics' ``FrechetInceptionDistance`` (``torchmetrics_frechet``), so the course's formula can be checked
against the ecosystem's implementation.

The classifier is lesson 01's CNN. ``reference_classifier`` loads it from ``checkpoint_dir()``, or trains and
saves it when it is missing (about 2 minutes on a quiet 2-core CPU: 109 s measured for 55,000 images × 8 epochs;
seconds on a GPU). In fast mode (``COURSE_FAST=1``) a quick one is trained instead and saved under a separate
``-fast`` file name, so it never stands in for the full one; a full checkpoint, when present, is used in both
modes.

``independent_classifier`` is a **second judge** for checking a judge-driven result: the same architecture and
recipe, trained from another random start (seed 1: other initial weights, batch order and augmentation draws)
for half the epochs, cached the same way (``classifier-<dataset>-independent[-fast].pt``). Lesson 07 climbs the
reference judge's gradient to steer a generator; an image pushed up one classifier's gradient can fool that
classifier without looking more like the class, so the steering is scored by the classifier it did not climb.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import torch
from torch import nn

from .checkpoints import checkpoint_dir, load_checkpoint, save_checkpoint
from .data import dataset_spec, load_dataset
from .errors import CheckpointError, ShapeError
from .images import check_images, to_unit_range
from .metrics import class_histogram_scores, frechet_distance
from .models.classifier import Classifier, accuracy, predict_proba, train_classifier
from .runtime import device_of, get_device, is_fast_mode
from .training import evaluating

# How the reference classifiers are trained: full (the benchmark's settings) and fast (CI, seconds).
FULL_TRAINING = {"train_images": None, "epochs": 8}
FAST_TRAINING = {"train_images": 3000, "epochs": 2}
# The second, independent judge: another seed, and half the reference's epochs (whose 8 take about 2 minutes on a
# quiet 2-core CPU), to keep lesson 07's full run short; its test accuracy is saved with it and printed on loading.
INDEPENDENT_SEED = 1
INDEPENDENT_TRAINING = {"train_images": None, "epochs": 4}

# How each dataset's training batches are augmented (``train_classifier``'s ``flip`` and ``max_shift``): clothes
# keep their class when mirrored, digits do not (a mirrored 2, 3 or 7 is no digit), so MNIST gets no flips.
AUGMENTATION = {
    "fashion-mnist": {"flip": True, "max_shift": 1},
    "mnist": {"flip": False, "max_shift": 1},
}

_LOADED: Dict[
    Tuple[str, str, str], Classifier
] = {}  # (dataset, file, device) -> model, so repeated calls are free


def checkpoint_path(dataset: str = "fashion-mnist", fast: bool = False, independent: bool = False) -> Path:
    """Where a judge of ``dataset`` is saved: ``classifier-<dataset>[-independent][-fast].pt``."""
    name = dataset_spec(dataset).name
    return (
        checkpoint_dir()
        / f"classifier-{name}{'-independent' if independent else ''}{'-fast' if fast else ''}.pt"
    )


def train_reference_classifier(
    dataset: str = "fashion-mnist", fast: bool = False, device=None, seed: int = 0, independent: bool = False
):
    """Train the reference classifier from scratch, save it, and return ``(model, metadata)``.

    ``independent=True`` trains the second judge instead (``INDEPENDENT_SEED``, ``INDEPENDENT_TRAINING`` in full
    mode; ``seed`` is then ignored) and saves it under its own file name.
    """
    if independent:
        seed = INDEPENDENT_SEED
    settings = FAST_TRAINING if fast else INDEPENDENT_TRAINING if independent else FULL_TRAINING
    spec = dataset_spec(dataset)
    train = load_dataset(spec.name, "train", limit=settings["train_images"])
    test = load_dataset(spec.name, "test", limit=2000 if fast else None)
    torch.manual_seed(seed)
    model = Classifier(num_classes=len(spec.classes))
    kind = ("a quick fast-mode " if fast else "the ") + ("independent" if independent else "reference")
    print(f"Training {kind} classifier for {spec.title} ({settings['epochs']} epochs, seed {seed})...")
    augmentation = AUGMENTATION[spec.name]
    history = train_classifier(
        model,
        train.images,
        train.labels,
        epochs=settings["epochs"],
        device=device or get_device(),
        seed=seed,
        **augmentation,
    )
    test_accuracy = accuracy(model, test.images, test.labels)
    metadata = {
        "dataset": spec.name,
        "fast": fast,
        "epochs": settings["epochs"],
        "train_images": len(train.labels),
        "test_accuracy": test_accuracy,
        "test_images": len(test.labels),
        "train_seconds": round(history.seconds, 1),
        "source": train.source,
        "augmentation": dict(augmentation),
        "seed": seed,
    }
    path = save_checkpoint(model.cpu(), checkpoint_path(spec.name, fast, independent), **metadata)
    print(f"Test accuracy {test_accuracy:.2%} after {history.seconds:.0f} s; saved to {path}.")
    return model, metadata


def save_reference(model: Classifier, dataset: str = "fashion-mnist", **metadata) -> Path:
    """Save a trained classifier as the reference of ``dataset`` (the ``-fast`` file in fast mode).

    Lesson 01 calls this with the classifier it trains, so later lessons find it instead of training their own.
    """
    name = dataset_spec(dataset).name
    fast = is_fast_mode()
    path = save_checkpoint(model, checkpoint_path(name, fast), dataset=name, fast=fast, **metadata)
    _LOADED.clear()
    return path


def reference_classifier(dataset: str = "fashion-mnist", device=None) -> Classifier:
    """The course's reference classifier for ``dataset``, in eval mode on ``device``; trained once if missing.

    Looks for ``classifier-<dataset>.pt`` in ``checkpoint_dir()``; in fast mode it falls back to
    ``classifier-<dataset>-fast.pt``. A missing (or unreadable) checkpoint is trained and saved again.
    """
    return _load_or_train(dataset, device, independent=False)


def independent_classifier(dataset: str = "fashion-mnist", device=None) -> Classifier:
    """A second judge for ``dataset``, trained apart from the reference one; in eval mode, trained once if missing.

    Same architecture and recipe as ``reference_classifier``, another seed (``INDEPENDENT_SEED``) and
    ``INDEPENDENT_TRAINING``'s epochs; its files are ``classifier-<dataset>-independent[-fast].pt``, found as the
    reference's are. Use it to score what was optimised against the reference judge.
    """
    return _load_or_train(dataset, device, independent=True)


def _load_or_train(dataset: str, device, independent: bool) -> Classifier:
    """Load a judge's checkpoint (the full one, or in fast mode the ``-fast`` one), or train and save it."""
    name = dataset_spec(dataset).name
    device = torch.device(device) if device is not None else get_device()
    candidates = [checkpoint_path(name, fast=False, independent=independent)]
    if is_fast_mode():
        candidates.append(checkpoint_path(name, fast=True, independent=independent))
    for path in candidates:
        key = (name, str(path), str(device))
        if key in _LOADED and path.is_file():
            return _LOADED[key]
        if not path.is_file():
            continue
        try:
            model, meta = load_checkpoint(path, device=device)
        except CheckpointError as problem:
            print(f"{problem}\nTraining a new one instead.")
            continue
        print(
            f"{'Independent' if independent else 'Reference'} classifier for {name}: {path.name} "
            f"(test accuracy {meta.get('test_accuracy', float('nan')):.2%})."
        )
        _LOADED[key] = model
        return model
    fast = is_fast_mode()
    model, _ = train_reference_classifier(name, fast=fast, device=device, independent=independent)
    model.to(device).eval()
    _LOADED[(name, str(checkpoint_path(name, fast, independent)), str(device))] = model
    return model


def _as_unit_range(images: torch.Tensor, value_range: Optional[Tuple[float, float]]) -> torch.Tensor:
    """Images as the classifier needs them: N×1×28×28 in [0, 1] (a generator's [-1, 1] is detected or declared)."""
    images = check_images(images, who="The judge", reshape=True).detach().float()
    if len(images) == 0:
        raise ShapeError("Got no images (N = 0); pass a batch of at least one image, N×1×28×28.")
    return to_unit_range(images, value_range)


def judge_samples(
    images: torch.Tensor,
    dataset: str = "fashion-mnist",
    value_range: Optional[Tuple[float, float]] = None,
    model: Optional[Classifier] = None,
) -> dict:
    """What the reference classifier makes of a batch of (generated) images.

    Args:
        images: N×1×28×28 (or N×28×28, N×784), values in [0, 1] or [-1, 1] (detected; or pass ``value_range``).
        dataset: which reference classifier judges them.
        model: a classifier to use instead of the reference one (e.g. in tests).

    Returns the dict of ``metrics.class_histogram_scores``: ``confident_share``, ``class_counts``,
    ``entropy_ratio``, ``classes_produced``, ``mean_confidence`` and ``predictions``.
    """
    x = _as_unit_range(images, value_range)
    model = model if model is not None else reference_classifier(dataset)
    return class_histogram_scores(predict_proba(model, x))


def classifier_features(
    images: torch.Tensor,
    dataset: str = "fashion-mnist",
    value_range: Optional[Tuple[float, float]] = None,
    model: Optional[Classifier] = None,
    batch_size: int = 1000,
) -> torch.Tensor:
    """The reference classifier's feature vector of each image (N×128, float64 on the CPU), for Fréchet distance."""
    x = _as_unit_range(images, value_range)
    model = model if model is not None else reference_classifier(dataset)
    device = device_of(model)
    with evaluating(model):
        chunks = [
            model.features(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)
        ]
    return torch.cat(chunks).double()


def frechet_to_test(
    images: torch.Tensor,
    dataset: str = "fashion-mnist",
    value_range: Optional[Tuple[float, float]] = None,
    model: Optional[Classifier] = None,
) -> dict:
    """Fréchet distance of ``images`` to as many test images, in the judge's features, with its real-vs-real floor.

    The floor is the distance between as many *training* images and the same test images: what a perfect
    generator (one that draws new real images) would score at this sample size. Both numbers shrink as N grows
    (the estimate is biased upwards for small N), so compare models only at the same N.

    Returns ``{"frechet": ..., "floor": ..., "n": N}``.
    """
    n = len(images)
    if n < 2:
        raise ShapeError(f"The Fréchet distance needs at least 2 images, got {n}.")
    test = load_dataset(dataset, "test", verbose=False).images
    train = load_dataset(dataset, "train", verbose=False).images
    n = min(n, len(test), len(train))
    model = model if model is not None else reference_classifier(dataset)
    test_features = classifier_features(test[:n], model=model)
    return {
        "frechet": frechet_distance(
            classifier_features(images[:n], value_range=value_range, model=model), test_features
        ),
        "floor": frechet_distance(classifier_features(train[:n], model=model), test_features),
        "n": n,
    }


def reference_accuracy(
    dataset: str = "fashion-mnist", device: Union[str, torch.device, None] = None
) -> float:
    """Test accuracy of the reference classifier on the dataset's test split (a quick sanity figure)."""
    model = reference_classifier(dataset, device=device)
    test = load_dataset(dataset, "test", verbose=False)
    return accuracy(model, test.images, test.labels)


class ClassifierFeatures(nn.Module):
    """The judge's feature extractor as a module: images N×1×28×28 in [0, 1] → features N×128 (no gradients).

    torchmetrics' ``FrechetInceptionDistance(feature=ClassifierFeatures(model), normalize=True)`` then computes the
    Fréchet distance in the course classifier's features instead of Inception's (``num_features`` tells it the
    size, so it does not probe the module with a 299×299 image).
    """

    def __init__(self, classifier: Classifier) -> None:
        super().__init__()
        self.classifier = classifier
        self.num_features = int(classifier.config["hidden"])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with evaluating(self.classifier), torch.no_grad():
            return self.classifier.features(images.to(device_of(self.classifier)).float())


def torchmetrics_frechet(
    real: torch.Tensor,
    fake: torch.Tensor,
    dataset: str = "fashion-mnist",
    model: Optional[Classifier] = None,
    batch_size: int = 1000,
) -> float:
    """The Fréchet distance between two image sets computed by torchmetrics, in the judge's features.

    Both sets: N×1×28×28 (values in [0, 1] or [-1, 1], detected). Should agree with
    ``metrics.frechet_distance(classifier_features(real), classifier_features(fake))`` to rounding.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance  # imported here: only this function needs it

    model = model if model is not None else reference_classifier(dataset)
    device = device_of(model)  # the metric's running sums live where the features are computed (e.g. a GPU)
    metric = FrechetInceptionDistance(feature=ClassifierFeatures(model), normalize=True).to(device)
    for images, is_real in ((real, True), (fake, False)):
        x = _as_unit_range(images, None)
        for i in range(0, len(x), batch_size):
            metric.update(x[i : i + batch_size].to(device), real=is_real)
    return float(metric.compute())
