"""Small 2-D datasets, one function each, and the pictures drawn on them.

Two dimensions are where a model can be seen whole: every point, every density, every decision boundary fits on
one plot. Lesson 01 fits classifiers and per-class Gaussians to ``three_blobs``; lesson 04 trains a GAN on
``ring_of_gaussians`` to watch mode collapse. Each function returns float32 tensors and is seeded, so a lesson
draws the same points every time.

    points, labels = three_blobs(n_per_class=200, seed=0)
    points = ring_of_gaussians(n=1000, modes=8, seed=0)
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Tuple

import matplotlib.pyplot as plt
import numpy as np
import torch

from .errors import ShapeError
from .plots import CLASS_COLORS, DENSITY_CMAP

# The three classes of ``three_blobs``: (mean, covariance). Different shapes on purpose: one round, one long and
# tilted, one wide, so that a Gaussian per class has something to learn beyond its mean.
BLOBS = (
    ((-2.0, -0.5), ((0.45, 0.0), (0.0, 0.45))),
    ((1.5, 1.5), ((1.1, 0.75), (0.75, 0.75))),
    ((1.5, -2.0), ((1.4, -0.3), (-0.3, 0.35))),
)
BLOB_NAMES = ("round", "tilted", "flat")


def _generator(seed: Optional[int]) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(0 if seed is None else int(seed))
    return generator


def _positive(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}.")
    return value


def three_blobs(n_per_class: int = 200, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Three classes of 2-D points, each drawn from its own Gaussian (see ``BLOBS``), shuffled.

    Returns ``(points, labels)``: float32 of shape (3·n_per_class, 2) and int64 of shape (3·n_per_class,).
    """
    _positive(n_per_class, "n_per_class")
    generator = _generator(seed)
    points, labels = [], []
    for k, (mean, cov) in enumerate(BLOBS):
        scale = torch.linalg.cholesky(torch.tensor(cov, dtype=torch.float64))
        z = torch.randn(n_per_class, 2, generator=generator, dtype=torch.float64)
        points.append(torch.tensor(mean, dtype=torch.float64) + z @ scale.T)
        labels.append(torch.full((n_per_class,), k, dtype=torch.long))
    order = torch.randperm(3 * n_per_class, generator=generator)
    return torch.cat(points).float()[order], torch.cat(labels)[order]


def two_moons(n_per_class: int = 200, noise: float = 0.1, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved half circles (classes 0 and 1): a shape one Gaussian per class cannot describe well.

    Returns ``(points, labels)`` like ``three_blobs``.
    """
    _positive(n_per_class, "n_per_class")
    generator = _generator(seed)
    angle = torch.rand(2, n_per_class, generator=generator) * math.pi
    upper = torch.stack([torch.cos(angle[0]), torch.sin(angle[0])], dim=1)
    lower = torch.stack([1 - torch.cos(angle[1]), 0.5 - torch.sin(angle[1])], dim=1)
    points = torch.cat([upper, lower]) + noise * torch.randn(2 * n_per_class, 2, generator=generator)
    labels = torch.cat(
        [torch.zeros(n_per_class, dtype=torch.long), torch.ones(n_per_class, dtype=torch.long)]
    )
    order = torch.randperm(2 * n_per_class, generator=generator)
    return points[order], labels[order]


def ring_centers(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The ``modes`` centres of ``ring_of_gaussians``, evenly spaced on a circle (modes×2, float32)."""
    _positive(modes, "modes")
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)).float()


def ring_of_gaussians(
    n: int = 1000,
    modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    seed: int = 0,
    return_modes: bool = False,
):
    """``n`` points from a mixture of ``modes`` small Gaussians on a circle, chosen equally often.

    The classic test of mode collapse (Metz et al., 2017): a generator that covers every mode puts points near all
    ``modes`` centres; a collapsed one visits only a few. Returns the points (n×2, float32), and with
    ``return_modes=True`` also the mode of each point (int64, n).
    """
    _positive(n, "n")
    generator = _generator(seed)
    which = torch.randint(0, modes, (n,), generator=generator)
    points = ring_centers(modes, radius)[which] + std * torch.randn(n, 2, generator=generator)
    return (points, which) if return_modes else points


def nearest_mode(points: torch.Tensor, modes: int = 8, radius: float = 2.0, std: float = 0.05):
    """For points near a ring of Gaussians: the nearest centre of each point, and whether it is within 3 std.

    Returns ``(mode, is_close)``: int64 (n,) and bool (n,). ``is_close`` counts a point as "high quality".
    """
    points = check_points(points)
    distances = torch.cdist(points.float(), ring_centers(modes, radius))
    closest, mode = distances.min(dim=1)
    return mode, closest <= 3 * std


def check_points(points: torch.Tensor, name: str = "points") -> torch.Tensor:
    """Return ``points`` if it is a float tensor of shape N×2, else raise ``ShapeError`` naming that shape."""
    if isinstance(points, np.ndarray):
        points = torch.from_numpy(points)
    if not isinstance(points, torch.Tensor):
        raise ShapeError(
            f"{name} must be a tensor of shape N×2 (one 2-D point per row), got {type(points).__name__}."
        )
    if points.dim() != 2 or points.shape[1] != 2:
        raise ShapeError(f"{name} must have shape N×2 (one 2-D point per row), got {tuple(points.shape)}.")
    if not points.is_floating_point():
        raise ShapeError(f"{name} must be floating point (e.g. points.float()), got dtype {points.dtype}.")
    return points


# ----------------------------------------------------------------------------------------------------------------
# Pictures
# ----------------------------------------------------------------------------------------------------------------


def plane_grid(points: torch.Tensor, steps: int = 200, margin: float = 1.0):
    """A regular grid over the box around ``points`` (plus ``margin``): ``(xx, yy, grid)``, grid as (steps²)×2."""
    points = check_points(points).detach().cpu()
    low, high = points.min(0).values - margin, points.max(0).values + margin
    xs = torch.linspace(float(low[0]), float(high[0]), steps)
    ys = torch.linspace(float(low[1]), float(high[1]), steps)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return xx, yy, torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def plot_points(
    points: torch.Tensor,
    labels: Optional[torch.Tensor] = None,
    class_names: Optional[Sequence[str]] = None,
    ax=None,
    marker: str = "o",
    size: float = 10,
    alpha: float = 0.7,
    title: Optional[str] = None,
):
    """Scatter 2-D points, coloured by class when ``labels`` are given; returns the axes."""
    points = check_points(points).detach().cpu()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=alpha, marker=marker, color=CLASS_COLORS[0])
    else:
        labels = torch.as_tensor(labels).cpu()
        for k in labels.unique().tolist():
            chosen = points[labels == k]
            name = class_names[k] if class_names is not None else f"class {k}"
            ax.scatter(chosen[:, 0], chosen[:, 1], s=size, alpha=alpha, marker=marker,
                       color=CLASS_COLORS[k % len(CLASS_COLORS)], label=name)  # fmt: skip
        ax.legend(frameon=False, fontsize=8, loc="best")
    ax.set_aspect("equal")
    if not ax.get_xlabel():  # the two coordinates of a 2-D point (a caller's own labels are kept)
        ax.set_xlabel("x₁")
    if not ax.get_ylabel():
        ax.set_ylabel("x₂")
    if title:
        ax.set_title(title)
    return ax


def plot_decision_regions(
    predict_proba: Callable[[torch.Tensor], torch.Tensor],
    points: torch.Tensor,
    labels: torch.Tensor,
    ax=None,
    title: Optional[str] = None,
    class_names: Optional[Sequence[str]] = None,
    steps: int = 200,
):
    """Colour the plane by the class ``predict_proba`` (N×2 → N×K probabilities) picks, lighter where it is unsure.

    Draws the points on top and returns the axes.
    """
    xx, yy, grid = plane_grid(points, steps)
    with torch.no_grad():
        probs = torch.as_tensor(predict_proba(grid)).detach().cpu().float()
    if probs.dim() != 2 or probs.shape[0] != grid.shape[0]:
        raise ShapeError(
            f"predict_proba must return one row of class probabilities per point; got {tuple(probs.shape)}."
        )
    confidence, choice = probs.max(dim=1)
    colors = np.array(
        [plt.matplotlib.colors.to_rgb(CLASS_COLORS[k % len(CLASS_COLORS)]) for k in range(probs.shape[1])]
    )
    rgb = colors[choice.numpy()]
    k = probs.shape[1]
    strength = ((confidence.numpy() - 1 / k) / (1 - 1 / k)).clip(0, 1)[:, None]
    rgb = 1 - 0.45 * strength * (1 - rgb)  # pale: white where unsure, tinted where confident
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    extent = (float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max()))
    ax.imshow(
        rgb.reshape(steps, steps, 3), origin="lower", extent=extent, aspect="auto", interpolation="bilinear"
    )
    ax.contour(xx, yy, choice.reshape(steps, steps), levels=np.arange(k) + 0.5, colors="k", linewidths=1)
    plot_points(points, labels, class_names=class_names, ax=ax, size=8)
    if title:
        ax.set_title(title)
    return ax


def plot_density(
    log_density: Callable[[torch.Tensor], torch.Tensor],
    points: torch.Tensor,
    labels: Optional[torch.Tensor] = None,
    ax=None,
    title: Optional[str] = None,
    steps: int = 150,
):
    """Shade the plane by a density p(x) given as ``log_density`` (N×2 → N), with the points on top."""
    xx, yy, grid = plane_grid(points, steps)
    with torch.no_grad():
        density = torch.as_tensor(log_density(grid)).detach().cpu().double().exp()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.contourf(xx, yy, density.reshape(steps, steps), levels=20, cmap=DENSITY_CMAP)
    plot_points(points, labels, ax=ax, size=4, alpha=0.5)
    if title:
        ax.set_title(title)
    return ax
