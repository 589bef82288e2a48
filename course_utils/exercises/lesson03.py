"""Checkers for lesson 03 (variational autoencoders): reparameterize, the KL term, the loss, sampling.

Each checker runs the learner's function on small, seeded cases and compares it with the right answer and with
the usual wrong ones, so the message can name the mistake: log-variance used as a standard deviation, a KL with
the wrong sign, a mean where a sum belongs (or the reverse), a sum over latent dimensions left out.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..models import vae
from .core import Mistake, call, close, exercise, expect_tensor

# One row of parameters, chosen so that every usual mistake gives a different standard deviation:
# right: exp(0.5 * log_var) = 0.61, 1.28, 2.72;  log_var as std: 1.0 (|-1|), 0.5, 2.0;  exp(log_var): 0.37, 1.65, 7.4
_MU = torch.tensor([0.5, -1.0, 2.0])
_LOG_VAR = torch.tensor([-1.0, 0.5, 2.0])


def _kl_cases():
    generator = torch.Generator().manual_seed(3)
    mu = torch.randn(6, 4, generator=generator)
    log_var = torch.randn(6, 4, generator=generator) * 0.8
    return mu, log_var


def _kl_elementwise(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)


def _kl_log_var_as_std(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """The closed form written with sigma = log_var (the log-variance taken for a standard deviation)."""
    sigma = log_var
    return 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0 - torch.log(sigma.pow(2))).sum(dim=1)


def _finite_samples(z: torch.Tensor) -> None:
    """Name the cause of NaN or inf samples before any statistics of them (whose message would blame the noise)."""
    bad = ~torch.isfinite(z)
    if not bool(bad.any()):
        return
    columns = [j for j in range(z.shape[1]) if bool(bad[:, j].any())]
    log_vars = [float(_LOG_VAR[j]) for j in columns]
    if bool(torch.isnan(z).any()) and all(v < 0 for v in log_vars):
        raise Mistake(
            f"some samples are NaN, exactly in the dimensions whose log_var is negative ({log_vars}): the square "
            "root (or log) of a negative number is NaN. You probably took torch.sqrt(log_var) or torch.log(log_var); "
            "log_var is log(sigma²) and is negative whenever sigma < 1. The standard deviation is "
            "std = exp(0.5 * log_var), positive for every log_var."
        )
    kind = "NaN" if bool(torch.isnan(z).any()) else "infinite"
    raise Mistake(
        f"some samples are {kind} (in the dimensions with log_var = {log_vars}). Build z only from finite pieces: "
        "std = exp(0.5 * log_var) (no square roots or logs of log_var, no division by it), then z = mu + std * eps."
    )


@exercise("03.1", "reparameterize", points=2)
def reparameterize(fn) -> str:
    """Check ``reparameterize(mu, log_var)``: z = mu + exp(0.5 * log_var) * eps, eps ~ N(0, I), gradients flowing."""
    n = 20_000
    mu = _MU.repeat(n, 1).requires_grad_(True)
    log_var = _LOG_VAR.repeat(n, 1).requires_grad_(True)
    torch.manual_seed(0)
    z = call(fn, mu, log_var, what="reparameterize(mu, log_var)")
    expect_tensor(z, "reparameterize(mu, log_var)", shape=(n, 3))
    if not z.requires_grad:
        raise Mistake(
            "no gradient can flow from z back to mu and log_var: sampling with torch.normal(...) or under "
            "torch.no_grad(), or calling .detach(), cuts the graph. Draw the noise separately, "
            "eps = torch.randn_like(std), and build z = mu + std * eps from mu and log_var."
        )
    z_values = z.detach()
    _finite_samples(z_values)
    if close(z_values, mu.detach()):
        raise Mistake("z equals mu: there is no noise. Add std * eps with eps = torch.randn_like(std).")
    z.sum().backward()
    if mu.grad is None or log_var.grad is None:
        missing = "mu" if mu.grad is None else "log_var"
        raise Mistake(f"z does not depend on {missing}: build z = mu + exp(0.5 * log_var) * eps from both.")
    if not torch.allclose(mu.grad, torch.ones_like(mu)) or float(log_var.grad.abs().sum()) == 0:
        raise Mistake(
            "the gradients do not flow through your sample: dz/dmu should be 1 and dz/dlog_var should be "
            "0.5 * std * eps, but yours are zero or different. Drawing z with torch.normal(mu, std) blocks "
            "gradients (PyTorch treats the draw as a constant). Reparameterize instead: eps = torch.randn_like(std), "
            "z = mu + std * eps."
        )
    spread = z_values.std(dim=0)
    centre = z_values.mean(dim=0)

    def near(a: torch.Tensor, b: torch.Tensor, rel: float = 0.05) -> bool:
        return bool(((a - b).abs() <= rel * b.abs() + 0.02).all())

    right_std = torch.exp(0.5 * _LOG_VAR)
    if not near(centre, _MU, rel=0.03):
        raise Mistake(
            f"the samples should be centred on mu = {_MU.tolist()}, but their average is "
            f"{[round(v, 2) for v in centre.tolist()]}. z = mu + std * eps, with eps of mean 0 (torch.randn_like, "
            "not torch.rand_like, whose values lie in [0, 1))."
        )
    if near(spread, _LOG_VAR.abs()):
        raise Mistake(
            "you used the log-variance as the standard deviation. log_var is log(sigma²), so the standard "
            "deviation is std = exp(0.5 * log_var)."
        )
    if near(spread, torch.exp(_LOG_VAR)):
        raise Mistake(
            "you used exp(log_var), which is the variance sigma², as the standard deviation. "
            "Take its square root: std = exp(0.5 * log_var)."
        )
    if near(spread, torch.exp(0.5 * _LOG_VAR) ** 0.5 * 1.0) and not near(spread, right_std):
        raise Mistake(
            "the spread is the square root of the standard deviation; use std = exp(0.5 * log_var)."
        )
    if near(spread, torch.ones(3)) and not near(spread, right_std):
        raise Mistake(
            "every dimension has spread 1: you ignored log_var. Scale the noise: z = mu + std * eps."
        )
    if not near(spread, right_std):
        raise Mistake(
            f"the samples' standard deviations are {[round(v, 2) for v in spread.tolist()]}; for log_var = "
            f"{_LOG_VAR.tolist()} they should be exp(0.5 * log_var) = {[round(v, 2) for v in right_std.tolist()]}."
        )
    expected_grad = 0.5 * (z_values - mu.detach())  # d z / d log_var = 0.5 * std * eps
    if not close(log_var.grad, expected_grad, atol=1e-4):
        raise Mistake(
            "the samples look right but the gradient with respect to log_var is not 0.5 * std * eps: make sure "
            "z is computed as mu + std * eps with std = exp(0.5 * log_var), in one differentiable expression."
        )
    return "z = mu + exp(0.5·log_var)·eps has the right mean and spread, and gradients reach mu and log_var."


@exercise("03.2", "kl_divergence", points=2)
def kl_divergence(fn) -> str:
    """Check ``kl_divergence(mu, log_var)``: KL(N(mu, sigma²) || N(0, I)) summed over latent dims, one per example."""
    mu, log_var = _kl_cases()
    out = call(fn, mu.clone(), log_var.clone(), what="kl_divergence(mu, log_var)")
    expect_tensor(out, "kl_divergence(mu, log_var)")
    right = vae.kl_divergence(mu, log_var)
    if tuple(out.shape) == (6, 4):
        if close(out, _kl_elementwise(mu, log_var)) or close(out, -_kl_elementwise(mu, log_var)):
            raise Mistake(
                "you forgot the sum over the latent dimensions: your result has one value per example AND per "
                "dimension (6×4). The KL of a diagonal Gaussian is the sum of the per-dimension KLs: add .sum(dim=1)."
            )
        raise Mistake(
            "your result has shape (6, 4); return one KL per example, shape (6,), summed over dimensions."
        )
    if out.dim() == 0 or out.numel() == 1:
        value = float(out.reshape(()))
        if abs(value - float(right.sum())) < 1e-3 or abs(value - float(right.mean())) < 1e-3:
            raise Mistake(
                "you reduced over the batch as well and returned a single number. Return one KL per example "
                "(shape N): sum over the latent dimensions only (dim=1); the loss averages over the batch later."
            )
        raise Mistake("return one KL value per example, shape (N,), not a single number.")
    expect_tensor(out, "kl_divergence(mu, log_var)", shape=(6,))
    if not bool(torch.isfinite(out).all()):
        raise Mistake(
            f"your KL is {[round(v, 3) for v in out[:3].tolist()]} for the first three examples: NaN or inf comes "
            "from a log of a negative number or of 0, e.g. torch.log(log_var). log_var already IS log(sigma²): "
            "use it as it is, and sigma² = exp(log_var). Formula: 0.5 * sum(mu² + exp(log_var) - 1 - log_var, dim=1)."
        )
    if close(out, right):
        return "the closed form 0.5·Σ(mu² + sigma² − 1 − log sigma²) matches, one value per example."
    if close(out, -right):
        raise Mistake(
            "your KL has the wrong sign: it comes out negative, but a KL divergence is never below 0. "
            "KL = -0.5 * sum(1 + log_var - mu² - exp(log_var)) = 0.5 * sum(mu² + exp(log_var) - 1 - log_var)."
        )
    if close(out, right / mu.shape[1]) or close(out, -right / mu.shape[1]):
        raise Mistake(
            "you averaged over the latent dimensions (.mean) where a sum belongs: the KL of independent "
            "dimensions is the SUM of their KLs. Use .sum(dim=1)."
        )
    if close(out, _kl_log_var_as_std(mu, log_var)):
        raise Mistake(
            "you treated log_var as the standard deviation. In the formula, sigma² = exp(log_var) and "
            "log sigma² = log_var."
        )
    if close(out, 2 * right) or close(out, -2 * right):
        raise Mistake("your KL is twice too large: the closed form has a factor 0.5 in front of the sum.")
    squared = 0.5 * (mu.pow(2) + torch.exp(2 * log_var) - 1.0 - 2 * log_var).sum(dim=1)
    if close(out, squared):
        raise Mistake(
            "you used exp(log_var) as sigma, so sigma² became exp(2·log_var); sigma² = exp(log_var)."
        )
    return_hint = [round(v, 3) for v in right[:3].tolist()]
    raise Mistake(
        f"the values differ from the closed form; for the first three examples expected {return_hint}, got "
        f"{[round(v, 3) for v in out[:3].tolist()]}. Formula: 0.5 * sum(mu² + exp(log_var) - 1 - log_var, dim=1)."
    )


def _elbo_case():
    generator = torch.Generator().manual_seed(5)
    n, d = 8, 4
    logits = torch.randn(n, 1, 28, 28, generator=generator) * 2
    images = torch.rand(n, 1, 28, 28, generator=generator)
    mu = torch.randn(n, d, generator=generator)
    log_var = torch.randn(n, d, generator=generator) * 0.5
    return logits, images, mu, log_var


@exercise("03.3", "negative_elbo", points=3)
def negative_elbo(fn) -> str:
    """Check ``negative_elbo(logits, images, mu, log_var)``: BCE summed over pixels + KL summed over latent dims,
    averaged over the batch (one number, the loss per image)."""
    logits, images, mu, log_var = _elbo_case()
    n, pixels, d = len(images), images[0].numel(), mu.shape[1]
    try:
        out = call(fn, logits.clone(), images.clone(), mu.clone(), log_var.clone(), what="negative_elbo(...)")
    except Mistake as mistake:
        if "between 0 and 1" not in str(mistake):
            raise
        raise Mistake(
            "negative_elbo crashed because F.binary_cross_entropy got logits (any real number) where it needs "
            "probabilities in [0, 1]. The decoder returns logits: use F.binary_cross_entropy_with_logits, which "
            "applies the sigmoid itself (and stays finite where log(sigmoid) would underflow)."
        ) from None
    expect_tensor(out, "negative_elbo(logits, images, mu, log_var)")
    bce = F.binary_cross_entropy_with_logits(logits, images, reduction="none").reshape(n, -1)
    rec = bce.sum(dim=1)  # per image
    kl = vae.kl_divergence(mu, log_var)  # per image
    if out.numel() != 1:
        if out.numel() == n:
            raise Mistake(
                f"you returned one value per image (shape {tuple(out.shape)}); the loss is one number: average the "
                "per-image values over the batch with .mean()."
            )
        raise Mistake(f"the loss must be a single number, got a tensor of shape {tuple(out.shape)}.")
    value = out.reshape(())
    right = (rec + kl).mean()

    def same(x) -> bool:
        return close(value, torch.as_tensor(x, dtype=torch.float32).reshape(()), atol=1e-3)

    if same(right):
        return "reconstruction (Σ over pixels) + KL (Σ over latent dims), averaged over the batch."
    if same((rec - kl).mean()):
        raise Mistake(
            "the KL term has the wrong sign: the loss is reconstruction PLUS KL (the ELBO subtracts the KL, so "
            "the negative ELBO adds it). Check that your KL is positive."
        )
    if same((rec + kl).sum()):
        raise Mistake(
            f"you summed over the batch where a mean belongs: your loss is {n}× too large and would change with "
            "the batch size. Sum over pixels and latent dimensions, then .mean() over the images."
        )
    if same(bce.mean() + kl.mean()) or same(bce.mean() + kl.mean() / d) or same(bce.mean()):
        raise Mistake(
            f"you averaged the reconstruction term over the pixels (e.g. F.binary_cross_entropy's default "
            f"reduction='mean'), where a sum belongs: it is then {pixels}× too small next to the KL, and the KL "
            "wins (blurry, identical images). Sum over the pixels of each image (reduction='none', then "
            ".sum over pixels), then average over the batch."
        )
    if same((rec + kl / d).mean()):
        raise Mistake(
            "you forgot the sum over the latent dimensions in the KL term: it is averaged over them (e.g. the "
            "per-dimension KLs averaged together with the batch), where a sum belongs. Sum it over the latent "
            "dimensions (dim=1), then average over the images."
        )
    if same((rec + _kl_elementwise(mu, log_var).sum()).mean()) or same(rec.mean() + kl.sum()):
        raise Mistake(
            "the KL is summed over the whole batch but the reconstruction is averaged: average both over the images."
        )
    if same(rec.mean()):
        raise Mistake(
            "your loss leaves the KL term out: add kl_divergence(mu, log_var) (summed over latent dims)."
        )
    if same(kl.mean()):
        raise Mistake(
            "your loss leaves the reconstruction term out: add the binary cross-entropy summed over pixels."
        )
    probs = torch.sigmoid(logits)
    double_sigmoid = F.binary_cross_entropy_with_logits(probs, images, reduction="none").reshape(n, -1).sum(1)
    if same((double_sigmoid + kl).mean()) or same(
        F.binary_cross_entropy_with_logits(probs, images) + kl.mean()
    ):
        raise Mistake(
            "the sigmoid is applied twice: you passed probabilities (torch.sigmoid of the logits) to "
            "F.binary_cross_entropy_with_logits, which applies its own sigmoid. Pass the raw logits (every "
            "probability then lies in (0.5, 0.73), so the loss cannot learn)."
        )
    if not bool(torch.isfinite(value)):
        raise Mistake(
            f"your loss is {float(value)}: a log of 0 or of a negative number somewhere. The decoder returns "
            "logits (any real number), so taking log(logits) or F.binary_cross_entropy(logits, ...) breaks; use "
            "F.binary_cross_entropy_with_logits(logits, images, reduction='none'), which is stable for every logit."
        )
    if same(F.binary_cross_entropy(probs, images, reduction="none").reshape(n, -1).sum(1).mean() + kl.mean()):
        return (
            "reconstruction + KL, averaged over the batch (from probabilities; with_logits is more stable)."
        )
    mse = (probs - images).pow(2).reshape(n, -1).sum(dim=1)
    mse_logits = (logits - images).pow(2).reshape(n, -1).sum(dim=1)
    if same((mse + kl).mean()) or same((mse_logits + kl).mean()):
        raise Mistake(
            "you used a squared error for the reconstruction term; here the decoder outputs Bernoulli logits, so "
            "-log p(x|z) is the binary cross-entropy: F.binary_cross_entropy_with_logits(logits, images, "
            "reduction='none'), summed over pixels."
        )
    if same(
        (
            F.binary_cross_entropy(logits.clamp(0, 1), images, reduction="none").reshape(n, -1).sum(1) + kl
        ).mean()
    ):
        raise Mistake(
            "the decoder returns logits, not probabilities: use F.binary_cross_entropy_with_logits."
        )
    raise Mistake(
        f"expected {float(right):.2f} (reconstruction {float(rec.mean()):.2f} + KL {float(kl.mean()):.2f} per image), "
        f"got {float(value):.2f}. Reconstruction: BCE with logits summed over the pixels of each image; KL: summed "
        "over latent dims; then the mean over the batch."
    )


class _RecordingDecoder(nn.Module):
    """A tiny decoder with weights (so a missing no_grad shows) that remembers the codes it was given."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(latent_dim, 784)
        self.latent_dim = latent_dim
        self.seen = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.seen.append(z.detach().clone())
        return (self.linear(z) * 3).view(-1, 1, 28, 28)  # logits


@exercise("03.4", "sample_from_prior", points=2)
def sample_from_prior(fn) -> str:
    """Check ``sample_from_prior(decoder, n, latent_dim)``: z ~ N(0, I) of shape n×latent_dim, decoded, then the
    sigmoid of the logits (images in [0, 1]), without gradients."""
    torch.manual_seed(1)
    latent_dim, n = 6, 1000
    decoder = _RecordingDecoder(latent_dim)
    out = call(fn, decoder, n, latent_dim, what="sample_from_prior(decoder, n, latent_dim)")
    expect_tensor(out, "sample_from_prior(decoder, n, latent_dim)")
    if not decoder.seen:
        raise Mistake("the decoder was never called: decode the codes you draw, logits = decoder(z).")
    z = torch.cat(decoder.seen)
    if z.dim() != 2 or tuple(z.shape) != (n, latent_dim):
        raise Mistake(
            f"the codes should have shape (n, latent_dim) = ({n}, {latent_dim}); got {tuple(z.shape)}."
        )
    if float(z.std()) < 1e-6:
        raise Mistake(
            "every code is the same: draw random codes from the prior, z = torch.randn(n, latent_dim)."
        )
    if float(z.min()) >= 0 and float(z.max()) <= 1:
        raise Mistake(
            "your codes all lie in [0, 1]: torch.rand draws from a uniform distribution. The prior is the standard "
            "normal N(0, I): use torch.randn(n, latent_dim)."
        )
    if abs(float(z.mean())) > 0.05 or abs(float(z.std()) - 1) > 0.05:
        raise Mistake(
            f"the codes should come from N(0, I) (mean 0, std 1), yours have mean {float(z.mean()):.2f} and std "
            f"{float(z.std()):.2f}. Use z = torch.randn(n, latent_dim)."
        )
    expect_tensor(out, "sample_from_prior(decoder, n, latent_dim)", shape=(n, 1, 28, 28))
    if out.requires_grad:
        raise Mistake(
            "the samples still carry gradients (requires_grad=True): wrap the sampling in `with torch.no_grad():` "
            "so no graph is built (it wastes memory and time)."
        )
    with torch.no_grad():
        logits = decoder.linear(z) * 3
    expected = torch.sigmoid(logits).view(-1, 1, 28, 28)
    if close(out, logits.view(-1, 1, 28, 28)):
        raise Mistake(
            "you returned the decoder's logits: turn them into pixel probabilities in [0, 1] with torch.sigmoid."
        )
    if bool(((out == 0) | (out == 1)).all()):
        raise Mistake(
            "your images are binary draws; return the probabilities torch.sigmoid(logits) (the mean image)."
        )
    if not close(out, expected, atol=1e-4):
        raise Mistake("the images are not torch.sigmoid(decoder(z)) for the codes you drew.")
    return f"{n} codes from N(0, I) decoded to images in [0, 1], without gradients."


def _log_weight_cases():
    """Log-weights N×k: a gentle case (values near -1, where even exp() works) and a realistic one.

    Real log-weights log p(x|z) + log p(z) - log q(z|x) of an image are around -100 nats or lower, so exp() of them
    underflows to 0 in float32 (below about -103), and the log of that mean is -inf."""
    generator = torch.Generator().manual_seed(7)
    gentle = -1.0 + 0.5 * torch.randn(5, 40, generator=generator)
    realistic = -150.0 + 3.0 * torch.randn(5, 40, generator=generator) + torch.arange(5.0)[:, None] * 20
    return gentle, realistic


def _iwae_right(log_weights: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(log_weights.double(), dim=1) - math.log(log_weights.shape[1])


@exercise("03.5", "iwae_bound", points=2)
def iwae_bound(fn) -> str:
    """Check ``iwae_bound(log_weights)``: L_k = logsumexp(log_w over the k draws) - log k, one value per image."""
    gentle, realistic = _log_weight_cases()
    n, k = gentle.shape
    results = {}
    for name, case in (("gentle", gentle), ("realistic", realistic)):
        out = call(fn, case.clone(), what="iwae_bound(log_weights)")
        expect_tensor(out, "iwae_bound(log_weights)")
        if out.dim() == 0 or out.numel() == 1:
            raise Mistake(
                f"you returned a single number; return one L_k per image (shape ({n},)): reduce over the k draws "
                "(dim=1) only."
            )
        if tuple(out.shape) == (k,):
            raise Mistake(
                f"your result has shape ({k},): one value per draw. The k draws of an image are along dim=1; reduce "
                "over dim=1 to get one L_k per image."
            )
        expect_tensor(out, "iwae_bound(log_weights)", shape=(n,))
        results[name] = out.detach().double()
    mistakes = {
        "the mean of the log-weights (the average of k ELBO estimates, L_1), not the log of the mean weight. "
        "Jensen's inequality makes that smaller than L_k: average the weights inside the log with "
        "torch.logsumexp(log_weights, dim=1) - math.log(k)": lambda w: w.double().mean(dim=1),
        "logsumexp without the - log k: that is the log of the SUM of the k weights, which grows with k. The bound "
        "needs the log of their MEAN: torch.logsumexp(log_weights, dim=1) - math.log(k)": lambda w: (
            torch.logsumexp(w.double(), dim=1)
        ),
        "you summed the log-weights (that multiplies the weights instead of averaging them). Use "
        "torch.logsumexp(log_weights, dim=1) - math.log(k)": lambda w: w.double().sum(dim=1),
        "you summed the log-weights and subtracted log k: the bound averages the weights themselves, which needs "
        "torch.logsumexp(log_weights, dim=1) - math.log(k)": lambda w: (
            w.double().sum(dim=1) - math.log(w.shape[1])
        ),
        "you returned the mean of the weights, exp(log_weights).mean(dim=1), without the log: L_k is the log of "
        "that mean, computed stably as torch.logsumexp(log_weights, dim=1) - math.log(k)": lambda w: (
            w.double().exp().mean(dim=1)
        ),
    }
    for case_name, case in (("gentle", gentle), ("realistic", realistic)):
        got = results[case_name]
        if close(got, _iwae_right(case), atol=1e-3):
            continue
        for message, wrong in mistakes.items():
            expected_wrong = wrong(case)
            if torch.isfinite(expected_wrong).all() and close(got, expected_wrong, atol=1e-3):
                raise Mistake(message + ".")
        if case_name == "realistic" and close(results["gentle"], _iwae_right(gentle), atol=1e-3):
            if not bool(torch.isfinite(got).all()):
                raise Mistake(
                    f"right for small log-weights but {[round(v, 1) for v in got.tolist()]} for realistic ones (around "
                    "-150): exp(log_weights) underflows to 0 in float32 (anything below about -103 does), and log(0) "
                    "is -inf (large positive ones overflow to inf). Never leave log space: torch.logsumexp subtracts "
                    "the largest log-weight before exponentiating."
                )
        raise Mistake(
            f"for log-weights around {float(case.mean()):.0f} expected L_k = "
            f"{[round(v, 3) for v in _iwae_right(case).tolist()]}, got {[round(v, 3) for v in got.tolist()]}. "
            "L_k = torch.logsumexp(log_weights, dim=1) - math.log(k), with k = log_weights.shape[1]."
        )
    return "L_k = logsumexp(log w) − log k, stable for realistic log-weights, one value per image."
