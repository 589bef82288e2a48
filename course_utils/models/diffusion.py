"""Lesson 09's denoising diffusion model: the noise schedule, q(x_t | x_0), the ε-prediction loss, ancestral
(DDPM) sampling, and the deterministic DDIM sampler that takes far fewer steps.

Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020. The *forward process* adds a little
Gaussian noise at each of T = 1000 steps, with variances β_0 … β_{T-1} (the *schedule*, here linear from 1e-4 to
0.02 as in the paper):

    q(x_t | x_{t-1}) = N(√(1 − β_t) x_{t-1}, β_t I).

A sum of Gaussians is Gaussian, so any step can be reached in one jump. With α_t = 1 − β_t and ᾱ_t = α_0 ⋯ α_t:

    q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),   i.e.   x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε,  ε ~ N(0, I).

At the last step ᾱ is about 4e-5: x_{T-1} is (almost) pure noise. A network ε_θ(x_t, t) learns to tell the noise
in x_t by plain regression, ``epsilon_loss`` = E ||ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)||². Sampling runs the chain
backwards from noise, one *ancestral* step at a time (Ho et al.'s Algorithm 2, with σ_t² = β_t):

    x_{t-1} = (x_t − β_t / √(1 − ᾱ_t) · ε_θ(x_t, t)) / √α_t + σ_t z,   z ~ N(0, I), and no noise at t = 0.

DDIM (Song, Meng & Ermon, "Denoising Diffusion Implicit Models", ICLR 2021) uses the same trained network but
jumps between a few of the steps deterministically: estimate x_0 from x_t, then put it back at the earlier step
with the *same* predicted noise. Written in x/√ᾱ and σ = √(1 − ᾱ)/√ᾱ, that jump is one Euler step of the
probability-flow ODE d(x/√ᾱ)/dσ = ε̂ (Song et al., §4.3). Indices here run 0 … T − 1 (the paper's 1 … T).

The network may be trained to predict ε (``epsilon_loss``, the lesson's), the clean x_0, or v = √ᾱ ε − √(1 − ᾱ) x_0
(Salimans & Ho, "Progressive Distillation for Fast Sampling of Diffusion Models", ICLR 2022): three readings of
the same x_t that ``x0_and_noise`` converts into one another, so ``ddim_sample`` takes any of them. They differ in
how errors grow: x̂_0 from ε̂ divides by √ᾱ_t, about 0.006 at the last step.

``epsilon_loss_by_step`` and ``gaussian_epsilon_floor`` show where the ε loss cannot reach 0: at small t, where the
noise is smaller than the data's own spread (not at large t, where x_t is almost all noise and ε easy to read).

The first functions are the answer key of the lesson's exercises 09.1–09.3.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..training import evaluating

# ----------------------------------------------------------------------------------------------------------------
# The answer key: q(x_t | x_0), the loss, one ancestral step
# ----------------------------------------------------------------------------------------------------------------


def q_sample(
    x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alpha_bars: torch.Tensor
) -> torch.Tensor:
    """x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · noise, with one step t per example (t: int64 of shape N)."""
    # N → N×1×…: one ᾱ per example, broadcast over its pixels
    a = alpha_bars[t].reshape(-1, *[1] * (x0.dim() - 1))
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def epsilon_loss(model: nn.Module, x0: torch.Tensor, alpha_bars: torch.Tensor) -> torch.Tensor:
    """The ε-prediction loss: a random step t and fresh noise per example; mean squared error on the noise."""
    t = torch.randint(0, len(alpha_bars), (len(x0),), device=x0.device)
    noise = torch.randn_like(x0)
    return F.mse_loss(model(q_sample(x0, t, noise, alpha_bars), t), noise)


PREDICTIONS = ("epsilon", "x0", "v")


def prediction_target(
    x0: torch.Tensor, noise: torch.Tensor, a: torch.Tensor, prediction: str
) -> torch.Tensor:
    """What the network regresses on for each parameterisation; ``a`` = √ᾱ_t per example (broadcastable).

    "epsilon": the noise ε; "x0": the clean example; "v": √ᾱ_t ε − √(1 − ᾱ_t) x0 (Salimans & Ho, 2022)."""
    if prediction == "epsilon":
        return noise
    if prediction == "x0":
        return x0
    if prediction == "v":
        return a * noise - (1 - a**2).sqrt() * x0
    raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}.")


def prediction_loss(
    model: nn.Module, x0: torch.Tensor, alpha_bars: torch.Tensor, prediction: str = "v"
) -> torch.Tensor:
    """``epsilon_loss`` with another target (``prediction_target``): the same x_t, t and mean squared error."""
    t = torch.randint(0, len(alpha_bars), (len(x0),), device=x0.device)
    noise = torch.randn_like(x0)
    a = alpha_bars[t].sqrt().reshape(-1, *[1] * (x0.dim() - 1))
    return F.mse_loss(
        model(q_sample(x0, t, noise, alpha_bars), t), prediction_target(x0, noise, a, prediction)
    )


def x0_and_noise(
    output: torch.Tensor, x_t: torch.Tensor, alpha_bar: torch.Tensor, prediction: str = "epsilon"
):
    """The network's ``output`` at x_t read as the pair (x̂0, ε̂), for any parameterisation.

    With a = √ᾱ_t and b = √(1 − ᾱ_t), x_t = a x0 + b ε; so

        "epsilon": x̂0 = (x_t − b ε̂) / a       an error in ε̂ reaches x̂0 multiplied by b / a (160 at t = 999)
        "x0":      ε̂ = (x_t − a x̂0) / b       an error in x̂0 reaches ε̂ multiplied by a / b (100 at t = 0)
        "v":       x̂0 = a x_t − b v̂,  ε̂ = b x_t + a v̂     no division: errors never grow
    """
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    if prediction == "epsilon":
        return (x_t - b * output) / a, output
    if prediction == "x0":
        return output, (x_t - a * output) / b
    if prediction == "v":
        return a * x_t - b * output, b * x_t + a * output
    raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}.")


@torch.no_grad()
def epsilon_loss_by_step(
    model: nn.Module,
    x0: torch.Tensor,
    alpha_bars: torch.Tensor,
    steps: Sequence[int],
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """The ε loss at each step of ``steps`` (fresh noise, all of ``x0``, the model in eval mode), as a tensor.

    ``epsilon_loss`` is the mean of these over t ~ U{0 … T − 1}; this shows which steps the loss comes from."""
    device = _device(model)
    x0 = x0.to(device)
    losses = []
    with evaluating(model):
        for t in steps:
            noise = torch.randn(x0.shape, generator=generator).to(device)
            times = torch.full((len(x0),), int(t), device=device, dtype=torch.long)
            losses.append(F.mse_loss(model(q_sample(x0, times, noise, alpha_bars.to(device)), times), noise))
    return torch.stack(losses).cpu()


def gaussian_epsilon_floor(alpha_bars: torch.Tensor, variance: float) -> torch.Tensor:
    """The least ε loss any network can reach at each step, per coordinate, for 1-D Gaussian data of ``variance`` s².

    With a = √ᾱ_t and b = √(1 − ᾱ_t), x_t = a x0 + b ε is Gaussian, and the best guess of ε is the regression
    E[ε | x_t] = b x_t / (a² s² + b²); what it misses is a² s² / (a² s² + b²): close to 1 at small t, where the
    noise (b) is smaller than the data's spread (a s), and close to 0 at large t, where x_t is almost all noise.
    For other data with the same variance it is the error of the best *linear* guess, so an upper bound.
    """
    signal = alpha_bars.double() * variance
    return (signal / (signal + 1 - alpha_bars.double())).float()


def ancestral_step(
    model: nn.Module,
    x_t: torch.Tensor,
    t: int,
    betas: torch.Tensor,
    alpha_bars: torch.Tensor,
    z: torch.Tensor,
) -> torch.Tensor:
    """One reverse step x_t → x_{t-1} (σ_t² = β_t); ``z`` is the fresh noise, not used at t = 0.

    Call it under ``torch.no_grad()`` (``ddpm_sample`` does, through ``evaluating``): sampling needs no gradients.
    """
    eps = model(x_t, torch.full((len(x_t),), t, device=x_t.device))
    mean = (x_t - betas[t] / (1 - alpha_bars[t]).sqrt() * eps) / (1 - betas[t]).sqrt()
    if t == 0:
        return mean
    return mean + betas[t].sqrt() * z


# ----------------------------------------------------------------------------------------------------------------
# The schedule and the samplers
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class NoiseSchedule:
    """β_t for t = 0 … T − 1, and what follows from them: α_t = 1 − β_t and ᾱ_t = α_0 ⋯ α_t."""

    betas: torch.Tensor

    @property
    def steps(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> torch.Tensor:
        return 1 - self.betas

    @property
    def alpha_bars(self) -> torch.Tensor:
        return torch.cumprod(self.alphas, dim=0)

    def to(self, device) -> NoiseSchedule:
        return NoiseSchedule(self.betas.to(device))


def linear_schedule(steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> NoiseSchedule:
    """Ho et al.'s schedule: β_t linear from ``beta_start`` to ``beta_end`` over ``steps`` steps (float32)."""
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be a whole number ≥ 2, got {steps!r}.")
    return NoiseSchedule(torch.linspace(beta_start, beta_end, steps, dtype=torch.float64).float())


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _keep(path: Optional[List[torch.Tensor]], x: torch.Tensor) -> None:
    if path is not None:
        path.append(x.detach().cpu())


def ddpm_sample(
    model: nn.Module,
    shape: Sequence[int],
    schedule: NoiseSchedule,
    generator: Optional[torch.Generator] = None,
    keep_path: bool = False,
    clip: Optional[Tuple[float, float]] = None,
):
    """Ancestral sampling: x_{T-1} ~ N(0, I), then all T reverse steps (T network evaluations).

    Returns the samples (shape ``shape``, on the CPU), or ``(samples, path)`` with ``keep_path``: x at every step,
    noise first. ``clip`` clamps the final samples, e.g. to the data's range (-1, 1) for images.
    """
    device = _device(model)
    schedule = schedule.to(device)
    betas, alpha_bars = schedule.betas, schedule.alpha_bars
    x = torch.randn(*shape, generator=generator).to(device)
    path: Optional[List[torch.Tensor]] = [] if keep_path else None
    _keep(path, x)
    with evaluating(model):
        for t in reversed(range(schedule.steps)):
            z = torch.randn(*shape, generator=generator).to(device) if t > 0 else torch.zeros_like(x)
            x = ancestral_step(model, x, t, betas, alpha_bars, z)
            _keep(path, x)
    x = x.clamp(*clip) if clip else x
    return (x.cpu(), path) if keep_path else x.cpu()


def ddim_timesteps(total: int, steps: int) -> List[int]:
    """``steps`` of the ``total`` diffusion steps, evenly spaced from the last (noise) down to 0, descending.

    Always starts at the noise, t = total − 1: one step is [total − 1], a single jump from noise to data."""
    if not isinstance(steps, int) or not 1 <= steps <= total:
        raise ValueError(f"steps must be a whole number from 1 to {total}, got {steps!r}.")
    last = total - 1
    return sorted({round(last - i * last / max(steps - 1, 1)) for i in range(steps)}, reverse=True)


def flow_timesteps(alpha_bars: torch.Tensor, steps: int) -> List[int]:
    """The diffusion steps at the noise levels where flow matching's Euler sampler evaluates, descending.

    Euler with ``steps`` steps looks at flow times τ = 0, 1/steps, …, 1 − 1/steps, where x_τ = (1 − τ) x0 + τ x1
    has the signal-to-noise ratio τ² / (1 − τ)²; a diffusion step t has ᾱ_t / (1 − ᾱ_t). Each τ gets the step
    with the nearest ratio (in logarithm), τ = 0 the last one, T − 1. Steps that coincide are taken once.
    """
    if not isinstance(steps, int) or not 1 <= steps <= len(alpha_bars):
        raise ValueError(f"steps must be a whole number from 1 to {len(alpha_bars)}, got {steps!r}.")
    log_ratio = (alpha_bars.double() / (1 - alpha_bars.double())).log()
    chosen = {len(alpha_bars) - 1}
    for i in range(1, steps):
        tau = i / steps
        chosen.add(int((log_ratio - 2 * math.log(tau / (1 - tau))).abs().argmin()))
    return sorted(chosen, reverse=True)


@torch.no_grad()
def ddim_sample(
    model: nn.Module,
    shape: Sequence[int],
    schedule: NoiseSchedule,
    steps: Union[int, Sequence[int]] = 50,
    generator: Optional[torch.Generator] = None,
    keep_path: bool = False,
    clip: Optional[Tuple[float, float]] = None,
    prediction: str = "epsilon",
    clip_x0: Optional[Tuple[float, float]] = None,
):
    """Deterministic DDIM sampling (η = 0) with ``steps`` network evaluations instead of T.

    ``steps``: how many, evenly spaced (``ddim_timesteps``), or the steps themselves, descending (e.g.
    ``flow_timesteps``).

    At each chosen step t, with the next chosen step s < t (ᾱ_s = 1 after the last):

        x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t,    x_s = √ᾱ_s x̂_0 + √(1 − ᾱ_s) ε̂,    ε̂ = ε_θ(x_t, t).

    ``prediction`` says what the model outputs ("epsilon", "x0" or "v"; ``x0_and_noise`` turns it into x̂_0 and
    ε̂). ``clip`` clamps the final samples to the data's range, as ``ddpm_sample`` and ``flow_matching.sample`` do.
    ``clip_x0`` clamps x̂_0 at every step instead, a common heuristic that Song et al.'s sampler does without. On
    lesson 09's images it helped a little at 10 steps and hurt at 25 and 50, the more the more steps, so that 25
    steps beat 50 (``benchmarks/ddim_clipping.py``, ``results/ddim_clipping.json``). Returns like ``ddpm_sample``.
    """
    device = _device(model)
    alpha_bars = schedule.alpha_bars.to(device)
    if isinstance(steps, int):
        times = ddim_timesteps(schedule.steps, steps)
    else:
        times = [int(t) for t in steps]
        if (
            not times
            or times != sorted(set(times), reverse=True)
            or not 0 <= times[-1] <= times[0] < schedule.steps
        ):
            raise ValueError(
                f"steps must be distinct steps from {schedule.steps - 1} down to 0, descending; got {times}."
            )
    x = torch.randn(*shape, generator=generator).to(device)
    path: Optional[List[torch.Tensor]] = [] if keep_path else None
    _keep(path, x)
    with evaluating(model):
        for i, t in enumerate(times):
            output = model(x, torch.full((len(x),), t, device=device, dtype=torch.long))
            a_s = alpha_bars[times[i + 1]] if i + 1 < len(times) else torch.ones((), device=device)
            x0, eps = x0_and_noise(output, x, alpha_bars[t], prediction)
            if clip_x0:
                x0 = x0.clamp(*clip_x0)
            x = a_s.sqrt() * x0 + (1 - a_s).sqrt() * eps
            _keep(path, x)
    x = x.clamp(*clip) if clip else x
    return (x.cpu(), path) if keep_path else x.cpu()


def sampling_seconds(sample_fn, repeats: int = 1) -> float:
    """Wall-clock seconds of ``sample_fn()`` (the fastest of ``repeats`` runs; CUDA synchronised)."""
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        sample_fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best
