"""Checkers for lesson 08 (evaluating generative models).

08.1 ``matrix_sqrt(cov)``                          the square root of a symmetric PSD matrix, by eigendecomposition
08.2 ``frechet_distance(features_a, features_b)``  |μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½)
08.3 ``knn_precision_recall(real, fake, k)``       k-NN precision and recall (Kynkäänniemi et al., 2019)
08.4 ``memorization_ratio(samples, train, test)``  median nearest-training distance, samples / test images
08.5 ``league_answers()``                          reading the league table (multiple choice; ungraded practice)

The mistakes they name: an element-wise square root, eigenvectors on the wrong side, negative rounding errors
under the root, the mean or covariance term left out, |μa − μb| not squared, the square root of the trace (or the
trace of the element-wise root), a missing factor 2, the distance instead of its square, covariances divided by N,
a point counted as its own neighbour, precision and recall swapped, "inside every ball" instead of "some ball",
squared distances, the mean instead of the median, the ratio upside down, distances to the test set, and for the
multiple choice, each wrong option's misconception.
"""

from __future__ import annotations

import math
from typing import Dict, Tuple

import torch

from .core import Mistake, call, exercise, expect_tensor, match_variants

# ----------------------------------------------------------------------------------------------------------------
# 08.1 matrix_sqrt
# ----------------------------------------------------------------------------------------------------------------


def _covariance_cases() -> Dict[str, torch.Tensor]:
    """A full-rank covariance with negative entries, and a rank-2 one whose eigenvalues round to ±1e-16."""
    generator = torch.Generator().manual_seed(8)
    x = torch.randn(40, 4, generator=generator, dtype=torch.float64) @ torch.tensor(
        [[1.0, -0.6, 0.2, 0.0], [0.0, 1.0, -0.5, 0.3], [0.0, 0.0, 1.0, -0.7], [0.0, 0.0, 0.0, 0.4]],
        dtype=torch.float64,
    )
    low_rank = torch.randn(2, 4, generator=generator, dtype=torch.float64)
    return {"full": torch.cov(x.T), "singular": low_rank.T @ low_rank}


def _root(cov: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(cov)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T


@exercise("08.1", "matrix_sqrt", points=2)
def matrix_sqrt(fn) -> str:
    """Check ``matrix_sqrt(cov)``: a symmetric R with R @ R = cov, for a full-rank and a singular covariance."""
    what = "matrix_sqrt(cov)"
    for name, cov in _covariance_cases().items():
        result = call(fn, cov.clone(), what=what)
        expect_tensor(result, what, shape=tuple(cov.shape))
        if result.is_complex():
            raise Mistake(
                f"{what} returned complex numbers: torch.linalg.eig is for any square matrix. A covariance is "
                "symmetric, so use torch.linalg.eigh: real eigenvalues and orthonormal eigenvectors."
            )
        r = result.double()
        if not torch.isfinite(r).all():
            if name == "singular":
                raise Mistake(
                    f"{what} has NaN for a singular covariance (rank 2 of 4): its zero eigenvalues come out of "
                    "eigh as tiny negative numbers like -1e-16, and sqrt of a negative number is NaN. Clamp the "
                    "eigenvalues at 0 first: vals.clamp(min=0).sqrt()."
                )
            raise Mistake(
                f"{what} has NaN: a covariance has negative entries, so an element-wise cov.sqrt() (or "
                "cov ** 0.5) fails. The matrix square root comes from the eigenvalues: V diag(√λ) Vᵀ."
            )
        if torch.allclose(r, cov.abs().sqrt(), atol=1e-6):
            raise Mistake(f"{what} took the square root of each entry; the matrix root is V diag(√λ) Vᵀ.")
        if torch.allclose(r, cov, atol=1e-6):
            raise Mistake(f"{what} returned the matrix itself: take the square root of the eigenvalues.")
        vals, vecs = torch.linalg.eigh(cov)
        if torch.allclose(r, vecs.T @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs, atol=1e-6):
            raise Mistake(
                f"{what}: the eigenvectors are on the wrong sides. eigh returns them as the COLUMNS of V, so the "
                "root is V @ diag(√λ) @ V.T (not V.T @ diag(√λ) @ V)."
            )
        if not torch.allclose(r @ r, cov, atol=1e-6):
            error = float((r @ r - cov).abs().max())
            raise Mistake(f"{what}: R @ R differs from cov by up to {error:.3g}; it should give cov back.")
        if not torch.allclose(r, r.T, atol=1e-8) or float(torch.linalg.eigvalsh((r + r.T) / 2).min()) < -1e-6:
            raise Mistake(
                f"{what}: R @ R = cov, but R is not the symmetric positive semi-definite root (a covariance has "
                "many 'roots', e.g. its Cholesky factor times a rotation). Use V diag(√λ) Vᵀ with λ ≥ 0."
            )
    return "V diag(√λ) Vᵀ: symmetric, squares back to the covariance, and safe for a singular one."


# ----------------------------------------------------------------------------------------------------------------
# 08.2 frechet_distance
# ----------------------------------------------------------------------------------------------------------------


def frechet_variants(a: torch.Tensor, b: torch.Tensor) -> Dict[str, float]:
    """The Fréchet distance of two feature sets (N×D) and the usual wrong versions, by name."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root_a = _root(cov_a)
    trace_root = float(torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum())
    mean_term = float(((mu_a - mu_b) ** 2).sum())
    traces = float(cov_a.trace() + cov_b.trace())
    right = mean_term + traces - 2 * trace_root
    biased_a, biased_b = torch.cov(a.T, correction=0), torch.cov(b.T, correction=0)
    root_biased = _root(biased_a)
    biased_trace_root = float(
        torch.linalg.eigvalsh(root_biased @ biased_b @ root_biased).clamp(min=0).sqrt().sum()
    )
    return {
        "right": right,
        "no_mean_term": traces - 2 * trace_root,
        "no_covariance_term": mean_term,
        "mean_not_squared": math.sqrt(mean_term) + traces - 2 * trace_root,
        "distance_not_squared": math.sqrt(max(right, 0.0)),
        "no_factor_two": mean_term + traces - trace_root,
        "sqrt_of_trace": mean_term + traces - 2 * math.sqrt(max(float((cov_a @ cov_b).trace()), 0.0)),
        "elementwise_root": mean_term + traces - 2 * float((cov_a * cov_b).abs().sqrt().trace()),
        "biased_covariance": mean_term + float(biased_a.trace() + biased_b.trace()) - 2 * biased_trace_root,
    }


FRECHET_ADVICE = {
    "no_mean_term": "the mean term is missing: add |μa − μb|², the squared distance between the two means",
    "no_covariance_term": "only the means are compared: add tr(Σa + Σb − 2 (Σa Σb)^½), which compares the spreads",
    "mean_not_squared": "the mean term should be the SQUARED distance |μa − μb|² = ((mu_a - mu_b) ** 2).sum(), "
    "not its length",
    "distance_not_squared": "you returned the square root of the answer: the FID convention reports d² itself",
    "no_factor_two": "the cross term needs a factor 2: tr(Σa) + tr(Σb) − 2 tr((Σa Σb)^½)",
    "sqrt_of_trace": "tr((Σa Σb)^½) is not √tr(Σa Σb): take the root of the matrix (the sum of the square roots "
    "of the eigenvalues of Σa^½ Σb Σa^½), then its trace",
    "elementwise_root": "(Σa Σb)^½ is a matrix square root, not the square root of each entry of Σa * Σb: use the "
    "eigenvalues of Σa^½ Σb Σa^½",
    "biased_covariance": "the covariances are divided by N; the convention (np.cov, torch.cov, torchmetrics) "
    "divides by N − 1",
}


@exercise("08.2", "frechet_distance", points=3)
def frechet_distance(fn) -> str:
    """Check ``frechet_distance(features_a, features_b)`` on sets of different means, spreads and sizes."""
    what = "frechet_distance(features_a, features_b)"
    generator = torch.Generator().manual_seed(80)
    a = torch.randn(60, 3, generator=generator, dtype=torch.float64) * torch.tensor([1.0, 2.0, 0.5]) + 1.0
    b = torch.randn(45, 3, generator=generator, dtype=torch.float64) @ torch.tensor(
        [[0.8, 0.3, 0.0], [0.0, 1.2, 0.4], [0.0, 0.0, 0.7]], dtype=torch.float64
    )
    value = _as_number(call(fn, a.clone(), b.clone(), what=what), what)
    variants = frechet_variants(a, b)
    if not math.isclose(value, variants["right"], rel_tol=1e-5, abs_tol=1e-8):
        named = match_variants(value, variants, FRECHET_ADVICE,
                               lambda a, b: math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-8))  # fmt: skip
        if named:
            raise Mistake(f"{what}: {named}.")
        raise Mistake(f"{what} gave {value:.6g}; expected {variants['right']:.6g}.")
    same = _as_number(call(fn, a.clone(), a.clone(), what=what), what)
    if abs(same) > 1e-6:
        raise Mistake(f"{what} of a set with itself should be 0 (the same Gaussian), got {same:.6g}.")
    return "|μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½); 0 for a set with itself."


def _as_number(value, what: str) -> float:
    if value is None:
        raise Mistake(f"{what} returned None: did you forget the `return` statement?")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise Mistake(f"{what} should return one number, got a tensor of shape {tuple(value.shape)}.")
        value = float(value)
    if not isinstance(value, (int, float)):
        raise Mistake(f"{what} should return a number, got {type(value).__name__}.")
    if not math.isfinite(value):
        raise Mistake(
            f"{what} is {value}: a NaN usually means the square root of a slightly negative eigenvalue (clamp "
            "at 0 before taking the root)."
        )
    return float(value)


# ----------------------------------------------------------------------------------------------------------------
# 08.3 knn_precision_recall
# ----------------------------------------------------------------------------------------------------------------


def _radii(x: torch.Tensor, k: int, self_included: bool = False, mean: bool = False) -> torch.Tensor:
    d = torch.cdist(x, x)
    nearest = d.topk(k + 1, dim=1, largest=False).values  # [0 (itself), 1st, ..., k-th]
    if mean:
        return nearest[:, 1:].mean(dim=1)
    return nearest[:, k - 1] if self_included else nearest[:, k]


def _inside(queries: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor, every: bool = False) -> float:
    inside = torch.cdist(queries, centers) <= radii[None, :]
    return float((inside.all(dim=1) if every else inside.any(dim=1)).double().mean())


def knn_variants(real: torch.Tensor, fake: torch.Tensor, k: int) -> Dict[str, Tuple[float, float]]:
    """(precision, recall) by the paper, and the usual wrong versions, by name."""
    real, fake = real.double(), fake.double()

    def pr(**options) -> Tuple[float, float]:
        every = options.pop("every", False)
        return (
            _inside(fake, real, _radii(real, k, **options), every),
            _inside(real, fake, _radii(fake, k, **options), every),
        )

    right = pr()
    return {
        "right": right,
        "swapped": (right[1], right[0]),
        "self_included": pr(self_included=True),
        "every_ball": pr(every=True),
        "mean_distance": pr(mean=True),
    }


KNN_ADVICE = {
    "swapped": "precision and recall are swapped: precision asks whether the FAKE points lie in the real manifold "
    "(quality), recall whether the REAL points lie in the fake manifold (coverage)",
    "self_included": "each point was counted as its own nearest neighbour (distance 0), so the radius is the "
    "(k−1)-th neighbour's distance: take the (k+1)-th smallest distance in the row (the 1st is the point itself)",
    "every_ball": "a point counts as inside the manifold when it is in AT LEAST ONE ball (.any over the "
    "centres), not in every ball",
    "mean_distance": "the radius is the distance to the k-th nearest neighbour, not the mean distance to the k "
    "nearest",
}


@exercise("08.3", "knn_precision_recall", points=3)
def knn_precision_recall(fn) -> str:
    """Check ``knn_precision_recall(real, fake, k)`` → (precision, recall) on small 2-D sets."""
    what = "knn_precision_recall(real, fake, k)"
    generator = torch.Generator().manual_seed(83)
    real = torch.randn(40, 2, generator=generator, dtype=torch.float64)
    fake = torch.randn(30, 2, generator=generator, dtype=torch.float64) * 0.6 + torch.tensor([1.0, 0.0])
    for k in (3, 2):
        result = call(fn, real.clone(), fake.clone(), k, what=what)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Mistake(
                f"{what} should return two numbers, (precision, recall); got {type(result).__name__}."
            )
        got = tuple(_as_number(v, what) for v in result)
        variants = knn_variants(real, fake, k)
        # Shares of at most 40 points are multiples of 1/40 or 1/30: 1e-6 tells them apart and lets a share
        # computed in float32 (.float().mean()) through.
        if all(math.isclose(g, e, abs_tol=1e-6) for g, e in zip(got, variants["right"])):
            continue
        named = match_variants(got, variants, KNN_ADVICE,
                               lambda a, b: all(math.isclose(g, e, abs_tol=1e-6) for g, e in zip(a, b)))  # fmt: skip
        if named:
            raise Mistake(f"{what}: {named}.")
        expected = variants["right"]
        raise Mistake(
            f"{what} with k = {k} gave precision {got[0]:.4f}, recall {got[1]:.4f}; expected {expected[0]:.4f} "
            f"and {expected[1]:.4f}."
        )
    same = call(fn, real.clone(), real.clone(), 3, what=what)
    if tuple(float(v) for v in same) != (1.0, 1.0):
        raise Mistake(
            f"{what} of a set with itself should be (1.0, 1.0); got {tuple(float(v) for v in same)}."
        )
    return "precision = fake points inside the real balls, recall = real points inside the fake balls."


# ----------------------------------------------------------------------------------------------------------------
# 08.4 memorization_ratio
# ----------------------------------------------------------------------------------------------------------------


def memorization_variants(samples, train, test) -> Dict[str, float]:
    s, tr, te = (x.double().flatten(1) for x in (samples, train, test))
    d_s, d_t = torch.cdist(s, tr), torch.cdist(te, tr)
    nearest_s, nearest_t = d_s.min(dim=1).values, d_t.min(dim=1).values
    right = float(nearest_s.median() / nearest_t.median())
    return {
        "right": right,
        "inverted": 1 / right,
        "squared": float((nearest_s**2).median() / (nearest_t**2).median()),
        "mean": float(nearest_s.mean() / nearest_t.mean()),
        "farthest": float(d_s.max(dim=1).values.median() / d_t.max(dim=1).values.median()),
        "average_distance": float(d_s.mean(dim=1).median() / d_t.mean(dim=1).median()),
        "to_test": float(torch.cdist(s, te).min(dim=1).values.median() / nearest_t.median()),
    }


MEMORIZATION_ADVICE = {
    "inverted": "the ratio is upside down: samples' median distance divided by the test images' (a copier must "
    "score near 0)",
    "squared": "these are squared distances: take the square root (torch.cdist gives distances directly)",
    "mean": "use the median of the nearest distances, not the mean: a few far-off images would drag the mean",
    "farthest": "that is the FARTHEST training image of each row (.max); memorization asks about the nearest (.min)",
    "average_distance": "that averages the distance to every training image; take the nearest one (.min over the "
    "training set)",
    "to_test": "the samples were compared with the test images; compare both the samples and the test images "
    "with the TRAINING set",
}


@exercise("08.4", "memorization_ratio", points=2)
def memorization_ratio(fn) -> str:
    """Check ``memorization_ratio(samples, train, test)`` on small image sets, including a copier."""
    what = "memorization_ratio(samples, train, test)"
    generator = torch.Generator().manual_seed(84)
    train = torch.rand(30, 1, 4, 4, generator=generator)
    test = torch.rand(9, 1, 4, 4, generator=generator)
    samples = torch.rand(11, 1, 4, 4, generator=generator) ** 2
    samples[0] += 0.5  # one far-off sample: the mean and the median differ
    value = _as_number(call(fn, samples.clone(), train.clone(), test.clone(), what=what), what)
    variants = memorization_variants(samples, train, test)
    if not math.isclose(value, variants["right"], rel_tol=1e-4):
        named = match_variants(
            value, variants, MEMORIZATION_ADVICE, lambda a, b: math.isclose(a, b, rel_tol=1e-4)
        )
        if named:
            raise Mistake(f"{what}: {named}.")
        raise Mistake(f"{what} gave {value:.5g}; expected {variants['right']:.5g}.")
    copier = _as_number(call(fn, train[:11].clone(), train.clone(), test.clone(), what=what), what)
    if abs(copier) > 1e-3:
        raise Mistake(f"{what} of training images themselves (a copier) should be 0, got {copier:.4g}.")
    return "median nearest-training distance, samples over test images: ≈ 1 for new images, 0 for a copier."


# ----------------------------------------------------------------------------------------------------------------
# 08.5 league_answers (multiple choice)
# ----------------------------------------------------------------------------------------------------------------

# Each question: the right letter, and for every wrong letter the misconception it reveals. The questions are
# written out in the lesson (section 8).
QUESTIONS = {
    "q1": (  # a paper's FID of 3.0 beside our table
        "b",
        {
            "a": "No: papers' FIDs use Inception-v3 features of 299×299 colour images; ours use the course "
            "classifier's 128 features. The two numbers are on different scales and cannot be compared",
            "c": "No: the same N removes only the sample-size bias; the features still differ (Inception's 2,048 "
            "against our classifier's 128), so the scales differ",
            "d": "No: our floor is what a perfect generator scores in OUR features at OUR N; subtracting it does "
            "not turn our distance into an Inception one",
        },
    ),
    "q2": (  # the copier
        "c",
        {
            "a": "No: the copier's FD is at the floor: its images ARE real images",
            "b": "No: it returns real training images, which cover the data as well as new real images do",
            "d": "No: the judge finds copied images as clear and as varied as real ones",
        },
    ),
    "q3": (  # precision 0.9, recall 0.05
        "a",
        {
            "b": "No: that would be low precision and high recall (blurred or spread-out samples)",
            "c": "No: a copier has precision and recall near the real images' (and its copies column near 1)",
            "d": "No: a precision of 0.9 means 9 in 10 samples lie among the real images' features; noise does not",
        },
    ),
    "q4": (  # 120 ± 6 against 125 ± 5
        "b",
        {
            "a": "No: the gap (5) is smaller than the seed-to-seed spread (5 to 6): another draw of samples could "
            "reverse the order",
            "c": "No: a lower Fréchet distance is better, and the gap is within the spread anyway",
            "d": "No: a smaller sd says the score varies less between draws, not that the model is better; and the "
            "gap is within the spread",
        },
    ),
    "q5": (  # which rows have a log-likelihood (or a bound on it) for a test image
        "d",
        {
            "a": "No: a GAN's generator has no density to evaluate: it maps 64 noise numbers to 784 pixels, so every "
            "image it makes lies on a surface of at most 64 dimensions, and a test image gets no p(x)",
            "b": "No: not all four. A GAN defines no density for a test image (its images lie on a surface of at most "
            "64 dimensions), and the copier puts all its probability on training images, so a test image gets "
            "probability 0 (log-likelihood −∞)",
            "c": "No: the VAE is not the only one. A diffusion model defines p(x) too: Ho et al. (2020, Eq. 5) bound it "
            "by a variational bound whose per-step terms, reweighted, are its training loss, and the "
            "probability-flow ODE (Song et al., 2021) gives it exactly",
        },
    ),
}


@exercise("08.5", "league_answers", practice=True)
def league_answers(fn) -> str:
    """Check the five answers of ``league_answers()``: a dict {"q1": "a".."d", ...}.

    Ungraded practice: a multiple choice that the checker in the learner's own notebook answers as often as it is
    asked (four letters per question) cannot be graded fairly, however the answers are stored. Each wrong letter's
    feedback says what that letter gets wrong, never which letter is right.
    """
    what = "league_answers()"
    answers = call(fn, what=what)
    if not isinstance(answers, dict):
        raise Mistake(
            f"{what} should return a dict like {{'q1': 'b', 'q2': 'a', ...}}, got {type(answers).__name__}."
        )
    missing = [q for q in QUESTIONS if q not in answers]
    if missing:
        raise Mistake(
            f"{what} has no answer for {', '.join(missing)}: answer every question with a letter a–d."
        )
    problems = []
    for question, (right, advice) in QUESTIONS.items():
        answer = str(answers[question]).strip().lower()
        if answer == right:
            continue
        if answer not in "abcd" or len(answer) != 1:
            problems.append(f"{question}: answer with one letter, a, b, c or d (got {answers[question]!r})")
        else:
            problems.append(f"{question} ({answer}): {advice[answer]}")
    if problems:
        raise Mistake("; ".join(problems) + ".")
    return "five of five: you can read a league table."
