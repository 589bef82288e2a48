"""Autoencoders (lesson 02): the loss and the training step, a dense and a convolutional reference model, and
PCA as the linear baseline.

An autoencoder is two networks: an *encoder* that maps an image x to a short code z, and a *decoder* that maps
the code back to an image x̂. Training makes x̂ close to x, so the code must keep what matters about the image:

    loss = mean over images of  Σ_pixels (x̂ − x)²            (``reconstruction_loss``)
    step: x̂ = decode(encode(x [+ noise])); loss; backward; update   (``autoencoder_step``)

Every model here (``DenseAutoencoder``, ``ConvAutoencoder``, ``PCA``) has the same three methods, so lessons
can swap one for another and compare their latent spaces: ``encode(images)`` (N×1×28×28 in [0, 1] → codes
N×latent_dim), ``decode(codes)`` (codes → N×1×28×28) and ``model(images)``, the reconstruction.

``reconstruction_error`` measures all of them the same way: the squared error per image, summed over the 784
pixels and averaged over images (Hinton & Salakhutdinov, Science 2006, who report 3.00 for a deep autoencoder
against 13.87 for PCA on MNIST with 30-d codes).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..batches import TensorBatches
from ..errors import ShapeError, UnknownNameError
from ..gaussian import PCA as MatrixPCA
from ..images import check_images
from ..runtime import device_of
from ..training import Budget, History, Report, evaluating, fit, moving_average, warmup_cosine, with_average
from .blocks import conv_block, dense_stack

LOSSES = ("mse", "bce")


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


def autoencoder_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, loss: str = "mse", noise: float = 0.0
):
    """The training step of lesson 02: reconstruct the batch, compare with the clean images, update.

    ``noise`` > 0 adds Gaussian noise of that standard deviation to the *inputs* only: a denoising autoencoder
    (Vincent et al., 2008), which must rebuild the clean image from a corrupted one.
    Returns ``step(images) -> {"loss": ...}`` for ``course_utils.training.fit``.
    """

    def step(images: torch.Tensor) -> dict:
        inputs = images + noise * torch.randn_like(images) if noise > 0 else images
        batch_loss = reconstruction_loss(model(inputs), images, loss)
        optimizer.zero_grad(set_to_none=True)
        batch_loss.backward()
        optimizer.step()
        return {"loss": batch_loss}

    return step


IMAGE_SHAPE = (1, 28, 28)


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
        return self.encoder(check_images(images, self.image_shape, "encode"))

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
        pixels, hidden = math.prod(self.image_shape), self.config["hidden"]
        widths = [pixels, *hidden]
        self.encoder = nn.Sequential(
            nn.Flatten(), *dense_stack(widths), nn.Linear(widths[-1], self.latent_dim)
        )
        back = [self.latent_dim, *reversed(hidden)]
        self.decoder = nn.Sequential(
            *dense_stack(back), nn.Linear(back[-1], pixels), nn.Sigmoid(), nn.Unflatten(1, self.image_shape)
        )


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
            *conv_block(nn.Conv2d(image_channels, c1, 3, stride=2, padding=1), c1, bn),  # 28 → 14
            *conv_block(nn.Conv2d(c1, c2, 3, stride=2, padding=1), c2, bn),  # 14 → 7
            *conv_block(nn.Conv2d(c2, c2, 3, padding=1), c2, bn),
            nn.Flatten(),
            nn.Linear(c2 * 7 * 7, self.latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(self.latent_dim, c2 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (c2, 7, 7)),
            *conv_block(nn.Conv2d(c2, c2, 3, padding=1), c2, bn),
            *conv_block(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), c1, bn),  # 7 → 14
            nn.ConvTranspose2d(c1, image_channels, 4, stride=2, padding=1),  # 14 → 28
            nn.Sigmoid(),
        )


class PCA(_EncoderDecoder):
    """Principal component analysis with the autoencoder interface: the best *linear* encoder and decoder.

    ``encode`` projects the centred image onto the top ``latent_dim`` principal directions; ``decode`` maps the
    code back and adds the mean. Among all linear codes of that size it has the least squared error on the data
    it was fitted to, which makes it the baseline an autoencoder must beat. A thin module view over the course's
    one PCA (``course_utils.gaussian.PCA``, on N×D matrices), so that it can be saved, moved to a device and
    compared like the networks. Fit: ``PCA.fit(images, latent_dim)``. Its reconstructions are not clipped to
    [0, 1]; clip them (``.clamp(0, 1)``) to compare with a sigmoid decoder on equal terms.
    """

    def __init__(self, latent_dim: int = 30, image_shape: Sequence[int] = IMAGE_SHAPE) -> None:
        super().__init__()
        self.config = {"latent_dim": int(latent_dim), "image_shape": list(image_shape)}
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(s) for s in image_shape)
        pixels = math.prod(self.image_shape)
        self.register_buffer("mean", torch.zeros(pixels))
        self.register_buffer("components", torch.zeros(self.latent_dim, pixels))  # orthonormal rows
        self.encoder = lambda images: (images.flatten(1) - self.mean) @ self.components.T
        self.decoder = lambda codes: (codes @ self.components + self.mean).reshape(
            len(codes), *self.image_shape
        )

    @classmethod
    def fit(cls, images: torch.Tensor, latent_dim: int = 30) -> PCA:
        """The PCA of ``images`` (N×C×H×W) with ``latent_dim`` components (computed in float64)."""
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ShapeError(f"PCA.fit expects a batch of images N×C×H×W, got shape {shape}.")
        core = MatrixPCA(latent_dim).fit(images.detach().flatten(1).cpu())
        pca = cls(latent_dim, tuple(images.shape[1:]))
        pca.mean.copy_(core.mean.float())
        pca.components.copy_(core.components.float())
        return pca.to(images.device)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images → codes: coordinates along the principal directions."""
        images = check_images(images, self.image_shape, "encode")
        return (images.flatten(1) - self.mean) @ self.components.T

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes → images: the mean plus a weighted sum of the directions (not clipped to [0, 1])."""
        _check_codes(codes, self.latent_dim, "decode")
        return (codes @ self.components + self.mean).reshape(len(codes), *self.image_shape)


Model = Union[DenseAutoencoder, ConvAutoencoder, PCA]


def encode_images(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Codes of many images (in eval mode, without gradients, batch by batch), on the CPU.

    For a VAE, whose ``encode`` returns ``(mu, log_var)``, these are the means μ(x): what a latent scatter shows.
    """
    with evaluating(model):
        device = device_of(model)
        codes = []
        for i in range(0, len(images), batch_size):
            code = model.encode(images[i : i + batch_size].to(device))
            codes.append((code[0] if isinstance(code, tuple) else code).cpu())
    return torch.cat(codes)


def reconstruction_error(model: Model, images: torch.Tensor, batch_size: int = 1000) -> float:
    """Squared error per image: the sum over pixels of (x̂ − x)², mean over the images (the 2006 metric)."""
    with evaluating(model):
        device = device_of(model)
        total = 0.0
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size].to(device)
            total += float(((model(x) - x) ** 2).reshape(len(x), -1).sum(dim=1).double().sum())
    return total / len(images)


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
    clock: Optional[Callable[[], float]] = None,
    average_decay: Optional[float] = None,
) -> History:
    """Train an autoencoder on ``images`` with ``autoencoder_step`` and Adam; return the ``History``.

    The learning rate warms up to ``lr`` and decays along a cosine to 0 over the run (``warmup_cosine``); with
    ``time_limit`` (seconds, on ``clock``) the schedule follows whichever runs out first, epochs or time, so a
    timed run still ends with small steps. ``epochs=None`` with a ``time_limit`` trains until the time is up.
    ``test_images``: record ``test_error`` (``reconstruction_error``) after every epoch and at the end.
    ``average_decay``: also keep a moving average of the weights (``training.moving_average``), returned as
    ``history.averaged`` (an autoencoder like ``model``, in eval mode).
    """
    if loss not in LOSSES:
        raise UnknownNameError(f"Unknown loss {loss!r}. Choose one of: {', '.join(repr(k) for k in LOSSES)}.")
    if epochs is None and time_limit is None:
        raise ValueError(
            "Give epochs, or time_limit (seconds), or both: with neither, training would never end."
        )
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}.")
    images = check_images(
        images, tuple(images.shape[1:]) if images.dim() == 4 else IMAGE_SHAPE, "train_autoencoder"
    )
    if device is not None:
        model.to(device)
    batches = TensorBatches(images, batch_size=batch_size, device=device_of(model), seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    averaged = moving_average(model, average_decay)  # None without average_decay
    every = []
    if test_images is not None:
        every.append((len(batches), lambda _: {"test_error": reconstruction_error(model, test_images)}))
    shown = images[:16].to(device_of(model))

    def reconstructions() -> torch.Tensor:  # what the live view shows beside the curve
        with torch.no_grad():
            return model(shown)

    model.train()
    budget = Budget(epochs=epochs, seconds=time_limit, clock=clock or time.perf_counter)
    report = Report(desc=f"training {type(model).__name__}", show_progress=show_progress, view=view,
                    view_samples=reconstructions)  # fmt: skip
    history = fit(with_average(autoencoder_step(model, optimizer, loss, noise), model, averaged), batches, budget,
                  optimizers=[optimizer], schedule=lambda p: warmup_cosine(p, warmup=0.03), every=every,
                  report=report)  # fmt: skip
    model.eval()
    history.averaged = averaged.module.eval() if averaged is not None else None
    return history
