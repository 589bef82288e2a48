"""The interactive widgets: they build without a front end, redraw when a slider moves, and never wait for input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_utils import ShapeError
from course_utils.models.vae import VAE
from course_utils.widgets import FigureSlider, LatentExplorer

PNG_MAGIC = b"\x89PNG"


@pytest.fixture
def model():
    torch.manual_seed(0)
    return VAE(latent_dim=2, hidden=(16,))


def test_explorer_draws_at_once_and_follows_the_sliders(model):
    explorer = LatentExplorer(model, extent=2.0, grid=5, zoom=2)
    assert explorer.updates == 1 and bytes(explorer.decoded.value).startswith(PNG_MAGIC)
    assert explorer.map_pixels.shape == (5 * 28, 5 * 28)
    first_map = explorer.latent_map.value
    at_origin = explorer.last_image.copy()
    explorer.z1.value = 1.5  # as if dragged: the observer redraws
    assert explorer.updates == 2 and bytes(explorer.latent_map.value) != bytes(first_map)
    explorer.move_to(-2.0, 2.0)  # one redraw for both sliders
    assert explorer.updates == 3 and explorer.caption.value == "z = (-2.00, +2.00)"
    assert not np.array_equal(explorer.last_image, at_origin)
    expected = (model.decode(torch.tensor([[-2.0, 2.0]]))[0, 0].detach().clamp(0, 1) * 255).round()
    assert np.array_equal(explorer.last_image, expected.to(torch.uint8).numpy())
    # The top-left tile of the map is the image decoded at (-extent, +extent): the same as the sliders show now.
    assert np.array_equal(explorer.map_pixels[:28, :28], explorer.last_image)


def test_explorer_refuses_a_latent_space_it_cannot_draw():
    with pytest.raises(ShapeError, match="latent_dim=2"):
        LatentExplorer(VAE(latent_dim=5, hidden=(8,)))


def test_figure_slider_flips_between_pictures():
    figures = {}
    for beta in (0.5, 4.0):
        fig, ax = plt.subplots(figsize=(1, 1))
        ax.plot([0, beta])
        figures[f"beta={beta:g}"] = fig
    slider = FigureSlider(figures, description="β")
    assert bytes(slider.image.value) == slider.pictures["beta=0.5"]
    slider.slider.value = "beta=4"
    assert bytes(slider.image.value) == slider.pictures["beta=4"] != slider.pictures["beta=0.5"]
    with pytest.raises(ValueError, match="at least one"):
        FigureSlider({})
