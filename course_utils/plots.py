"""One plotting helper per picture: image grids and training curves.

Defaults are chosen for reading: large titles, gray images on black as the datasets are stored, and
colour-blind-safe colours (Okabe & Ito's palette for lines, Paul Tol's "muted" scheme for ten classes).
Each function draws and shows its figure; pass ``show=False`` to get the ``Figure`` back instead (to save it,
or in tests).
"""

from __future__ import annotations

import io
import math
from typing import Optional, Sequence, Tuple

import matplotlib.pyplot as plt
import numpy as np
import torch

from .errors import ShapeError
from .images import to_unit_range

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
LINE_COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
# Paul Tol's "muted" qualitative scheme (9 colours) plus a gray: one colour per class for 10 classes.
CLASS_COLORS = [
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
    "#DDCC77", "#CC6677", "#882255", "#AA4499", "#888888",
]  # fmt: skip
DENSITY_CMAP = "viridis"  # perceptually uniform and colour-blind safe

plt.rcParams.update({"axes.titlesize": 11, "axes.labelsize": 11, "figure.dpi": 100})

EXPECTED_IMAGE_SHAPES = (
    "N×1×H×W or N×3×H×W (a batch), N×H×W (a batch of gray images), 1×H×W or H×W (one image)"
)


def as_image_batch(images) -> torch.Tensor:
    """Turn images (tensor or array) into a float CPU tensor N×C×H×W with C = 1 or 3, or raise ``ShapeError``."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise ShapeError(f"Expected images as a tensor or NumPy array, got {type(images).__name__}.")
    x = images.detach().to("cpu")
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    x = x.float()
    if x.dim() == 2 and x.shape[1] == 784 and x.shape[0] != 784:
        raise ShapeError(
            f"Got shape {tuple(images.shape)}: these look like flat vectors of 784 pixels, not images. "
            "Reshape them first: images.view(-1, 1, 28, 28)."
        )
    if x.dim() == 2:
        x = x[None, None]
    elif x.dim() == 3:
        x = x[None] if x.shape[0] in (1, 3) and x.shape[1] > 3 else x[:, None]
    elif x.dim() == 4 and x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        raise ShapeError(
            f"Got images of shape {tuple(images.shape)}: channels look last (N×H×W×C). "
            "PyTorch puts channels first: use images.permute(0, 3, 1, 2)."
        )
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ShapeError(
            f"Cannot draw images of shape {tuple(images.shape)}. Expected {EXPECTED_IMAGE_SHAPES}."
        )
    if x.shape[0] == 0:
        raise ShapeError("There are no images to draw (the batch is empty).")
    return x


def show_images(
    images,
    labels: Optional[Sequence[int]] = None,
    class_names: Optional[Sequence[str]] = None,
    titles: Optional[Sequence[str]] = None,
    ncols: int = 8,
    title: Optional[str] = None,
    value_range: Optional[Tuple[float, float]] = None,
    scale: float = 1.3,
    show: bool = True,
):
    """Draw images in a grid, each optionally titled with its label's class name or a custom title.

    Args:
        images: a batch (see ``EXPECTED_IMAGE_SHAPES``); values in [0, 1], or [-1, 1] (detected, or say so with
            ``value_range=(-1, 1)``).
        labels: one integer label per image; shown as the class name when ``class_names`` is given.
        class_names: names indexed by label, e.g. the ``classes`` from ``load_dataset``.
        titles: one title per image (overrides labels).
        ncols: images per row.
        title: a title for the whole grid.
        show: show the figure (and return ``None``); ``False`` returns the ``Figure``.
    """
    x = to_unit_range(as_image_batch(images), value_range)
    n = x.shape[0]
    if titles is None and labels is not None:
        labels = [int(v) for v in (labels.tolist() if hasattr(labels, "tolist") else labels)]
        if len(labels) != n:
            raise ShapeError(f"Got {n} images but {len(labels)} labels: give one label per image.")
        if class_names is not None:
            bad = [v for v in labels if not 0 <= v < len(class_names)]
            if bad:
                raise ShapeError(
                    f"Label {bad[0]} has no class name: there are {len(class_names)} class names."
                )
            titles = [class_names[v] for v in labels]
        else:
            titles = [str(v) for v in labels]
    if titles is not None and len(titles) != n:
        raise ShapeError(f"Got {n} images but {len(titles)} titles: give one title per image.")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    extra = 0.35 if titles is not None else 0.0
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(scale * ncols, (scale + extra) * nrows + (0.4 if title else 0))
    )
    axes = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= n:
            continue
        img = x[i]
        if img.shape[0] == 1:
            ax.imshow(img[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return _finish(fig, show)


def plot_history(
    history, names: Optional[Sequence[str]] = None, title: Optional[str] = None, show: bool = True
):
    """Plot the series of a ``History`` (or a dict of name → list of values) against training steps."""
    if isinstance(history, dict):
        series = {k: (list(range(len(v))), list(v)) for k, v in history.items()}
    else:
        series = {k: (history.steps[k], history.values[k]) for k in history.names()}
    names = list(names) if names is not None else list(series)
    missing = [n for n in names if n not in series]
    if missing:
        raise KeyError(f"No series {missing[0]!r} to plot; the history has: {', '.join(series) or 'none'}.")
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for i, name in enumerate(names):
        steps, values = series[name]
        ax.plot(steps, values, label=name, color=LINE_COLORS[i % len(LINE_COLORS)], linewidth=1.5)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    if names:
        ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _finish(fig, show)


def figure_to_png(fig) -> bytes:
    """The figure as PNG bytes (used by the live view); the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _finish(fig, show: bool):
    """Show ``fig`` now and close it, or hand it back *detached* from pyplot.

    A figure returned with ``show=False`` is closed in pyplot's registry (it can still be saved, displayed or
    given to a widget): otherwise the next ``plt.show()``, anywhere, would draw it too, since pyplot shows every
    figure it still holds."""
    if show:
        plt.show()
        plt.close(fig)
        return None
    plt.close(fig)
    return fig
