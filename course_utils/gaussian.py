"""The simplest generative classifier: one Gaussian per class, and PCA to use it on images.

``ClassGaussians`` learns p(x | y) as a Gaussian per class (a mean and a covariance) and p(y) as the share of
each class; from them it can

- *generate*: draw new points of a chosen class, x = μ_y + L z with z ~ N(0, I) and L Lᵀ = Σ_y;
- *classify*, with Bayes' rule: p(y | x) = p(x | y) p(y) / Σ_k p(x | k) p(k)
  (quadratic discriminant analysis; see Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*,
  §4.3).

``PCA`` projects images onto their main directions of variation, where a Gaussian per class is small enough
to fit (784 pixels → a few dozen numbers) and decodes back to pixels. Lesson 01 writes the same steps out;
this module is the answer key the checkers compare with.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch

from .errors import ShapeError, UnknownNameError


def _as_matrix(x: torch.Tensor, name: str, dim: Optional[int] = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ShapeError(
            f"{name} must be a tensor of shape N×D (one example per row), got {type(x).__name__}."
        )
    if x.dim() != 2 or (dim is not None and x.shape[1] != dim):
        wanted = f"N×{dim}" if dim is not None else "N×D"
        raise ShapeError(f"{name} must have shape {wanted} (one example per row), got {tuple(x.shape)}.")
    if not x.is_floating_point():
        raise ShapeError(f"{name} must be floating point (e.g. x.float()), got dtype {x.dtype}.")
    return x


class ClassGaussians:
    """A Gaussian per class, p(x | y) = N(μ_y, Σ_y), and class priors p(y): fit, sample, score, classify.

    >>> model = ClassGaussians().fit(points, labels)
    >>> new_points = model.sample(100, label=2)      # generate
    >>> probs = model.predict_proba(points)           # classify with Bayes' rule

    Args:
        class_names: optional names, so ``sample`` accepts ``label="Sneaker"`` as well as 7.
        ridge: added to every covariance's diagonal, so it can be inverted even with few or flat examples.
    """

    def __init__(self, class_names: Optional[Sequence[str]] = None, ridge: float = 1e-4) -> None:
        self.class_names = list(class_names) if class_names is not None else None
        self.ridge = ridge
        self.means = self.covariances = self.priors = None

    def fit(self, x: torch.Tensor, labels: torch.Tensor) -> ClassGaussians:
        """Estimate μ_y, Σ_y (maximum likelihood: divide by the class size) and p(y) from examples."""
        x = _as_matrix(x, "x").double()
        if not isinstance(labels, torch.Tensor) or labels.shape != (len(x),):
            raise ShapeError(f"labels must be a tensor of shape ({len(x)},), one class per row of x.")
        num_classes = int(labels.max()) + 1 if self.class_names is None else len(self.class_names)
        means, covs, priors = [], [], []
        eye = torch.eye(x.shape[1], dtype=torch.float64)
        for k in range(num_classes):
            xk = x[labels == k]
            if len(xk) < 2:
                raise ShapeError(f"Class {k} has {len(xk)} example(s); a Gaussian needs at least 2 to fit.")
            mean = xk.mean(0)
            centered = xk - mean
            means.append(mean)
            covs.append(centered.T @ centered / len(xk) + self.ridge * eye)
            priors.append(len(xk) / len(x))
        self.means, self.covariances = torch.stack(means), torch.stack(covs)
        self.priors = torch.tensor(priors, dtype=torch.float64)
        self._scales = torch.linalg.cholesky(self.covariances)  # L with L Lᵀ = Σ, one per class
        return self

    @property
    def num_classes(self) -> int:
        self._check_fitted()
        return len(self.means)

    def _check_fitted(self) -> None:
        if self.means is None:
            raise RuntimeError("Fit the model first: model.fit(x, labels).")

    def class_index(self, label: Union[int, str]) -> int:
        """The index of a class given by number or name; an ``UnknownNameError`` lists the valid ones."""
        self._check_fitted()
        names = self.class_names or [str(k) for k in range(self.num_classes)]
        if isinstance(label, str) and label in names:
            return names.index(label)
        if (
            isinstance(label, (int, torch.Tensor))
            and not isinstance(label, bool)
            and 0 <= int(label) < len(names)
        ):
            return int(label)
        valid = ", ".join(f"{k} ({n})" if self.class_names else str(k) for k, n in enumerate(names))
        raise UnknownNameError(f"There is no class {label!r}. Valid classes: {valid}.")

    def sample(
        self, n: int, label: Union[int, str], generator: Optional[torch.Generator] = None
    ) -> torch.Tensor:
        """Draw ``n`` new examples of one class: x = μ + L z, z ~ N(0, I). Returns n×D float32."""
        k = self.class_index(label)
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive whole number of samples, got {n!r}.")
        z = torch.randn(n, self.means.shape[1], generator=generator, dtype=torch.float64)
        return (self.means[k] + z @ self._scales[k].T).float()

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x | y) for every example and class: N×K."""
        self._check_fitted()
        x = _as_matrix(x, "x", self.means.shape[1]).double()
        d = x.shape[1]
        diff = x[:, None, :] - self.means[None]  # N×K×D
        # Solve L u = diff for each class: |u|² is the squared Mahalanobis distance.
        u = torch.linalg.solve_triangular(self._scales[None], diff[..., None], upper=False)[..., 0]
        log_det = 2 * torch.log(torch.diagonal(self._scales, dim1=1, dim2=2)).sum(1)  # log |Σ_k|
        return -0.5 * ((u**2).sum(-1) + log_det + d * math.log(2 * math.pi))

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = log Σ_k p(x | k) p(k): the density of the data as a whole (N)."""
        return torch.logsumexp(self.log_likelihood(x) + self.priors.log(), dim=1)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """p(y | x) by Bayes' rule: softmax over classes of log p(x | y) + log p(y). N×K float32."""
        return torch.softmax(self.log_likelihood(x) + self.priors.log(), dim=1).float()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable class of each example (int64, N)."""
        return self.predict_proba(x).argmax(1)


class PCA:
    """Principal component analysis: the ``k`` directions along which the data vary most.

    ``encode`` maps N×D data to N×k coordinates, ``decode`` maps coordinates back to N×D. Fitted with an SVD of
    the centred data.
    """

    def __init__(self, k: int) -> None:
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive whole number of components, got {k!r}.")
        self.k = k
        self.mean = self.components = self.explained_variance_ratio = None

    def fit(self, x: torch.Tensor) -> PCA:
        x = _as_matrix(x, "x").double()
        if self.k > min(x.shape):
            raise ValueError(f"k = {self.k} components is more than the data allow (at most {min(x.shape)}).")
        self.mean = x.mean(0)
        _, s, vt = torch.linalg.svd(x - self.mean, full_matrices=False)
        self.components = vt[: self.k]  # k×D, orthonormal rows
        variance = s**2
        self.explained_variance_ratio = (variance[: self.k] / variance.sum()).float()
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.components is None:
            raise RuntimeError("Fit the PCA first: pca.fit(x).")
        x = _as_matrix(x, "x", self.components.shape[1]).double()
        return ((x - self.mean) @ self.components.T).float()

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        if self.components is None:
            raise RuntimeError("Fit the PCA first: pca.fit(x).")
        codes = _as_matrix(codes, "codes", self.k).double()
        return (codes @ self.components + self.mean).float()
