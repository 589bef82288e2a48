"""Numbers that say how good a set of generated examples is, in one place.

Each function takes plain tensors (class probabilities, feature vectors) and returns numbers; getting the judge's
probabilities and features for images is ``course_utils.judge``'s job. Lesson 08 (evaluation) adds precision,
recall and memorization checks here.

- ``class_histogram_scores``: from the judge's class probabilities of N samples, the share classified
  confidently, the histogram of predicted classes, and its entropy divided by log(number of classes) (1 = every
  class equally often, 0 = a single class: mode collapse).
- ``frechet_distance``: the distance between Gaussians fitted to two sets of feature vectors, the idea of the FID
  (Heusel et al., 2017). Computed in the course classifier's features, never comparable with papers' FIDs (which
  use Inception's), and biased upwards for small N: always compare it with the real-vs-real floor at the same N.
"""

from __future__ import annotations

import math
from typing import Dict

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
