"""Lesson 06's Wasserstein GAN: the critic's and generator's losses, the gradient penalty, and the training step.

Arjovsky et al. (2017) replace the discriminator's real/fake classification by a *critic* f that scores examples
(any real number, no sigmoid), and the game's Jensen–Shannon divergence by the earth mover's (Wasserstein-1)
distance, through the Kantorovich–Rubinstein duality

    W1(p_data, p_g) = max over 1-Lipschitz f of  E_data[f(x)] − E_g[f(x)].

Per generator step the critic takes ``n_critic`` steps (5) on fresh real minibatches:

1. critic step:  minimise  E[f(G(z))] − E[f(x)]  (+ the Lipschitz control), fakes made without gradients;
2. generator step:  minimise  −E[f(G(z))].

The critic must stay (close to) 1-Lipschitz. Two controls are here: **weight clipping** (Arjovsky et al., 2017:
clamp every weight to [−c, c] after each critic step) and the **gradient penalty** (Gulrajani et al., 2017:
λ·E[(‖∇f(x̂)‖₂ − 1)²] at points x̂ = αx + (1 − α)G(z) on straight lines between real and fake examples, α ~ U[0, 1]
drawn per example, λ = 10; or its one-sided form, which penalises only slopes above 1: Petzka et al., 2018).
The third common one, spectral normalization (Miyato et al., 2018), is a reparametrization of the critic's
layers (``spectral_normalize``), so it needs neither.

``train_step`` (the answer key of the lesson) does one generator step; ``train_wgan`` hands it to lesson 04's
``gan.train_gan`` (the course's one loop), whose batches hold ``n_critic`` minibatches each.
``wasserstein_1d`` is the exact distance between two 1-D samples of equal size (sort both, pair in order).
"""

from __future__ import annotations

import functools
from typing import Callable, Optional, Tuple

import torch
from torch import nn

from ..errors import ShapeError
from . import gan

GP_WEIGHT = 10.0  # λ of Gulrajani et al. (2017)
N_CRITIC = 5  # critic steps per generator step
BETAS = (0.0, 0.9)  # Adam's betas of Gulrajani et al.'s Algorithm 1 (β₁ = 0: no momentum in a moving game)
# On the ring, β₁ = 0 at lr 1e-3 was the only setting that covered all 8 modes in every held-out seed:
# benchmarks/results/wgan_ring_search-beta1.json (benchmarks/wgan_ring_search.py)
# Adam's learning rate for lesson 05's networks on Fashion-MNIST. Gulrajani et al.'s Algorithm 1 uses 1e-4, made for
# long runs; in 10 CPU minutes (about 3,000 generator steps) it reached a Fréchet distance of 186.6 on the test
# split, while 4e-4, 8e-4 and 1.6e-3 reached 94.6, 74.7 and 73.5 on the validation split (8e-4: the smaller of the
# two level ones): benchmarks/results/wgan_lr_search.json (benchmarks/wgan_lr_search.py). In 2 minutes on 2 threads,
# 3 seeds, 1.6e-3 led 8e-4 by less than a seed's spread (165.0 ± 14.7 and 176.4 ± 12.7 on validation):
# benchmarks/results/wgan_vs_dcgan.json (benchmarks/wgan_vs_dcgan.py)
IMAGE_LR = 8e-4


# ----------------------------------------------------------------------------------------------------------------
# The exact 1-D distance
# ----------------------------------------------------------------------------------------------------------------


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The exact Wasserstein-1 (earth mover's) distance between two 1-D samples of the same size.

    In one dimension the cheapest way to move one pile of n equal grains onto another is to pair them in sorted
    order (the i-th smallest onto the i-th smallest), so W1 = mean |sort(a) − sort(b)|.
    """
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, torch.Tensor) or x.dim() != 1 or len(x) == 0:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ShapeError(f"{name} must be a 1-D tensor of samples (shape n), got {got}.")
    if len(a) != len(b):
        raise ShapeError(
            f"The two samples must have the same size to be paired in sorted order, got {len(a)} and {len(b)}."
        )
    return (torch.sort(a).values - torch.sort(b).values).abs().mean()


# ----------------------------------------------------------------------------------------------------------------
# Losses, the gradient penalty, one training step (the answer key of the lesson's exercises)
# ----------------------------------------------------------------------------------------------------------------


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E[f(fake)] − E[f(real)]: minimising it makes the critic score real examples high and fakes low.

    Its negative, E[f(real)] − E[f(fake)], is the critic's estimate of W1 (a lower bound when f is 1-Lipschitz).
    """
    return fake_scores.mean() - real_scores.mean()


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """−E[f(G(z))]: the generator raises the critic's score of its fakes."""
    return -fake_scores.mean()


def interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Points x̂ = αx + (1 − α)x̃ on the segments between real and fake examples, one α ~ U[0, 1] per example."""
    if real.shape != fake.shape:
        raise ShapeError(
            f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}."
        )
    alpha = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    return alpha * real + (1 - alpha) * fake


def gradient_norms(critic: nn.Module, points: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """‖∇ₓ f(x)‖₂ at each point (one norm per example, over all of its coordinates or pixels)."""
    points = points.detach().requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(points).sum(), points, create_graph=create_graph)
    return grads.flatten(1).norm(2, dim=1)


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = GP_WEIGHT,
    one_sided: bool = False,
) -> torch.Tensor:
    """λ · mean over x̂ of (‖∇f(x̂)‖₂ − 1)², at x̂ between real and fake examples (Gulrajani et al., 2017).

    With ``one_sided=True``: λ · mean of max(0, ‖∇f(x̂)‖₂ − 1)², which penalises only slopes above 1, that is,
    only breaches of the constraint ‖∇f‖ ≤ 1 (Petzka et al., 2018). The two-sided penalty also pushes slopes
    below 1 up to 1; the optimal critic has slope 1 on the segments between *optimally coupled* real and fake
    points, but x̂ here lies between independently drawn pairs, where it may be flatter.

    ``create_graph=True`` keeps the gradient itself differentiable, so that the penalty's backward reaches the
    critic's weights. The sum of the scores has, for each x̂, the gradient of that x̂'s own score (the examples do
    not interact in a critic without batch norm).
    """
    norms = gradient_norms(critic, interpolate(real, fake.detach()), create_graph=True)
    excess = (norms - 1).clamp(min=0) if one_sided else norms - 1
    return weight * (excess**2).mean()


def clip_weights(critic: nn.Module, clip: float) -> None:
    """Clamp every parameter of the critic to [−clip, clip] (Arjovsky et al., 2017's Lipschitz control)."""
    with torch.no_grad():
        for parameter in critic.parameters():
            parameter.clamp_(-clip, clip)


def train_step(
    generator: nn.Module,
    critic: nn.Module,
    real: torch.Tensor,
    g_optimizer: torch.optim.Optimizer,
    c_optimizer: torch.optim.Optimizer,
    n_critic: int = N_CRITIC,
    gp_weight: float = GP_WEIGHT,
    clip: Optional[float] = None,
) -> dict:
    """``n_critic`` critic steps, one on each of the ``n_critic`` minibatches stacked in ``real``, then one G step.

    The Lipschitz control: the gradient penalty with weight ``gp_weight`` (0 turns it off), and/or weight
    clipping to [−clip, clip] after each critic step. Returns, as floats averaged over the critic steps, the
    critic's loss with its penalty (``critic_loss``), its W1 estimate E[f(real)] − E[f(fake)] (``wasserstein``),
    the penalty (``penalty``), and the generator's loss (``g_loss``).
    """
    if len(real) % n_critic:
        raise ShapeError(f"A batch of {len(real)} cannot be cut into n_critic={n_critic} equal minibatches.")
    sums = {"critic_loss": 0.0, "wasserstein": 0.0, "penalty": 0.0}
    for batch in real.chunk(n_critic):
        with torch.no_grad():  # the critic step changes only the critic: no graph through G needed
            fake = generator(torch.randn(len(batch), generator.noise_dim, device=batch.device))
        loss = critic_loss(critic(batch), critic(fake))
        penalty = gradient_penalty(critic, batch, fake, gp_weight) if gp_weight else torch.zeros(())
        c_optimizer.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        c_optimizer.step()
        if clip is not None:
            clip_weights(critic, clip)
        sums["critic_loss"] += float((loss + penalty).detach()) / n_critic
        sums["wasserstein"] += -float(loss.detach()) / n_critic
        sums["penalty"] += float(penalty.detach()) / n_critic

    z = torch.randn(len(real) // n_critic, generator.noise_dim, device=real.device)
    g_loss = generator_loss(critic(generator(z)))
    g_optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    g_optimizer.step()
    return {**sums, "g_loss": float(g_loss.detach())}


# ----------------------------------------------------------------------------------------------------------------
# Critics and the loop
# ----------------------------------------------------------------------------------------------------------------


def spectral_normalize(critic: nn.Module) -> nn.Module:
    """Give every Linear and Conv2d layer of ``critic`` spectral normalization (Miyato et al., 2018), in place.

    Each weight matrix W is divided by its largest singular value σ(W) (estimated by one power iteration per
    forward pass), so each layer is 1-Lipschitz and so is the whole network when its activations are
    (LeakyReLU is). Returns the critic.
    """
    for layer in list(critic.modules()):
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.utils.parametrizations.spectral_norm(layer)
    return critic


def point_critic(width: int = 128, spectral: bool = False) -> gan.Discriminator:
    """Lesson 04's 2-D discriminator as a critic (it already outputs a raw score, no sigmoid); or spectral-normed."""
    critic = gan.Discriminator(data_shape=(2,), hidden=(width, width))
    return spectral_normalize(critic) if spectral else critic


def train_wgan(
    generator: nn.Module,
    critic: nn.Module,
    data: torch.Tensor,
    steps: int,
    batch_size: int = 64,
    n_critic: int = N_CRITIC,
    gp_weight: float = GP_WEIGHT,
    clip: Optional[float] = None,
    lr: float = 1e-4,
    betas: Tuple[float, float] = BETAS,
    step_fn: Optional[Callable] = None,
    **options,
) -> gan.GanRun:
    """Train a Wasserstein GAN for ``steps`` generator steps (each with ``n_critic`` critic steps).

    The course's loop (``gan.train_gan``, which calls ``training.fit``) hands ``step_fn`` batches of
    ``n_critic × batch_size`` real examples: the ``n_critic`` fresh minibatches of one generator step.
    ``step_fn(G, critic, real, g_opt, c_opt)`` defaults to ``train_step`` with these ``n_critic``, ``gp_weight``
    and ``clip``. Two Adam optimizers with ``lr`` and ``betas``. Other ``options`` (``fixed_noise``,
    ``snapshot_every``, ``on_snapshot``, ``live``, ``max_seconds``, ``clock``, ``seed``, ...) go to ``train_gan``.
    """
    step_fn = step_fn or functools.partial(train_step, n_critic=n_critic, gp_weight=gp_weight, clip=clip)
    return gan.train_gan(generator, critic, data, steps=steps, batch_size=batch_size * n_critic, lr=lr,
                         betas=betas, step_fn=step_fn, **options)  # fmt: skip
