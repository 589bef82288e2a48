"""Autoencoders (lesson 02): a dense and a convolutional reference model, PCA as the linear baseline, and the
training loop.

An autoencoder is two networks: an *encoder* that maps an image x to a short code z, and a *decoder* that maps
the code back to an image x̂. Training makes x̂ close to x, so the code must keep what matters about the image.

Every model here (``DenseAutoencoder``, ``ConvAutoencoder``, ``PCA``) has the same three methods, so lessons
can swap one for another and compare their latent spaces:

- ``encode(images)``: N×1×28×28 in [0, 1] → codes N×latent_dim;
- ``decode(codes)``: codes → N×1×28×28 in [0, 1];
- ``model(images)``: ``decode(encode(images))``, the reconstruction.

``reconstruction_error`` measures all of them the same way: the squared error per image, summed over the 784
pixels and averaged over images (Hinton & Salakhutdinov, Science 2006, who report 3.00 for a deep autoencoder
against 13.87 for PCA on MNIST with 30-d codes).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ShapeError, UnknownNameError
from ..training import History, check_finite, progress

IMAGE_SHAPE = (1, 28, 28)
LOSSES = ("mse", "bce")


def _check_images(images: torch.Tensor, image_shape: Tuple[int, ...], who: str) -> None:
    if not isinstance(images, torch.Tensor):
        raise ShapeError(f"{who} needs images as a torch.Tensor, got {type(images).__name__}.")
    if images.dim() != 4 or tuple(images.shape[1:]) != tuple(image_shape):
        shape = "×".join(str(s) for s in image_shape)
        hint = " (flat vectors? reshape with images.view(-1, 1, 28, 28))" if images.dim() == 2 else ""
        raise ShapeError(f"{who} expects a batch of images N×{shape}, got shape {tuple(images.shape)}{hint}.")


def _check_codes(codes: torch.Tensor, latent_dim: int, who: str) -> None:
    if not isinstance(codes, torch.Tensor):
        raise ShapeError(f"{who} needs codes as a torch.Tensor, got {type(codes).__name__}.")
    if codes.dim() != 2 or codes.shape[1] != latent_dim:
        raise ShapeError(
            f"{who} expects codes of shape N×{latent_dim} (one row per image), got {tuple(codes.shape)}. "
            "For a single code use code.unsqueeze(0)."
        )


class _EncoderDecoder(nn.Module):
    """What every autoencoder here shares: ``encode``, ``decode`` and their composition, with input checks.

    Subclasses build ``self.encoder`` and ``self.decoder`` and set ``image_shape`` and ``latent_dim``.
    """

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images N×C×H×W → codes N×latent_dim."""
        _check_images(images, self.image_shape, "encode")
        return self.encoder(images)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes N×latent_dim → images N×C×H×W in [0, 1]."""
        _check_codes(codes, self.latent_dim, "decode")
        return self.decoder(codes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``decode(encode(images))``."""
        return self.decode(self.encode(images))


class DenseAutoencoder(_EncoderDecoder):
    """A fully connected autoencoder: 784 → hidden… → latent_dim → …hidden → 784.

    The encoder ends with a plain linear layer (codes can take any real value); the decoder ends with a
    sigmoid, so reconstructions are pixel values in [0, 1] like the data.

    Args:
        latent_dim: length of the code z.
        hidden: widths of the hidden layers of the encoder; the decoder mirrors them.
        image_shape: C×H×W of the images.
    """

    def __init__(
        self,
        latent_dim: int = 30,
        hidden: Sequence[int] = (512, 256),
        image_shape: Sequence[int] = IMAGE_SHAPE,
    ) -> None:
        super().__init__()
        self.config = {
            "latent_dim": int(latent_dim),
            "hidden": [int(h) for h in hidden],
            "image_shape": list(image_shape),
        }
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(s) for s in image_shape)
        pixels = 1
        for s in self.image_shape:
            pixels *= s
        widths = [pixels, *self.config["hidden"]]
        encoder: list = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:]):
            encoder += [nn.Linear(a, b), nn.ReLU()]
        encoder.append(nn.Linear(widths[-1], self.latent_dim))
        self.encoder = nn.Sequential(*encoder)
        back = [self.latent_dim, *reversed(widths[1:])]
        decoder: list = []
        for a, b in zip(back[:-1], back[1:]):
            decoder += [nn.Linear(a, b), nn.ReLU()]
        decoder += [nn.Linear(back[-1], pixels), nn.Sigmoid(), nn.Unflatten(1, self.image_shape)]
        self.decoder = nn.Sequential(*decoder)


def _conv_block(conv: nn.Module, channels: int, batch_norm: bool) -> list:
    """A convolution, then (optionally) batch normalization, then a ReLU."""
    return [conv, nn.BatchNorm2d(channels), nn.ReLU()] if batch_norm else [conv, nn.ReLU()]


class ConvAutoencoder(_EncoderDecoder):
    """A convolutional autoencoder for 28×28 images.

    Encoder: three 3×3 convolutions, two of them with stride 2 (28 → 14 → 7), then a linear layer to the code.
    Decoder: the mirror image, with transposed convolutions to upsample (7 → 14 → 28) and a final sigmoid.
    Convolutions share weights across positions, so the model needs far fewer weights than a dense one and
    knows from the start that nearby pixels belong together. Batch normalization after each hidden convolution
    keeps the activations in a steady range, which lets it train faster with a large learning rate.

    Args:
        latent_dim: length of the code z.
        channels: feature maps at 14×14 and at 7×7.
        image_channels: 1 for gray images.
        batch_norm: put ``nn.BatchNorm2d`` after each hidden convolution.
    """

    def __init__(
        self,
        latent_dim: int = 30,
        channels: Sequence[int] = (32, 64),
        image_channels: int = 1,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        c1, c2 = (int(c) for c in channels)
        self.config = {
            "latent_dim": int(latent_dim),
            "channels": [c1, c2],
            "image_channels": int(image_channels),
            "batch_norm": bool(batch_norm),
        }
        self.latent_dim = int(latent_dim)
        self.image_shape = (int(image_channels), 28, 28)
        bn = bool(batch_norm)
        self.encoder = nn.Sequential(
            *_conv_block(nn.Conv2d(image_channels, c1, 3, stride=2, padding=1), c1, bn),  # 28 → 14
            *_conv_block(nn.Conv2d(c1, c2, 3, stride=2, padding=1), c2, bn),  # 14 → 7
            *_conv_block(nn.Conv2d(c2, c2, 3, padding=1), c2, bn),
            nn.Flatten(),
            nn.Linear(c2 * 7 * 7, self.latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(self.latent_dim, c2 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (c2, 7, 7)),
            *_conv_block(nn.Conv2d(c2, c2, 3, padding=1), c2, bn),
            *_conv_block(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), c1, bn),  # 7 → 14
            nn.ConvTranspose2d(c1, image_channels, 4, stride=2, padding=1),  # 14 → 28
            nn.Sigmoid(),
        )


class PCA(nn.Module):
    """Principal component analysis with the autoencoder interface: the best *linear* encoder and decoder.

    ``encode`` projects the centred image onto the top ``latent_dim`` principal directions; ``decode`` maps
    the code back and adds the mean. Among all linear codes of that size it has the least squared error on the
    data it was fitted to, which makes it the baseline an autoencoder must beat. Fit: ``PCA.fit(images, k)``.
    """

    def __init__(self, latent_dim: int = 30, image_shape: Sequence[int] = IMAGE_SHAPE) -> None:
        super().__init__()
        self.config = {"latent_dim": int(latent_dim), "image_shape": list(image_shape)}
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(s) for s in image_shape)
        pixels = 1
        for s in self.image_shape:
            pixels *= s
        self.register_buffer("mean", torch.zeros(pixels))
        self.register_buffer(
            "components", torch.zeros(self.latent_dim, pixels)
        )  # rows: orthonormal directions

    @classmethod
    def fit(cls, images: torch.Tensor, latent_dim: int = 30) -> PCA:
        """The PCA of ``images`` (N×C×H×W) with ``latent_dim`` components, computed exactly in float64."""
        if images.dim() != 4:
            raise ShapeError(f"PCA.fit expects a batch of images N×C×H×W, got shape {tuple(images.shape)}.")
        x = images.detach().reshape(len(images), -1).double().cpu()
        if not 1 <= latent_dim <= min(x.shape):
            raise ValueError(
                f"latent_dim must be between 1 and {min(x.shape)} for these images, got {latent_dim}."
            )
        pca = cls(latent_dim, tuple(images.shape[1:]))
        mean = x.mean(dim=0)
        # The right singular vectors of the centred data are the principal directions. The 784×784 covariance
        # is much cheaper to decompose than the N×784 data, and exact in float64.
        centred = x - mean
        eigenvalues, eigenvectors = torch.linalg.eigh(centred.T @ centred)
        top = eigenvectors[:, torch.argsort(eigenvalues, descending=True)[:latent_dim]]
        pca.mean.copy_(mean.float())
        pca.components.copy_(top.T.float())
        return pca.to(images.device)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images → codes: coordinates along the principal directions."""
        _check_images(images, self.image_shape, "encode")
        return (images.reshape(len(images), -1) - self.mean) @ self.components.T

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes → images (the mean plus a weighted sum of directions; not clipped to [0, 1])."""
        _check_codes(codes, self.latent_dim, "decode")
        return (codes @ self.components + self.mean).reshape(len(codes), *self.image_shape)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))


Model = Union[DenseAutoencoder, ConvAutoencoder, PCA]


def reconstruction_loss(
    reconstructions: torch.Tensor, images: torch.Tensor, kind: str = "mse"
) -> torch.Tensor:
    """The training loss: per image, summed over pixels, then averaged over the batch.

    ``"mse"``: squared error (the quantity the course reports). ``"bce"``: binary cross-entropy, which treats
    each pixel as a probability of "ink" (the loss Hinton & Salakhutdinov trained with).
    """
    if kind == "mse":
        per_pixel = (reconstructions - images) ** 2
    elif kind == "bce":
        per_pixel = F.binary_cross_entropy(reconstructions, images, reduction="none")
    else:
        raise UnknownNameError(f"Unknown loss {kind!r}. Choose one of: {', '.join(repr(k) for k in LOSSES)}.")
    return per_pixel.reshape(len(images), -1).sum(dim=1).mean()


@torch.no_grad()
def encode_images(model: Model, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Codes of many images (in eval mode, without gradients, batch by batch), on the CPU."""
    was_training = model.training
    model.eval()
    device = next(iter(model.buffers()), next(iter(model.parameters()), None)).device
    codes = [
        model.encode(images[i : i + batch_size].to(device)).cpu() for i in range(0, len(images), batch_size)
    ]
    model.train(was_training)
    return torch.cat(codes)


@torch.no_grad()
def reconstruction_error(model: Model, images: torch.Tensor, batch_size: int = 1000) -> float:
    """Squared error per image: the sum over pixels of (x̂ − x)², mean over the images (the 2006 metric)."""
    was_training = model.training
    model.eval()
    device = next(iter(model.buffers()), next(iter(model.parameters()), None)).device
    total = 0.0
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(device)
        total += float(((model(x) - x) ** 2).reshape(len(x), -1).sum(dim=1).double().sum())
    model.train(was_training)
    return total / len(images)


def learning_rate(peak: float, progress: float, warmup: float = 0.03) -> float:
    """The learning rate at ``progress`` (0 to 1) of a run: a short linear warm-up from a tenth of ``peak`` to
    ``peak``, then a cosine decay to 0. Large steps early explore, small steps late settle."""
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return peak * (0.1 + 0.9 * progress / warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / (1.0 - warmup)))


def train_autoencoder(
    model: nn.Module,
    images: torch.Tensor,
    epochs: Optional[int] = 10,
    batch_size: int = 128,
    lr: float = 2e-3,
    loss: str = "mse",
    noise: float = 0.0,
    device: Optional[Union[str, torch.device]] = None,
    test_images: Optional[torch.Tensor] = None,
    time_limit: Optional[float] = None,
    seed: Optional[int] = 0,
    view=None,
    show_progress: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> History:
    """Train an autoencoder to reconstruct ``images``; return the ``History`` of the loss.

    Adam, with a learning rate that warms up to ``lr`` and then decays along a cosine to 0 over the run (see
    ``learning_rate``). Each step: encode and decode a batch, compare with the clean images, update.

    Args:
        model: a ``DenseAutoencoder``, a ``ConvAutoencoder``, or any module whose output is an image batch.
        images: training images N×1×28×28 in [0, 1].
        epochs: passes over the images; ``None`` (with ``time_limit``) trains until the time is up.
        loss: ``"mse"`` or ``"bce"`` (see ``reconstruction_loss``).
        noise: standard deviation of Gaussian noise added to the *inputs* only: > 0 trains a denoising
            autoencoder (Vincent et al., 2008), which must rebuild the clean image from a corrupted one.
        test_images: when given, the test error (``reconstruction_error``) is recorded after every epoch as
            ``test_error`` (not counted in the training time).
        time_limit: a budget of training seconds. The run stops when it is spent; the learning-rate schedule
            follows whichever runs out first, epochs or time, so a timed run still ends with small steps.
        seed: seed of the batch order; ``None`` follows ``torch.manual_seed``.
        view: a ``LiveView`` to update with the curve and the latest reconstructions.
        clock: what ``time_limit`` and ``history.seconds`` are measured with (default: wall-clock time). A
            benchmark on a shared machine can pass a CPU-time clock so that other programs do not eat its budget.

    The history records ``loss`` (per image, every 10 steps) and ``test_error`` per epoch when asked; its
    attributes ``seconds`` (training time) and ``epochs_done`` (complete passes) say how long it ran.
    """
    from ..batches import TensorBatches

    if loss not in LOSSES:
        raise UnknownNameError(f"Unknown loss {loss!r}. Choose one of: {', '.join(repr(k) for k in LOSSES)}.")
    if epochs is None and time_limit is None:
        raise ValueError(
            "Give epochs, or time_limit (seconds), or both: with neither, training would never end."
        )
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive whole number, got {epochs!r}.")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}.")
    if images.dim() != 4:
        raise ShapeError(f"train_autoencoder expects images N×C×H×W, got shape {tuple(images.shape)}.")
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    batches = TensorBatches(images, batch_size=batch_size, shuffle=True, device=device, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate(lr, 0.0))
    total_steps = None if epochs is None else epochs * len(batches)
    history = History()
    model.train()
    step, seconds, done = 0, 0.0, False
    bar = progress(total=total_steps, desc=f"training {type(model).__name__}", disable=not show_progress)
    while not done:
        started = clock()
        for x in batches:
            inputs = x + noise * torch.randn_like(x) if noise > 0 else x
            reconstructions = model(inputs)
            batch_loss = reconstruction_loss(reconstructions, x, loss)
            optimizer.zero_grad(set_to_none=True)
            batch_loss.backward()
            optimizer.step()
            step += 1
            elapsed = seconds + clock() - started
            fraction = max(
                step / total_steps if total_steps else 0.0, elapsed / time_limit if time_limit else 0.0
            )
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(lr, fraction)
            if step % 10 == 0:
                history.record(step, loss=batch_loss)
            else:
                check_finite(batch_loss, step)
            bar.update(1)
            if view is not None and step % 20 == 0:
                view.update(history, reconstructions[:16].detach())
            if fraction >= 1.0:
                done = True
                break
        seconds += clock() - started
        if test_images is not None and not done:
            history.record(step, test_error=reconstruction_error(model, test_images))
            model.train()
    if test_images is not None:
        history.record(step, test_error=reconstruction_error(model, test_images))
    bar.close()
    if view is not None:
        view.close(history, reconstructions[:16].detach())
    model.eval()
    history.seconds = seconds
    history.epochs_done = step // len(batches)
    return history
