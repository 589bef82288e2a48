"""A small CNN image classifier and its training loop: lesson 01's discriminative model and the course's judge.

Two 3×3 convolution blocks (convolution → 2×2 max-pool → batch norm → ReLU) turn a 1×28×28 image into 64 maps of
7×7; a hidden layer turns them into a 128-number feature vector (what ``features`` returns, used for the Fréchet
distance); a last linear layer gives one logit per class. About 420K parameters, almost all in the hidden
layer; the two convolutions, which cost nearly all the compute, have 19K. The Fashion-MNIST benchmark (Xiao et al.,
2017) lists two-convolution CNNs of this kind at about 92%.

One training step (``classification_step``) is the lesson's: cross-entropy on a batch, backward, update; random
horizontal flips (Fashion-MNIST only: digits are not mirror-symmetric) and 1-pixel shifts are applied to whole
batches at once. ``train_classifier`` hands that step to the course's loop (``course_utils.training.fit``) with
AdamW and the course's warm-up-then-cosine learning rate.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..batches import TensorBatches
from ..errors import ShapeError
from ..images import check_images
from ..runtime import device_of
from ..training import Budget, History, Report, evaluating, fit, warmup_cosine
from .blocks import conv_block


class Classifier(nn.Module):
    """A two-convolution CNN for 1×28×28 images: ``logits = model(images)``, ``model.features(images)``.

    Args:
        num_classes: how many classes (10 for MNIST and Fashion-MNIST).
        channels: output channels of the two convolution blocks.
        hidden: size of the feature vector before the last layer.
        dropout: dropout before the two linear layers (regularizes; off in ``eval()``).
    """

    def __init__(
        self,
        num_classes: int = 10,
        channels: Sequence[int] = (32, 64),
        hidden: int = 128,
        dropout: float = 0.25,
        pooled_size: int = 7,
    ) -> None:
        super().__init__()
        channels = [int(c) for c in channels]
        if len(channels) != 2:
            raise ValueError(f"channels needs two numbers (one per convolution block), got {channels!r}.")
        c1, c2 = channels
        self.config = {"num_classes": num_classes, "channels": channels, "hidden": hidden, "dropout": dropout,
                       "pooled_size": pooled_size}  # fmt: skip
        # Two 3×3 convolutions, each followed by a 2×2 max-pool: 28×28 → 14×14 → 7×7.
        self.conv = nn.Sequential(
            nn.Sequential(*conv_block(nn.Conv2d(1, c1, 3, padding=1, bias=False), c1, pool=True)),
            nn.Sequential(*conv_block(nn.Conv2d(c1, c2, 3, padding=1, bias=False), c2, pool=True)),
        )
        # Optionally average down to pooled_size×pooled_size (fewer parameters); 7 keeps the maps as they are.
        self.pool = nn.AdaptiveAvgPool2d(pooled_size) if pooled_size != 7 else nn.Identity()
        self.hidden = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels[1] * pooled_size**2, hidden),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The ``hidden``-number feature vector of each image (N×hidden), before the last layer."""
        images = check_images(images, who="The classifier", reshape=True)
        return self.hidden(self.pool(self.conv(images)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """One logit per class (N×num_classes); softmax turns them into p(y | x)."""
        return self.head(self.features(images))


def augment(
    images: torch.Tensor, generator: Optional[torch.Generator] = None, max_shift: int = 2, flip: bool = True
) -> torch.Tensor:
    """Shift every image by up to ``max_shift`` pixels and (when ``flip``) mirror a random half left-right.

    Flips suit clothes (a mirrored shirt is still a shirt) but not digits (a mirrored 2, 3 or 7 is no digit),
    so MNIST is trained with ``flip=False``. Done with whole-batch tensor operations (no per-image Python loop),
    so it costs little on a CPU.
    """
    n = images.shape[0]
    out = images
    if flip:
        flipped = torch.rand(n, generator=generator) < 0.5
        out = torch.where(flipped.to(images.device)[:, None, None, None], images.flip(3), images)
    if max_shift > 0:
        padded = F.pad(out[:, 0], (max_shift,) * 4)  # N×(H+2s)×(W+2s)
        size = images.shape[-1]
        dx, dy = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).to(images.device)
        rows = (dy[:, None] + torch.arange(size, device=images.device))[:, :, None]  # N×H×1
        cols = (dx[:, None] + torch.arange(size, device=images.device))[:, None, :]  # N×1×W
        batch = torch.arange(n, device=images.device)[:, None, None]
        out = padded[batch, rows, cols].unsqueeze(1)  # each image cut at its own offset: N×1×H×W
    return out


def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """p(y | x) for every image (N×num_classes, on the CPU), in eval mode and in batches."""
    images = check_images(images, who="predict_proba", reshape=True)
    device = device_of(model)
    with evaluating(model):
        return torch.cat(
            [
                F.softmax(model(images[i : i + batch_size].to(device)), dim=1).cpu()
                for i in range(0, len(images), batch_size)
            ]
        )


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of images whose most probable class is their label."""
    return float((predict_proba(model, images).argmax(1) == labels.cpu()).float().mean())


def classification_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    flip: bool = True,
    max_shift: int = 1,
    generator: Optional[torch.Generator] = None,
):
    """The training step: augment the batch, cross-entropy = −mean log p(y | x), backward, update.

    ``flip``: mirror half of each batch left-right (right for clothes, wrong for digits); ``max_shift``: shift
    every image by up to this many pixels (0: no shifts). Returns ``step(batch) -> {"loss", "accuracy"}``.
    """

    def step(batch):
        x, y = batch
        if flip or max_shift > 0:
            x = augment(x, generator, max_shift=max_shift, flip=flip)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss, "accuracy": (logits.argmax(1) == y).float().mean()}

    return step


def train_classifier(
    model: Classifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int = 8,
    batch_size: int = 128,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    use_augmentation: bool = True,
    max_shift: int = 1,
    flip: bool = True,
    test: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
    device: Optional[Union[str, torch.device]] = None,
    seed: int = 0,
    show_progress: bool = True,
) -> History:
    """Train ``model`` to classify ``images`` by ``labels`` with ``classification_step``; return the ``History``.

    AdamW; the learning rate warms up over the first 30% of the run, then decays to 0 (``warmup_cosine``).
    ``use_augmentation=False`` turns off both flips and shifts; ``flip=False`` keeps only the shifts (digits).
    Records ``loss`` and ``accuracy`` (on the augmented training batches, averaged over 20 steps) and, when
    ``test=(images, labels)`` is given, ``test_accuracy`` after each epoch (not counted in ``history.seconds``).
    """
    images = check_images(images, who="train_classifier", reshape=True)
    if labels.shape != (len(images),) or labels.dtype != torch.long:
        raise ShapeError(
            f"labels must be int64 of shape ({len(images)},), one class index per image; "
            f"got {labels.dtype} of shape {tuple(labels.shape)}."
        )
    device = torch.device(device) if device is not None else device_of(model)
    model.to(device).train()
    batches = TensorBatches(images, labels, batch_size=batch_size, device=device, seed=seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    step = classification_step(
        model,
        optimizer,
        flip=use_augmentation and flip,
        max_shift=max_shift if use_augmentation else 0,
        generator=torch.Generator().manual_seed(seed),
    )
    every = []
    if test is not None:
        every.append((len(batches), lambda _: {"test_accuracy": accuracy(model, *test)}))
    report = Report(desc=f"training {type(model).__name__}", show_progress=show_progress, log_every=20)
    history = fit(step, batches, Budget(epochs=epochs), optimizers=[optimizer],
                  schedule=lambda p: warmup_cosine(p, warmup=0.3, start=0.04), every=every, report=report)  # fmt: skip
    model.eval()
    return history
