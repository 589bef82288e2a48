"""Checkers for lesson 01 (generative vs discriminative models).

01.1 ``fit_gaussian(points)``         mean and covariance of a class: the generative model's parameters
01.2 ``sample_gaussian(mean, cov, n)`` new points from N(mean, cov): generation, x = μ + L z
01.3 ``posterior(log_likelihoods, priors)`` Bayes' rule: a generative model used as a classifier
01.4 ``shared_covariance_logits(means, cov, priors)`` Gaussians with one shared covariance give a linear
     (logistic) posterior: the weights w_k = Σ⁻¹ μ_k and biases b_k = −½ μ_kᵀ Σ⁻¹ μ_k + log p(k)
01.5 ``real_fake_bce(logits, is_real)`` the binary cross-entropy of a real/fake classifier (lesson 04's
     discriminator loss); ``bce_variants`` and ``diagnose_bce`` are shared with lesson 04's checkers.
"""

from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F

from .core import Mistake, call, close, exercise, expect_tensor, match_variants

# ----------------------------------------------------------------------------------------------------------------
# 01.1 fit_gaussian
# ----------------------------------------------------------------------------------------------------------------


def _points(n: int = 50, seed: int = 0) -> torch.Tensor:
    """A small, tilted, off-centre cloud of 2-D points (so mean, centring and covariance all matter)."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return (
        torch.tensor([3.0, -1.0], dtype=torch.float64) + z @ torch.tensor([[1.2, 0.0], [0.8, 0.5]]).double().T
    ).float()


@exercise("01.1", "fit_gaussian", points=1)
def fit_gaussian(fn) -> str:
    """Check ``fit_gaussian(points) -> (mean, cov)``: the maximum-likelihood Gaussian of N×D points."""
    x = _points()
    original = x.clone()
    out = call(fn, x, what="fit_gaussian(points)")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Mistake(
            f"fit_gaussian should return two things, (mean, cov); it returned {type(out).__name__}."
        )
    mean, cov = out
    if not torch.equal(x, original):
        raise Mistake("your function changed the points in place (e.g. with -= ); work on a copy: x - mean.")
    expect_tensor(mean, "the mean")
    expect_tensor(cov, "the covariance")
    for value, name in ((mean, "mean"), (cov, "covariance")):
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise Mistake(f"your {name} has NaN or infinite entries, from 50 finite points. A NaN comes from a "
                          "square root or log of a negative number or from 0/0, an inf from dividing by zero; "
                          "the mean and covariance need neither: averages of x and of (x - mean) products.")  # fmt: skip
    if tuple(mean.shape) == (50,):
        raise Mistake(
            "your mean has one value per point (shape (50,)): average over the points, dim=0, to get (2,)."
        )
    if tuple(mean.shape) != (2,):
        raise Mistake(f"for 50 points in 2-D the mean should have shape (2,), got {tuple(mean.shape)}.")
    if not close(mean, x.mean(0), atol=1e-4):
        raise Mistake(f"the mean is off: expected {x.mean(0).tolist()}, got {mean.tolist()}.")
    if tuple(cov.shape) == (50, 50):
        raise Mistake(
            "your covariance is 50×50 (points × points): use centered.T @ centered, which is D×D (2×2)."
        )
    if tuple(cov.shape) == (2,):
        raise Mistake("you returned the variances only (shape (2,)); the covariance is the full 2×2 matrix, "
                      "whose off-diagonal entries say how the coordinates vary together.")  # fmt: skip
    if tuple(cov.shape) != (2, 2):
        raise Mistake(f"for 2-D points the covariance should be 2×2, got shape {tuple(cov.shape)}.")
    xd = x.double()
    centered = xd - xd.mean(0)
    ml, unbiased = centered.T @ centered / 50, centered.T @ centered / 49
    if close(cov, xd.T @ xd / 50, atol=1e-4) or close(cov, xd.T @ xd / 49, atol=1e-4):
        raise Mistake(
            "you forgot to subtract the mean before multiplying: cov = (x - mean).T @ (x - mean) / N."
        )
    if close(cov, torch.diag(torch.diag(ml)), atol=1e-4) or close(
        cov, torch.diag(torch.diag(unbiased)), atol=1e-4
    ):
        raise Mistake("your covariance is diagonal: the off-diagonal entries (how x and y vary together) are "
                      "missing. Use the full (x - mean).T @ (x - mean) / N.")  # fmt: skip
    if close(cov, centered.T @ centered, atol=1e-3):
        raise Mistake("you summed the products but did not divide: cov = (x - mean).T @ (x - mean) / N.")
    if close(cov, ml.sqrt(), atol=1e-4) or close(cov, torch.linalg.cholesky(ml), atol=1e-4):
        raise Mistake(
            "that looks like a square root (a standard deviation) of the covariance; return Σ itself."
        )
    if close(cov, ml, atol=1e-4):
        return "mean (2,) and covariance 2×2 with N in the denominator: the maximum-likelihood fit."
    if close(cov, unbiased, atol=1e-4):
        return "mean (2,) and covariance 2×2 (you divided by N − 1, the unbiased estimate; fine)."
    raise Mistake(f"the covariance is off: expected about {ml.numpy().round(3).tolist()}, got "
                  f"{cov.detach().double().numpy().round(3).tolist()}.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# 01.2 sample_gaussian
# ----------------------------------------------------------------------------------------------------------------


def _sample_cov(samples: torch.Tensor) -> torch.Tensor:
    centered = samples - samples.mean(0)
    return centered.T @ centered / (len(samples) - 1)


@exercise("01.2", "sample_gaussian", points=1)
def sample_gaussian(fn) -> str:
    """Check ``sample_gaussian(mean, cov, n) -> n×D``: new points from N(mean, cov), different every call."""
    mean = torch.tensor([2.0, -1.0])
    cov = torch.tensor([[2.0, 1.2], [1.2, 1.0]])
    n = 20000
    torch.manual_seed(0)
    samples = call(fn, mean.clone(), cov.clone(), n, what="sample_gaussian(mean, cov, n)")
    expect_tensor(samples, "sample_gaussian(mean, cov, n)")
    if tuple(samples.shape) == (2, n):
        raise Mistake(
            f"your samples are in columns (shape (2, {n})); return one point per row: shape ({n}, 2)."
        )
    if tuple(samples.shape) != (n, 2):
        raise Mistake(
            f"for n = {n} points in 2-D the result should have shape ({n}, 2), got {tuple(samples.shape)}."
        )
    s = samples.detach().double()
    if not torch.isfinite(s).all():
        raise Mistake("some samples are NaN or infinite, although the mean and the covariance given were finite "
                      "and cov is positive definite. A NaN comes from a square root or log of a negative "
                      "number (or 0/0), an inf from dividing by zero; x = mean + z @ L.T with "
                      "L = torch.linalg.cholesky(cov) needs none of them.")  # fmt: skip
    if float(s.std(0).max()) < 1e-6:
        raise Mistake(
            "all samples are the same point: add random noise z ~ N(0, I) (torch.randn) before scaling."
        )
    again = call(fn, mean.clone(), cov.clone(), n, what="sample_gaussian(mean, cov, n)")
    expect_tensor(again, "sample_gaussian(mean, cov, n)", shape=(n, 2))
    if torch.equal(again.detach().double(), s):
        raise Mistake(
            "two calls gave the same points: draw fresh noise each call (no fixed seed inside the function)."
        )
    m, c = s.mean(0), _sample_cov(s)
    tolerance = 5 * s.std(0) / n**0.5  # five standard errors of the sample mean
    if not bool(((m - mean.double()).abs() < tolerance).all()):
        if bool((m.abs() < tolerance).all()):
            raise Mistake("the samples are centred on 0: add the mean, x = mean + L z.")
        raise Mistake(f"the samples' mean is {m.numpy().round(2).tolist()}, expected {mean.tolist()}.")
    cov64 = cov.double()
    scale = torch.linalg.cholesky(cov64)
    wrong = {
        "you multiplied the noise by the covariance itself: that gives covariance Σ², not Σ. Scale by a matrix L "
        "with L Lᵀ = Σ, e.g. L = torch.linalg.cholesky(cov), then x = mean + z @ L.T": cov64 @ cov64,
        "you used L where Lᵀ belongs: z @ L gives covariance Lᵀ L, which is not Σ. Use x = mean + z @ L.T "
        "(for one column vector z: mean + L z)": scale.T @ scale,
        "you took the square root of each entry of the covariance; that is not a matrix square root. Use "
        "L = torch.linalg.cholesky(cov) and x = mean + z @ L.T": cov64.sqrt() @ cov64.sqrt(),
        "the samples have covariance I: the noise was not scaled. Use x = mean + z @ L.T with "
        "L = torch.linalg.cholesky(cov)": torch.eye(2).double(),
        "you scaled the noise by the standard deviations only (the diagonal), so the tilt (the off-diagonal "
        "covariance) is lost. Use the full matrix: L = torch.linalg.cholesky(cov), x = mean + z @ L.T": torch.diag(
            torch.diag(cov64)
        ),
        "you scaled the noise by the variances only (the diagonal): that squares them and loses the tilt. Use "
        "L = torch.linalg.cholesky(cov) and x = mean + z @ L.T": torch.diag(torch.diag(cov64) ** 2),
    }
    if close(c, cov64, atol=0.08, rtol=0.03):
        return f"{n:,} samples whose mean and covariance match N(mean, cov), and fresh ones every call."
    for advice, covariance in wrong.items():
        if close(c, covariance, atol=0.08, rtol=0.03):
            raise Mistake(advice + ".")
    raise Mistake(
        f"the samples' covariance is {c.numpy().round(2).tolist()}, expected {cov64.numpy().round(2).tolist()}. "
        "Use L = torch.linalg.cholesky(cov) and x = mean + z @ L.T with z = torch.randn(n, D)."
    )


# ----------------------------------------------------------------------------------------------------------------
# 01.3 posterior (Bayes' rule)
# ----------------------------------------------------------------------------------------------------------------


@exercise("01.3", "posterior", points=1)
def posterior(fn) -> str:
    """Check ``posterior(log_likelihoods, priors) -> N×K``: p(y | x) from log p(x | y) (N×K) and p(y) (K)."""
    log_lik = torch.tensor(
        [[-2.0, -3.0, -2.5], [-200.0, -201.0, -205.0], [-1.0, -1.0, -1.0], [-5.0, -2.0, -9.0]]
    )
    priors = torch.tensor([0.2, 0.5, 0.3])
    out = call(fn, log_lik.clone(), priors.clone(), what="posterior(log_likelihoods, priors)")
    expect_tensor(out, "posterior(log_likelihoods, priors)")
    if tuple(out.shape) != (4, 3):
        raise Mistake(
            f"for 4 points and 3 classes the result should be 4×3 (one row per point), got {tuple(out.shape)}."
        )
    p = out.detach().double()
    ll, pr = log_lik.double(), priors.double()
    expected = torch.softmax(ll + pr.log(), dim=1)
    if close(p, expected, atol=1e-5):
        return "each row is p(y | x) = p(x | y) p(y) / Σ_k p(x | k) p(k), computed stably."
    if not torch.isfinite(p).all():
        bad_rows = [i for i in range(len(p)) if not torch.isfinite(p[i]).all()]
        if bad_rows == [1]:  # only the point whose log-likelihoods are about -200: exp(-200) is 0 in float32
            raise Mistake("the second point's row is NaN or infinite: its log-likelihoods are about -200, and "
                          "exp(-200) underflows to 0 in float32, so p(x | y) p(y) / Σ_k ... is 0/0. Stay in "
                          "logs: torch.softmax(log_likelihoods + priors.log(), dim=1) subtracts the largest "
                          "value before exponentiating.")  # fmt: skip
        raise Mistake(f"rows {bad_rows} are NaN or infinite, also for ordinary log-likelihoods such as -2 or -3 "
                      "(no underflow there). The log-likelihoods are already logs and negative: a log of "
                      "them (or a square root) gives NaN; priors.log() is the only log needed.")  # fmt: skip
    if close(p, torch.softmax(ll, dim=1), atol=1e-5):
        raise Mistake("you left out the priors: the third point, equally likely under every class, should follow "
                      "p(y). Add log(priors) to the log-likelihoods before normalizing.")  # fmt: skip
    if close(p, torch.softmax(ll + pr.log(), dim=0), atol=1e-5) or close(
        p, torch.softmax(ll, dim=0), atol=1e-5
    ):
        raise Mistake(
            "you normalized over the points (dim=0); each row (one point) must sum to 1 over classes: dim=1."
        )
    if close(p, torch.softmax(ll * pr, dim=1), atol=1e-5) or close(
        p, torch.softmax(ll + pr, dim=1), atol=1e-5
    ):
        raise Mistake("the priors must enter as log p(y) added to log p(x | y) (a product of probabilities is a "
                      "sum of logs): torch.softmax(log_likelihoods + priors.log(), dim=1).")  # fmt: skip
    if close(p, torch.softmax(ll.exp() * pr, dim=1), atol=1e-5) or close(
        p, torch.softmax(ll.exp() + pr.log(), dim=1), atol=1e-5
    ):
        raise Mistake("you exponentiated the log-likelihoods and then took a softmax, which exponentiates again. "
                      "Softmax wants logs: torch.softmax(log_likelihoods + priors.log(), dim=1).")  # fmt: skip
    if close(p, ll.exp() * pr, atol=1e-6) or close(p, ll + pr.log(), atol=1e-5):
        raise Mistake(
            "the rows do not sum to 1: divide by the evidence Σ_k p(x | k) p(k), e.g. with softmax over dim=1."
        )
    if not close(p.sum(1), torch.ones(4).double(), atol=1e-4):
        raise Mistake(
            f"each row must sum to 1 (a distribution over classes); yours sum to {p.sum(1).numpy().round(3).tolist()}."
        )
    raise Mistake(f"expected {expected.numpy().round(3).tolist()}, got {p.numpy().round(3).tolist()}.")


# ----------------------------------------------------------------------------------------------------------------
# 01.4 shared_covariance_logits: a shared covariance makes the Gaussian classifier linear (logistic)
# ----------------------------------------------------------------------------------------------------------------


def _shared_case():
    """Three classes in 2-D with one tilted, non-identity covariance and unequal priors (so every term matters)."""
    means = torch.tensor([[0.0, 0.0], [2.0, 1.0], [-1.0, 2.5]], dtype=torch.float64)
    cov = torch.tensor([[1.5, 0.6], [0.6, 0.8]], dtype=torch.float64)
    priors = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    return means, cov, priors


def shared_logits_variants(means: torch.Tensor, cov: torch.Tensor, priors: torch.Tensor) -> Dict[str, tuple]:
    """The right ``(weights, biases)`` of the shared-covariance Gaussian classifier and the usual wrong ones."""
    inverse = torch.linalg.inv(cov)
    weights = means @ inverse  # row k: (Σ⁻¹ μ_k)ᵀ, as Σ⁻¹ is symmetric
    quadratic = (means * weights).sum(1)  # μ_kᵀ Σ⁻¹ μ_k
    plain_quadratic = (means * means).sum(1)  # μ_kᵀ μ_k: Σ⁻¹ left out
    log_priors = priors.log()
    return {
        "right": (weights, -0.5 * quadratic + log_priors),
        "no_half": (weights, -quadratic + log_priors),
        "plus_half": (weights, 0.5 * quadratic + log_priors),
        "no_prior": (weights, -0.5 * quadratic),
        "prior_not_log": (weights, -0.5 * quadratic + priors),
        "bias_without_inverse": (weights, -0.5 * plain_quadratic + log_priors),
        "sigma_not_inverse": (means @ cov, -0.5 * (means * (means @ cov)).sum(1) + log_priors),
        "no_sigma": (means, -0.5 * plain_quadratic + log_priors),
    }


SHARED_ADVICE = {
    "no_half": "the bias has lost its ½: b_k = −½ μ_kᵀ Σ⁻¹ μ_k + log p(k) (the ½ comes from the Gaussian's "
    "exponent, −½ (x − μ)ᵀ Σ⁻¹ (x − μ))",
    "plus_half": "the bias has the wrong sign on its quadratic term: b_k = −½ μ_kᵀ Σ⁻¹ μ_k + log p(k)",
    "no_prior": "the priors are missing from the bias: add log p(k), b_k = −½ μ_kᵀ Σ⁻¹ μ_k + log p(k)",
    "prior_not_log": "the prior enters the logit as log p(k), not p(k): b_k = −½ μ_kᵀ Σ⁻¹ μ_k + log p(k)",
    "bias_without_inverse": "the weights are right but the bias uses μ_kᵀ μ_k; it needs the same Σ⁻¹: "
    "b_k = −½ μ_kᵀ Σ⁻¹ μ_k + log p(k)",
    "sigma_not_inverse": "you multiplied by the covariance Σ where its inverse belongs: w_k = Σ⁻¹ μ_k "
    "(torch.linalg.inv(cov), or torch.linalg.solve(cov, means.T).T)",
    "no_sigma": "Σ⁻¹ is missing: with w_k = μ_k you assumed Σ = I. Use w_k = Σ⁻¹ μ_k and "
    "b_k = −½ μ_kᵀ Σ⁻¹ μ_k + log p(k)",
}


def _centred(weights: torch.Tensor, biases: torch.Tensor):
    """Logits are only defined up to a term shared by all classes: remove the class average to compare them."""
    return weights - weights.mean(0), biases - biases.mean()


@exercise("01.4", "shared_covariance_logits", points=2)
def shared_covariance_logits(fn) -> str:
    """Check ``shared_covariance_logits(means, cov, priors) -> (weights K×D, biases K)`` for one shared Σ."""
    means, cov, priors = _shared_case()
    what = "shared_covariance_logits(means, cov, priors)"
    out = call(fn, means.float(), cov.float(), priors.float(), what=what)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Mistake(
            f"{what} should return two things, (weights, biases); it returned {type(out).__name__}."
        )
    weights, biases = out
    expect_tensor(weights, "the weights")
    expect_tensor(biases, "the biases")
    if tuple(weights.shape) == (2, 3):
        raise Mistake("your weights are 2×3 (D×K): return one row per class, K×D = 3×2, so that the logits "
                      "are x @ weights.T + biases.")  # fmt: skip
    if tuple(weights.shape) != (3, 2):
        raise Mistake(f"for 3 classes in 2-D the weights should be 3×2 (K×D), got {tuple(weights.shape)}.")
    if tuple(biases.shape) != (3,):
        raise Mistake(f"the biases should have one number per class, shape (3,), got {tuple(biases.shape)}.")
    w, b = weights.detach().double(), biases.detach().double()
    for value, name in ((w, "weights"), (b, "biases")):
        if not torch.isfinite(value).all():
            raise Mistake(f"your {name} contain NaN or inf, from finite means, an invertible Σ and positive "
                          "priors. A NaN comes from a log or square root of a negative number (is the log "
                          "taken of the priors only?), an inf from a division by zero.")  # fmt: skip
    # The real test: the logits x @ Wᵀ + b must give Bayes' rule's posterior with the shared Gaussian.
    points = torch.randn(200, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2
    gaussians = torch.distributions.MultivariateNormal(means, covariance_matrix=cov)
    bayes = torch.softmax(gaussians.log_prob(points[:, None, :]) + priors.log(), dim=1)
    if close(torch.softmax(points @ w.T + b, dim=1), bayes, atol=1e-4):
        return ("softmax(x @ weights.T + biases) is Bayes' rule's p(y | x) for Gaussians with one shared "
                "covariance: a linear classifier, exactly logistic regression's form.")  # fmt: skip
    mine_w, mine_b = _centred(w, b)
    variants = shared_logits_variants(means, cov, priors)
    right_w, _ = _centred(*variants["right"])
    advice = match_variants((mine_w, mine_b), variants, SHARED_ADVICE,
                            lambda mine, theirs: all(close(m, t, atol=1e-4) for m, t in zip(mine, _centred(*theirs))))  # fmt: skip
    if advice:
        raise Mistake(advice + ".")
    if close(mine_w, right_w, atol=1e-4):
        raise Mistake(f"the weights are right (w_k = Σ⁻¹ μ_k) but the biases are not: expected (up to a constant "
                      f"shared by all classes) {variants['right'][1].numpy().round(3).tolist()}, got "
                      f"{b.numpy().round(3).tolist()}. b_k = −½ μ_kᵀ Σ⁻¹ μ_k + log p(k).")  # fmt: skip
    raise Mistake(f"the weights should be w_k = Σ⁻¹ μ_k, one row per class: expected "
                  f"{variants['right'][0].numpy().round(3).tolist()}, got {w.numpy().round(3).tolist()}.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# 01.5 real_fake_bce, and the diagnosis shared with lesson 04
# ----------------------------------------------------------------------------------------------------------------


def bce_variants(logits: torch.Tensor, targets: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The right binary cross-entropy of ``logits`` against 0/1 ``targets`` and the usual wrong ones, by name."""
    logits, targets = logits.double(), targets.double()
    probs = torch.sigmoid(logits)
    right = F.binary_cross_entropy_with_logits(logits, targets)
    variants = {
        "right": right,
        "sum": F.binary_cross_entropy_with_logits(logits, targets, reduction="sum"),
        "swapped": F.binary_cross_entropy_with_logits(logits, 1 - targets),
        "swapped_sum": F.binary_cross_entropy_with_logits(logits, 1 - targets, reduction="sum"),
        "no_minus": -right,
        "double_sigmoid": F.binary_cross_entropy_with_logits(probs, targets),
        "real_term_only": -(targets * F.logsigmoid(logits)).mean(),
        "fake_term_only": -((1 - targets) * F.logsigmoid(-logits)).mean(),
    }
    if bool(
        ((logits > 0) & (logits < 1)).all()
    ):  # only then is log(logit) finite: logits used as probabilities
        variants["logits_as_probs"] = -(targets * logits.log() + (1 - targets) * (1 - logits).log()).mean()
    return variants


BCE_ADVICE = {
    "sum": "you summed over the batch instead of averaging: use .mean() (or reduction='mean') so the loss does "
    "not grow with the batch size and the learning rate keeps its meaning",
    "swapped": "the labels are swapped: real examples must have target 1 and fake ones target 0 "
    "(loss = -[y log p + (1 - y) log(1 - p)] with y = 1 for real)",
    "swapped_sum": "the labels are swapped (real → 1, fake → 0) and you summed instead of averaging (.mean())",
    "no_minus": "the sign is flipped: the loss is MINUS the mean log-likelihood, so it is ≥ 0 and goes down as the "
    "classifier improves",
    "double_sigmoid": "you applied a sigmoid to numbers that were already probabilities (e.g. sigmoid and then "
    "binary_cross_entropy_with_logits): give raw logits to the 'with logits' loss, or probabilities to "
    "binary_cross_entropy, never both",
    "real_term_only": "only the real examples count: you dropped the (1 - y) log(1 - p) term for the fakes",
    "fake_term_only": "only the fake examples count: you dropped the y log p term for the real ones",
    "logits_as_probs": "you used the logits as if they were probabilities (log of a logit): turn them into "
    "probabilities with torch.sigmoid first, or use F.binary_cross_entropy_with_logits",
}


def diagnose_bce(value, logits: torch.Tensor, targets: torch.Tensor, what: str) -> None:
    """Raise a ``Mistake`` naming the error when ``value`` is not the mean BCE of ``logits`` vs ``targets``."""
    expect_tensor(value, what)
    if value.numel() != 1:
        raise Mistake(f"{what} should be one number (a 0-dim tensor), got shape {tuple(value.shape)}: "
                      "average the per-example losses with .mean().")  # fmt: skip
    v = value.detach().double().reshape(())
    if not torch.isfinite(v):
        if bool(torch.isnan(v)) and bool((logits < 0).any()):
            raise Mistake(f"{what} is nan. Some logits are below 0, and the log of a negative number is NaN: that "
                          "usually means you took the log of a logit. Apply torch.sigmoid first, or use "
                          "F.binary_cross_entropy_with_logits.")  # fmt: skip
        if bool(torch.isnan(v)):
            raise Mistake(f"{what} is nan: look for 0 × log 0 or 0/0 (e.g. a mean over an empty selection).")
        raise Mistake(f"{what} is {float(v)}: a log(0) or a division by zero somewhere. (σ(s) rounds to exactly "
                      "0 or 1 in float32 only for |s| above about 17, where log(1 - σ(s)) becomes log 0; the "
                      f"largest |logit| here is {float(logits.abs().max()):.3g}. Work with logits: F.logsigmoid, "
                      "or F.binary_cross_entropy_with_logits.)")  # fmt: skip
    variants = bce_variants(logits, targets)
    if torch.isclose(v, variants["right"], atol=1e-5, rtol=1e-4):
        return
    advice = match_variants(
        v, variants, BCE_ADVICE, lambda a, b: bool(torch.isclose(a, b, atol=1e-5, rtol=1e-4))
    )
    if advice:
        raise Mistake(f"{what}: {advice}.")
    raise Mistake(f"{what} is {float(v):.5f}, expected {float(variants['right']):.5f} = "
                  "-mean(y·log σ(logit) + (1 - y)·log(1 - σ(logit))).")  # fmt: skip


@exercise("01.5", "real_fake_bce", points=2)
def real_fake_bce(fn) -> str:
    """Check ``real_fake_bce(logits, is_real)``: the mean binary cross-entropy of a real/fake classifier."""
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.5, 0.2])
    is_real = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    # Logits between 0 and 1 first: there a "log of a logit" is finite and can be recognized by its value.
    gentle = torch.tensor([0.9, 0.2, 0.6, 0.3, 0.7, 0.4])
    for case_logits in (gentle, logits):
        loss = call(fn, case_logits.clone(), is_real.clone(), what="real_fake_bce(logits, is_real)")
        diagnose_bce(loss, case_logits, is_real, "real_fake_bce(logits, is_real)")
    # A confident classifier: sigmoid(±40) rounds to exactly 1 or 0 in float32, so log(1 - p) would be log(0).
    confident = torch.tensor([40.0, -40.0, 40.0])
    truth = torch.tensor([1.0, 1.0, 0.0])
    loss = call(fn, confident, truth, what="real_fake_bce(confident logits, is_real)")
    expect_tensor(loss, "real_fake_bce(logits, is_real)")
    expected = F.binary_cross_entropy_with_logits(confident.double(), truth.double())  # (0 + 40 + 40) / 3
    v = loss.detach().double().reshape(-1)[0]
    if not torch.isfinite(v) or not torch.isclose(v, expected, rtol=1e-3, atol=1e-3):
        raise Mistake(
            f"right on ordinary logits, but for very confident ones (±40) you get {float(v):.4g} instead of "
            f"{float(expected):.4g}: sigmoid(40) rounds to 1.0, so log(1 - p) = log(0). Work with logits: "
            "F.binary_cross_entropy_with_logits, or F.logsigmoid(logits) and F.logsigmoid(-logits). "
            "(Clamping p into [1e-7, 1 - 1e-7] avoids inf but caps the loss.)"
        )
    return "right value, averaged over the batch, and stable for very confident logits (±40)."
