"""Lesson 05's convolutional GAN (DCGAN, Radford et al., 2016) for 1×28×28 images in [-1, 1].

The generator *upsamples*: noise z → a small 7×7 stack of feature maps → 14×14 → 28×28, each step a transposed
convolution (stride 2) or a nearest-neighbour resize followed by a convolution (Odena et al., 2016, who showed
that the resize avoids the checkerboard artefact of overlapping transposed kernels). The discriminator is its
mirror image: strided convolutions 28×28 → 14×14 → 7×7, then one linear layer to a logit.

Radford et al.'s guidelines, each in one line:
- strided convolutions instead of pooling: the network learns its own up- and downsampling;
- batch norm in both networks, but not in D's first layer nor in G's output layer (those must see and make the
  raw pixel statistics);
- ReLU in G, LeakyReLU(0.2) in D (D's gradient must reach G even where a unit is negative); tanh output;
- weights from N(0, 0.02) (``init_weights``); Adam with lr 2e-4 and β₁ = 0.5.

``convs_per_scale=2`` adds one 3×3 convolution of stride 1 at each resolution, after each up- or downsampling:
more layers, and more capacity, where the image is built and judged, at the same sizes (the "standard CNN" of
Miyato et al., 2018, interleaves such layers with DCGAN's strided ones in D). Lesson 05 shows that the
discriminator's extra layers are what its 10-minute benchmark needs.

The networks use lesson 04's training step unchanged (``gan.train_step``): G has ``noise_dim`` and
``data_shape``, D returns one logit per image (N×1). With ``norm="layer"`` or ``"none"`` the discriminator
has no batch norm, so each image's score depends on that image alone: a WGAN-GP critic (Gulrajani et al., 2017).
"""

from __future__ import annotations

from typing import List, Optional

import torch
from torch import nn

from ..errors import ShapeError
from ..images import check_images
from ..training import evaluating

IMAGE_SHAPE = (1, 28, 28)
# Adam's learning rate for the deeper DCGAN (convs_per_scale=2) in a 10-minute CPU budget (2e-4, 4e-4 and 8e-4
# tried); the first DCGAN keeps Radford et al.'s 2e-4. Chosen on the validation split, like the decay below:
# benchmarks/results/dcgan_validation_search.json (benchmarks/dcgan_validation_search.py)
DEEPER_LR = 8e-4
# ... and the decay of the moving average of its generator's weights that the benchmark samples from (0.995: about
# the last 200 steps; 0.999 and 0.995 tried).
DEEPER_AVERAGE_DECAY = 0.995


def transposed_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output side of a transposed convolution: (size − 1)·stride − 2·padding + kernel.

    Each input pixel paints a kernel×kernel patch, the patches are ``stride`` apart, and ``padding`` trims each
    border. E.g. 7 → 14 with kernel 4, stride 2, padding 1.
    """
    return (size - 1) * stride - 2 * padding + kernel


def upsample_layers(in_channels: int, out_channels: int, upsample: str = "transposed", bias: bool = True):
    """The layers that double height and width: a transposed convolution, or a resize then a convolution.

    ``"transposed"``: ConvTranspose2d(kernel 4, stride 2, padding 1), size s → 2s. ``"resize"``: nearest-neighbour
    ×2, then Conv2d(kernel 3, padding 1), which keeps the size (Odena et al., 2016: no checkerboard).
    """
    if upsample == "transposed":
        return [nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)]
    if upsample == "resize":
        return [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias),
        ]
    raise ValueError(f"upsample must be 'transposed' or 'resize', got {upsample!r}.")


def generator_block(
    in_channels: int, out_channels: int, upsample: str = "transposed", batch_norm: bool = True
) -> nn.Sequential:
    """Double the height and width: ``upsample_layers`` → [BatchNorm] → ReLU.

    The convolution has no bias when batch norm follows (batch norm subtracts the mean: a bias would do nothing).
    """
    layers = upsample_layers(in_channels, out_channels, upsample, bias=not batch_norm)
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def discriminator_block(in_channels: int, out_channels: int, norm: str = "batch") -> nn.Sequential:
    """Halve the height and width: Conv2d(kernel 4, stride 2, padding 1) → [norm] → LeakyReLU(0.2).

    ``norm``: ``"batch"`` (DCGAN), ``"layer"`` (per image over channels and pixels, for a WGAN-GP critic) or
    ``"none"`` (D's first layer, which must see the raw pixels).
    """
    convolution = nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1, bias=norm == "none")
    return nn.Sequential(convolution, *norm_layers(out_channels, norm), nn.LeakyReLU(0.2, inplace=True))


def norm_layers(channels: int, norm: str) -> List[nn.Module]:
    """The norm after a convolution: ``"batch"`` → [BatchNorm2d], ``"layer"`` → [GroupNorm with one group, i.e.
    layer norm over (C, H, W) of each image], ``"none"`` → []."""
    if norm == "batch":
        return [nn.BatchNorm2d(channels)]
    if norm == "layer":
        return [nn.GroupNorm(1, channels)]
    if norm == "none":
        return []
    raise ValueError(f"norm must be 'batch', 'layer' or 'none', got {norm!r}.")


def same_size_block(
    in_channels: int, out_channels: int, norm: str = "batch", leaky: bool = False
) -> nn.Sequential:
    """Keep the height and width: Conv2d(kernel 3, stride 1, padding 1) → [norm] → ReLU, or LeakyReLU(0.2) in D.

    One more layer at a scale: each pixel's features are mixed with its eight neighbours' without resampling.
    ``norm``: ``"batch"``, ``"layer"`` or ``"none"`` (``norm_layers``).
    """
    convolution = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=norm == "none")
    activation = nn.LeakyReLU(0.2, inplace=True) if leaky else nn.ReLU(inplace=True)
    return nn.Sequential(convolution, *norm_layers(out_channels, norm), activation)


def _check_convs_per_scale(convs_per_scale: int) -> int:
    if convs_per_scale not in (1, 2):
        raise ValueError(
            f"convs_per_scale must be 1 (DCGAN's one layer per resolution) or 2 (a 3×3 convolution more at each), "
            f"got {convs_per_scale!r}."
        )
    return int(convs_per_scale)


def init_weights(module: nn.Module) -> None:
    """DCGAN's initialisation, for ``model.apply(init_weights)``: conv and linear weights ~ N(0, 0.02),
    batch-norm (and layer-norm) scales ~ N(1, 0.02), all biases 0 (Radford et al., 2016)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGenerator(nn.Module):
    """Noise (N×noise_dim) → images (N×1×28×28) in [-1, 1].

    Linear z → 2C×7×7 [BatchNorm, ReLU], then two ``generator_block``s without the last one's norm:
    2C×7×7 → C×14×14 → 1×28×28, then tanh. ``channels`` = C sets the width.

    ``convs_per_scale=2``: a ``same_size_block`` (C → C) after the first upsampling, and the second upsamples to
    C/2×28×28 [BatchNorm, ReLU] before a 3×3 convolution paints the pixels (no norm there), then tanh.
    """

    def __init__(
        self,
        noise_dim: int = 64,
        channels: int = 32,
        upsample: str = "transposed",
        batch_norm: bool = True,
        convs_per_scale: int = 1,
    ) -> None:
        super().__init__()
        convs_per_scale = _check_convs_per_scale(convs_per_scale)
        self.config = {
            "noise_dim": int(noise_dim),
            "channels": int(channels),
            "upsample": upsample,
            "batch_norm": bool(batch_norm),
            "convs_per_scale": convs_per_scale,
        }
        self.noise_dim, self.data_shape = int(noise_dim), IMAGE_SHAPE
        c = int(channels)
        project: List[nn.Module] = [nn.Linear(self.noise_dim, 2 * c * 7 * 7, bias=not batch_norm)]
        project += [nn.Unflatten(1, (2 * c, 7, 7))]
        project += [nn.BatchNorm2d(2 * c)] if batch_norm else []
        self.project = nn.Sequential(*project, nn.ReLU(inplace=True))
        self.up1 = generator_block(2 * c, c, upsample, batch_norm)  # 7×7 → 14×14
        if convs_per_scale == 1:
            # 14×14 → 28×28: no batch norm in G's output layer, and tanh instead of ReLU
            self.up2 = nn.Sequential(*upsample_layers(c, 1, upsample), nn.Tanh())
        else:
            self.up1.extend(same_size_block(c, c, "batch" if batch_norm else "none"))  # 14×14, one layer more
            self.up2 = nn.Sequential(
                generator_block(c, c // 2, upsample, batch_norm),  # 14×14 → 28×28 feature maps
                nn.Conv2d(c // 2, 1, 3, padding=1),  # the output layer: no norm, then tanh
                nn.Tanh(),
            )
        self.apply(init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.noise_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ShapeError(
                f"This generator expects noise of shape N×{self.noise_dim}, got {got}. Make it with "
                f"torch.randn(n, {self.noise_dim}) or generator.sample_noise(n)."
            )
        return self.up2(self.up1(self.project(z)))

    def sample_noise(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` noise vectors z ~ N(0, I) on the model's device."""
        device = next(self.parameters()).device
        return torch.randn(n, self.noise_dim, generator=generator).to(device)

    def generate(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` new images from fresh noise, in eval mode."""
        with evaluating(self):
            return self(self.sample_noise(n, generator))


class DCDiscriminator(nn.Module):
    """Images (N×1×28×28, in [-1, 1]) → one logit each (N×1), like lesson 04's ``Discriminator``.

    ``discriminator_block``s 1×28×28 → C×14×14 (no norm: D's first layer) → 2C×7×7 (``norm``), then a linear
    layer to the logit. ``norm="layer"`` or ``"none"`` makes it a WGAN-GP critic (no batch statistics).
    ``convs_per_scale=2`` adds a ``same_size_block`` (with ``norm``) after each of the two: at 14×14 and at 7×7.
    """

    def __init__(self, channels: int = 32, norm: str = "batch", convs_per_scale: int = 1) -> None:
        super().__init__()
        convs_per_scale = _check_convs_per_scale(convs_per_scale)
        self.config = {"channels": int(channels), "norm": norm, "convs_per_scale": convs_per_scale}
        self.data_shape = IMAGE_SHAPE
        c = int(channels)
        layers = [discriminator_block(1, c, norm="none")]  # 28×28 → 14×14
        if convs_per_scale == 2:
            layers.append(same_size_block(c, c, norm, leaky=True))
        layers.append(discriminator_block(c, 2 * c, norm=norm))  # 14×14 → 7×7
        if convs_per_scale == 2:
            layers.append(same_size_block(2 * c, 2 * c, norm, leaky=True))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * c * 7 * 7, 1)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = check_images(x, self.data_shape, "This discriminator")
        return self.head(self.features(x).flatten(1))
