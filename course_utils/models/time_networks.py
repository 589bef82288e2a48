"""Lesson 09's networks: a point or an image *and a time* in, a vector field of the same shape out.

A diffusion model predicts the noise ε in a noisy example x_t; a flow-matching model predicts the velocity that
carries noise to data. Either way the network gets two inputs, the example and *where along the path* it is (a
step t of the diffusion, or a time t in [0, 1] of the flow), and returns a tensor shaped like the example. Both
lessons' models use the networks of this module and the loop ``train_time_model``:

- ``time_embedding``: a number t → a vector of sines and cosines at many frequencies (Vaswani et al., 2017;
  Ho et al., 2020), which a network reads far more easily than the bare number;
- ``TimeMLP``: for 2-D points, [x, embedding(t)] → hidden layers → 2 numbers;
- ``SmallUNet``: for 28×28 images, a U-Net (Ronneberger et al., 2015) with residual blocks (He et al., 2016)
  that each add the time embedding: 28×28 → 14×14 → 7×7 and back, with skip connections at each size;
- ``train_time_model``: hands "loss = loss_fn(model, batch); step the optimizer" to the course's loop ``fit``,
  and can keep a moving average of the weights (``average_decay``), the copy diffusion models sample from.

``time_scale`` says what t is: 1 for integer diffusion steps 0…999, 1000 for flow times in [0, 1] (so both
cover the same range of the embedding's frequencies).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ..batches import TensorBatches
from ..errors import ShapeError
from ..images import check_images
from ..training import Budget, History, Report, fit, moving_average, warmup_cosine


def time_embedding(t: torch.Tensor, dim: int, scale: float = 1.0) -> torch.Tensor:
    """Sinusoidal embedding of times ``t`` (shape N) → N×dim: [sin(s·t·f_k), cos(s·t·f_k)], f_k from 1 to 1/10000."""
    if dim % 2:
        raise ValueError(f"The time embedding's size must be even (sines and cosines), got {dim}.")
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    angles = (t.float() * scale)[:, None] * frequencies[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def _check_times(t, n: int, who: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dim() != 1 or len(t) != n:
        got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ShapeError(
            f"{who} needs one time per example: a tensor of shape ({n},), got {got}. For one time for the whole "
            f"batch use torch.full(({n},), t)."
        )
    return t


def _check_labels(labels, n: int, num_classes: int, device) -> torch.Tensor:
    """One class per example, 0 … num_classes − 1, or num_classes for "no label"; None means no label for all."""
    if labels is None:
        return torch.full((n,), num_classes, dtype=torch.long, device=device)
    if (
        not isinstance(labels, torch.Tensor)
        or labels.dim() != 1
        or len(labels) != n
        or labels.is_floating_point()
    ):
        got = f"{labels.dtype} of shape {tuple(labels.shape)}" if isinstance(labels, torch.Tensor) else labels
        raise ShapeError(f"labels must be whole numbers, one per example (shape ({n},)); got {got}.")
    if n and not 0 <= int(labels.min()) <= int(labels.max()) <= num_classes:
        raise ValueError(
            f"labels must lie in 0 … {num_classes}: a class, or {num_classes} for no label; got "
            f"{int(labels.min())} … {int(labels.max())}."
        )
    return labels


class TimeMLP(nn.Module):
    """(points N×dim, times N) → N×dim: the 2-D lessons' network. [x, embedding(t)] → hidden → dim, SiLU between."""

    def __init__(
        self,
        dim: int = 2,
        hidden: Sequence[int] = (128, 128, 128),
        time_dim: int = 32,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__()
        hidden = [int(h) for h in hidden]
        self.config = {
            "dim": int(dim),
            "hidden": hidden,
            "time_dim": int(time_dim),
            "time_scale": float(time_scale),
        }
        self.dim, self.time_dim, self.time_scale = int(dim), int(time_dim), float(time_scale)
        sizes = [self.dim + self.time_dim, *hidden]
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.SiLU()]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], self.dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x = check_images(x, (self.dim,), "TimeMLP")
        t = _check_times(t, len(x), "TimeMLP")
        return self.net(torch.cat([x, time_embedding(t, self.time_dim, self.time_scale)], dim=1))


class ResidualBlock(nn.Module):
    """GroupNorm → SiLU → conv, + the time embedding (one number per channel), GroupNorm → SiLU → conv; + skip."""

    def __init__(self, in_channels: int, out_channels: int, time_dim: int, groups: int = 8) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time = nn.Linear(time_dim, out_channels)
        self.norm2 = nn.GroupNorm(min(groups, out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, t_features: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(t_features)[:, :, None, None]  # "how noisy": a shift of every channel
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class SmallUNet(nn.Module):
    """(images N×1×28×28, times N) → N×1×28×28: a small U-Net for Fashion-MNIST that trains on a CPU.

    Down: conv in, a residual block at 28×28 (``channels[0]``), a stride-2 conv to 14×14, a block
    (``channels[1]``), a stride-2 conv to 7×7, two blocks (``channels[2]``). Up: nearest upsampling back to
    14×14 and 28×28, each followed by a block that also reads the features kept on the way down (the skip
    connections carry the fine detail the 7×7 middle cannot hold). The time embedding goes through a small MLP
    and is added inside every block.
    """

    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 64),
        time_dim: int = 64,
        time_scale: float = 1.0,
        image_channels: int = 1,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        c0, c1, c2 = [int(c) for c in channels]
        self.config = {"channels": [c0, c1, c2], "time_dim": int(time_dim), "time_scale": float(time_scale),
                       "image_channels": int(image_channels)}  # fmt: skip
        if num_classes:
            self.config["num_classes"] = int(num_classes)
        self.num_classes = int(num_classes)
        self.image_shape = (int(image_channels), 28, 28)
        self.time_dim, self.time_scale = int(time_dim), float(time_scale)
        width = 4 * self.time_dim
        self.time_mlp = nn.Sequential(nn.Linear(self.time_dim, width), nn.SiLU(), nn.Linear(width, width))
        # Lesson 10's conditional model: one learnt vector per class, plus one more for "no label" (the index
        # num_classes), added to the time embedding so that every block knows what to draw.
        self.label_embedding = nn.Embedding(self.num_classes + 1, width) if self.num_classes else None
        self.conv_in = nn.Conv2d(image_channels, c0, 3, padding=1)
        self.down0 = ResidualBlock(c0, c0, width)
        self.to14 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.down1 = ResidualBlock(c0, c1, width)
        self.to7 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.middle1 = ResidualBlock(c1, c2, width)
        self.middle2 = ResidualBlock(c2, c2, width)
        self.up1 = ResidualBlock(c2 + c1, c1, width)
        self.up0 = ResidualBlock(c1 + c0, c0, width)
        self.norm_out = nn.GroupNorm(min(8, c0), c0)
        self.conv_out = nn.Conv2d(c0, image_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # start by predicting 0: a calm start for a regression
        nn.init.zeros_(self.conv_out.bias)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        x = check_images(x, self.image_shape, "SmallUNet")
        t = _check_times(t, len(x), "SmallUNet")
        emb = self.time_mlp(time_embedding(t, self.time_dim, self.time_scale))
        if self.label_embedding is not None:
            emb = emb + self.label_embedding(_check_labels(labels, len(x), self.num_classes, x.device))
        elif labels is not None:
            raise ValueError(
                "This SmallUNet has no labels to read: build it with num_classes=10 to condition it."
            )
        h28 = self.down0(self.conv_in(x), emb)  # 28×28
        h14 = self.down1(self.to14(h28), emb)  # 14×14
        h = self.middle2(self.middle1(self.to7(h14), emb), emb)  # 7×7
        h = F.interpolate(h, scale_factor=2, mode="nearest")  # back to 14×14
        h = self.up1(torch.cat([h, h14], dim=1), emb)
        h = F.interpolate(h, scale_factor=2, mode="nearest")  # back to 28×28
        h = self.up0(torch.cat([h, h28], dim=1), emb)
        return self.conv_out(F.silu(self.norm_out(h)))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def regression_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    averaged: Optional[AveragedModel] = None,
):
    """The training step of lessons 09 and 10: loss = loss_fn(model, batch), backward, one optimizer step, and then
    the moving average of the weights, when there is one (``averaged``). A batch may be a tuple (images, labels):
    ``loss_fn`` unpacks it.

    Returns ``step(batch)`` for ``course_utils.training.fit``."""

    def step(batch: torch.Tensor) -> dict:
        loss = loss_fn(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if averaged is not None:
            averaged.update_parameters(model)
        return {"loss": loss}

    return step


def train_time_model(
    model: nn.Module,
    data: torch.Tensor,
    loss_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    steps: Optional[int] = None,
    seconds: Optional[float] = None,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    log_every: int = 50,
    every=(),
    live=None,
    view_samples=None,
    desc: str = "training",
    show_progress: bool = True,
    clock: Callable[[], float] = time.perf_counter,
    average_decay: Optional[float] = None,
) -> History:
    """Train ``model`` on ``data`` by minimising ``loss_fn(model, batch)`` (Adam, the course's warm-up + cosine).

    ``loss_fn`` is the lesson's loss, e.g. ``diffusion.epsilon_loss`` with its schedule bound in, or
    ``flow_matching.flow_matching_loss``. Budget: ``steps`` and/or ``seconds`` of training time on ``clock``.
    Returns the ``History`` (its ``loss`` series, ``seconds``, ``steps_done``).

    ``average_decay``: also keep an exponential moving average of the weights, updated after every step (average
    ← decay · average + (1 − decay) · weights; 0.995 averages over roughly the last 200 steps), and return it as
    ``history.averaged``, a network like ``model`` in eval mode. It is the same average as lesson 05's and 06's
    (``gan.train_gan``'s ``average_decay``: torch's ``AveragedModel``); diffusion models sample from it (Ho et al.,
    2020, kept one with decay 0.9999 over their 800,000 steps).
    """
    device = next(model.parameters()).device
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = TensorBatches(data, batch_size=batch_size, device=device, drop_last=True, seed=seed)
    if len(batches) == 0:
        raise ShapeError(f"Need at least batch_size={batch_size} examples to train, got {len(data)}.")
    averaged = moving_average(model, average_decay)  # None without average_decay

    report = Report(
        desc=desc, show_progress=show_progress, log_every=log_every, view=live, view_samples=view_samples
    )
    history = fit(regression_step(model, optimizer, loss_fn, averaged), batches,
                  Budget(steps=steps, seconds=seconds, clock=clock), optimizers=[optimizer], schedule=warmup_cosine,
                  every=every, report=report)  # fmt: skip
    model.eval()
    history.averaged = averaged.module.eval() if averaged is not None else None
    return history
