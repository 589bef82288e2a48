"""Checks and conversions every image-taking function shares: the shape check and the pixel range.

``check_images`` is the one place that says "this is not a batch of the images I need" in plain words (every
model, the judge and the trainers call it); ``to_unit_range`` is the one place that turns a generator's [-1, 1]
output into the [0, 1] pixels the classifier and the plots expect.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import torch

from .errors import ShapeError

IMAGE_SHAPE = (1, 28, 28)  # C×H×W of MNIST and Fashion-MNIST


def _shape_text(shape: Sequence[int]) -> str:
    return "N×" + "×".join(str(s) for s in shape)


def check_images(
    images, shape: Sequence[int] = IMAGE_SHAPE, who: str = "This function", reshape: bool = False
) -> torch.Tensor:
    """Return ``images`` if it is a float batch of examples of ``shape`` (N×C×H×W), else raise ``ShapeError``.

    Args:
        shape: the shape of one example, e.g. (1, 28, 28) for images or (2,) for 2-D points.
        who: named in the message ("encode expects ...").
        reshape: also accept flat rows (N×784) and channel-less images (N×28×28) and reshape them.
    """
    shape = tuple(int(s) for s in shape)
    wanted = _shape_text(shape)
    if not isinstance(images, torch.Tensor):
        raise ShapeError(f"{who} needs a torch.Tensor of shape {wanted}, got a {type(images).__name__}.")
    if not images.is_floating_point():
        raise ShapeError(
            f"{who} needs float values (e.g. pixels in [0, 1]) of shape {wanted}, got dtype {images.dtype}. "
            "Convert them first, e.g. images.float() / 255."
        )
    if reshape and images.dim() in (2, len(shape)) and images.dim() >= 2:
        if math.prod(images.shape[1:]) == math.prod(shape) and tuple(images.shape[1:]) != shape:
            images = images.reshape(len(images), *shape)
    if images.dim() != len(shape) + 1 or tuple(images.shape[1:]) != shape:
        hint = ""
        if images.dim() == 2 and math.prod(shape) == images.shape[1]:
            hint = f" (flat vectors? reshape with x.view(-1, {', '.join(str(s) for s in shape)}))"
        elif images.dim() == len(shape) and tuple(images.shape) == shape:
            hint = " (a single example needs a batch dimension: x.unsqueeze(0))"
        raise ShapeError(f"{who} expects a batch of shape {wanted}, got shape {tuple(images.shape)}{hint}.")
    return images


def to_unit_range(images: torch.Tensor, value_range: Optional[Tuple[float, float]] = None) -> torch.Tensor:
    """Pixels mapped to [0, 1] and clamped there. ``value_range``: the range the values are in, e.g. (-1, 1) for
    a tanh generator; ``None`` guesses: (-1, 1) if any value is below -0.01, else (0, 1)."""
    if value_range is None:
        value_range = (-1.0, 1.0) if float(images.min()) < -0.01 else (0.0, 1.0)
    low, high = value_range
    return ((images - low) / (high - low)).clamp(0.0, 1.0)
