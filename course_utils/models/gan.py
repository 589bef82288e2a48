"""Lesson 04's reference GAN: a generator, a discriminator, their losses, one training step and the loop.

Goodfellow et al. (2014) train two networks against each other. The discriminator D is a binary classifier
(real → 1, fake → 0) that outputs a *logit*; the generator G turns noise z ~ N(0, I) into an example. Per step:

1. D step:  minimise  (BCE(D(x), 1) + BCE(D(G(z)), 0)) / 2   with G(z) *detached*, so only D changes;
2. G step:  minimise  BCE(D(G(z)), 1) = −log D(G(z))       the "non-saturating" loss; only G changes.

The losses and ``train_step`` (the answer key of the lesson's exercises) come first. Both networks are small
multilayer perceptrons, so the same classes serve the 2-D toy data (points) and the 28×28 images (``point_gan``
and ``image_gan`` build the lesson's two pairs). ``train_gan`` hands a step (the reference one or the learner's)
to the course's loop, and keeps samples from a fixed noise batch to watch training progress.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..batches import TensorBatches
from ..errors import ShapeError
from ..images import check_images
from ..runtime import device_of
from ..training import Budget, History, Report, evaluating, fit, moving_average, with_average

# ----------------------------------------------------------------------------------------------------------------
# Losses and one training step (the answer key of the lesson's exercises)
# ----------------------------------------------------------------------------------------------------------------


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """BCE with real → 1 and fake → 0, averaged over the two halves: (BCE(real, 1) + BCE(fake, 0)) / 2."""
    real_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return (real_loss + fake_loss) / 2


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: BCE(D(G(z)), 1) = −mean log D(G(z))."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def train_step(
    generator: nn.Module,
    discriminator: nn.Module,
    real: torch.Tensor,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
) -> dict:
    """One round of adversarial training on a batch ``real``: a D step, then a G step.

    Returns the two losses and the mean probabilities D(x) and D(G(z)) (before the D step), as floats.
    """
    z = torch.randn(len(real), generator.noise_dim, device=real.device)
    fake = generator(z)

    # 1. Discriminator: real → 1, fake → 0. detach() cuts the graph, so no gradient reaches the generator.
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = discriminator_loss(real_logits, fake_logits)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()

    # 2. Generator: make the (just updated) discriminator call the fakes real. Only G's optimizer steps.
    g_loss = generator_loss(discriminator(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()

    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": torch.sigmoid(real_logits).mean().item(),
        "d_fake": torch.sigmoid(fake_logits).mean().item(),
    }


# ----------------------------------------------------------------------------------------------------------------
# Building blocks and models
# ----------------------------------------------------------------------------------------------------------------


def generator_block(in_dim: int, out_dim: int, batch_norm: bool = True) -> nn.Sequential:
    """Linear → BatchNorm → ReLU: one hidden layer of the generator.

    Batch norm keeps the activations of every layer on one scale while G's targets move (D keeps changing),
    which makes fully connected generators train faster and more reliably.
    """
    layers: List[nn.Module] = [nn.Linear(in_dim, out_dim)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(out_dim))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def discriminator_block(in_dim: int, out_dim: int) -> nn.Sequential:
    """Linear → LeakyReLU(0.2): one hidden layer of the discriminator.

    The leaky slope lets a little gradient through for negative inputs, so the generator still gets feedback from
    units that are switched off (Radford et al., 2016, found it works better than ReLU in D).
    """
    return nn.Sequential(nn.Linear(in_dim, out_dim), nn.LeakyReLU(0.2))


def _as_shape(shape: Union[int, Sequence[int]]) -> List[int]:
    return [int(shape)] if isinstance(shape, int) else [int(s) for s in shape]


class Generator(nn.Module):
    """Noise (N×noise_dim) → examples (N×data_shape): hidden ``generator_block``s, then a linear layer.

    Args:
        noise_dim: size of each noise vector z.
        hidden: sizes of the hidden layers.
        data_shape: shape of one example, e.g. ``[2]`` for points or ``[1, 28, 28]`` for images.
        output: ``"tanh"`` squashes into [-1, 1] (images scaled to [-1, 1]); ``"linear"`` leaves values free.
        batch_norm: use batch norm in the hidden layers.
    """

    def __init__(
        self,
        noise_dim: int = 64,
        hidden: Sequence[int] = (256, 512, 1024),
        data_shape: Sequence[int] = (1, 28, 28),
        output: str = "tanh",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        if output not in ("tanh", "linear"):
            raise ValueError(f"output must be 'tanh' or 'linear', got {output!r}.")
        hidden, data_shape = _as_shape(hidden), _as_shape(data_shape)
        self.config = {
            "noise_dim": int(noise_dim),
            "hidden": hidden,
            "data_shape": data_shape,
            "output": output,
            "batch_norm": bool(batch_norm),
        }
        self.noise_dim = int(noise_dim)
        self.data_shape = tuple(data_shape)
        sizes = [self.noise_dim, *hidden]
        blocks = [generator_block(a, b, batch_norm) for a, b in zip(sizes[:-1], sizes[1:])]
        self.net = nn.Sequential(*blocks, nn.Linear(sizes[-1], math.prod(data_shape)))
        self.squash = nn.Tanh() if output == "tanh" else nn.Identity()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.noise_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ShapeError(
                f"This generator expects noise of shape N×{self.noise_dim} (a batch of noise vectors of size "
                f"{self.noise_dim}), got {got}. Make it with torch.randn(n, {self.noise_dim}) or "
                "generator.sample_noise(n)."
            )
        return self.squash(self.net(z)).view(len(z), *self.data_shape)

    def sample_noise(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` noise vectors z ~ N(0, I) on the model's device."""
        device = device_of(self)
        return torch.randn(n, self.noise_dim, generator=generator).to(device)

    def generate(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` new examples from fresh noise, in eval mode (the discriminator is not needed)."""
        with evaluating(self):
            return self(self.sample_noise(n, generator))


class Discriminator(nn.Module):
    """Examples (N×data_shape) → one logit each (N×1): hidden ``discriminator_block``s, then a linear layer.

    The output is a logit, not a probability: ``torch.sigmoid(logit)`` is D's probability that the input is real,
    and the losses use ``binary_cross_entropy_with_logits``, which applies the sigmoid itself (stably).
    """

    def __init__(
        self,
        data_shape: Sequence[int] = (1, 28, 28),
        hidden: Sequence[int] = (512, 256),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        hidden, data_shape = _as_shape(hidden), _as_shape(data_shape)
        self.config = {"data_shape": data_shape, "hidden": hidden, "dropout": float(dropout)}
        self.data_shape = tuple(data_shape)
        sizes = [math.prod(data_shape), *hidden]
        layers: List[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers.append(discriminator_block(a, b))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(check_images(x, self.data_shape, "This discriminator").flatten(1))


def point_gan(noise_dim: int = 8, width: int = 128) -> Tuple[Generator, Discriminator]:
    """The lesson's 2-D pair: two hidden layers of ``width`` each, linear output (points are not bounded)."""
    generator = Generator(
        noise_dim, hidden=(width, width), data_shape=(2,), output="linear", batch_norm=False
    )
    discriminator = Discriminator(data_shape=(2,), hidden=(width, width))
    return generator, discriminator


def image_gan(
    noise_dim: int = 64, g_hidden: Sequence[int] = (256, 512, 1024), d_hidden: Sequence[int] = (512, 256)
) -> Tuple[Generator, Discriminator]:
    """The lesson's fully connected pair for 1×28×28 images in [-1, 1]."""
    return Generator(noise_dim, hidden=g_hidden), Discriminator(hidden=d_hidden)


# ----------------------------------------------------------------------------------------------------------------
# The training loop
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class GanRun:
    """What ``train_gan`` returns: the curves, the fixed-noise samples over training, and the wall time."""

    history: History
    snapshots: List[Tuple[int, torch.Tensor]] = field(
        default_factory=list
    )  # (step, samples from fixed noise)
    seconds: float = 0.0
    steps: int = 0
    # the moving average of G's weights, when asked for (``average_decay``)
    averaged: Optional[nn.Module] = None


def train_gan(
    generator: Generator,
    discriminator: Discriminator,
    data: torch.Tensor,
    steps: int,
    batch_size: int = 128,
    lr: float = 2e-4,
    betas: Tuple[float, float] = (0.5, 0.999),
    d_lr: Optional[float] = None,
    step_fn: Optional[Callable] = None,
    average_decay: Optional[float] = None,
    fixed_noise: Optional[torch.Tensor] = None,
    snapshot_every: Optional[int] = None,
    log_every: int = 50,
    on_snapshot: Optional[Callable[[int, nn.Module, nn.Module], None]] = None,
    every: Sequence[Tuple[int, Callable[[int], Optional[dict]]]] = (),
    live=None,
    seed: int = 0,
    show_progress: bool = True,
    max_seconds: Optional[float] = None,
    clock: Callable[[], float] = time.perf_counter,
) -> GanRun:
    """Train a GAN for ``steps`` steps on ``data`` (examples of the generator's shape, e.g. images in [-1, 1]).

    Two Adam optimizers (β1 = 0.5, as in DCGAN, damps the oscillations) and ``step_fn`` — by default
    ``train_step``, or the learner's own — handed to the course's loop (``course_utils.training.fit``).

    Args:
        steps: training steps (one D step + one G step each); an epoch is len(data) / batch_size steps.
        d_lr: a different learning rate for the discriminator (default: ``lr``).
        step_fn: the training step, ``step_fn(G, D, real, g_opt, d_opt) -> dict of numbers``.
        average_decay: also keep an exponential moving average of G's weights, updated after every step
            (average ← decay · average + (1 − decay) · weights; 0.99 averages over roughly the last 100 steps), and
            return it as ``run.averaged``, a generator like G. In a GAN game G's weights tend to circle around a
            good point rather than settle on it; their average sits closer to it (Yazıcı et al., 2019).
        fixed_noise: a noise batch whose samples are kept every ``snapshot_every`` steps (and at the start and
            the end), to watch the same z turn into examples as training goes.
        log_every: record the averages of the step's numbers every this many steps.
        on_snapshot: called as ``on_snapshot(step, generator, discriminator)`` at every snapshot (e.g. to draw
            the discriminator's decision surface as training goes).
        every: more ``(n, callback)`` pairs for ``fit``: ``callback(step)`` runs every n steps (its time is not
            counted) and the numbers it returns are recorded, e.g. the judge's scores of a few samples.
        live: a ``LiveView`` redrawn while training (optional).
        max_seconds: stop once this much training time has passed on ``clock`` (``run.steps`` says how many
            steps were done); e.g. a benchmark's "what do 10 minutes give".
    """
    if tuple(data.shape[1:]) != tuple(generator.data_shape):
        raise ShapeError(
            f"The data has examples of shape {tuple(data.shape[1:])} but the generator makes "
            f"{tuple(generator.data_shape)}. Build the generator for this data (data_shape=...)."
        )
    averaged = moving_average(generator, average_decay)  # None without average_decay
    step_fn = step_fn or train_step
    device = device_of(generator)
    discriminator.to(device)
    generator.train()
    discriminator.train()
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=d_lr or lr, betas=betas)
    batches = TensorBatches(data, batch_size=batch_size, device=device, drop_last=True, seed=seed)
    if len(batches) == 0:
        raise ShapeError(f"Need at least batch_size={batch_size} examples to train, got {len(data)}.")
    run = GanRun(History())

    def one_step(real: torch.Tensor) -> dict:
        return step_fn(generator, discriminator, real, g_optimizer, d_optimizer)

    def snapshot(step: int) -> None:
        generator.eval()
        with torch.no_grad():
            if fixed_noise is not None:
                run.snapshots.append((step, generator(fixed_noise.to(device)).cpu()))
            if on_snapshot is not None:
                on_snapshot(step, generator, discriminator)
        generator.train()

    def latest_samples():
        return run.snapshots[-1][1] if run.snapshots else None

    every = ([(snapshot_every, snapshot)] if snapshot_every else []) + list(every)
    if snapshot_every:
        snapshot(0)
    report = Report(desc="GAN training", show_progress=show_progress, log_every=log_every, view=live,
                    view_samples=latest_samples)  # fmt: skip
    run.history = fit(
        with_average(one_step, generator, averaged),
        batches,
        Budget(steps=steps, seconds=max_seconds, clock=clock),
        every=every,
        report=report,
    )
    if not snapshot_every:
        snapshot(run.history.steps_done)
    run.seconds, run.steps = run.history.seconds, run.history.steps_done
    if averaged is not None:
        run.averaged = averaged.module.eval()
    generator.eval()
    discriminator.eval()
    return run
