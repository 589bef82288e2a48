"""Checkers for lesson 09 (from GANs to diffusion and flow matching).

09.1 ``q_sample(x0, t, noise, alpha_bars)``          x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε, one t per example
09.2 ``epsilon_loss(model, x0, alpha_bars)``          random t and ε per example, MSE between ε and the model's guess
09.3 ``ancestral_step(model, x_t, t, betas, alpha_bars, z)``   one reverse DDPM step x_t → x_{t-1} (σ_t² = β_t)
09.4 ``flow_matching_loss(model, x1)``                x_t = (1 − t) x0 + t x1, MSE against the velocity x1 − x0
09.5 ``euler_sample(model, x, steps)``                x ← x + v(x, t)·Δt from t = 0 to 1

The mistakes they name: ᾱ used as a standard deviation (no square root), signal and noise swapped, ᾱ[t ± 1],
ᾱ multiplied up again, a per-example ᾱ broadcast over the wrong axis, fresh noise drawn where it is given; the
clean image, v or x_t as the regression target (x0 and v are valid parameterisations, named as mistakes here
because the lesson's samplers read this network's output as ε), one t for the whole batch, t out of range or not a whole number, a
sum over the batch instead of a mean (the squared error summed over each example and averaged over the batch is
right too); in the reverse step the missing 1/√α_t, √ᾱ_t in its place, β_t / (1 − ᾱ_t) without the root,
the noise added at t = 0 or left out, the variance β_t used as σ_t, x̂_0 returned instead of x_{t-1}; the
flow's interpolation or velocity reversed, the data (valid, but misread by the Euler sampler) or the noise as
the target; Euler steps at the wrong times
(end of the step, reversed, linspace), the wrong number of steps, a step against the velocity, the input changed
in place.
"""

from __future__ import annotations

from typing import Callable, Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from ..models import diffusion, flow_matching
from .core import Mistake, call, close, exercise, expect_tensor

# A short schedule (5 steps, large β) so that every variant of a formula gives a clearly different number.
BETAS = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5])
ALPHA_BARS = torch.cumprod(1 - BETAS, dim=0)


def _per_example(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """One value per example (shape N) → N×1×… so that it multiplies every coordinate of its own example."""
    return values.reshape(-1, *[1] * (like.dim() - 1))


def _first_match(value: torch.Tensor, variants: Dict[str, torch.Tensor], advice: Dict[str, str]):
    for name, text in advice.items():
        if name in variants and close(value, variants[name], atol=1e-5):
            return text
    return None


# ----------------------------------------------------------------------------------------------------------------
# 09.1 q_sample
# ----------------------------------------------------------------------------------------------------------------


def q_sample_variants(x0, t, noise, alpha_bars) -> Dict[str, torch.Tensor]:
    """The right x_t and the usual wrong ones, by name."""
    x0, noise, alpha_bars = x0.double(), noise.double(), alpha_bars.double()

    def at(values):
        return _per_example(values, x0)

    a = at(alpha_bars[t])
    variants = {
        "right": diffusion.q_sample(x0, t, noise, alpha_bars),
        "no_roots": a * x0 + (1 - a) * noise,
        "no_root_signal": a * x0 + (1 - a).sqrt() * noise,
        "no_root_noise": a.sqrt() * x0 + (1 - a) * noise,
        "swapped": (1 - a).sqrt() * x0 + a.sqrt() * noise,
        "one_minus_root": a.sqrt() * x0 + (1 - a.sqrt()) * noise,
        "previous": at(alpha_bars[t - 1]).sqrt() * x0 + (1 - at(alpha_bars[t - 1])).sqrt() * noise,
        "next": at(alpha_bars[(t + 1).clamp(max=len(alpha_bars) - 1)]).sqrt() * x0
        + (1 - at(alpha_bars[(t + 1).clamp(max=len(alpha_bars) - 1)])).sqrt() * noise,
        "cumprod_again": at(torch.cumprod(alpha_bars, 0)[t]).sqrt() * x0
        + (1 - at(torch.cumprod(alpha_bars, 0)[t])).sqrt() * noise,
    }
    if x0.dim() == 2 and x0.shape[0] == x0.shape[1]:  # N×N: a per-example value broadcast along the last axis
        b = alpha_bars[t][None, :]
        variants["broadcast_last"] = b.sqrt() * x0 + (1 - b).sqrt() * noise
    return variants


Q_SAMPLE_ADVICE = {
    "no_roots": "you used ᾱ_t and 1 − ᾱ_t as the factors; they are VARIANCES. The factors are their square roots: "
    "x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · noise (torch.sqrt or .sqrt())",
    "no_root_signal": "the signal's factor needs a square root: √ᾱ_t · x0 (ᾱ_t is the variance kept, not the "
    "factor)",
    "no_root_noise": "the noise's factor needs a square root: √(1 − ᾱ_t) · noise (1 − ᾱ_t is the noise's variance)",
    "swapped": "signal and noise are swapped: x0 gets √ᾱ_t (close to 1 at small t, so x_t starts as the image) and "
    "the noise gets √(1 − ᾱ_t)",
    "one_minus_root": "the noise's factor is √(1 − ᾱ_t), not 1 − √ᾱ_t: the two variances must add up to 1",
    "previous": "you used alpha_bars[t - 1]: step t's own value is alpha_bars[t] (the list starts at t = 0)",
    "next": "you used alpha_bars[t + 1]: step t's own value is alpha_bars[t]",
    "cumprod_again": "alpha_bars is already the running product ᾱ_t = α_0 ⋯ α_t; take alpha_bars[t] as it is, do "
    "not multiply it up again",
    "broadcast_last": "alpha_bars[t] has one value per example (shape N) and was broadcast along the LAST axis, so "
    "each column got another example's ᾱ. Reshape it to one per row first: alpha_bars[t].view(-1, 1) for points, "
    "alpha_bars[t].view(-1, 1, 1, 1) for images (or .reshape(-1, *[1] * (x0.dim() - 1)) for both)",
}

BROADCAST_CRASH = (
    "crashed because alpha_bars[t] has one value per example (shape N) and cannot be broadcast against x0 as it "
    "is. Reshape it so that it multiplies every coordinate of its own example: alpha_bars[t].view(-1, 1) for "
    "points (N×2), alpha_bars[t].view(-1, 1, 1, 1) for images (N×1×28×28), or "
    ".reshape(-1, *[1] * (x0.dim() - 1)) for both"
)


def _call_broadcasting(fn, *args, what: str):
    try:
        return call(fn, *args, what=what)
    except Mistake as mistake:
        if "must match the size of tensor" in str(mistake):
            raise Mistake(f"{what} {BROADCAST_CRASH}.") from None
        raise


@exercise("09.1", "q_sample", points=2)
def q_sample(fn) -> str:
    """Check ``q_sample(x0, t, noise, alpha_bars)`` = √ᾱ_t x0 + √(1 − ᾱ_t) noise on points and on images."""
    gen = torch.Generator().manual_seed(0)
    cases = [
        (torch.randn(4, 2, generator=gen), torch.tensor([0, 2, 4, 1])),  # 2-D points
        (torch.randn(4, 1, 2, 3, generator=gen), torch.tensor([3, 0, 1, 4])),  # small "images"
        (torch.randn(3, 3, generator=gen), torch.tensor([4, 1, 2])),  # N×N: the wrong broadcast runs silently
    ]
    for x0, t in cases:
        noise = torch.randn(x0.shape, generator=gen)
        what = f"q_sample(x0 of shape {tuple(x0.shape)}, t, noise, alpha_bars)"
        x0_in, noise_in = x0.clone(), noise.clone()
        out = _call_broadcasting(fn, x0_in, t.clone(), noise_in, ALPHA_BARS.clone(), what=what)
        expect_tensor(out, what, shape=tuple(x0.shape))
        if not (torch.equal(x0_in, x0) and torch.equal(noise_in, noise)):
            raise Mistake(
                f"{what} changed x0 or noise in place (e.g. x0 *= ...); compute a new tensor instead."
            )
        variants = q_sample_variants(x0, t, noise, ALPHA_BARS)
        if close(out, variants["right"]):
            again = call(fn, x0.clone(), t.clone(), noise.clone(), ALPHA_BARS.clone(), what=what)
            if not close(again, out):
                raise Mistake(f"{what} gave different results for the same inputs: use the `noise` argument, do "
                              "not draw noise of your own inside.")  # fmt: skip
            continue
        text = _first_match(out, variants, Q_SAMPLE_ADVICE)
        if text:
            raise Mistake(f"{what}: {text}.")
        again = call(fn, x0.clone(), t.clone(), noise.clone(), ALPHA_BARS.clone(), what=what)
        if not close(again, out):
            raise Mistake(f"{what} gave different results for the same inputs: it must not draw noise itself; "
                          "use the `noise` argument as ε.")  # fmt: skip
        raise Mistake(
            f"{what} is not √ᾱ_t · x0 + √(1 − ᾱ_t) · noise with ᾱ_t = alpha_bars[t] for each example "
            f"(largest difference {float((out.double() - variants['right']).abs().max()):.4f})."
        )
    return "x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε, one ᾱ_t per example, for points and images."


# ----------------------------------------------------------------------------------------------------------------
# Spy models: record what the learner's code asks, answer with a simple known function
# ----------------------------------------------------------------------------------------------------------------


class _SpyModel(nn.Module):
    """out = w · x + c · t (per example), w and c learnable; records every (x, t) it is called with."""

    def __init__(self, w: float = 0.3, c: float = 0.05) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))
        self.c = nn.Parameter(torch.tensor(c))
        self.calls: List[tuple] = []

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if not isinstance(t, torch.Tensor):
            raise ValueError(
                f"the model needs t as a tensor with one time per example, shape ({len(x)},), got a "
                f"{type(t).__name__}; e.g. torch.full((len(x),), t)"
            )
        if t.dim() != 1 or len(t) != len(x):
            raise ValueError(
                f"the model needs one time per example, t of shape ({len(x)},), got shape {tuple(t.shape)}. "
                "(Reshape t to broadcast over the coordinates only where you compute with it; give the model the "
                "plain vector.)"
            )
        self.calls.append((x.detach().clone(), t.detach().clone()))
        return self.w * x + self.c * _per_example(t.to(x.dtype), x)


def _scalar(value, what: str) -> torch.Tensor:
    expect_tensor(value, what)
    if value.numel() != 1:
        raise Mistake(
            f"{what} should be one number (a 0-dim tensor), got shape {tuple(value.shape)}: average the squared "
            "errors (F.mse_loss, or ((a - b) ** 2).mean())."
        )
    if not value.requires_grad:
        raise Mistake(
            f"{what} is cut off from the graph (no gradient reaches the model): did you use .item(), .detach(), "
            "torch.no_grad() or torch.tensor(...)? Return the loss tensor itself."
        )
    return value.detach().double().reshape(())


def _looks_standard_normal(values: torch.Tensor) -> bool:
    values = values.double().flatten()
    return (
        bool(torch.isfinite(values).all())
        and abs(float(values.mean())) < 0.2
        and 0.8 < float(values.std()) < 1.2
    )


def _loss_mistake(
    value: torch.Tensor, variants: Dict[str, torch.Tensor], advice: Dict[str, str], what: str
) -> None:
    for name in RIGHT_LOSSES:
        if bool(torch.isclose(value, variants[name], rtol=1e-4, atol=1e-6)):
            return
    for name, text in advice.items():
        if name in variants and bool(torch.isclose(value, variants[name], rtol=1e-4, atol=1e-6)):
            raise Mistake(f"{what}: {text}.")
    raise Mistake(
        f"{what} is {float(value):.5f}; expected {float(variants['right']):.5f}, {advice['generic']}."
    )


# Both are right: the mean over every number, and the papers' squared norm of each example's error averaged over
# the batch (Ho et al., 2020, eq. 14; Lipman et al., 2023, eq. 23). They differ by the constant number of
# coordinates per example, so they have the same minimiser and, with Adam, train the same way.
RIGHT_LOSSES = ("right", "per_example_sum")


def _squared_error_variants(out: torch.Tensor, target: torch.Tensor, others: Dict[str, torch.Tensor]):
    out = out.double()
    variants = {
        "right": F.mse_loss(out, target),
        "per_example_sum": (out - target).pow(2).reshape(len(out), -1).sum(1).mean(),
        "sum": F.mse_loss(out, target, reduction="sum"),
        "l1": F.l1_loss(out, target),
    }
    for name, other in others.items():
        variants[name] = F.mse_loss(out, other.double())
    return variants


SQUARED_ERROR_ADVICE = {
    "sum": "you summed the squared errors over the batch too, so the loss (and its gradient) grows with the batch "
    "size; average over the examples: F.mse_loss(prediction, target), or the squared error summed over each "
    "example's coordinates and then averaged over the batch",
    "l1": "that is the mean ABSOLUTE error; the loss is the mean SQUARED error, F.mse_loss",
}


# ----------------------------------------------------------------------------------------------------------------
# 09.2 epsilon_loss
# ----------------------------------------------------------------------------------------------------------------

EPSILON_ADVICE = {
    "target_x0": "the target is the clean x0. Predicting x0 is a valid parameterisation (so is v; Salimans & Ho, "
    "2022), but the ancestral step (09.3) and DDIM read this network's output as the noise ε, so a network trained "
    "on x0 would be misread there. Here the target is the noise ε mixed into x_t: F.mse_loss(model(x_t, t), noise)",
    "target_v": "the target is v = √ᾱ_t ε − √(1 − ᾱ_t) x0, the v-prediction of Salimans & Ho (2022): a valid "
    "parameterisation, but the ancestral step (09.3) and DDIM read this network's output as the noise ε, so a "
    "network trained on v would be misread there. Here the target is the noise ε mixed into x_t: "
    "F.mse_loss(model(x_t, t), noise)",
    "target_xt": "the target is x_t, the model's own input; it should be the noise ε mixed into x_t",
    **SQUARED_ERROR_ADVICE,
    "generic": "the mean squared error between model(x_t, t) and the very noise ε you mixed into x_t (draw ε once, "
    "use it in x_t and as the target)",
}


WHOLE_STEPS = (
    "t should be whole diffusion steps (int64) from 0 to T − 1, one per example: "
    "torch.randint(0, len(alpha_bars), (len(x0),)). (Times in [0, 1] are the flow-matching convention.)"
)


@exercise("09.2", "epsilon_loss", points=2)
def epsilon_loss(fn) -> str:
    """Check ``epsilon_loss(model, x0, alpha_bars)``: fresh t and ε per example; MSE(model(x_t, t), ε)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return _check_epsilon_loss(fn)


def _check_epsilon_loss(fn) -> str:
    steps = 10
    alpha_bars = torch.cumprod(1 - torch.linspace(0.05, 0.5, steps), 0)
    x0 = (
        torch.randn(256, 2, generator=torch.Generator().manual_seed(1)) * 0.5 + 3.0
    )  # far from 0: a wrong x_t shows
    model = _SpyModel()
    what = "epsilon_loss(model, x0, alpha_bars)"
    try:
        loss = call(fn, model, x0.clone(), alpha_bars.clone(), what=what)
    except Mistake as mistake:
        if "tensors used as indices must be" in str(mistake):
            raise Mistake(f"{what} crashed indexing alpha_bars with t: {WHOLE_STEPS}") from None
        raise
    if not model.calls:
        raise Mistake(f"{what} never called the model: the loss compares model(x_t, t) with the noise.")
    if len(model.calls) > 1:
        raise Mistake(f"{what} called the model {len(model.calls)} times; once is enough: model(x_t, t).")
    x_t, t = model.calls[0]
    if t.is_floating_point():
        raise Mistake(WHOLE_STEPS)
    if bool((t == t[0]).all()):
        raise Mistake(
            "every example got the same step t: draw one t per example, torch.randint(0, len(alpha_bars), "
            "(len(x0),)), so that each batch teaches the model many noise levels at once."
        )
    if int(t.min()) < 0 or int(t.max()) >= steps:
        raise Mistake(
            f"t went from {int(t.min())} to {int(t.max())}; steps are 0 … T − 1 = {steps - 1} (indices into "
            "alpha_bars): torch.randint(0, len(alpha_bars), (len(x0),))."
        )
    if int(t.min()) > 0:
        raise Mistake(
            "t = 0 never came up in 256 draws: steps start at 0, torch.randint(0, len(alpha_bars), ...)."
        )
    if int(t.max()) < steps - 1:
        raise Mistake(f"the last step (t = {steps - 1}) never came up in 256 draws: torch.randint(0, len(alpha_bars), "
                      "...) already excludes its upper bound, so do not subtract 1 from it.")  # fmt: skip
    if torch.allclose(x_t, x0):
        raise Mistake(
            "the model got the clean x0; give it the noisy x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε and the step t."
        )
    a = _per_example(alpha_bars[t], x0).double()
    noise = (x_t.double() - a.sqrt() * x0) / (1 - a).sqrt()  # the ε that makes this x_t, if x_t is right
    if not _looks_standard_normal(noise):
        alternatives = {
            "ᾱ_t and 1 − ᾱ_t used as factors without square roots": (x_t.double() - a * x0) / (1 - a),
            "x0 and the noise swapped": (x_t.double() - (1 - a).sqrt() * x0) / a.sqrt(),
        }
        for name, candidate in alternatives.items():
            if _looks_standard_normal(candidate):
                raise Mistake(f"x_t is not √ᾱ_t x0 + √(1 − ᾱ_t) ε: {name}. Reuse your q_sample from 09.1.")
        raise Mistake(
            "the model's input x_t is not √ᾱ_t x0 + √(1 − ᾱ_t) ε with ε ~ N(0, I) (torch.randn_like(x0)) and "
            "ᾱ_t = alpha_bars[t] for the same t you gave the model. Reuse your q_sample from 09.1."
        )
    value = _scalar(loss, what)
    out = (model.w * x_t + model.c * _per_example(t.to(x_t.dtype), x_t)).detach()
    v = a.sqrt() * noise - (1 - a).sqrt() * x0  # Salimans & Ho's v-prediction target
    variants = _squared_error_variants(out, noise, {"target_x0": x0, "target_v": v, "target_xt": x_t})
    _loss_mistake(value, variants, EPSILON_ADVICE, what)
    return "a step t and noise ε per example, x_t from q(x_t | x0), and the mean squared error against ε."


# ----------------------------------------------------------------------------------------------------------------
# 09.3 ancestral_step
# ----------------------------------------------------------------------------------------------------------------


def ancestral_variants(x_t, t: int, eps, z) -> Dict[str, torch.Tensor]:
    """x_{t-1} and the usual wrong ones, for a predicted noise ``eps`` (float64)."""
    x, eps, z = x_t.double(), eps.double(), z.double()
    betas, alpha_bars = BETAS.double(), ALPHA_BARS.double()
    b, a_bar = betas[t], alpha_bars[t]
    coef = b / (1 - a_bar).sqrt()
    mean = (x - coef * eps) / (1 - b).sqrt()
    previous = alpha_bars[t - 1] if t > 0 else torch.tensor(1.0, dtype=torch.float64)
    posterior_var = (1 - previous) / (1 - a_bar) * b
    noise = b.sqrt() * z if t > 0 else 0 * z

    def predicts_eps(*_):  # a model whose predicted noise is eps, whatever it is given
        return eps

    variants = {
        "right": diffusion.ancestral_step(predicts_eps, x, t, betas, alpha_bars, z),
        "x0_hat": (x - (1 - a_bar).sqrt() * eps) / a_bar.sqrt(),
        "x0_hat_noise": (x - (1 - a_bar).sqrt() * eps) / a_bar.sqrt() + noise,
        "no_divide": x - coef * eps + noise,
        "sqrt_alpha_bar": (x - coef * eps) / a_bar.sqrt() + noise,
        "coef_no_root": (x - b / (1 - a_bar) * eps) / (1 - b).sqrt() + noise,
        "plus_eps": (x + coef * eps) / (1 - b).sqrt() + noise,
        "sigma_is_beta": mean + (b * z if t > 0 else 0 * z),
        "posterior_variance": mean + (posterior_var.sqrt() * z if t > 0 else 0 * z),
    }
    if t > 0:
        variants["no_noise"] = mean
    else:
        variants["noise_at_zero"] = mean + b.sqrt() * z
    return variants


ANCESTRAL_ADVICE = {
    "x0_hat": "that is the estimate of the clean x0, (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t, a jump all the way to the end. One "
    "step goes to x_{t-1}: (x_t − β_t / √(1 − ᾱ_t) · ε̂) / √α_t + √β_t · z",
    "x0_hat_noise": "the mean you used is the estimate of the clean x0, (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t. One step "
    "goes to x_{t-1}: (x_t − β_t / √(1 − ᾱ_t) · ε̂) / √α_t + √β_t · z",
    "no_divide": "the mean is divided by √α_t = √(1 − β_t): (x_t − β_t / √(1 − ᾱ_t) · ε̂) / √(1 − β_t)",
    "sqrt_alpha_bar": "the mean is divided by √α_t = √(1 − β_t) (this one step's α), not by √ᾱ_t",
    "coef_no_root": "the noise's factor is β_t / √(1 − ᾱ_t), with a square root in the denominator",
    "plus_eps": "the predicted noise is SUBTRACTED: x_t − β_t / √(1 − ᾱ_t) · ε̂",
    "sigma_is_beta": "the added noise's standard deviation is σ_t = √β_t; you used the variance β_t itself",
    "posterior_variance": "you used the posterior variance β̃_t = (1 − ᾱ_{t-1}) / (1 − ᾱ_t) · β_t. That is a valid "
    "choice too (Ho et al., 2020, §3.2, found both work), but this exercise asks for σ_t² = β_t: add √β_t · z",
    "no_noise": "the fresh noise is missing: for t > 0 add σ_t · z with σ_t = √β_t. This step's first part is the "
    "decoder's mean, an average that is less spread out than x_{t-1} should be; without the noise to restore the "
    "spread, the samples lose variety step after step",
    "noise_at_zero": "at the last step (t = 0) no noise is added: return the mean itself, the final sample",
}


def _noise_model() -> _SpyModel:
    return _SpyModel(w=0.5, c=0.1)


@exercise("09.3", "ancestral_step", points=3)
def ancestral_step(fn) -> str:
    """Check ``ancestral_step(model, x_t, t, betas, alpha_bars, z)`` at a middle step and at the last step, t = 0."""
    gen = torch.Generator().manual_seed(3)
    x_t = torch.randn(6, 2, generator=gen)
    z = torch.randn(6, 2, generator=gen)
    for t in (3, 0):
        model = _noise_model()
        what = f"ancestral_step(model, x_t, t={t}, betas, alpha_bars, z)"
        out = call(fn, model, x_t.clone(), t, BETAS.clone(), ALPHA_BARS.clone(), z.clone(), what=what)
        expect_tensor(out, what, shape=tuple(x_t.shape))
        if not model.calls:
            raise Mistake(f"{what} never called the model: ε̂ = model(x_t, t) is the predicted noise.")
        if len(model.calls) > 1:
            raise Mistake(f"{what} called the model {len(model.calls)} times; one evaluation per step.")
        seen_x, seen_t = model.calls[0]
        if not torch.allclose(seen_x, x_t):
            raise Mistake(f"{what}: give the model the current x_t, as it is.")
        if not bool((seen_t == t).all()):
            raise Mistake(
                f"{what} called the model with step {seen_t.tolist()[0]}; predict the noise at the current step t = "
                f"{t}: model(x_t, torch.full((len(x_t),), t))."
            )
        eps = (0.5 * x_t + 0.1 * t).detach()
        variants = ancestral_variants(x_t, t, eps, z)
        if close(out, variants["right"]):
            continue
        text = _first_match(out, variants, ANCESTRAL_ADVICE)
        if text:
            raise Mistake(f"{what}: {text}.")
        again = call(
            fn, _noise_model(), x_t.clone(), t, BETAS.clone(), ALPHA_BARS.clone(), z.clone(), what=what
        )
        if not close(again, out):
            raise Mistake(f"{what} gave different results for the same inputs: use the `z` given as the fresh "
                          "noise; do not draw your own.")  # fmt: skip
        raise Mistake(
            f"{what} is not (x_t − β_t / √(1 − ᾱ_t) · ε̂) / √(1 − β_t) + √β_t · z (no noise at t = 0), with "
            f"ε̂ = model(x_t, t) (largest difference {float((out.double() - variants['right']).abs().max()):.4f})."
        )
    return "x_{t-1} = (x_t − β_t/√(1 − ᾱ_t) · ε̂)/√α_t + √β_t z, and no noise at the last step."


# ----------------------------------------------------------------------------------------------------------------
# 09.4 flow_matching_loss
# ----------------------------------------------------------------------------------------------------------------

FLOW_ADVICE = {
    "reversed_velocity": "the velocity points the wrong way: along x_t = (1 − t) x0 + t x1 it is dx_t/dt = x1 − x0 "
    "(from the noise to the data)",
    "target_x1": "the target is the data x1. Predicting x1 is a valid parameterisation too (the velocity is then "
    "(x̂1 − x_t) / (1 − t)), but euler_sample (09.5) moves x by this network's output as the velocity, so a network "
    "trained on x1 would be misread there. Here the target is the path's velocity x1 − x0",
    "target_x0": "the target is the noise x0; it should be the path's velocity x1 − x0",
    **SQUARED_ERROR_ADVICE,
    "generic": "the mean squared error between model(x_t, t) and x1 − x0, for the same noise x0 that is in x_t",
}


@exercise("09.4", "flow_matching_loss", points=2)
def flow_matching_loss(fn) -> str:
    """Check ``flow_matching_loss(model, x1)``: t ~ U[0, 1) and x0 ~ N(0, I) per example; MSE against x1 − x0."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return _check_flow_matching_loss(fn)


def _check_flow_matching_loss(fn) -> str:
    x1 = torch.randn(256, 2, generator=torch.Generator().manual_seed(1)) * 0.5 + 1.0
    model = _SpyModel()
    what = "flow_matching_loss(model, x1)"
    loss = call(fn, model, x1.clone(), what=what)
    if not model.calls:
        raise Mistake(
            f"{what} never called the model: the loss compares model(x_t, t) with the velocity x1 − x0."
        )
    if len(model.calls) > 1:
        raise Mistake(f"{what} called the model {len(model.calls)} times; once is enough: model(x_t, t).")
    x_t, t = model.calls[0]
    if not t.is_floating_point():
        raise Mistake("t is a time between 0 and 1, a float per example: torch.rand(len(x1)). (Whole steps "
                      "0 … T − 1 are the diffusion model's convention.)")  # fmt: skip
    if bool((t == t[0]).all()):
        raise Mistake("every example got the same t: draw one per example, torch.rand(len(x1)).")
    if float(t.min()) < 0 or float(t.max()) > 1:
        raise Mistake(
            f"t went from {float(t.min()):.3f} to {float(t.max()):.3f}; it is a time in [0, 1]: torch.rand."
        )
    if float(t.max()) < 0.5 or float(t.min()) > 0.5:
        raise Mistake(
            f"t stayed between {float(t.min()):.3f} and {float(t.max()):.3f} in 256 draws: draw it uniformly over "
            "[0, 1], torch.rand(len(x1))."
        )
    if torch.allclose(x_t, x1):
        raise Mistake(
            "the model got the data x1 itself; give it the point on the path, x_t = (1 − t) x0 + t x1."
        )
    s = _per_example(t, x1).double()
    x0 = (x_t.double() - s * x1) / (1 - s)  # the noise that makes this x_t, if x_t is right
    if not _looks_standard_normal(x0):
        swapped = (x_t.double() - (1 - s) * x1) / s
        if _looks_standard_normal(swapped):
            raise Mistake(
                "the path runs the wrong way: x_t = (1 − t) x0 + t x1 starts at the noise x0 (t = 0) and ends at the "
                "data x1 (t = 1); you put the data at t = 0."
            )
        raise Mistake(
            "the model's input is not x_t = (1 − t) x0 + t x1 with x0 ~ N(0, I) (torch.randn_like(x1)) and the t "
            "you gave the model. Reshape t to (N, 1) for the product (t.view(-1, 1)), but give the model t of "
            "shape (N,)."
        )
    value = _scalar(loss, what)
    out = (model.w * x_t + model.c * _per_example(t, x_t)).detach()
    variants = _squared_error_variants(out, x1.double() - x0, {"reversed_velocity": x0 - x1.double(), "target_x1": x1,
                                                               "target_x0": x0})  # fmt: skip
    _loss_mistake(value, variants, FLOW_ADVICE, what)
    return "x0 ~ N(0, I) and t ~ U[0, 1) per example, x_t on the straight line, MSE against the velocity x1 − x0."


# ----------------------------------------------------------------------------------------------------------------
# 09.5 euler_sample
# ----------------------------------------------------------------------------------------------------------------


def _euler(x: torch.Tensor, times: List[float], dt: float, velocity: Callable) -> torch.Tensor:
    for t in times:
        x = x + dt * velocity(x, t)
    return x


@exercise("09.5", "euler_sample", points=2)
def euler_sample(fn) -> str:
    """Check ``euler_sample(model, x, steps)``: ``steps`` evaluations at t = 0, Δt, …, 1 − Δt, x ← x + Δt·v(x, t)."""
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(4))
    for steps in (4, 1):
        model = _SpyModel(w=-0.8, c=1.5)
        what = f"euler_sample(model, x, steps={steps})"
        x_in = x.clone()
        out = call(fn, model, x_in, steps, what=what)
        expect_tensor(out, what, shape=tuple(x.shape))
        if not torch.equal(x_in, x):
            raise Mistake(f"{what} changed the caller's x in place (x += ...); write x = x + dt * v instead.")
        times = [float(t[0]) for _, t in model.calls]
        if len(times) != steps:
            raise Mistake(
                f"{what} evaluated the model {len(times)} times; {steps} steps take {steps} evaluations."
            )
        dt = 1.0 / steps
        right_times = [i * dt for i in range(steps)]
        for _, t in model.calls:
            if not bool((t == t[0]).all()):
                raise Mistake(f"{what}: within one step all points share the same time t.")
        if not all(abs(a - b) < 1e-6 for a, b in zip(times, right_times)):
            if all(abs(a - (i + 1) * dt) < 1e-6 for i, a in enumerate(times)):
                raise Mistake(
                    f"{what} evaluated the velocity at the END of each step (t = {', '.join(f'{t:g}' for t in times)}). "
                    "Euler's method uses the start: t = i·Δt for i = 0 … steps − 1, i.e. "
                    f"{', '.join(f'{t:g}' for t in right_times)}."
                )
            if times and times[0] > times[-1]:
                raise Mistake(f"{what} ran time backwards ({', '.join(f'{t:g}' for t in times)}); the flow goes from "
                              "the noise at t = 0 to the data at t = 1.")  # fmt: skip
            raise Mistake(
                f"{what} evaluated the model at t = {', '.join(f'{t:g}' for t in times)}; with Δt = 1/steps the times "
                f"are i·Δt, i = 0 … steps − 1: {', '.join(f'{t:g}' for t in right_times)} (torch.linspace(0, 1, steps) "
                "would include 1 and use a gap of 1/(steps − 1))."
            )

        def velocity(y, t):
            return (-0.8 * y + 1.5 * t).double()

        def velocity_model(y, t):  # the same field, called as a model with one time per point
            return velocity(y, _per_example(t, y))

        expected = flow_matching.euler_sample(velocity_model, x.double(), steps)
        if close(out, expected):
            continue
        if close(out, _euler(x.double(), right_times, -dt, velocity)):
            raise Mistake(f"{what} stepped against the velocity: x ← x + Δt · v(x, t).")
        if close(out, _euler(x.double(), right_times, 1.0, velocity)):
            raise Mistake(f"{what} forgot Δt: each step moves x by Δt · v(x, t), with Δt = 1/steps.")
        if steps > 1 and close(out, _euler(x.double(), right_times, 1.0 / (steps - 1), velocity)):
            raise Mistake(f"{what} used Δt = 1/(steps − 1); with steps steps of equal length Δt = 1/steps.")
        raise Mistake(
            f"{what} is not x after {steps} steps of x ← x + Δt · model(x, t) with Δt = 1/steps "
            f"(largest difference {float((out.double() - expected).abs().max()):.4f})."
        )
    return "steps evaluations at t = 0, Δt, …, 1 − Δt, each moving x by Δt · v(x, t)."
