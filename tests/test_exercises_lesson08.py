"""Lesson 08's checkers: the right answers pass, and each mistake they claim to diagnose gets its diagnosis."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils import check
from course_utils.exercises import CHECKERS, ExerciseFailed
from course_utils.exercises.lesson08 import QUESTIONS
from course_utils.metrics import frechet_distance as course_frechet


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


# ---------------------------------------------------------------------------------------------------------------
# Right answers (the lesson's, and other correct ways)
# ---------------------------------------------------------------------------------------------------------------


def matrix_sqrt(cov):
    vals, vecs = torch.linalg.eigh(cov)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T


def frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root_a = matrix_sqrt(cov_a)
    trace_root = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return ((mu_a - mu_b) ** 2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root


def knn_pr(real, fake, k):
    def radii(x):
        return torch.cdist(x, x).topk(k + 1, dim=1, largest=False).values[:, k]

    def inside(queries, centers, r):
        return (torch.cdist(queries, centers) <= r[None, :]).any(dim=1).double().mean().item()

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


def memorization(samples, train, test):
    def nearest(x):
        return torch.cdist(x.flatten(1), train.flatten(1)).min(dim=1).values

    return (nearest(samples).median() / nearest(test).median()).item()


RIGHT = {"q1": "b", "q2": "c", "q3": "a", "q4": "b", "q5": "d"}


def test_reference_answers_pass():
    assert check.matrix_sqrt(matrix_sqrt).passed
    assert check.frechet_distance(frechet).passed
    assert check.knn_precision_recall(knn_pr).passed
    assert check.memorization_ratio(memorization).passed
    assert check.league_answers(lambda: dict(RIGHT)).passed


def test_shares_computed_in_float32_pass():
    def knn_float32(real, fake, k):  # kthvalue for the radii, and the share as a float32 mean
        def share(queries, centers):
            radii = torch.cdist(centers, centers).kthvalue(k + 1, dim=1).values
            return (torch.cdist(queries, centers) <= radii).any(dim=1).float().mean().item()

        return share(fake, real), share(real, fake)

    assert check.knn_precision_recall(knn_float32).passed


def test_league_answers_is_ungraded_practice():
    assert CHECKERS["08.5"].practice and CHECKERS["08.5"].points == 0


def test_other_right_answers_pass():
    def sqrt_numpy(cov):  # with numpy, and the eigenvalues scaled into the eigenvectors' columns
        vals, vecs = np.linalg.eigh(cov.numpy())
        return torch.from_numpy((vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T)

    assert check.matrix_sqrt(sqrt_numpy).passed
    assert check.frechet_distance(lambda a, b: course_frechet(a, b)).passed  # returns a float

    def frechet_two_roots(a, b):  # tr((Σa Σb)^½) from the eigenvalues of Σa Σb (real, ≥ 0)
        cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
        root = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0).sqrt().sum()
        return ((a.mean(0) - b.mean(0)) ** 2).sum() + cov_a.trace() + cov_b.trace() - 2 * root

    assert check.frechet_distance(frechet_two_roots).passed
    assert check.league_answers(lambda: {q: a.upper() for q, a in RIGHT.items()}).passed


# ---------------------------------------------------------------------------------------------------------------
# 08.1 matrix_sqrt
# ---------------------------------------------------------------------------------------------------------------


def sqrt_no_clamp(cov):
    vals, vecs = torch.linalg.eigh(cov)
    return vecs @ torch.diag(vals.sqrt()) @ vecs.T


def sqrt_transposed(cov):
    vals, vecs = torch.linalg.eigh(cov)
    return vecs.T @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs


def sqrt_cholesky(cov):  # L Lᵀ = cov, but L @ L ≠ cov and L is not symmetric
    return torch.linalg.cholesky(cov + 1e-12 * torch.eye(len(cov), dtype=cov.dtype))


def sqrt_complex(cov):
    vals, vecs = torch.linalg.eig(cov)
    return vecs @ torch.diag(vals.sqrt()) @ torch.linalg.inv(vecs)


def sqrt_negative_root(cov):  # squares back to cov, but is not positive semi-definite
    vals, vecs = torch.linalg.eigh(cov)
    roots = vals.clamp(min=0).sqrt()
    roots[-1] = -roots[-1]
    return vecs @ torch.diag(roots) @ vecs.T


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda cov: cov.sqrt(), "element-wise"),
        (lambda cov: cov.abs().sqrt(), "square root of each entry"),
        (lambda cov: cov.clone(), "the matrix itself"),
        (sqrt_no_clamp, "Clamp the eigenvalues at 0"),
        (sqrt_transposed, "wrong sides"),
        (sqrt_cholesky, "R @ R differs from cov"),
        (sqrt_complex, "torch.linalg.eigh"),
        (sqrt_negative_root, "not the symmetric positive semi-definite root"),
        (lambda cov: None, "forget the `return`"),
        (lambda cov: matrix_sqrt(cov)[:2], "shape"),
    ],
)
def test_matrix_sqrt_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.matrix_sqrt, answer)


# ---------------------------------------------------------------------------------------------------------------
# 08.2 frechet_distance
# ---------------------------------------------------------------------------------------------------------------


def parts(a, b, correction=1):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T, correction=correction), torch.cov(b.T, correction=correction)
    root_a = matrix_sqrt(cov_a)
    trace_root = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return ((mu_a - mu_b) ** 2).sum(), cov_a, cov_b, trace_root


def fd_no_mean(a, b):
    _, cov_a, cov_b, root = parts(a, b)
    return cov_a.trace() + cov_b.trace() - 2 * root


def fd_no_cov(a, b):
    return parts(a, b)[0]


def fd_mean_not_squared(a, b):
    mean, cov_a, cov_b, root = parts(a, b)
    return mean.sqrt() + cov_a.trace() + cov_b.trace() - 2 * root


def fd_sqrt(a, b):
    return frechet(a, b).clamp(min=0).sqrt()


def fd_no_two(a, b):
    mean, cov_a, cov_b, root = parts(a, b)
    return mean + cov_a.trace() + cov_b.trace() - root


def fd_sqrt_of_trace(a, b):
    mean, cov_a, cov_b, _ = parts(a, b)
    return mean + cov_a.trace() + cov_b.trace() - 2 * (cov_a @ cov_b).trace().sqrt()


def fd_elementwise(a, b):
    mean, cov_a, cov_b, _ = parts(a, b)
    return mean + cov_a.trace() + cov_b.trace() - 2 * (cov_a * cov_b).abs().sqrt().trace()


def fd_biased(a, b):
    mean, cov_a, cov_b, root = parts(a, b, correction=0)
    return mean + cov_a.trace() + cov_b.trace() - 2 * root


def fd_nan(a, b):  # the root of slightly negative eigenvalues
    return frechet(a, b) * float("nan")


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (fd_no_mean, "mean term is missing"),
        (fd_no_cov, "only the means are compared"),
        (fd_mean_not_squared, "SQUARED distance"),
        (fd_sqrt, "square root of the answer"),
        (fd_no_two, "factor 2"),
        (fd_sqrt_of_trace, "is not √tr"),
        (fd_elementwise, "not the square root of each entry"),
        (fd_biased, "divided by N"),
        (fd_nan, "clamp at 0"),
        (lambda a, b: frechet(a, b) + 1.0, "expected"),
        (lambda a, b: frechet(a, b) + 1.0 if len(a) != len(b) else frechet(a, b), "expected"),
        (lambda a, b: torch.zeros(2), "one number"),
        (lambda a, b: frechet(a, b) + (1.0 if torch.equal(a, b) else 0.0), "should be 0"),
    ],
)
def test_frechet_distance_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.frechet_distance, answer)


# ---------------------------------------------------------------------------------------------------------------
# 08.3 knn_precision_recall
# ---------------------------------------------------------------------------------------------------------------


def knn_general(real, fake, k, column=None, every=False, mean=False):
    def radii(x):
        nearest = torch.cdist(x, x).topk(k + 1, dim=1, largest=False).values
        return nearest[:, 1:].mean(dim=1) if mean else nearest[:, k if column is None else column]

    def inside(queries, centers, r):
        hits = torch.cdist(queries, centers) <= r[None, :]
        return (hits.all(dim=1) if every else hits.any(dim=1)).double().mean().item()

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda r, f, k: knn_pr(r, f, k)[::-1], "swapped"),
        (lambda r, f, k: knn_general(r, f, k, column=k - 1), "its own nearest neighbour"),
        (lambda r, f, k: knn_general(r, f, k, every=True), "AT LEAST ONE ball"),
        (lambda r, f, k: knn_general(r, f, k, mean=True), "not the mean distance"),
        (lambda r, f, k: knn_general(r, f, 3), "expected"),  # ignores k
        (lambda r, f, k: knn_pr(r, f, k)[0], "two numbers"),
    ],
)
def test_knn_precision_recall_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.knn_precision_recall, answer)


# ---------------------------------------------------------------------------------------------------------------
# 08.4 memorization_ratio
# ---------------------------------------------------------------------------------------------------------------


def distances(x, y):
    return torch.cdist(x.flatten(1), y.flatten(1))


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda s, tr, te: 1 / memorization(s, tr, te), "upside down"),
        (
            lambda s, tr, te: (
                (distances(s, tr).min(1).values ** 2).median() / (distances(te, tr).min(1).values ** 2).median()
            ),
            "squared distances",
        ),
        (lambda s, tr, te: distances(s, tr).min(1).values.mean() / distances(te, tr).min(1).values.mean(), "median"),
        (lambda s, tr, te: distances(s, tr).max(1).values.median() / distances(te, tr).max(1).values.median(), "FARTHEST"),
        (
            lambda s, tr, te: distances(s, tr).mean(1).median() / distances(te, tr).mean(1).median(),
            "distance to every training image",
        ),
        (lambda s, tr, te: distances(s, te).min(1).values.median() / distances(te, tr).min(1).values.median(), "TRAINING set"),
        (lambda s, tr, te: memorization(s, tr, te) + 0.01 if len(s) == 11 and s.max() > 1 else 0.5, "expected"),
        (lambda s, tr, te: memorization(s, tr, te) if s.max() > 1 else 0.5, "a copier"),
    ],
)  # fmt: skip
def test_memorization_ratio_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.memorization_ratio, answer)


# ---------------------------------------------------------------------------------------------------------------
# 08.5 league_answers
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_every_wrong_option_names_its_misconception(question):
    right, advice = QUESTIONS[question]
    assert RIGHT[question] == right and set(advice) == set("abcd") - {right}
    for letter, text in advice.items():
        message = feedback(check.league_answers, lambda letter=letter: {**RIGHT, question: letter})
        assert f"{question} ({letter}): {text}" in message
        assert all(f"{q} (" not in message for q in QUESTIONS if q != question)


def test_league_answers_form():
    assert "no answer for q3, q5" in feedback(
        check.league_answers, lambda: {k: v for k, v in RIGHT.items() if k not in ("q3", "q5")}
    )
    assert "one letter" in feedback(check.league_answers, lambda: {**RIGHT, "q2": "e"})
    assert "should return a dict" in feedback(check.league_answers, lambda: ["b", "c"])

    def not_done():
        raise NotImplementedError

    assert "not done yet" in feedback(check.league_answers, not_done)
    assert not math.isnan(0.0)
