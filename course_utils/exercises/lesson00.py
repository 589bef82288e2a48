"""Checkers for lesson 00 (welcome): images as tensors."""

from __future__ import annotations

import torch

from .core import Mistake, call, close, exercise, expect_tensor


def _sample_batch(n: int = 5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 28, 28, generator=generator)


@exercise("00.1", "flatten_batch", points=1)
def flatten_batch(fn) -> str:
    """Check ``flatten_batch(images)``: N×1×28×28 → N×784, each row one image's pixels in reading order."""
    images = _sample_batch()
    original = images.clone()
    out = call(fn, images, what="flatten_batch(images)")
    expect_tensor(out, "flatten_batch(images)")
    if not torch.equal(images, original):
        raise Mistake("your function changed the input images in place; return a new tensor instead.")
    if tuple(out.shape) == (5 * 784,):
        raise Mistake(
            "you flattened the whole batch into one long vector of 3920 numbers. Keep the batch dimension: "
            "each of the 5 images should become one row of 784 pixels (hint: images.view(len(images), -1))."
        )
    if tuple(out.shape) == (784, 5):
        raise Mistake("your result is 784×5: images are in columns. Put one image per row: shape (5, 784).")
    if tuple(out.shape) == (5, 28, 28):
        raise Mistake(
            "you removed the channel dimension but kept 28×28; flatten the pixels too: shape (5, 784)."
        )
    if tuple(out.shape) != (5, 784):
        raise Mistake(
            f"for 5 images of 1×28×28 the result should have shape (5, 784), got {tuple(out.shape)}."
        )
    if close(out, images.reshape(784, 5).T):
        raise Mistake(
            "the shape is right but the pixels are shuffled between images: reshaping to (784, N) and transposing "
            "mixes images. Use images.view(len(images), -1) or images.flatten(start_dim=1)."
        )
    if close(out, images.transpose(2, 3).reshape(5, 784)):
        raise Mistake(
            "each row holds the image column by column (transposed); keep row-by-row reading order."
        )
    if not close(out, images.reshape(5, 784)):
        raise Mistake("the shape is right but the values differ from the input's pixels in reading order.")
    return "5×1×28×28 became 5×784, one image per row, pixels in reading order."


@exercise("00.2", "to_minus_one_one", points=1)
def to_minus_one_one(fn) -> str:
    """Check ``to_minus_one_one(images)``: map pixel values from [0, 1] to [-1, 1] (the range GANs use)."""
    images = _sample_batch()
    images[0, 0, 0, 0], images[0, 0, 0, 1] = 0.0, 1.0
    original = images.clone()
    out = call(fn, images, what="to_minus_one_one(images)")
    expect_tensor(out, "to_minus_one_one(images)", shape=tuple(images.shape))
    if not torch.equal(images, original):
        raise Mistake("your function changed the input in place (e.g. with mul_ or -=); return a new tensor.")
    expected = images * 2 - 1
    if close(out, expected):
        return "0 → -1, 0.5 → 0 and 1 → 1 for every pixel."
    if close(out, images - 0.5):
        raise Mistake("you subtracted 0.5, which gives [-0.5, 0.5]; scale by 2 as well: images * 2 - 1.")
    if close(out, images * 2):
        raise Mistake("you scaled by 2, which gives [0, 2]; shift down by 1 as well: images * 2 - 1.")
    if close(out, (images - 1) * 2):
        raise Mistake("the order of the steps is off; 0 must map to -1 and 1 to 1: images * 2 - 1.")
    if close(out, (images - images.mean()) / images.std()):
        raise Mistake(
            "you standardized the images (mean 0, std 1); that does not give [-1, 1]. Map 0 → -1 and 1 → 1: "
            "images * 2 - 1."
        )
    lo, hi = float(out.min()), float(out.max())
    raise Mistake(
        f"expected values from -1 to 1 with 0 → -1 and 1 → 1; yours range from {lo:.3f} to {hi:.3f}."
    )
