"""Numbers that say how good a set of generated examples is, in one place.

Each function takes plain tensors (class probabilities, feature vectors) and returns numbers; getting the judge's
probabilities and features for images is ``course_utils.judge``'s job. Lesson 08 (evaluation) teaches them all.

- ``class_histogram_scores``: from the judge's class probabilities of N samples, the share classified
  confidently, the histogram of predicted classes, and its entropy divided by log(number of classes) (1 = every
  class equally often, 0 = a single class: mode collapse).
- ``frechet_distance``: the distance between Gaussians fitted to two sets of feature vectors, the idea of the FID
  (Heusel et al., 2017). Computed in the course classifier's features, never comparable with papers' FIDs (which
  use Inception's), and biased upwards for small N: always compare it with the real-vs-real floor at the same N.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from .errors import ShapeError

CONFIDENT = 0.9  # a sample is "confidently classified" when its most probable class has p > 0.9


def class_histogram_scores(probs: torch.Tensor, confident: float = CONFIDENT) -> Dict:
    """Scores of N samples from the judge's class probabilities ``probs`` (N×K, rows summing to 1).

    Returns ``confident_share`` (share with max p > ``confident``), ``class_counts`` (K ints), ``entropy_ratio``
    (entropy of the class histogram / log K), ``classes_produced`` (classes with at least one sample),
    ``mean_confidence`` and ``predictions`` (the most probable class of each sample).
    """
    if not isinstance(probs, torch.Tensor) or probs.dim() != 2 or len(probs) == 0:
        shape = tuple(probs.shape) if isinstance(probs, torch.Tensor) else type(probs).__name__
        raise ShapeError(f"probs must be a tensor N×K of class probabilities with N ≥ 1, got {shape}.")
    confidence, predicted = probs.max(dim=1)
    num_classes = probs.shape[1]
    counts = torch.bincount(predicted, minlength=num_classes)
    shares = counts.double() / counts.sum()
    present = shares[shares > 0]
    entropy = float(-(present * present.log()).sum())
    return {
        "confident_share": float((confidence > confident).float().mean()),
        "class_counts": [int(c) for c in counts],
        "entropy_ratio": entropy / math.log(num_classes),
        "classes_produced": int((counts > 0).sum()),
        "mean_confidence": float(confidence.mean()),
        "predictions": [int(p) for p in predicted],
    }


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors (N×D each; lower = closer).

    d² = |μa − μb|² + tr(Σa + Σb − 2 (Σa Σb)^½)   (Dowson & Landau, 1982; used as FID by Heusel et al., 2017)
    """
    for name, f in (("features_a", features_a), ("features_b", features_b)):
        if not isinstance(f, torch.Tensor) or f.dim() != 2 or len(f) < 2:
            shape = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__
            raise ShapeError(f"{name} must be a tensor N×D with N ≥ 2 feature vectors, got {shape}.")
    if features_a.shape[1] != features_b.shape[1]:
        raise ShapeError(
            f"The two sets have different feature sizes: {features_a.shape[1]} vs {features_b.shape[1]}."
        )
    a, b = features_a.double().cpu().numpy(), features_b.double().cpu().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr((Σa Σb)^½) = sum of the square roots of the eigenvalues of Σa^½ Σb Σa^½ (symmetric, so eigh is stable).
    vals, vecs = np.linalg.eigh(cov_a)
    root_a = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    d2 = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
    return max(d2, 0.0)


def _check_matrix(x, name: str, min_rows: int = 1) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or len(x) < min_rows:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ShapeError(f"{name} must be a tensor N×D with N ≥ {min_rows} rows, got {shape}.")
    return x


def frechet_against_n(
    features_a: torch.Tensor, features_b: torch.Tensor, sizes: Sequence[int], seed: int = 0
) -> Dict[int, float]:
    """The Fréchet distance between random subsets of N rows of each set, for every N in ``sizes``.

    Each N draws its own seeded subsets (without replacement) of both sets. Returns ``{N: distance}``.
    """
    _check_matrix(features_a, "features_a", 2)
    _check_matrix(features_b, "features_b", 2)
    largest = min(len(features_a), len(features_b))
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for n in sorted(int(n) for n in sizes):
        if not 2 <= n <= largest:
            raise ValueError(f"Every N must be between 2 and {largest} (the smaller set's size); got {n}.")
        a = features_a[torch.randperm(len(features_a), generator=generator)[:n]]
        b = features_b[torch.randperm(len(features_b), generator=generator)[:n]]
        out[n] = frechet_distance(a, b)
    return out


def extrapolate_frechet(distances: Dict[int, float]) -> Dict[str, float]:
    """Fit FD_N = FD_∞ + slope / N by least squares to ``{N: distance}`` and return ``infinite_n`` and ``slope``.

    The bias of the estimate is (nearly) proportional to 1/N, so the points lie on a line against 1/N and its value
    at 1/N = 0 estimates the distance an infinite sample would give (Chong & Forsyth, "Effectively unbiased FID and
    Inception Score and where to find them", CVPR 2020, who call it FID_∞).
    """
    if len(distances) < 2:
        raise ValueError(f"Need distances at two or more sample sizes to fit a line, got {len(distances)}.")
    inverse = np.array([1.0 / n for n in distances], dtype=np.float64)
    values = np.array(list(distances.values()), dtype=np.float64)
    slope, intercept = np.polyfit(inverse, values, 1)
    return {"infinite_n": float(intercept), "slope": float(slope)}


def knn_radii(features: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Distance from each row to its k-th nearest *other* row (N): the radius of its ball in the k-NN manifold."""
    _check_matrix(features, "features", k + 1)
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive whole number, got {k!r}.")
    x = features.double()
    distances = torch.cdist(x, x)
    # The nearest row is the point itself (distance 0), so the k-th nearest other row is the (k+1)-th smallest.
    return distances.topk(k + 1, dim=1, largest=False).values[:, k]


def _share_inside(queries: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each query, whether it lies inside at least one ball (centre, radius): bool (len(queries),)."""
    inside = torch.zeros(len(queries), dtype=torch.bool)
    for i in range(0, len(queries), 1000):  # in chunks: a 1000 × N distance matrix at a time
        d = torch.cdist(queries[i : i + 1000].double(), centers.double())
        inside[i : i + 1000] = (d <= radii[None, :]).any(dim=1).cpu()
    return inside


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> Dict[str, float]:
    """Improved precision and recall of a generative model (Kynkäänniemi et al., NeurIPS 2019).

    Each set stands for a manifold: the union of balls around its points, each ball's radius the distance to that
    point's k-th nearest neighbour in its own set. *Precision* is the share of fake points inside the real
    manifold (are the samples realistic?); *recall* the share of real points inside the fake manifold (is every
    kind of real example produced?). Both are in [0, 1]; compare models only at the same N and k (the paper uses
    k = 3 and N = 50,000 in VGG-16 features; ours are the judge's features). Returns ``precision`` and ``recall``.
    """
    _check_matrix(real, "real", k + 1)
    _check_matrix(fake, "fake", k + 1)
    if real.shape[1] != fake.shape[1]:
        raise ShapeError(f"The two sets have different feature sizes: {real.shape[1]} vs {fake.shape[1]}.")
    real, fake = real.detach().cpu().double(), fake.detach().cpu().double()
    precision = _share_inside(fake, real, knn_radii(real, k)).double().mean()
    recall = _share_inside(real, fake, knn_radii(fake, k)).double().mean()
    return {"precision": float(precision), "recall": float(recall)}


def nearest_distances(queries: torch.Tensor, reference: torch.Tensor, batch_size: int = 1000):
    """For each query row, the Euclidean distance to its nearest reference row and that row's index.

    Images are flattened to rows first (N×784 pixels). Returns ``(distances, indices)``, each of length N.
    """
    q = queries.detach().reshape(len(queries), -1).cpu().float()
    r = reference.detach().reshape(len(reference), -1).cpu().float()
    if q.shape[1] != r.shape[1]:
        raise ShapeError(f"Queries and reference have different sizes per row: {q.shape[1]} vs {r.shape[1]}.")
    r_squared = (r**2).sum(1)
    distances, indices = [], []
    for i in range(0, len(q), batch_size):
        chunk = q[i : i + batch_size]
        # |q − r|² = |q|² − 2 q·r + |r|²: one matrix product instead of a loop over the reference set.
        squared = (chunk**2).sum(1, keepdim=True) - 2 * chunk @ r.T + r_squared[None, :]
        best, where = squared.min(dim=1)
        distances.append(best.clamp_min(0).sqrt())
        indices.append(where)
    return torch.cat(distances), torch.cat(indices)


def memorization(
    sample_distances: torch.Tensor, test_distances: torch.Tensor, quantile: float = 0.01
) -> Dict[str, float]:
    """Compare how close samples and new real (test) images come to their nearest training example.

    ``sample_distances`` and ``test_distances``: each image's distance to its nearest training image
    (``nearest_distances``). A model that makes new images should come about as close as test images do:
    ``ratio`` = median sample distance / median test distance ≈ 1. A copier scores ≈ 0. ``copy_share`` is the
    share of samples closer to the training set than all but ``quantile`` of the test images (about ``quantile``
    for new images, 1 for a copier). A ratio well above 1 only says the samples are unlike any training image (e.g.
    noise): it is no evidence of originality.
    """
    s, t = sample_distances.double().flatten(), test_distances.double().flatten()
    if len(s) == 0 or len(t) == 0:
        raise ShapeError("Need at least one sample distance and one test distance.")
    threshold = float(torch.quantile(t, quantile))
    return {
        "ratio": float(s.median() / t.median()),
        "copy_share": float((s < threshold).double().mean()),
        "threshold": threshold,
        "median_sample": float(s.median()),
        "median_test": float(t.median()),
    }


def classifier_score(probs: torch.Tensor, eps: Optional[float] = 1e-12) -> float:
    """exp(mean over samples of KL(p(y|x) ‖ p(y))), p(y) the average of the rows: the Inception Score's formula.

    Between 1 (every sample gets the same class distribution) and K (each sample is one class with certainty, and
    the classes are equally often): it rewards confident *and* varied classes (Salimans et al., 2016). It does not
    look at real images at all, so it cannot see variety within a class, copying, or unrealistic detail the
    classifier ignores. Ours uses the course's judge, not Inception: not comparable with papers' Inception Scores.
    """
    _check_matrix(probs, "probs", 1)
    p = probs.double()
    marginal = p.mean(dim=0, keepdim=True)
    kl = (p * (torch.log(p + eps) - torch.log(marginal + eps))).sum(dim=1)
    return float(torch.exp(kl.mean()))
