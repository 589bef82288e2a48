"""Building blocks shared by the course's convolutional models."""

from __future__ import annotations

from typing import List, Sequence

from torch import nn


def conv_block(
    conv: nn.Module, channels: int, batch_norm: bool = True, pool: bool = False
) -> List[nn.Module]:
    """A convolution (or transposed convolution), then [a 2×2 max-pool], [batch norm], then a ReLU.

    ``pool`` halves the size after the convolution (the classifier downsamples this way); pooling before batch
    norm and ReLU gives nearly the same function as pooling last, but those two then touch 4× fewer numbers
    (about 20% faster on a CPU). Batch norm (Ioffe & Szegedy, 2015) keeps each layer's outputs on a steady scale,
    which lets a network train quickly with a large learning rate.
    """
    layers: List[nn.Module] = [conv]
    if pool:
        layers.append(nn.MaxPool2d(2))
    if batch_norm:
        layers.append(nn.BatchNorm2d(channels))
    layers.append(nn.ReLU(inplace=True))
    return layers


def dense_stack(widths: Sequence[int]) -> List[nn.Module]:
    """Linear → ReLU for each pair of neighbouring widths: the hidden layers of a fully connected network."""
    return [layer for a, b in zip(widths[:-1], widths[1:]) for layer in (nn.Linear(a, b), nn.ReLU())]
