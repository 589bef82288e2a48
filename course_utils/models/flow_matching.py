"""Lesson 09's flow-matching model: straight paths from noise to data, a velocity to regress, Euler steps.

Flow matching (Lipman, Chen, Ben-Hamu, Nickel & Le, "Flow Matching for Generative Modeling", ICLR 2023) with the
straight paths of rectified flow (Liu, Gong & Liu, "Flow Straight and Fast", ICLR 2023). Pair a noise vector
x_0 ~ N(0, I) with a data example x_1 and join them by a straight line,

    x_t = (1 − t) x_0 + t x_1,   t ∈ [0, 1],   whose velocity is   dx_t/dt = x_1 − x_0.

A network v_θ(x_t, t) learns the velocity by plain regression, ``flow_matching_loss`` = E ||(x_1 − x_0) −
v_θ(x_t, t)||². For one x_t many lines pass through it, so the network learns their *average* direction; that
averaged field still carries N(0, I) exactly onto the data's distribution (Lipman et al., Theorem 1). To sample,
start from noise at t = 0 and follow the field to t = 1 (the ODE dx/dt = v_θ(x, t)) with ``euler_sample``:
x ← x + v_θ(x, t)·Δt, a handful to a hundred steps.

This path is a Gaussian diffusion's too, with the data's share t and the noise's 1 − t: an Euler step here is
exactly DDIM's step on it ("predict both ends, mix them again at the next time"), and Gaussian flow matching is
diffusion up to a rescaling of x, a change of time and a weighting of the noise levels in the loss (Kingma & Gao,
"Understanding Diffusion Objectives as the ELBO with Simple Data Augmentation", NeurIPS 2023).
``diffusion.flow_timesteps`` gives the diffusion steps at this sampler's noise levels.

The two functions are the answer key of the lesson's exercises 09.4 and 09.5.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..training import evaluating


def flow_matching_loss(model: nn.Module, x1: torch.Tensor) -> torch.Tensor:
    """Mean squared error between v_θ(x_t, t) and the straight path's velocity x1 − x0 (t ~ U[0, 1) per example)."""
    x0 = torch.randn_like(x1)
    t = torch.rand(len(x1), device=x1.device)
    s = t.reshape(-1, *[1] * (x1.dim() - 1))  # N → N×1×…, to broadcast over each example
    x_t = (1 - s) * x0 + s * x1
    return F.mse_loss(model(x_t, t), x1 - x0)


def euler_sample(model: nn.Module, x: torch.Tensor, steps: int) -> torch.Tensor:
    """Follow dx/dt = v_θ(x, t) from t = 0 (the noise ``x``) to t = 1 in ``steps`` Euler steps of Δt = 1/steps.

    Call it under ``torch.no_grad()`` (``sample`` does, through ``evaluating``): sampling needs no gradients, and
    without it every step's graph would be kept.
    """
    dt = 1.0 / steps
    for i in range(steps):
        t = torch.full((len(x),), i * dt, device=x.device)
        x = x + dt * model(x, t)
    return x


def sample(
    model: nn.Module,
    shape: Sequence[int],
    steps: int = 50,
    generator: Optional[torch.Generator] = None,
    keep_path: bool = False,
    clip: Optional[Tuple[float, float]] = None,
):
    """Samples from fresh noise (``euler_sample`` with ``steps`` steps), on the CPU, in eval mode.

    With ``keep_path`` returns ``(samples, path)``: x after every step, noise first. ``clip`` clamps the result.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive whole number, got {steps!r}.")
    device = next(model.parameters()).device
    x = torch.randn(*shape, generator=generator).to(device)
    path: List[torch.Tensor] = [x.cpu()]
    with evaluating(model):
        if keep_path:
            for i in range(steps):  # the same Euler steps, one at a time, keeping each point
                t = torch.full((len(x),), i / steps, device=device)
                x = x + model(x, t) / steps
                path.append(x.cpu())
        else:
            x = euler_sample(model, x, steps)
    x = x.clamp(*clip) if clip else x
    return (x.cpu(), path) if keep_path else x.cpu()
