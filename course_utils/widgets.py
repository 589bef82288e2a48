"""Interactive pictures for the lessons, built on ipywidgets (works with ipywidgets 7.6+ and 8).

- ``LatentExplorer(model)``: two sliders over a 2-D latent plane; the image decoded from (z1, z2) is redrawn as
  you drag, next to the map of images decoded over a grid of the plane, with a marker where you are.
- ``FigureSlider(figures)``: a slider that flips between pictures made in advance (e.g. one per beta value).
- ``ConditionalExplorer(model, class_names)``: a class selector and noise sliders over a conditional generator.

All three are ordinary widgets: ``display(explorer)`` shows them, nothing waits for input, so a notebook that builds
them runs straight through under nbval or nbconvert (where no one drags a slider). Images are drawn with Pillow
rather than matplotlib so that each slider move costs about a millisecond, not a tenth of a second. Without a
running Jupyter front end (Colab's "trusted" widgets, a static HTML export) the sliders show as text; the picture
of the map is still there.
"""

from __future__ import annotations

import io
from typing import Dict, Optional

import ipywidgets as widgets
import numpy as np
import torch
from PIL import Image, ImageDraw

from .errors import ShapeError
from .runtime import device_of
from .training import evaluating

MARKER_COLOR = (230, 159, 0)  # Okabe & Ito orange: stands out on gray images for every colour vision


def _png(array: np.ndarray) -> bytes:
    """A uint8 array (H×W gray or H×W×3) as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    return (images.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _mosaic(images: torch.Tensor, n: int) -> np.ndarray:
    """(n·n)×1×H×W images in rows → one (n·H)×(n·W) uint8 array."""
    pixels = _to_uint8(images[:, 0])  # n·n × H × W
    h, w = pixels.shape[1:]
    return pixels.reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)


def _figure_png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


class LatentExplorer(widgets.HBox):
    """Sliders over a 2-D latent space that decode an image live, beside the map of the latent plane.

    >>> explorer = LatentExplorer(model)      # model.decode(z) -> images in [0, 1], model.latent_dim == 2
    >>> display(explorer)
    >>> explorer.move_to(0.5, -1.0)           # the same as dragging the sliders (handy in tests and demos)

    Args:
        model: a VAE or an autoencoder with a 2-D latent space and ``decode(z)`` returning images in [0, 1].
        extent: the sliders and the map cover [-extent, extent]² (3 covers 99.7% of the prior per axis).
        grid: images per side of the map.
        zoom: on-screen pixels per image pixel for the decoded image.
    """

    def __init__(self, model: torch.nn.Module, extent: float = 3.0, grid: int = 15, zoom: int = 6) -> None:
        from .models.vae import decode_grid

        latent_dim = getattr(model, "latent_dim", None)
        if latent_dim != 2:
            raise ShapeError(
                f"The latent explorer needs a model with a 2-D latent space (latent_dim=2); this one has "
                f"latent_dim={latent_dim}. Train one with latent_dim=2 for the explorer."
            )
        self.model = model
        self.extent = float(extent)
        self.grid = int(grid)
        self.zoom = int(zoom)
        self.map_pixels = _mosaic(decode_grid(model, extent=self.extent, n=self.grid), self.grid)
        slider = {
            "min": -self.extent,
            "max": self.extent,
            "step": 0.05,
            "value": 0.0,
            "continuous_update": True,
        }
        self.z1 = widgets.FloatSlider(description="z₁", **slider)
        self.z2 = widgets.FloatSlider(description="z₂", **slider)
        self.decoded = widgets.Image(format="png", width=28 * self.zoom, height=28 * self.zoom)
        self.latent_map = widgets.Image(
            format="png", width=self.map_pixels.shape[1], height=self.map_pixels.shape[0]
        )
        self.caption = widgets.HTML()
        self.last_image: Optional[np.ndarray] = None  # the latest decoded image, 28×28 uint8 (for tests)
        self.updates = 0  # redraws so far
        self._quiet = False
        for s in (self.z1, self.z2):
            s.observe(self._on_change, names="value")
        left = widgets.VBox([self.z1, self.z2, self.decoded, self.caption])
        map_title = widgets.HTML(
            f"<b>Decoded over the latent plane</b> (z₁ → right, z₂ → up, both from {-self.extent:g} to {self.extent:g})"
        )
        super().__init__([left, widgets.VBox([map_title, self.latent_map])])
        self._redraw()

    def move_to(self, z1: float, z2: float) -> None:
        """Set both sliders (the picture follows, as when dragging them)."""
        self._quiet = True
        try:
            self.z1.value = float(z1)
            self.z2.value = float(z2)
        finally:
            self._quiet = False
        self._redraw()

    def _on_change(self, change=None) -> None:
        if not self._quiet:
            self._redraw()

    def _redraw(self) -> None:
        z = torch.tensor([[self.z1.value, self.z2.value]], dtype=torch.float32)
        device = device_of(self.model)
        with evaluating(self.model):
            image = self.model.decode(z.to(device)).reshape(28, 28)
        self.last_image = _to_uint8(image)
        big = np.kron(self.last_image, np.ones((self.zoom, self.zoom), dtype=np.uint8))
        self.decoded.value = _png(big)
        self.latent_map.value = _png(self._map_with_marker(self.z1.value, self.z2.value))
        self.caption.value = f"z = ({self.z1.value:+.2f}, {self.z2.value:+.2f})"
        self.updates += 1

    def _map_with_marker(self, z1: float, z2: float) -> np.ndarray:
        picture = Image.fromarray(self.map_pixels).convert("RGB")
        size = picture.size[0]
        # The map's tile centres run from -extent to +extent; place the marker on the same scale.
        tile = size / self.grid
        x = tile / 2 + (z1 + self.extent) / (2 * self.extent) * (size - tile)
        y = tile / 2 + (self.extent - z2) / (2 * self.extent) * (size - tile)
        r = max(4, int(tile / 3))
        draw = ImageDraw.Draw(picture)
        draw.ellipse([x - r, y - r, x + r, y + r], outline=MARKER_COLOR, width=3)
        return np.asarray(picture)


class FigureSlider(widgets.VBox):
    """A slider that flips between pictures made in advance, e.g. one matplotlib figure per beta.

    >>> FigureSlider({"β=0.5": fig_a, "β=1": fig_b, "β=4": fig_c}, description="β")

    The figures are turned into PNG images once (and closed), so moving the slider costs nothing.
    """

    def __init__(
        self, figures: Dict[str, object], description: str = "", value: Optional[str] = None
    ) -> None:
        if not figures:
            raise ValueError("FigureSlider needs at least one figure, e.g. {'beta=1': fig}.")
        self.pictures = {str(k): (v if isinstance(v, bytes) else _figure_png(v)) for k, v in figures.items()}
        labels = list(self.pictures)
        self.slider = widgets.SelectionSlider(
            options=labels, value=value if value is not None else labels[0], description=description
        )
        self.image = widgets.Image(format="png", value=self.pictures[self.slider.value])
        self.slider.observe(self._on_change, names="value")
        super().__init__([self.slider, self.image])

    def _on_change(self, change) -> None:
        self.image.value = self.pictures[change["new"]]


class ConditionalExplorer(widgets.VBox):
    """A class selector and noise sliders over a conditional generator: the image is redrawn as you move them.

    >>> explorer = ConditionalExplorer(cgan_generator, class_names)   # or a ConditionalVAE
    >>> display(explorer)
    >>> explorer.show(label=7, sliders=[1.0, -0.5, 0, 0])             # the same as choosing and dragging

    The sliders set the first ``sliders`` numbers of the noise z; the other numbers stay fixed (drawn once from
    ``seed``). Below the chosen class, a strip shows the **same z** decoded with every class: what the noise holds
    (the style) next to what the label holds (the class).

    Args:
        model: a ``ConditionalGenerator`` (``model(z, labels)`` → images in [-1, 1], ``noise_dim``) or a
            ``ConditionalVAE`` (``model.decode(z, labels)`` → images in [0, 1], ``latent_dim``).
        class_names: one name per class, in label order.
        sliders: how many noise numbers get a slider.
        extent: each slider covers [-extent, extent].
        zoom: on-screen pixels per image pixel for the chosen image.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        class_names,
        sliders: int = 4,
        extent: float = 3.0,
        zoom: int = 6,
        seed: int = 0,
    ) -> None:
        self.model = model
        self.class_names = [str(c) for c in class_names]
        self.noise_dim = int(getattr(model, "noise_dim", getattr(model, "latent_dim", 0)))
        if self.noise_dim < 1:
            raise ShapeError("ConditionalExplorer needs a conditional generator (with noise_dim) or a conditional VAE "
                             "(with latent_dim).")  # fmt: skip
        if not 1 <= sliders <= self.noise_dim:
            raise ValueError(f"sliders must be between 1 and the noise size {self.noise_dim}, got {sliders}.")
        self.zoom = int(zoom)
        self.base = torch.randn(1, self.noise_dim, generator=torch.Generator().manual_seed(seed))
        self.selector = widgets.Dropdown(
            options=[(name, k) for k, name in enumerate(self.class_names)], value=0, description="class"
        )
        self.sliders = [
            widgets.FloatSlider(value=round(float(self.base[0, i]), 2), min=-extent, max=extent, step=0.05,
                                description=f"z[{i}]", continuous_update=True)
            for i in range(sliders)
        ]  # fmt: skip
        self.image = widgets.Image(format="png", width=28 * self.zoom, height=28 * self.zoom)
        self.strip = widgets.Image(format="png")
        self.caption = widgets.HTML()
        self.last_image: Optional[np.ndarray] = None  # the chosen class's image, 28×28 uint8 (for tests)
        self.last_strip: Optional[np.ndarray] = None  # the same z with every class, 28×(28·K) uint8
        self.updates = 0
        self._quiet = False
        for control in (self.selector, *self.sliders):
            control.observe(self._on_change, names="value")
        controls = widgets.VBox([self.selector, *self.sliders])
        strip_title = widgets.HTML("<b>The same z with every class</b>: " + " · ".join(self.class_names))
        super().__init__([widgets.HBox([controls, self.image, self.caption]), strip_title, self.strip])
        self._redraw()

    def noise(self) -> torch.Tensor:
        """The current z (1×noise_dim): the sliders' values, then the fixed rest."""
        z = self.base.clone()
        z[0, : len(self.sliders)] = torch.tensor([s.value for s in self.sliders])
        return z

    def show(self, label: Optional[int] = None, sliders=None) -> None:
        """Choose a class and/or set the sliders (the picture follows once, as when moving the controls)."""
        self._quiet = True
        try:
            if label is not None:
                self.selector.value = int(label)
            for slider, value in zip(self.sliders, sliders or []):
                slider.value = float(value)
        finally:
            self._quiet = False
        self._redraw()

    def _decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        device = next(self.model.parameters()).device
        with evaluating(self.model):
            if hasattr(self.model, "decode"):
                return self.model.decode(z.to(device), labels.to(device)).cpu()
            return ((self.model(z.to(device), labels.to(device)) + 1) / 2).cpu()

    def _on_change(self, change=None) -> None:
        if not self._quiet:
            self._redraw()

    def _redraw(self) -> None:
        k = len(self.class_names)
        images = self._decode(self.noise().repeat(k, 1), torch.arange(k))  # K×1×28×28, one per class
        pixels = _to_uint8(images[:, 0])
        self.last_image = pixels[self.selector.value]
        self.last_strip = np.concatenate(list(pixels), axis=1)
        self.image.value = _png(np.kron(self.last_image, np.ones((self.zoom, self.zoom), dtype=np.uint8)))
        self.strip.value = _png(np.kron(self.last_strip, np.ones((2, 2), dtype=np.uint8)))
        values = ", ".join(f"{s.value:+.2f}" for s in self.sliders)
        self.caption.value = (
            f"<b>{self.class_names[self.selector.value]}</b><br>z[:{len(self.sliders)}] = ({values})"
        )
        self.updates += 1
