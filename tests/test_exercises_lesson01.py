"""Lesson 01's checkers: the right answers pass, and each mistake they claim to diagnose gets its diagnosis."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils import check
from course_utils.exercises import ExerciseFailed
from course_utils.exercises.core import Mistake
from course_utils.exercises.lesson01 import bce_variants, diagnose_bce


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


# ---------------------------------------------------------------- 01.1 fit_gaussian


def fit_right(x):
    mean = x.mean(0)
    centered = x - mean
    return mean, centered.T @ centered / len(x)


def test_fit_gaussian_right_answers_pass():
    assert check.fit_gaussian(fit_right).passed
    result = check.fit_gaussian(lambda x: (x.mean(0), torch.cov(x.T)))  # N - 1: also accepted
    assert result.passed and "N − 1" in result.message


def fit_in_place(x):
    x -= x.mean(0)
    return torch.zeros(2), x.T @ x / len(x)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda x: None, "returned NoneType"),
        (lambda x: x.mean(0), "should return two things"),
        (lambda x: (x.mean(1), fit_right(x)[1]), "one value per point"),
        (lambda x: (x.mean(0) + 1, fit_right(x)[1]), "the mean is off"),
        (lambda x: (x.mean(0), (x - x.mean(0)) @ (x - x.mean(0)).T / len(x)), "50×50"),
        (lambda x: (x.mean(0), x.var(0)), "variances only"),
        (lambda x: (x.mean(0), x.T @ x / len(x)), "forgot to subtract the mean"),
        (lambda x: (x.mean(0), torch.diag(x.var(0))), "diagonal"),
        (lambda x: (x.mean(0), (x - x.mean(0)).T @ (x - x.mean(0))), "did not divide"),
        (lambda x: (x.mean(0), torch.linalg.cholesky(fit_right(x)[1])), "square root"),
        (lambda x: (x.mean(0), 2 * fit_right(x)[1]), "the covariance is off"),
        (fit_in_place, "in place"),
        (lambda x: (x.mean(0), (x - x.mean(0)).T @ (x - x.mean(0)) / 0), "NaN or infinite"),
    ],
    ids=[
        "none",
        "one-thing",
        "mean-dim",
        "mean-off",
        "NxN",
        "variances",
        "uncentred",
        "diagonal",
        "no-divide",
        "sqrt",
        "other",
        "in-place",
        "divide-by-zero",
    ],  # fmt: skip
)
def test_fit_gaussian_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.fit_gaussian, answer)


# ---------------------------------------------------------------- 01.2 sample_gaussian


def sample_right(mean, cov, n):
    scale = torch.linalg.cholesky(cov)
    return mean + torch.randn(n, len(mean)) @ scale.T


def test_sample_gaussian_right_answers_pass():
    assert check.sample_gaussian(sample_right).passed
    mvn = lambda mean, cov, n: torch.distributions.MultivariateNormal(mean, cov).sample((n,))  # noqa: E731
    assert check.sample_gaussian(mvn).passed


def fixed_seed(mean, cov, n):
    torch.manual_seed(1)
    return sample_right(mean, cov, n)


def L(cov):
    return torch.linalg.cholesky(cov)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda m, c, n: sample_right(m, c, n).T, "in columns"),
        (lambda m, c, n: m.expand(n, 2).clone(), "all samples are the same point"),
        (fixed_seed, "two calls gave the same points"),
        (lambda m, c, n: torch.randn(n, 2) @ L(c).T, "centred on 0"),
        (lambda m, c, n: m + torch.randn(n, 2) @ c, "covariance itself"),
        (lambda m, c, n: m + torch.randn(n, 2) @ L(c), "L where Lᵀ belongs"),
        (lambda m, c, n: m + torch.randn(n, 2) @ c.sqrt(), "square root of each entry"),
        (lambda m, c, n: m + torch.randn(n, 2), "covariance I"),
        (lambda m, c, n: m + torch.randn(n, 2) * c.diagonal().sqrt(), "standard deviations only"),
        (lambda m, c, n: m + torch.randn(n, 2) * c.diagonal(), "variances only"),
        (lambda m, c, n: m + 3 * torch.randn(n, 2) @ L(c).T, "expected [[2.0, 1.2]"),
        (lambda m, c, n: m + torch.randn(n, 2).log() @ L(c).T, "NaN or infinite, although"),
    ],
    ids=[
        "columns",
        "constant",
        "fixed-seed",
        "no-mean",
        "cov",
        "L-not-LT",
        "elementwise-sqrt",
        "unscaled",
        "diag-std",
        "diag-var",
        "other",
        "nan",
    ],  # fmt: skip
)
def test_sample_gaussian_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.sample_gaussian, answer)


# ---------------------------------------------------------------- 01.3 posterior


def test_posterior_right_answers_pass():
    assert check.posterior(lambda ll, p: torch.softmax(ll + p.log(), dim=1)).passed


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (
            lambda ll, p: (ll.exp() * p) / (ll.exp() * p).sum(1, keepdim=True),
            "exp(-200) underflows",
        ),  # exp(-200) → 0
        (lambda ll, p: torch.softmax(ll.log() + p.log(), dim=1), "already logs and negative"),
        (lambda ll, p: torch.softmax(ll.exp() * p, dim=1), "exponentiates again"),
        (lambda ll, p: torch.softmax(ll, dim=1), "left out the priors"),
        (lambda ll, p: torch.softmax(ll + p.log(), dim=0), "over the points"),
        (lambda ll, p: torch.softmax(ll + p, dim=1), "sum of logs"),
        (lambda ll, p: ll + p.log(), "do not sum to 1"),
        (lambda ll, p: torch.softmax(ll + p.log(), dim=1).T, "should be 4×3"),
        (lambda ll, p: torch.softmax(2 * ll + p.log(), dim=1), "expected"),
    ],
    ids=[
        "underflow",
        "log-of-logs",
        "double-exp",
        "no-priors",
        "dim0",
        "prior-not-log",
        "unnormalized",
        "shape",
        "other",
    ],
)
def test_posterior_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.posterior, answer)


# ---------------------------------------------------------------- 01.4 shared_covariance_logits


def shared_right(means, cov, priors):
    weights = means @ torch.linalg.inv(cov)
    return weights, -0.5 * (means * weights).sum(1) + priors.log()


def test_shared_covariance_logits_right_answers_pass():
    assert check.shared_covariance_logits(shared_right).passed

    def solved_and_shifted(means, cov, priors):  # another way to Σ⁻¹ μ, plus terms shared by all classes
        weights = torch.linalg.solve(cov, means.T).T
        return weights + 3.0, -0.5 * (means * weights).sum(1) + priors.log() - 7.0

    assert check.shared_covariance_logits(solved_and_shifted).passed


def shared_with(weights_of, bias_of):
    def answer(means, cov, priors):
        weights = weights_of(means, cov)
        return weights, bias_of(means, cov, priors, weights)

    return answer


INVERSE = lambda m, c: m @ torch.linalg.inv(c)  # noqa: E731
QUAD = lambda m, w: (m * w).sum(1)  # noqa: E731


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda m, c, p: None, "returned NoneType"),
        (lambda m, c, p: INVERSE(m, c), "should return two things"),
        (lambda m, c, p: (INVERSE(m, c).T, shared_right(m, c, p)[1]), "2×3 (D×K)"),
        (lambda m, c, p: (INVERSE(m, c), shared_right(m, c, p)[1][:, None]), "one number per class"),
        (shared_with(INVERSE, lambda m, c, p, w: -QUAD(m, w) + p.log()), "lost its ½"),
        (shared_with(INVERSE, lambda m, c, p, w: 0.5 * QUAD(m, w) + p.log()), "wrong sign"),
        (shared_with(INVERSE, lambda m, c, p, w: -0.5 * QUAD(m, w)), "priors are missing"),
        (shared_with(INVERSE, lambda m, c, p, w: -0.5 * QUAD(m, w) + p), "as log p(k), not p(k)"),
        (shared_with(INVERSE, lambda m, c, p, w: -0.5 * QUAD(m, m) + p.log()), "needs the same Σ⁻¹"),
        (shared_with(lambda m, c: m @ c, lambda m, c, p, w: -0.5 * QUAD(m, w) + p.log()), "inverse belongs"),
        (shared_with(lambda m, c: m, lambda m, c, p, w: -0.5 * QUAD(m, m) + p.log()), "assumed Σ = I"),
        (shared_with(INVERSE, lambda m, c, p, w: -0.5 * QUAD(m, w) + p.log() + m[:, 0]), "biases are not"),
        (
            shared_with(lambda m, c: 2 * INVERSE(m, c), lambda m, c, p, w: -0.25 * QUAD(m, w) + p.log()),
            "weights should be",
        ),  # fmt: skip
        (shared_with(INVERSE, lambda m, c, p, w: -0.5 * QUAD(m, w) + (p - 0.4).log()), "NaN or inf"),
    ],
    ids=[
        "none",
        "one-thing",
        "transposed",
        "bias-shape",
        "no-half",
        "plus-half",
        "no-prior",
        "prior-not-log",
        "bias-no-inverse",
        "sigma-not-inverse",
        "no-sigma",
        "bias-other",
        "weights-other",
        "nan",
    ],  # fmt: skip
)
def test_shared_covariance_logits_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.shared_covariance_logits, answer)


# ---------------------------------------------------------------- 01.5 real_fake_bce


def test_real_fake_bce_right_answers_pass():
    assert check.real_fake_bce(lambda z, y: F.binary_cross_entropy_with_logits(z, y)).passed
    stable = lambda z, y: -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean()  # noqa: E731
    assert check.real_fake_bce(stable).passed


def naive(z, y):
    p = torch.sigmoid(z)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum"), "summed over the batch"),
        (lambda z, y: F.binary_cross_entropy_with_logits(z, 1 - y), "labels are swapped"),
        (lambda z, y: F.binary_cross_entropy_with_logits(z, 1 - y, reduction="sum"), "swapped (real → 1"),
        (lambda z, y: -F.binary_cross_entropy_with_logits(z, y), "sign is flipped"),
        (lambda z, y: F.binary_cross_entropy_with_logits(torch.sigmoid(z), y), "already probabilities"),
        (lambda z, y: F.binary_cross_entropy(z, y), "logits as if they were probabilities"),
        (
            lambda z, y: -(y * z.log() + (1 - y) * (1 - z).log()).mean(),
            "logits as if they were probabilities",
        ),
        (lambda z, y: -(y * F.logsigmoid(z)).mean(), "dropped the (1 - y) log(1 - p) term"),
        (lambda z, y: -((1 - y) * F.logsigmoid(-z)).mean(), "dropped the y log p term"),
        (lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="none"), "one number"),
        (naive, "very confident ones"),
        (lambda z, y: F.binary_cross_entropy_with_logits(z, y) + 0.1, "expected"),
    ],
    ids=[
        "sum",
        "swapped",
        "swapped-sum",
        "sign",
        "double-sigmoid",
        "bce-on-logits",
        "log-of-logits",
        "real-only",
        "fake-only",
        "no-reduction",
        "unstable",
        "other",
    ],  # fmt: skip
)
def test_real_fake_bce_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.real_fake_bce, answer)


def test_diagnose_bce_is_reusable_on_other_cases():
    """Lesson 04 calls diagnose_bce on its own logits; the right value passes, a swapped one is named."""
    logits, targets = torch.tensor([1.0, -2.0, 0.3]), torch.tensor([1.0, 1.0, 0.0])
    diagnose_bce(bce_variants(logits, targets)["right"], logits, targets, "d_loss")
    with pytest.raises(Mistake, match="swapped"):
        diagnose_bce(bce_variants(logits, targets)["swapped"].float(), logits, targets, "d_loss")
    with pytest.raises(Mistake, match="log of a logit"):
        diagnose_bce(torch.tensor(float("nan")), logits, targets, "d_loss")
    # NaN without negative logits, and inf: not blamed on a log of a logit.
    positive = torch.tensor([1.0, 2.0, 0.3])
    with pytest.raises(Mistake, match="0 × log 0 or 0/0"):
        diagnose_bce(torch.tensor(float("nan")), positive, targets, "d_loss")
    with pytest.raises(Mistake, match="a log\\(0\\) or a division by zero") as info:
        diagnose_bce(torch.tensor(float("inf")), logits, targets, "d_loss")
    assert "log of a logit" not in str(info.value) and "largest |logit| here is 2" in str(info.value)


def test_match_variants_names_the_first_mistake_a_value_reproduces():
    from course_utils.exercises.core import match_variants

    variants = {"right": 1.0, "halved": 0.5, "negated": -1.0}
    advice = {
        "missing": "never computed",
        "negated": "the sign is flipped",
        "halved": "divided by 2 once too often",
    }
    same = lambda a, b: abs(a - b) < 1e-9  # noqa: E731
    assert match_variants(-1.0, variants, advice, same) == "the sign is flipped"
    assert match_variants(0.5, variants, advice, same) == "divided by 2 once too often"
    assert match_variants(1.0, variants, advice, same) is None  # the right answer is not a mistake
    assert match_variants(3.0, variants, advice, same) is None
    first = {"a": "first", "b": "second"}
    assert match_variants(2.0, {"a": 2.0, "b": 2.0}, first, same) == "first"  # advice's order decides
