"""A small CNN image classifier and its training loop: lesson 01's discriminative model and the course's judge.

Two 3×3 convolution blocks (convolution → 2×2 max-pool → batch norm → ReLU) turn a 1×28×28 image into 64 maps of
7×7; a hidden layer turns them into a 128-number feature vector (what ``features`` returns, used for the Fréchet
distance); a last linear layer gives one logit per class. About 420K parameters, almost all in the hidden
layer; the two convolutions, which cost nearly all the compute, have 19K. The Fashion-MNIST benchmark (Xiao et al.,
2017) lists two-convolution CNNs of this kind at about 92%.

``train_classifier`` is a plain loop: shuffled in-memory batches, cross-entropy, AdamW with a one-cycle learning
rate (Smith & Topin, 2019), and random 1-pixel shifts and (``flip=True``, for data that are mirror-symmetric
like clothes, not digits) left-right flips, applied to whole batches at once.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..batches import TensorBatches
from ..errors import ShapeError
from ..training import History, check_finite, progress


def _conv_block(channels_in: int, channels_out: int) -> nn.Sequential:
    # Pooling right after the convolution (before batch norm and ReLU) gives nearly the same function as pooling
    # last, but batch norm and ReLU then touch 4× fewer numbers: about 20% faster on a CPU.
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1, bias=False),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


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
        self.config = {"num_classes": num_classes, "channels": channels, "hidden": hidden, "dropout": dropout,
                       "pooled_size": pooled_size}  # fmt: skip
        self.conv = nn.Sequential(
            _conv_block(1, channels[0]), _conv_block(channels[0], channels[1])
        )  # → C×7×7
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
        return self.hidden(self.pool(self.conv(check_images(images))))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """One logit per class (N×num_classes); softmax turns them into p(y | x)."""
        return self.head(self.features(images))


def check_images(images: torch.Tensor) -> torch.Tensor:
    """Return ``images`` as N×1×28×28 float (N×28×28 and N×784 are reshaped), or raise ``ShapeError``."""
    if not isinstance(images, torch.Tensor):
        raise ShapeError(f"Expected a tensor of images N×1×28×28, got a {type(images).__name__}.")
    if not images.is_floating_point():
        raise ShapeError(
            f"Expected float images with values in [0, 1] (shape N×1×28×28), got dtype {images.dtype}. "
            "Convert them first, e.g. images.float() / 255."
        )
    if images.dim() == 2 and images.shape[1] == 784:
        images = images.view(-1, 1, 28, 28)
    elif images.dim() == 3 and tuple(images.shape[1:]) == (28, 28):
        images = images.unsqueeze(1)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ShapeError(
            f"Expected images of shape N×1×28×28 (or N×28×28, or N×784), got {tuple(images.shape)}. "
            "A single image needs a batch dimension: image.unsqueeze(0)."
        )
    return images


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


@torch.no_grad()
def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """p(y | x) for every image (N×num_classes, on the CPU), in eval mode and in batches."""
    images = check_images(images)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [
        F.softmax(model(images[i : i + batch_size].to(device)), dim=1).cpu()
        for i in range(0, len(images), batch_size)
    ]
    model.train(was_training)
    return torch.cat(out)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of images whose most probable class is their label."""
    return float((predict_proba(model, images).argmax(1) == labels.cpu()).float().mean())


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
    test: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
    device: Optional[Union[str, torch.device]] = None,
    seed: int = 0,
    show_progress: bool = True,
    flip: bool = True,
) -> History:
    """Train ``model`` to classify ``images`` by ``labels`` with cross-entropy; return the ``History``.

    Records ``loss`` (every 20 steps), and per epoch ``train_accuracy`` (on the augmented batches) and, when
    ``test=(images, labels)`` is given, ``test_accuracy``. The wall time of the training (without those test
    evaluations) is in ``history.seconds``. With ``use_augmentation``, each batch is shifted by up to
    ``max_shift`` pixels and, when ``flip`` (leave it on for clothes, turn it off for digits), half of it is
    mirrored left-right.
    """
    images = check_images(images)
    if labels.shape != (len(images),) or labels.dtype != torch.long:
        raise ShapeError(
            f"labels must be int64 of shape ({len(images)},), one class index per image; "
            f"got {labels.dtype} of shape {tuple(labels.shape)}."
        )
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device).train()
    batches = TensorBatches(images, labels, batch_size=batch_size, device=device, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * len(batches))
    history, step, start, evaluation_seconds = History(), 0, time.perf_counter(), 0.0
    for epoch in range(epochs):
        correct = seen = 0
        for x, y in progress(batches, desc=f"epoch {epoch + 1}/{epochs}", disable=not show_progress):
            if use_augmentation:
                x = augment(x, generator, max_shift=max_shift, flip=flip)
            logits = model(x)
            loss = F.cross_entropy(logits, y)  # = -mean log p(y | x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            if step % 20 == 0:
                history.record(step, loss=check_finite(loss, step))
            step += 1
        history.record(step, train_accuracy=correct / seen)
        if test is not None:
            evaluation_start = time.perf_counter()
            history.record(step, test_accuracy=accuracy(model, *test))
            evaluation_seconds += time.perf_counter() - evaluation_start
    history.seconds = time.perf_counter() - start - evaluation_seconds  # training only, not the evaluations
    model.eval()
    return history
