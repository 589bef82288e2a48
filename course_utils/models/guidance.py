"""Lesson 10: one view of diffusion and flows, the exact likelihood of a flow, and guidance.

**One view.** A diffusion step t and a flow time τ describe the same kind of noisy example. Diffusion writes
x_t = a x0 + b ε with a = √ᾱ_t, b = √(1 − ᾱ_t); lesson 09's flow writes x_τ = τ x1 + (1 − τ) x0 with the data x1
and the noise x0. Divide x_t by a + b and it *is* a point of the flow, at τ = a / (a + b). A network's output can
be read four ways (``from_epsilon``): the noise ε̂, the clean example x̂0, the v of Salimans & Ho (2022), and the
score ∇ log p_t(x_t) = −ε̂ / b; Tweedie's formula x̂0 = (x_t + b² · score) / a says the same as x̂0 = (x_t − b ε̂) / a.
The velocity of the flow is x̂0 − ε̂ (``diffusion_to_flow``). Following it with Euler's method (``euler_step``)
visits exactly the points DDIM visits: DDIM is Euler's method on the probability-flow ODE (Song et al., 2021,
§4.3), and flow matching is diffusion with another time and another weighting of the noise levels (Kingma & Gao,
2023).

**Exact likelihood.** A flow moves probability without losing any, so the density along a path obeys
d log p(x_τ) / dτ = −div v(x_τ, τ) (the instantaneous change of variables; Chen et al., 2018). Integrating it
from the data back to the Gaussian gives log p(x) exactly, up to the ODE solver's error (``ode_log_likelihood``).
In 2-D the divergence is two partial derivatives (``exact_divergence``); for images it would be 784, so one uses
Hutchinson's estimator E[εᵀ (∂v/∂x) ε] with random ε (``hutchinson_divergence``; Grathwohl et al., 2019).

**Guidance.** To make class y, follow the score of p(x | y) = p(x) p(y | x) / p(y): the unconditional score plus
∇ log p(y | x_τ). *Classifier guidance* (Dhariwal & Nichol, 2021) gets that gradient from a classifier trained on
noisy inputs that knows τ (``NoiseAwareClassifier``) and multiplies it by a scale. *Classifier-free guidance* (Ho
& Salimans, 2022) trains one network with and without the label (``drop_labels``) and extrapolates from the
unconditional prediction past the conditional one (``guided_prediction``). ``choose_guidance_scale`` reads a
measured trade-off curve.

The first functions are the answer key of the lesson's exercises 10.1–10.6.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..batches import TensorBatches
from ..training import Budget, History, Report, evaluating, fit, moving_average, warmup_cosine
from .time_networks import ResidualBlock, regression_step, time_embedding

# ----------------------------------------------------------------------------------------------------------------
# The answer key
# ----------------------------------------------------------------------------------------------------------------


def from_epsilon(
    eps_hat: torch.Tensor, x_t: torch.Tensor, alpha_bar: torch.Tensor
) -> Dict[str, torch.Tensor]:
    """A diffusion network's ε̂ at x_t read as the clean example, v and the score (exercise 10.1).

    With a = √ᾱ_t and b = √(1 − ᾱ_t):  x̂0 = (x_t − b ε̂) / a,  v̂ = a ε̂ − b x̂0,  score = −ε̂ / b.
    ``alpha_bar``: one number, or one per example shaped to broadcast (N×1×…)."""
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    x0_hat = (x_t - b * eps_hat) / a
    return {"x0": x0_hat, "v": a * eps_hat - b * x0_hat, "score": -eps_hat / b}


def diffusion_to_flow(eps_hat: torch.Tensor, x_t: torch.Tensor, alpha_bar: torch.Tensor):
    """The diffusion point x_t with its ε̂, seen as a point of lesson 09's flow (exercise 10.2).

    Returns ``(x_tau, tau, velocity)``: x_τ = x_t / (a + b), τ = a / (a + b) and the velocity x̂0 − ε̂, where
    a = √ᾱ_t, b = √(1 − ᾱ_t) and x̂0 = (x_t − b ε̂) / a."""
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    x0_hat = (x_t - b * eps_hat) / a
    return x_t / (a + b), a / (a + b), x0_hat - eps_hat


def euler_step(velocity_fn: Callable, x: torch.Tensor, tau: float, tau_next: float) -> torch.Tensor:
    """One Euler step of the probability-flow ODE dx/dτ = v(x, τ), from τ to τ_next (exercise 10.3).

    ``velocity_fn(x, tau)`` takes the points and one time per point (a tensor of shape N)."""
    times = torch.full((len(x),), float(tau), device=x.device)
    return x + (tau_next - tau) * velocity_fn(x, times)


def drop_labels(labels: torch.Tensor, p_uncond: float, null_label: int) -> torch.Tensor:
    """Classifier-free guidance's label dropout (exercise 10.4): each label, on its own, becomes ``null_label``
    ("no label") with probability ``p_uncond``; a new tensor, the input unchanged."""
    dropped = torch.rand(labels.shape, device=labels.device) < p_uncond
    return torch.where(dropped, torch.full_like(labels, null_label), labels)


def guided_prediction(conditional: torch.Tensor, unconditional: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance (exercise 10.5; Ho & Salimans, 2022): (1 + w) · conditional − w · unconditional.

    w = 0 is the conditional model itself; w > 0 goes past it, away from the unconditional prediction."""
    return (1 + w) * conditional - w * unconditional


def choose_guidance_scale(curve: Sequence[Dict], min_accuracy: float) -> Optional[float]:
    """The w of the trade-off ``curve`` (rows with "w", "accuracy", "recall") that keeps the most variety (the
    highest recall) among those whose requested-class accuracy is at least ``min_accuracy``; None when no row
    reaches it (exercise 10.6)."""
    good = [row for row in curve if row["accuracy"] >= min_accuracy]
    if not good:
        return None
    return max(good, key=lambda row: row["recall"])["w"]


# ----------------------------------------------------------------------------------------------------------------
# Exact likelihood of a 2-D flow
# ----------------------------------------------------------------------------------------------------------------


def exact_divergence(velocity_fn: Callable, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """div v = Σ_i ∂v_i/∂x_i at each point (N×D → N), one backward pass per coordinate: fine in 2-D."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = velocity_fn(x, tau)
        parts = [torch.autograd.grad(v[:, i].sum(), x, retain_graph=i + 1 < x.shape[1])[0][:, i]
                 for i in range(x.shape[1])]  # fmt: skip
    return torch.stack(parts, dim=1).sum(dim=1)


def hutchinson_divergence(
    velocity_fn: Callable, x: torch.Tensor, tau: torch.Tensor, probes: int = 1, generator=None
) -> torch.Tensor:
    """An unbiased estimate of div v from ``probes`` random vectors ε ~ N(0, I): the mean of εᵀ (∂v/∂x) ε.

    One backward pass per probe whatever the dimension (Hutchinson, 1990; Grathwohl et al., 2019): the way
    images' likelihoods are computed, where the exact trace needs one pass per pixel."""
    total = torch.zeros(len(x), device=x.device)
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = velocity_fn(x, tau)
        for i in range(probes):
            eps = torch.randn(x.shape, generator=generator).to(x.device)
            (vjp,) = torch.autograd.grad(v, x, eps, retain_graph=i + 1 < probes)  # εᵀ ∂v/∂x
            total += (vjp * eps).flatten(1).sum(dim=1)
    return total / probes


def standard_normal_log_density(x: torch.Tensor) -> torch.Tensor:
    """log N(x; 0, I) of each row, in nats."""
    d = x[0].numel()
    return -0.5 * x.flatten(1).pow(2).sum(dim=1) - 0.5 * d * math.log(2 * math.pi)


def ode_log_likelihood(model: nn.Module, x: torch.Tensor, steps: int = 200, divergence=exact_divergence):
    """log p(x) in nats under a flow-matching model, through the probability-flow ODE (Chen et al., 2018).

    Runs the ODE backwards from the data (τ = 1) to the noise (τ = 0) with ``steps`` steps of the classical
    fourth-order Runge-Kutta method, carrying ℓ with dℓ/dτ = div v alongside x; then
    log p(x) = log N(x_0; 0, I) + ℓ(0) (ℓ starts at 0). Returns (log p, the noise x_0 each point maps to)."""
    device = next(model.parameters()).device
    z, ell = x.detach().to(device), torch.zeros(len(x), device=device)

    def field(points, tau):
        times = torch.full((len(points),), tau, device=device)
        with torch.no_grad():
            velocity = model(points, times)
        return velocity, divergence(model, points, times).detach()

    h = -1.0 / steps
    with evaluating(model):
        for i in range(steps):
            tau = 1.0 + i * h
            k1, d1 = field(z, tau)
            k2, d2 = field(z + 0.5 * h * k1, tau + 0.5 * h)
            k3, d3 = field(z + 0.5 * h * k2, tau + 0.5 * h)
            k4, d4 = field(z + h * k3, tau + h)
            z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            ell = ell + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
    return (standard_normal_log_density(z) + ell).cpu(), z.cpu()


def ring_log_density(points: torch.Tensor, centers: torch.Tensor, std: float) -> torch.Tensor:
    """The true log-density (nats) of lesson 04's ring: an equal mixture of N(c_k, std² I) over the ``centers``."""
    d = points.shape[1]
    squared = torch.cdist(points.double(), centers.double()).pow(2)
    log_each = -squared / (2 * std**2) - d * math.log(std) - 0.5 * d * math.log(2 * math.pi)
    return (torch.logsumexp(log_each, dim=1) - math.log(len(centers))).float()


# ----------------------------------------------------------------------------------------------------------------
# Classifier-free guidance: training and sampling
# ----------------------------------------------------------------------------------------------------------------


def conditional_flow_loss(model: nn.Module, x1: torch.Tensor, labels: torch.Tensor, p_uncond: float = 0.1):
    """Lesson 09's flow-matching loss for a model that also reads the label, a share ``p_uncond`` of which is
    replaced by "no label" (``model.num_classes``): one network learns p(x | y) and p(x)."""
    x0 = torch.randn_like(x1)
    t = torch.rand(len(x1), device=x1.device)
    s = t.reshape(-1, *[1] * (x1.dim() - 1))
    x_t = (1 - s) * x0 + s * x1
    return F.mse_loss(model(x_t, t, drop_labels(labels, p_uncond, model.num_classes)), x1 - x0)


@torch.no_grad()
def cfg_sample(
    model: nn.Module, labels: torch.Tensor, w: float, steps: int = 10, generator=None, batch_size: int = 1000
) -> torch.Tensor:
    """Images of the requested ``labels`` from fresh noise: Euler's method on the guided velocity
    (1 + w) v(x, τ, y) − w v(x, τ, ∅), in batches of ``batch_size``; on the CPU, not clamped."""
    device = next(model.parameters()).device
    null = torch.full((len(labels),), model.num_classes, dtype=torch.long)
    noise = torch.randn(len(labels), 1, 28, 28, generator=generator)
    out = []
    with evaluating(model):
        for start in range(0, len(labels), batch_size):
            y = labels[start : start + batch_size].to(device)
            x = noise[start : start + batch_size].to(device)
            for i in range(steps):
                tau = torch.full((len(x),), i / steps, device=device)
                conditional = model(x, tau, y)
                if w == 0:
                    velocity = conditional
                else:
                    unconditional = model(x, tau, null[: len(x)].to(device))
                    velocity = guided_prediction(conditional, unconditional, w)
                x = x + velocity / steps
            out.append(x.cpu())
    return torch.cat(out)


# ----------------------------------------------------------------------------------------------------------------
# Classifier guidance
# ----------------------------------------------------------------------------------------------------------------


class NoiseAwareClassifier(nn.Module):
    """(x_τ N×1×28×28, τ N) → 10 logits: a classifier of *noisy* images that is told how noisy they are.

    a stride-2 conv in to 14×14 → residual block → stride 2 → block at 7×7 → average → linear; the time embedding
    is added in every block, as in ``SmallUNet`` (whose ``ResidualBlock`` it uses). Small, so that it trains in a
    couple of CPU minutes."""

    def __init__(self, num_classes: int = 10, channels: Sequence[int] = (16, 32), time_dim: int = 64,
                 time_scale: float = 1000.0) -> None:  # fmt: skip
        super().__init__()
        c0, c1 = [int(c) for c in channels]
        self.config = {"num_classes": int(num_classes), "channels": [c0, c1], "time_dim": int(time_dim),
                       "time_scale": float(time_scale)}  # fmt: skip
        self.time_dim, self.time_scale = int(time_dim), float(time_scale)
        width = 4 * self.time_dim
        self.time_mlp = nn.Sequential(nn.Linear(self.time_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.to14 = nn.Conv2d(1, c0, 3, stride=2, padding=1)
        self.block14 = ResidualBlock(c0, c1, width)
        self.to7 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.block7 = ResidualBlock(c1, c1, width)
        self.norm = nn.GroupNorm(8, c1)
        self.head = nn.Linear(c1, int(num_classes))

    def forward(self, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        emb = self.time_mlp(time_embedding(tau, self.time_dim, self.time_scale))
        h = self.block14(self.to14(x), emb)
        h = self.block7(self.to7(h), emb)
        return self.head(F.silu(self.norm(h)).mean(dim=(2, 3)))


def noisy_classification_loss(
    classifier: nn.Module, x1: torch.Tensor, labels: torch.Tensor, clean: bool = False
):
    """Cross-entropy on x_τ = τ x1 + (1 − τ) ε with τ ~ U[0, 1) per image (the flow's noise levels), or on the
    clean images (τ = 1) with ``clean=True``: the same network and recipe, trained without noise."""
    if clean:
        tau = torch.ones(len(x1), device=x1.device)
    else:
        tau = torch.rand(len(x1), device=x1.device)
    s = tau.reshape(-1, 1, 1, 1)
    x_tau = s * x1 + (1 - s) * torch.randn_like(x1)
    return F.cross_entropy(classifier(x_tau, tau), labels)


def class_log_prob_gradient(classifier: nn.Module, x: torch.Tensor, tau: torch.Tensor, labels: torch.Tensor,
                            clean: bool = False) -> torch.Tensor:  # fmt: skip
    """∇_x log p(y | x_τ) of each image for its label; a clean-image classifier is asked at τ = 1 (``clean``)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        asked = torch.ones_like(tau) if clean else tau
        log_probs = F.log_softmax(classifier(x, asked), dim=1)
        chosen = log_probs.gather(1, labels[:, None]).sum()
        return torch.autograd.grad(chosen, x)[0]


@torch.no_grad()
def classifier_guided_sample(model: nn.Module, classifier: nn.Module, labels: torch.Tensor, scale: float,
                             steps: int = 10, generator=None, clean: bool = False,
                             batch_size: int = 500) -> torch.Tensor:  # fmt: skip
    """Images of ``labels``: Euler on the unconditional velocity (the model's "no label" branch) guided by the
    classifier's gradient. The score gains scale · ∇ log p(y | x_τ); since v = (x_τ + (1 − τ) · score) / τ, the
    velocity gains scale · (1 − τ) / τ · ∇ log p(y | x_τ). At τ = 0 the noise says nothing about y (the true
    gradient is 0), so the first step is unguided."""
    device = next(model.parameters()).device
    noise = torch.randn(len(labels), 1, 28, 28, generator=generator)
    out = []
    with evaluating(model), evaluating(classifier):
        for start in range(0, len(labels), batch_size):
            y = labels[start : start + batch_size].to(device)
            x = noise[start : start + batch_size].to(device)
            null = torch.full((len(x),), model.num_classes, dtype=torch.long, device=device)
            for i in range(steps):
                tau = i / steps
                times = torch.full((len(x),), tau, device=device)
                velocity = model(x, times, null)
                if i > 0 and scale:
                    gradient = class_log_prob_gradient(classifier, x, times, y, clean=clean)
                    velocity = velocity + scale * (1 - tau) / tau * gradient
                x = x + velocity / steps
            out.append(x.cpu())
    return torch.cat(out)


def train_guided_flow(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, budget: Budget, *,
                      batch_size: int = 64, lr: float = 1e-3, p_uncond: float = 0.1,
                      average_decay: Optional[float] = 0.999, report: Optional[Report] = None, seed: int = 0) -> History:  # fmt: skip
    """Train a conditional ``SmallUNet`` with ``conditional_flow_loss`` (Adam, the course's warm-up + cosine),
    keeping a moving average of the weights; returns the ``History``, with the average as ``history.averaged``."""
    device = next(model.parameters()).device
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = TensorBatches(images, labels, batch_size=batch_size, device=device, drop_last=True, seed=seed)
    averaged = moving_average(model, average_decay)
    step = regression_step(
        model, optimizer, lambda m, batch: conditional_flow_loss(m, *batch, p_uncond), averaged
    )
    history = fit(step, batches, budget, optimizers=[optimizer], schedule=warmup_cosine, report=report)
    model.eval()
    history.averaged = averaged.module.eval() if averaged is not None else None
    return history


def train_noise_aware_classifier(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor, budget: Budget,
                                 *, clean: bool = False, batch_size: int = 128, lr: float = 1e-3,
                                 report: Optional[Report] = None, seed: int = 0) -> History:  # fmt: skip
    """Train ``classifier`` with ``noisy_classification_loss`` (Adam, warm-up + cosine); ``clean=True`` trains the
    same network on clean images only, the classifier that fails at guiding."""
    device = next(classifier.parameters()).device
    classifier.train()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    batches = TensorBatches(images, labels, batch_size=batch_size, device=device, drop_last=True, seed=seed)
    step = regression_step(
        classifier, optimizer, lambda c, batch: noisy_classification_loss(c, *batch, clean=clean)
    )
    history = fit(step, batches, budget, optimizers=[optimizer], schedule=warmup_cosine, report=report)
    classifier.eval()
    return history


@torch.no_grad()
def noisy_accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor, tau: float,
                   clean: bool = False, seed: int = 0) -> float:  # fmt: skip
    """The classifier's accuracy on ``images`` (in [-1, 1]) noised to flow time ``tau`` (one fixed noise draw)."""
    device = next(classifier.parameters()).device
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    x = (tau * images + (1 - tau) * noise).to(device)
    times = torch.full((len(x),), 1.0 if clean else tau, device=device)
    with evaluating(classifier):
        logits = torch.cat([classifier(x[i : i + 1000], times[i : i + 1000]) for i in range(0, len(x), 1000)])
    return float((logits.argmax(dim=1).cpu() == labels).float().mean())


def requested_labels(per_class: int, num_classes: int = 10) -> torch.Tensor:
    """0, …, 0, 1, …, 1, …: ``per_class`` requests of each class, in order."""
    return torch.arange(num_classes).repeat_interleave(per_class)


def class_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of samples a classifier puts in the class that was asked for (probs: N×classes)."""
    return float((probs.argmax(dim=1) == labels).float().mean())


__all__: List[str] = [
    "from_epsilon", "diffusion_to_flow", "euler_step", "drop_labels", "guided_prediction", "choose_guidance_scale",
    "exact_divergence", "hutchinson_divergence", "standard_normal_log_density", "ode_log_likelihood",
    "ring_log_density", "conditional_flow_loss", "cfg_sample", "NoiseAwareClassifier", "noisy_classification_loss",
    "class_log_prob_gradient", "classifier_guided_sample", "train_guided_flow", "train_noise_aware_classifier",
    "noisy_accuracy", "requested_labels", "class_accuracy",
]  # fmt: skip
