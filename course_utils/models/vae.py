"""Variational autoencoders (lesson 03): the loss and the training step, the reference model, and the
importance-weighted estimate of the log-likelihood.

A VAE keeps the two blocks of an autoencoder, but the encoder outputs a *distribution* over codes,
q(z|x) = N(mu(x), diag(exp(log_var(x)))), and the decoder outputs the parameters of p(x|z): one Bernoulli
probability per pixel, kept as a logit for numerical stability. Training maximizes the evidence lower bound

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)),     p(z) = N(0, I),

written here as a loss to minimize: the *negative* ELBO per image, i.e. the reconstruction term (binary
cross-entropy summed over the 784 pixels) plus the KL term (summed over the latent dimensions), averaged over the
images of a batch. Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014; Rezende, Mohamed & Wierstra,
ICML 2014. The importance-weighted bound is from Burda, Grosse & Salakhutdinov, "Importance Weighted
Autoencoders", ICLR 2016.

The lesson notebook writes ``reparameterize``, ``kl_divergence`` and ``negative_elbo`` out itself; these are the
answer key and what the benchmark and the later lessons use.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..batches import TensorBatches
from ..errors import ShapeError, UnknownNameError
from ..images import IMAGE_SHAPE, check_images
from ..runtime import device_of
from ..training import (
    Budget,
    History,
    Report,
    constant,
    evaluating,
    fit,
    moving_average,
    progress,
    warmup_cosine,
    with_average,
)
from .autoencoder import encode_images
from .blocks import dense_stack

LOG_2PI = math.log(2 * math.pi)

# ----------------------------------------------------------------------------------------------------------------
# The loss and the training step (the notebook writes each of these itself)
# ----------------------------------------------------------------------------------------------------------------


def reparameterize(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I) and sigma = exp(log_var / 2): a sample of q(z|x) that gradients
    can flow through (the randomness sits in eps, which does not depend on the parameters)."""
    std = torch.exp(0.5 * log_var)
    return mu + std * torch.randn_like(std)


def kl_divergence(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma²) || N(0, 1)) summed over the latent dimensions: one value per example, shape N.

    Closed form for diagonal Gaussians: 0.5 * sum(mu² + sigma² - 1 - log sigma²).
    """
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)


def reconstruction_nll(logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) per example for Bernoulli pixels: binary cross-entropy summed over pixels, shape N."""
    bce = F.binary_cross_entropy_with_logits(logits, images, reduction="none")
    return bce.reshape(len(images), -1).sum(dim=1)


def negative_elbo(
    logits: torch.Tensor, images: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, beta: float = 1.0
) -> torch.Tensor:
    """The loss: reconstruction (summed over pixels) + beta × KL (summed over latent dims), averaged over the batch.

    With ``beta=1`` this is the negative ELBO per image, in nats; ``beta`` ≠ 1 gives the beta-VAE objective
    (Higgins et al., ICLR 2017), which trades reconstructions against how closely the codes follow the prior.
    """
    return (reconstruction_nll(logits, images) + beta * kl_divergence(mu, log_var)).mean()


def binarize(images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Dynamic binarization: each pixel becomes 1 with probability equal to its gray value (a fresh draw each call).

    This makes the data truly binary, so the Bernoulli likelihood is a proper probability and log p(x) can be
    compared with the literature (Salakhutdinov & Murray, 2008; Burda et al., 2016)."""
    if generator is None:
        return torch.bernoulli(images)
    return torch.bernoulli(images.cpu(), generator=generator).to(images.device)


def vae_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, beta: float = 1.0, binarize_batches: bool = False
):
    """The training step of lesson 03: encode, draw z = mu + sigma * eps, decode, reconstruction + beta × KL.

    ``binarize_batches``: redraw each batch as 0/1 pixels first (dynamic binarization), so that the Bernoulli
    reconstruction term is a real log-likelihood. Returns ``step(images)`` for ``course_utils.training.fit``.
    """

    def step(x: torch.Tensor) -> dict:
        if binarize_batches:
            x = torch.bernoulli(x)
        logits, mu, log_var = model(x)
        rec = reconstruction_nll(logits, x).mean()
        kl = kl_divergence(mu, log_var).mean()
        loss = rec + beta * kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss, "reconstruction": rec, "kl": kl}

    return step


# ----------------------------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------------------------


class VAE(nn.Module):
    """A fully connected VAE: 784 → hidden… → (mu, log_var) of size latent_dim; latent_dim → …hidden → 784 logits.

    Args:
        latent_dim: the number of latent dimensions (2 to draw the latent plane, 20 for quality).
        hidden: widths of the encoder's hidden layers; the decoder mirrors them.
        image_shape: C×H×W of the images (values in [0, 1]).

    Methods: ``encode(x) -> (mu, log_var)``, ``decode_logits(z)``, ``decode(z)`` (pixel probabilities in
    [0, 1]), ``forward(x) -> (logits, mu, log_var)`` with z drawn by the reparameterization trick, and
    ``sample(n)`` to draw new images from the prior.
    """

    def __init__(
        self,
        latent_dim: int = 20,
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
        pixels = math.prod(self.image_shape)
        widths = [pixels, *self.config["hidden"]]
        self.encoder = nn.Sequential(nn.Flatten(), *dense_stack(widths))
        self.to_stats = nn.Linear(widths[-1], 2 * self.latent_dim)  # mu and log_var side by side
        back = [self.latent_dim, *reversed(widths[1:])]
        self.decoder = nn.Sequential(
            *dense_stack(back), nn.Linear(back[-1], pixels), nn.Unflatten(1, self.image_shape)
        )

    def encode(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Images N×C×H×W → (mu, log_var), each N×latent_dim: the parameters of q(z|x)."""
        images = check_images(images, self.image_shape, "encode")
        mu, log_var = self.to_stats(self.encoder(images)).chunk(2, dim=1)
        return mu, log_var

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Codes N×latent_dim → pixel logits N×C×H×W (the parameters of p(x|z) before the sigmoid)."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ShapeError(
                f"decode expects codes N×{self.latent_dim}, got shape {tuple(z.shape)}. "
                "For a single code use z.unsqueeze(0)."
            )
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes → images: the probability of each pixel being on, in [0, 1] (the mean of p(x|z))."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, draw z = mu + sigma * eps, decode: returns ``(logits, mu, log_var)``."""
        mu, log_var = self.encode(images)
        return self.decode_logits(reparameterize(mu, log_var)), mu, log_var

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``n`` new images: z ~ N(0, I) from the prior, then decode (pixel probabilities in [0, 1])."""
        device = device_of(self)
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return self.decode(z)


# ----------------------------------------------------------------------------------------------------------------
# Training and evaluation
# ----------------------------------------------------------------------------------------------------------------


SCHEDULES = {"cosine": lambda progress: warmup_cosine(progress, warmup=0.05), "constant": constant}


def train_vae(
    model: VAE,
    images: torch.Tensor,
    epochs: Optional[int] = 10,
    batch_size: int = 128,
    lr: float = 2e-3,
    beta: float = 1.0,
    dynamic_binarization: bool = False,
    test_images: Optional[torch.Tensor] = None,
    device: Optional[Union[str, torch.device]] = None,
    seed: Optional[int] = 0,
    view=None,
    show_progress: bool = True,
    time_limit: Optional[float] = None,
    schedule: str = "cosine",
    after_epoch: Optional[Callable[[int, History], None]] = None,
    clock: Optional[Callable[[], float]] = None,
    average_decay: Optional[float] = None,
) -> History:
    """Train a VAE with ``vae_step`` and Adam; return the ``History``.

    The learning rate warms up briefly and decays along a cosine to 0 (``schedule="cosine"``, the course's
    ``warmup_cosine``), or stays at ``lr`` (``"constant"``).

    Args:
        model: a ``VAE`` (or any module with ``forward(x) -> (logits, mu, log_var)``).
        images: training images N×1×28×28 in [0, 1].
        beta: weight of the KL term (1 = the true ELBO).
        dynamic_binarization: binarize each batch afresh, for likelihoods on binary data.
        test_images: record the test negative ELBO per image after each epoch as ``test_loss`` (binarized with
            a fixed seed when ``dynamic_binarization``).
        time_limit: stop after this many seconds of training.
        after_epoch: called as ``after_epoch(epoch, history)`` after each epoch, outside the training time.
        clock: the clock ``time_limit`` runs on (default wall-clock time; a benchmark passes a CPU-time clock).
        average_decay: also keep a moving average of the weights (``training.moving_average``), returned as
            ``history.averaged`` (a VAE like ``model``, in eval mode).

    The history records ``loss``, ``reconstruction`` and ``kl`` per image (averaged every 10 steps), ``test_loss``
    per epoch when asked, and ``history.epoch_seconds``: the training time of each epoch alone.
    """
    if schedule not in SCHEDULES:
        raise UnknownNameError(f"Unknown schedule {schedule!r}. Choose one of: 'cosine', 'constant'.")
    images = check_images(
        images, tuple(model.image_shape) if hasattr(model, "image_shape") else IMAGE_SHAPE, "train_vae"
    )
    if device is not None:
        model.to(device)
    batches = TensorBatches(images, batch_size=batch_size, shuffle=True, device=device_of(model), seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    averaged = moving_average(model, average_decay)  # None without average_decay
    history = History()

    def end_of_epoch(done: int) -> Optional[dict]:
        numbers = None
        if test_images is not None:
            test = evaluate_vae(model, test_images, binarize_seed=0 if dynamic_binarization else None)
            numbers = {"test_loss": test["negative_elbo"]}
        if after_epoch is not None:
            after_epoch(done // len(batches) - 1, history)
        model.train()
        return numbers

    model.train()
    budget = Budget(epochs=epochs, seconds=time_limit, clock=clock or time.perf_counter)
    report = Report(desc=f"training {type(model).__name__} (beta={beta:g})", show_progress=show_progress, view=view,
                    view_samples=lambda: _peek_samples(model), history=history)  # fmt: skip
    fit(with_average(vae_step(model, optimizer, beta, dynamic_binarization), model, averaged), batches, budget,
        optimizers=[optimizer], schedule=SCHEDULES[schedule], every=[(len(batches), end_of_epoch)], report=report)  # fmt: skip
    model.eval()
    history.averaged = averaged.module.eval() if averaged is not None else None
    return history


def _peek_samples(model: VAE, n: int = 16) -> torch.Tensor:
    with evaluating(model):
        return model.sample(n, generator=torch.Generator().manual_seed(0)).cpu()


def evaluate_vae(
    model: VAE,
    images: torch.Tensor,
    beta: float = 1.0,
    batch_size: int = 1000,
    binarize_seed: Optional[int] = None,
) -> Dict[str, float]:
    """Per image averages over ``images``: ``negative_elbo`` (rec + KL, in nats), ``reconstruction``, ``kl``.

    The ELBO is estimated with one draw of z per image (seeded, so repeated calls agree). ``binarize_seed``:
    binarize the images first with this seed (for a model trained on dynamically binarized data).
    """
    with evaluating(model):
        device = device_of(model)
        generator = torch.Generator().manual_seed(0 if binarize_seed is None else binarize_seed)
        totals = {"reconstruction": 0.0, "kl": 0.0}
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size]
            if binarize_seed is not None:
                x = binarize(x.cpu(), generator)
            x = x.to(device)
            mu, log_var = model.encode(x)
            eps = torch.randn(mu.shape, generator=generator).to(device)
            logits = model.decode_logits(mu + torch.exp(0.5 * log_var) * eps)
            totals["reconstruction"] += float(reconstruction_nll(logits, x).double().sum())
            totals["kl"] += float(kl_divergence(mu, log_var).double().sum())
    out = {k: v / len(images) for k, v in totals.items()}
    out["negative_elbo"] = out["reconstruction"] + beta * out["kl"]
    return out


def log_normal(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(log_var))), summed over the last dimension."""
    return -0.5 * (LOG_2PI + log_var + (z - mu).pow(2) / log_var.exp()).sum(dim=-1)


@torch.no_grad()
def iwae_log_likelihood(
    model: VAE,
    images: torch.Tensor,
    k: int = 1000,
    chunk: int = 250,
    batch_size: int = 20,
    seed: int = 0,
    show_progress: bool = False,
) -> torch.Tensor:
    """The importance-weighted estimate of log p(x) for each image (Burda et al., 2016), shape N.

        log p(x) ≈ log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x)

    It is a lower bound for every k (in expectation) that rises to log p(x) as k grows; k = 1 gives the ELBO.
    Images must be binary (see ``binarize``): for gray values the Bernoulli "likelihood" is not a probability.

    Args:
        k: importance samples per image (the literature's standard is 5,000; 1,000 is within a few tenths).
        chunk: samples decoded at once per image (memory: batch_size × chunk × 784 floats).
        batch_size: images at once.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    ladder = iwae_ladder(
        model, images, [k], chunk=chunk, batch_size=batch_size, seed=seed, show_progress=show_progress
    )
    return ladder[k]


encode_means = encode_images  # the same function: for a VAE it returns the means mu(x) of q(z|x)


def decode_grid(model: nn.Module, extent: float = 3.0, n: int = 15) -> torch.Tensor:
    """Decode an n×n grid of codes over [-extent, extent]² (a 2-D latent), row by row from the top-left.

    Returns images (n·n)×1×28×28. Rows go from z2 = +extent (top) to -extent (bottom), columns from
    z1 = -extent to +extent, so the mosaic reads like a plot of the latent plane. ``model`` is anything with
    ``decode(z) -> images`` and ``latent_dim == 2`` (a ``VAE``, or lesson 02's autoencoders).
    """
    if getattr(model, "latent_dim", 2) != 2:
        raise ShapeError(
            f"decode_grid needs a model with a 2-D latent space, this one has {model.latent_dim}."
        )
    axis = torch.linspace(-extent, extent, n)
    z1 = axis.repeat(n)
    z2 = axis.flip(0).repeat_interleave(n)
    codes = torch.stack([z1, z2], dim=1).to(device_of(model))
    with evaluating(model):
        return model.decode(codes).cpu()


# ----------------------------------------------------------------------------------------------------------------
# What a figure may be called, the continuous Bernoulli, repeated IWAE estimates, and how the latent space is used
# ----------------------------------------------------------------------------------------------------------------


def loss_label(images: torch.Tensor) -> str:
    """The name a per-image Bernoulli loss on ``images`` deserves: ``"nats"`` only for binary pixels.

    On pixels that are exactly 0 or 1 the binary cross-entropy is -log p(x|z) of a proper Bernoulli distribution,
    so the negative ELBO is a bound on -log p(x) in nats. On gray pixels in (0, 1) the same formula is not a
    log-probability of anything (its "density" does not integrate to 1 over [0, 1]; Loaiza-Ganem & Cunningham,
    2019), so the number is only a loss: ``"BCE loss"``.
    """
    return "nats" if bool(((images == 0) | (images == 1)).all()) else "BCE loss"


def continuous_bernoulli_log_norm(logits: torch.Tensor) -> torch.Tensor:
    """log C(λ) per pixel, λ = sigmoid(logits): the log-normalizer of the continuous Bernoulli.

        p(x | λ) = C(λ) λ^x (1 - λ)^(1 - x),  x ∈ [0, 1],   C(λ) = 2 artanh(1 - 2λ) / (1 - 2λ),  C(½) = 2

    (Loaiza-Ganem & Cunningham, "The continuous Bernoulli", NeurIPS 2019). With λ = sigmoid(l), 1 - 2λ =
    -tanh(l/2) and artanh(1 - 2λ) = -l/2, so C = l / tanh(l/2): computed as log|l| - log|tanh(l/2)|, and with the
    series log 2 + l²/12 - 7 l⁴/1440 near l = 0 where both logs would be log 0 (no division by 0, no NaN gradient).
    """
    small = logits.abs() < 1e-2
    safe = torch.where(small, torch.ones_like(logits), logits)
    far = torch.log(safe.abs()) - torch.log(torch.tanh(safe.abs() / 2))
    near = math.log(2.0) + logits.pow(2) / 12 - 7 * logits.pow(4) / 1440
    return torch.where(small, near, far)


def continuous_bernoulli_nll(logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) per image under the continuous Bernoulli: BCE summed over pixels minus Σ log C(λ), shape N.

    A true negative log-*density* for gray pixels in [0, 1]: it can be negative (a density may exceed 1)."""
    log_norm = continuous_bernoulli_log_norm(logits).reshape(len(images), -1).sum(dim=1)
    return reconstruction_nll(logits, images) - log_norm


@torch.no_grad()
def iwae_repeats(
    model: VAE, images: torch.Tensor, k: int, repeats: int = 3, seed: int = 0, **options
) -> torch.Tensor:
    """``repeats`` independent IWAE estimates of every image (fresh draws of z each time): shape repeats × N.

    The spread of the repeats on the *same* image is the Monte-Carlo error of the estimator; the spread across
    images is not (different images simply have different log p(x)). ``options`` go to ``iwae_log_likelihood``.
    """
    if repeats < 2:
        raise ValueError(f"repeats must be at least 2 to measure a Monte-Carlo error, got {repeats}.")
    return torch.stack(
        [iwae_log_likelihood(model, images, k=k, seed=seed + r, **options) for r in range(repeats)]
    )


def monte_carlo_summary(estimates: torch.Tensor) -> Dict[str, float]:
    """The average of repeated estimates (repeats × N, one column per image) and its Monte-Carlo standard error.

    The reported figure is the mean over images and repeats. Its Monte-Carlo variance is Σ_i s_i² / (R N²), with
    s_i² the variance of the R repeats of image i: only the randomness of the draws of z counts, not which images
    happen to be in the set (those are fixed). Returns ``mean``, ``standard_error``, ``repeats``, ``images``.
    """
    if estimates.dim() != 2 or estimates.shape[0] < 2:
        raise ShapeError(
            f"estimates must be repeats × N with at least 2 repeats, got {tuple(estimates.shape)}."
        )
    repeats, n = estimates.shape
    per_image_var = estimates.double().var(dim=0, unbiased=True)
    return {
        "mean": float(estimates.double().mean()),
        "standard_error": float(per_image_var.sum().sqrt() / (n * math.sqrt(repeats))),
        "repeats": int(repeats),
        "images": int(n),
    }


def latent_usage(model: VAE, images: torch.Tensor, threshold: float = 0.01) -> Dict[str, object]:
    """How much each latent dimension is used, over ``images``: its average KL and its activity.

    ``kl_per_dim``: KL(q(z_j|x) || N(0, 1)) averaged over the images (nats; they sum to the KL term).
    ``activity``: Cov_x(E_q[z_j]), the variance over images of the mean code mu_j(x). A dimension is *active*
    when it exceeds ``threshold`` = 0.01 (Burda et al., 2016): an inactive one ignores its input, so q(z_j|x) is
    the prior whatever x is and the decoder cannot use it. Returns both (tensors) and ``active`` (a count).
    """
    with evaluating(model):
        device = device_of(model)
        mus, kls = [], []
        for i in range(0, len(images), 1000):
            mu, log_var = model.encode(images[i : i + 1000].to(device))
            mus.append(mu.cpu())
            kls.append((0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)).cpu())
    mu = torch.cat(mus)
    activity = mu.var(dim=0)
    return {
        "kl_per_dim": torch.cat(kls).mean(dim=0),
        "activity": activity,
        "active": int((activity > threshold).sum()),
    }


def iwae_ladder(
    model: VAE,
    images: torch.Tensor,
    ks: Sequence[int],
    chunk: int = 250,
    batch_size: int = 20,
    seed: int = 0,
    show_progress: bool = False,
) -> Dict[int, torch.Tensor]:
    """IWAE estimates for several k from one set of draws: ``{k: estimates per image}``, each of shape N.

    max(ks) draws of z are made per image; the estimate for each k uses the first k of them (each is a proper
    L_k estimate; estimates for different k share draws, so their differences are less noisy). This costs no more
    than ``iwae_log_likelihood`` at the largest k. Images must be binary (see ``binarize``).
    """
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"every k must be at least 1, got {ks}.")
    k_max = ks[-1]
    with evaluating(model):
        device = device_of(model)
        generator = torch.Generator().manual_seed(seed)
        out: Dict[int, list] = {k: [] for k in ks}
        starts = range(0, len(images), batch_size)
        for i in progress(starts, desc=f"IWAE k≤{k_max}", disable=not show_progress):
            x = images[i : i + batch_size].to(device)
            n = len(x)
            mu, log_var = model.encode(x)
            std = torch.exp(0.5 * log_var)
            log_weights = []
            for done in range(0, k_max, chunk):
                m = min(chunk, k_max - done)
                eps = torch.randn(n, m, model.latent_dim, generator=generator).to(device)
                z = mu[:, None] + std[:, None] * eps
                logits = model.decode_logits(z.reshape(n * m, -1)).reshape(n, m, -1)
                target = x.reshape(n, 1, -1).expand_as(logits)
                log_px_z = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(dim=-1)
                log_pz = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
                log_weights.append(log_px_z + log_pz - log_normal(z, mu[:, None], log_var[:, None]))
            log_w = torch.cat(log_weights, dim=1).double()
            for k in ks:
                out[k].append((torch.logsumexp(log_w[:, :k], dim=1) - math.log(k)).cpu())
    return {k: torch.cat(v) for k, v in out.items()}
