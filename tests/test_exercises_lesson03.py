"""Lesson 03 checkers: each passes the right answer and names each mistake it claims to diagnose."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils import check
from course_utils.exercises.core import ExerciseFailed
from course_utils.models import vae


def fails_with(checker, fn, *phrases: str) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(fn)
    message = str(info.value).lower()
    for phrase in phrases:
        assert phrase.lower() in message, f"expected {phrase!r} in: {message}"
    return message


# ---------------------------------------------------------------------------------------------- 03.1 reparameterize


def test_reparameterize_right_answer_passes():
    assert check.reparameterize(vae.reparameterize).passed


def test_reparameterize_sqrt_of_exp_also_passes():
    def alt(mu, log_var):
        return mu + torch.sqrt(torch.exp(log_var)) * torch.randn(mu.shape)

    assert check.reparameterize(alt).passed


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (lambda mu, lv: mu + lv * torch.randn_like(lv), ["log-variance", "standard deviation"]),
        (lambda mu, lv: mu + torch.exp(lv) * torch.randn_like(lv), ["variance", "square root"]),
        (lambda mu, lv: mu + torch.randn_like(lv), ["does not depend on log_var"]),
        (lambda mu, lv: mu + 0 * lv, ["no noise"]),
        (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.rand_like(lv), ["centred", "randn_like"]),
        (lambda mu, lv: torch.normal(mu.detach(), torch.exp(0.5 * lv.detach())), ["no gradient"]),
        (lambda mu, lv: (mu + torch.exp(0.5 * lv) * torch.randn_like(lv)).detach(), ["no gradient"]),
        (lambda mu, lv: torch.normal(mu, torch.exp(0.5 * lv)), ["torch.normal", "blocks gradients"]),
    ],
    ids=[
        "log_var_as_std",
        "variance_as_std",
        "ignores_log_var",
        "no_noise",
        "uniform_noise",
        "normal_detached",
        "detach",
        "normal",
    ],
)
def test_reparameterize_mistakes_are_named(wrong, phrases):
    fails_with(check.reparameterize, wrong, *phrases)


def test_reparameterize_unfinished_says_so():
    def unfinished(mu, log_var):
        raise NotImplementedError

    fails_with(check.reparameterize, unfinished, "not done yet")


# ---------------------------------------------------------------------------------------------- 03.2 kl_divergence


def test_kl_right_answer_passes():
    assert check.kl_divergence(vae.kl_divergence).passed


def test_kl_textbook_form_passes():
    def textbook(mu, log_var):
        return -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=1)

    assert check.kl_divergence(textbook).passed


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (lambda mu, lv: 0.5 * torch.sum(1 + lv - mu**2 - lv.exp(), dim=1), ["wrong sign"]),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1 - lv), ["forgot the sum over the latent dimensions"]),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1 - lv).mean(dim=1), ["averaged over the latent", "sum"]),
        (lambda mu, lv: 0.5 * (mu**2 + lv**2 - 1 - torch.log(lv**2)).sum(dim=1), ["log_var as the standard"]),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1 - lv).sum(), ["single number", "one kl per example"]),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1 - lv).mean(), ["single number"]),
        (lambda mu, lv: (mu**2 + lv.exp() - 1 - lv).sum(dim=1), ["twice", "0.5"]),
    ],
    ids=["wrong_sign", "no_sum", "mean_over_dims", "log_var_as_std", "batch_sum", "batch_mean", "no_half"],
)
def test_kl_mistakes_are_named(wrong, phrases):
    fails_with(check.kl_divergence, wrong, *phrases)


# ---------------------------------------------------------------------------------------------- 03.3 negative_elbo


def _rec(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def test_elbo_right_answer_passes():
    assert check.negative_elbo(vae.negative_elbo).passed


def test_elbo_from_probabilities_passes():
    def from_probs(logits, x, mu, lv):
        rec = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / len(x)
        return rec + vae.kl_divergence(mu, lv).mean()

    assert check.negative_elbo(from_probs).passed


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (lambda lg, x, mu, lv: (_rec(lg, x) - vae.kl_divergence(mu, lv)).mean(), ["wrong sign"]),
        (
            lambda lg, x, mu, lv: (_rec(lg, x) + vae.kl_divergence(mu, lv)).sum(),
            ["summed over the batch", "mean"],
        ),
        (
            lambda lg, x, mu, lv: (
                F.binary_cross_entropy_with_logits(lg, x) + vae.kl_divergence(mu, lv).mean()
            ),
            ["averaged the reconstruction term over the pixels", "sum"],
        ),
        (
            lambda lg, x, mu, lv: _rec(lg, x).mean() + (0.5 * (mu**2 + lv.exp() - 1 - lv)).mean(),
            ["forgot the sum over the latent dimensions"],
        ),
        (lambda lg, x, mu, lv: _rec(lg, x) + vae.kl_divergence(mu, lv), ["one value per image", ".mean()"]),
        (lambda lg, x, mu, lv: _rec(lg, x).mean(), ["leaves the kl term out"]),
        (
            lambda lg, x, mu, lv: (
                ((torch.sigmoid(lg) - x) ** 2).flatten(1).sum(1).mean() + vae.kl_divergence(mu, lv).mean()
            ),
            ["squared error", "binary cross-entropy"],
        ),
    ],
    ids=["kl_sign", "batch_sum", "pixel_mean", "kl_not_summed", "per_image", "no_kl", "mse"],
)
def test_elbo_mistakes_are_named(wrong, phrases):
    fails_with(check.negative_elbo, wrong, *phrases)


# ---------------------------------------------------------------------------------------------- 03.4 sample_from_prior


def right_sampler(decoder, n, latent_dim):
    with torch.no_grad():
        return torch.sigmoid(decoder(torch.randn(n, latent_dim)))


def test_sampling_right_answer_passes():
    assert check.sample_from_prior(right_sampler).passed


def _no_grad(fn):
    def wrapped(decoder, n, d):
        with torch.no_grad():
            return fn(decoder, n, d)

    return wrapped


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (_no_grad(lambda dec, n, d: torch.sigmoid(dec(torch.rand(n, d)))), ["uniform", "randn"]),
        (_no_grad(lambda dec, n, d: dec(torch.randn(n, d))), ["logits", "sigmoid"]),
        (lambda dec, n, d: torch.sigmoid(dec(torch.randn(n, d))), ["no_grad"]),
        (_no_grad(lambda dec, n, d: torch.sigmoid(dec(torch.zeros(n, d)))), ["every code is the same"]),
        (_no_grad(lambda dec, n, d: torch.sigmoid(dec(3 * torch.randn(n, d)))), ["mean 0, std 1"]),
        (_no_grad(lambda dec, n, d: torch.bernoulli(torch.sigmoid(dec(torch.randn(n, d))))), ["binary"]),
        (_no_grad(lambda dec, n, d: torch.sigmoid(dec(torch.randn(1, n, d)))), ["n, latent_dim"]),
    ],
    ids=["uniform", "logits", "no_grad", "same_code", "wrong_scale", "bernoulli", "shape"],
)
def test_sampling_mistakes_are_named(wrong, phrases):
    fails_with(check.sample_from_prior, wrong, *phrases)


# ---------------------------------------------------------------------------------------------- wrong causes named


def test_reparameterize_sqrt_of_log_var_blames_the_square_root():
    # Issue 11: the NaN used to be reported as an uncentred mean with a hint about torch.randn_like.
    message = fails_with(
        check.reparameterize,
        lambda mu, lv: mu + torch.sqrt(lv) * torch.randn_like(lv),
        "nan",
        "square root",
        "exp(0.5 * log_var)",
    )
    assert "randn_like, not" not in message


def test_reparameterize_infinite_samples_are_named():
    fails_with(
        check.reparameterize, lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn_like(lv) / 0, "infinite"
    )


def test_kl_nan_from_log_of_log_var_is_named():
    fails_with(
        check.kl_divergence,
        lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1 - torch.log(lv)).sum(dim=1),
        "nan",
        "torch.log(log_var)",
    )


def test_elbo_sigmoid_before_logits_loss_is_named():
    def double_sigmoid(lg, x, mu, lv):
        rec = F.binary_cross_entropy_with_logits(torch.sigmoid(lg), x, reduction="none").flatten(1).sum(1)
        return (rec + vae.kl_divergence(mu, lv)).mean()

    fails_with(check.negative_elbo, double_sigmoid, "sigmoid is applied twice", "raw logits")


def test_elbo_logits_given_to_binary_cross_entropy_is_named():
    def logits_as_probs(lg, x, mu, lv):
        rec = F.binary_cross_entropy(lg, x, reduction="none").flatten(1).sum(1)
        return (rec + vae.kl_divergence(mu, lv)).mean()

    fails_with(check.negative_elbo, logits_as_probs, "logits", "binary_cross_entropy_with_logits")


def test_elbo_nan_from_log_of_logits_is_named():
    def log_of_logits(lg, x, mu, lv):
        rec = -(x * torch.log(lg) + (1 - x) * torch.log(1 - lg)).flatten(1).sum(1)
        return (rec + vae.kl_divergence(mu, lv)).mean()

    fails_with(check.negative_elbo, log_of_logits, "nan", "binary_cross_entropy_with_logits")


# ---------------------------------------------------------------------------------------------- 03.5 iwae_bound


def iwae_right(log_w):
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def iwae_by_hand(log_w):
    """The same bound with the max subtracted by hand (what logsumexp does inside)."""
    top = log_w.max(dim=1, keepdim=True).values
    return (log_w - top).exp().mean(dim=1).log() + top[:, 0]


@pytest.mark.parametrize("right", [iwae_right, iwae_by_hand], ids=["logsumexp", "by_hand"])
def test_iwae_bound_right_answers_pass(right):
    assert check.iwae_bound(right).passed


@pytest.mark.parametrize(
    "wrong, phrases",
    [
        (lambda w: w.mean(dim=1), ["mean of the log-weights", "logsumexp"]),
        (lambda w: w.exp().mean(dim=1), ["without the log"]),
        (lambda w: torch.logsumexp(w, dim=1), ["without the - log k"]),
        (lambda w: w.sum(dim=1), ["summed the log-weights"]),
        (lambda w: w.sum(dim=1) - math.log(w.shape[1]), ["summed the log-weights", "subtracted log k"]),
        (lambda w: w.exp().mean(dim=1).log(), ["underflows", "-inf", "logsumexp"]),
        (lambda w: torch.logsumexp(w, dim=0) - math.log(w.shape[0]), ["one value per draw", "dim=1"]),
        (lambda w: iwae_right(w).mean(), ["single number"]),
    ],
    ids=["mean_of_log_weights", "mean_of_weights", "no_log_k", "sum", "sum_minus_log_k", "exp_underflow",
         "wrong_dim", "batch_mean"],
)  # fmt: skip
def test_iwae_bound_mistakes_are_named(wrong, phrases):
    fails_with(check.iwae_bound, wrong, *phrases)
