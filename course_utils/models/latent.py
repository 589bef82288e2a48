"""Lesson 11: latent generative models, "Stable Diffusion in miniature".

Latent diffusion (Rombach, Blattmann, Lorenz, Esser & Ommer, "High-Resolution Image Synthesis with Latent
Diffusion Models", CVPR 2022) trains in two stages:

1. **An autoencoder** (``LatentAutoencoder``) squeezes each 1×28×28 image into a small grid of numbers, here
   ``latent_channels``×7×7, and decodes it back. Its encoder outputs a Gaussian (a mean and a log-variance per
   number, as lesson 03's VAE) and the loss adds a *light* KL penalty (``autoencoder_loss``: ``kl_weight`` far
   below the VAE's 1), so the codes stay near zero and smooth without the VAE's blur. It is trained once and then
   frozen. What its decoder cannot draw, no model of its latents can: the Fréchet distance of its reconstructions
   is the **floor** of everything generated through it.
2. **A generative model of the latents**: lesson 09's flow matching, unchanged, on the latents multiplied by one
   number, ``latent_scale`` = 1 / their standard deviation, so that data and noise have the same spread (Stable
   Diffusion's 0.18215 is that number for its autoencoder). Its network (``LatentVelocityNet``) sees C×49 numbers
   instead of 784 pixels, which is what makes training and sampling cheap.

To make an image: noise of the latents' shape → Euler steps of the latent flow → divide by the scale → decode
(``LatentFlow.sample``; the answer key of exercise 11.4 is ``generate``). A conditional velocity network with
label dropout is steered by lesson 10's classifier-free guidance, exactly as in pixel space.

The first functions are the answer key of the lesson's exercises 11.1-11.5.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..batches import TensorBatches
from ..errors import ShapeError
from ..images import check_images
from ..training import Budget, History, Report, evaluating, fit, warmup_cosine
from .autoencoder import reconstruction_loss
from .guidance import guided_prediction
from .time_networks import _check_labels, _check_times, regression_step, time_embedding
from .vae import kl_divergence, reparameterize

IMAGE_SHAPE = (1, 28, 28)
LATENT_SIZE = 7  # 28 / 4: the encoder halves the image twice

# ----------------------------------------------------------------------------------------------------------------
# The answer key
# ----------------------------------------------------------------------------------------------------------------


def latent_scale(latents: torch.Tensor) -> float:
    """One number that gives the latents unit standard deviation: 1 / (their std over every number) (exercise 11.1).

    The flow starts from N(0, I) noise; scaled latents have the same spread, so the path from noise to data is
    neither mostly noise nor mostly data at every time (Rombach et al., 2022, §4.3.2 and their appendix G)."""
    return float(1.0 / latents.float().std())


def latent_flow_loss(
    velocity_net: nn.Module, encode: Callable, images: torch.Tensor, scale: float
) -> torch.Tensor:
    """Lesson 09's flow-matching loss on the scaled latents of ``images`` (exercise 11.3).

    The autoencoder is frozen: ``encode(images)`` (the encoder's means) runs without gradients, then
    x1 = scale · latents, x0 ~ N(0, I) of the same shape, t ~ U[0, 1) per example, x_t = (1 − t) x0 + t x1, and
    the loss is the mean squared error between v(x_t, t) and x1 − x0."""
    with torch.no_grad():
        x1 = scale * encode(images)
    x0 = torch.randn_like(x1)
    t = torch.rand(len(x1), device=x1.device)
    s = t.reshape(-1, 1, 1, 1)
    x_t = (1 - s) * x0 + s * x1
    return F.mse_loss(velocity_net(x_t, t), x1 - x0)


@torch.no_grad()
def generate(
    velocity_net: nn.Module,
    decode: Callable,
    scale: float,
    n: int,
    latent_shape: Sequence[int],
    steps: int = 25,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """n images: noise N×latent_shape → ``steps`` Euler steps of dx/dt = v(x, t) from t = 0 to 1 → ÷ scale →
    ``decode`` (exercise 11.4). The noise is drawn on the CPU from ``generator``."""
    device = next(velocity_net.parameters()).device
    x = torch.randn(n, *latent_shape, generator=generator).to(device)
    for i in range(steps):
        t = torch.full((n,), i / steps, device=device)
        x = x + velocity_net(x, t) / steps
    return decode(x / scale)


def reconstruction_floor(
    reconstruct: Callable,
    images: torch.Tensor,
    reference_features: torch.Tensor,
    features: Callable,
    distance: Callable,
) -> float:
    """The ``distance`` (lesson 08's Fréchet distance) between the features of the reconstructions of ``images``
    and ``reference_features`` (exercise 11.2): no model that generates through this decoder can be expected to do
    better."""
    return distance(features(reconstruct(images)), reference_features)


def choose_latent_channels(curve: Sequence[Dict], tolerance: float = 0.1) -> int:
    """The smallest latent whose generated Fréchet distance is within ``tolerance`` (a share) of the best in the
    measured ``curve`` (rows with "channels" and "frechet") (exercise 11.5): smaller latents are cheaper to model,
    store and sample, so pay for size only where it buys quality."""
    best = min(row["frechet"] for row in curve)
    good = [row for row in curve if row["frechet"] <= (1 + tolerance) * best]
    return min(row["channels"] for row in good)


# ----------------------------------------------------------------------------------------------------------------
# Stage 1: the autoencoder
# ----------------------------------------------------------------------------------------------------------------


def _conv(a: int, b: int, stride: int = 1) -> List[nn.Module]:
    return [nn.Conv2d(a, b, 3, stride=stride, padding=1), nn.SiLU()]


class LatentAutoencoder(nn.Module):
    """Images N×1×28×28 in [0, 1] ↔ latents N×``latent_channels``×7×7 (2 by default: the size
    ``benchmarks/latent_quality.py`` chose on the validation images, results/latent_quality.json).

    Encoder: 3×3 convolutions with SiLU, the first of each size with stride 2 (28 → 14 → 7), then a 1×1
    convolution to a mean and a log-variance per latent number. Decoder: the mirror image, with transposed
    convolutions to upsample (7 → 14 → 28), and a sigmoid. The latent keeps a grid, as Stable Diffusion's does
    (4×64×64 for a 512×512 image). Small, so that it trains in two CPU minutes: about 10 million multiply-adds per
    image, both halves together.
    """

    def __init__(self, latent_channels: int = 2, channels: Sequence[int] = (32, 64)) -> None:
        super().__init__()
        c1, c2 = [int(c) for c in channels]
        self.config = {"latent_channels": int(latent_channels), "channels": [c1, c2]}
        self.latent_channels = int(latent_channels)
        self.latent_shape = (self.latent_channels, LATENT_SIZE, LATENT_SIZE)
        self.encoder = nn.Sequential(
            *_conv(1, c1, stride=2), *_conv(c1, c1),  # 28 → 14
            *_conv(c1, c2, stride=2), *_conv(c2, c2),  # 14 → 7
            nn.Conv2d(c2, 2 * self.latent_channels, 1),
        )  # fmt: skip
        self.decoder = nn.Sequential(
            *_conv(self.latent_channels, c2), *_conv(c2, c2),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.SiLU(), *_conv(c1, c1),  # 7 → 14
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1), nn.Sigmoid(),  # 14 → 28
        )  # fmt: skip

    def encode(self, images: torch.Tensor):
        """Images → (mean, log_var) of the latents, each N×latent_channels×7×7."""
        h = self.encoder(check_images(images, IMAGE_SHAPE, "encode"))
        mean, log_var = h.chunk(2, dim=1)
        return mean, log_var.clamp(-30.0, 20.0)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents N×latent_channels×7×7 → images N×1×28×28 in [0, 1]."""
        return self.decoder(check_images(latents, self.latent_shape, "decode"))

    def forward(self, images: torch.Tensor):
        """(reconstruction from a sample of q(z | x), mean, log_var): what the training loss needs."""
        mean, log_var = self.encode(images)
        return self.decode(reparameterize(mean, log_var)), mean, log_var

    def encode_mean(self, images: torch.Tensor) -> torch.Tensor:
        """The latents the second stage models: the encoder's means (its variances are tiny, see the loss)."""
        return self.encode(images)[0]

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """decode(encode_mean(images)): the best this autoencoder can do for an image."""
        return self.decode(self.encode_mean(images))


def autoencoder_loss(model: LatentAutoencoder, images: torch.Tensor, kl_weight: float) -> torch.Tensor:
    """Squared error per image (summed over pixels, as in lesson 02) + ``kl_weight`` · KL(q(z | x) || N(0, I)).

    With ``kl_weight`` = 1 this is the VAE's loss with a Gaussian decoder; a light weight (1e-3 here) keeps the
    latents bounded and smooth while the decoder stays sharp (Rombach et al. used 1e-6 on a mean per pixel)."""
    reconstruction, mean, log_var = model(images)
    kl = kl_divergence(mean.flatten(1), log_var.flatten(1)).mean()
    return reconstruction_loss(reconstruction, images) + kl_weight * kl


def train_latent_autoencoder(
    model: LatentAutoencoder,
    images: torch.Tensor,
    budget: Budget,
    *,
    kl_weight: float = 1e-3,
    batch_size: int = 64,
    lr: float = 2e-3,
    report: Optional[Report] = None,
    seed: int = 0,
) -> History:
    """Train the first stage with ``autoencoder_loss`` (Adam, the course's warm-up + cosine) on images in [0, 1]."""
    device = next(model.parameters()).device
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = TensorBatches(images, batch_size=batch_size, device=device, drop_last=True, seed=seed)
    step = regression_step(model, optimizer, lambda m, x: autoencoder_loss(m, x, kl_weight))
    history = fit(step, batches, budget, optimizers=[optimizer], schedule=warmup_cosine, report=report)
    model.eval()
    return history


@torch.no_grad()
def encode_dataset(model: LatentAutoencoder, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The encoder's means for every image, in batches, on the CPU."""
    device = next(model.parameters()).device
    with evaluating(model):
        parts = [model.encode_mean(images[i : i + batch_size].to(device)).cpu()
                 for i in range(0, len(images), batch_size)]  # fmt: skip
    return torch.cat(parts)


@torch.no_grad()
def reconstruct_dataset(
    model: LatentAutoencoder, images: torch.Tensor, batch_size: int = 1000
) -> torch.Tensor:
    """decode(encode_mean(images)) in batches, on the CPU."""
    device = next(model.parameters()).device
    with evaluating(model):
        parts = [model.reconstruct(images[i : i + batch_size].to(device)).cpu()
                 for i in range(0, len(images), batch_size)]  # fmt: skip
    return torch.cat(parts)


# ----------------------------------------------------------------------------------------------------------------
# Stage 2: a flow in the latent space
# ----------------------------------------------------------------------------------------------------------------


class LatentVelocityNet(nn.Module):
    """(latents N×C×7×7, times N[, labels N]) → N×C×7×7: lesson 09's velocity network for the latents.

    The C×49 numbers of a latent are few enough for a fully connected network: a linear layer in, ``blocks``
    residual blocks (LayerNorm → linear → SiLU → linear, added to their input), a linear layer out that starts at
    zero. The time embedding (and the label embedding when ``num_classes`` > 0, as lesson 10's conditional U-Net)
    is added to the first layer's output. About 2 million multiply-adds per latent at the default size, against
    the pixel U-Net's ~25 million per image.
    """

    def __init__(
        self,
        latent_channels: int = 2,
        width: int = 512,
        blocks: int = 4,
        time_dim: int = 64,
        time_scale: float = 1000.0,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        self.config = {"latent_channels": int(latent_channels), "width": int(width), "blocks": int(blocks),
                       "time_dim": int(time_dim), "time_scale": float(time_scale)}  # fmt: skip
        if num_classes:
            self.config["num_classes"] = int(num_classes)
        self.num_classes = int(num_classes)
        self.latent_shape = (int(latent_channels), LATENT_SIZE, LATENT_SIZE)
        numbers, width = int(latent_channels) * LATENT_SIZE * LATENT_SIZE, int(width)
        self.time_dim, self.time_scale = int(time_dim), float(time_scale)
        self.time_mlp = nn.Sequential(nn.Linear(self.time_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.label_embedding = nn.Embedding(self.num_classes + 1, width) if self.num_classes else None
        self.layer_in = nn.Linear(numbers, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
            for _ in range(int(blocks))
        )
        self.norm_out = nn.LayerNorm(width)
        self.layer_out = nn.Linear(width, numbers)
        nn.init.zeros_(self.layer_out.weight)  # start by predicting 0, as lesson 09's U-Net
        nn.init.zeros_(self.layer_out.bias)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        x = check_images(x, self.latent_shape, "LatentVelocityNet")
        t = _check_times(t, len(x), "LatentVelocityNet")
        h = self.layer_in(x.flatten(1)) + self.time_mlp(time_embedding(t, self.time_dim, self.time_scale))
        if self.label_embedding is not None:
            h = h + self.label_embedding(_check_labels(labels, len(x), self.num_classes, x.device))
        elif labels is not None:
            raise ValueError("This LatentVelocityNet has no labels to read: build it with num_classes=10.")
        for block in self.blocks:
            h = h + block(h)
        return self.layer_out(self.norm_out(h)).view(x.shape)


class LatentFlow(nn.Module):
    """The whole latent generative model: the frozen autoencoder, the velocity network and the latents' scale.

    One module, so that one checkpoint holds all three (``save_checkpoint`` / ``load_checkpoint``)."""

    def __init__(self, autoencoder: Dict, velocity: Dict, scale: float = 1.0) -> None:
        super().__init__()
        self.config = {"autoencoder": dict(autoencoder), "velocity": dict(velocity), "scale": float(scale)}
        self.autoencoder = LatentAutoencoder(**autoencoder)
        self.velocity = LatentVelocityNet(**velocity)
        self.scale = float(scale)
        self.num_classes = self.velocity.num_classes

    @classmethod
    def from_parts(
        cls, autoencoder: LatentAutoencoder, velocity: LatentVelocityNet, scale: float
    ) -> LatentFlow:
        """Put trained parts together (copies of their weights)."""
        model = cls(autoencoder.config, velocity.config, scale)
        model.autoencoder.load_state_dict(autoencoder.state_dict())
        model.velocity.load_state_dict(velocity.state_dict())
        device = next(velocity.parameters()).device
        return model.to(device).eval()

    @torch.no_grad()
    def sample(
        self,
        n: int,
        steps: int = 25,
        labels: Optional[torch.Tensor] = None,
        w: float = 0.0,
        generator: Optional[torch.Generator] = None,
        batch_size: int = 1000,
    ) -> torch.Tensor:
        """n images in [0, 1] on the CPU: Euler in the latent space, then the decoder. With ``labels`` (a
        conditional velocity network) the velocity is lesson 10's guided one, (1 + w) v(x, y) − w v(x, ∅)."""
        if labels is not None and len(labels) != n:
            raise ShapeError(f"Asked for {n} images but gave {len(labels)} labels: give one label per image.")
        device = next(self.parameters()).device
        noise = torch.randn(n, *self.velocity.latent_shape, generator=generator)
        out = []
        with evaluating(self):
            for start in range(0, n, batch_size):
                x = noise[start : start + batch_size].to(device)
                y = labels[start : start + batch_size].to(device) if labels is not None else None
                null = torch.full((len(x),), self.num_classes, dtype=torch.long, device=device)
                for i in range(steps):
                    t = torch.full((len(x),), i / steps, device=device)
                    velocity = self.velocity(x, t, y)
                    if y is not None and w:
                        velocity = guided_prediction(velocity, self.velocity(x, t, null), w)
                    x = x + velocity / steps
                out.append(self.autoencoder.decode(x / self.scale).cpu())
        return torch.cat(out)


__all__: List[str] = [
    "latent_scale", "latent_flow_loss", "generate", "reconstruction_floor", "choose_latent_channels",
    "LatentAutoencoder", "autoencoder_loss", "train_latent_autoencoder", "encode_dataset", "reconstruct_dataset",
    "LatentVelocityNet", "LatentFlow",
]  # fmt: skip
