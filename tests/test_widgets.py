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
from course_utils.widgets import ConditionalExplorer, FigureSlider, LatentExplorer

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


def test_conditional_explorer_follows_the_class_and_the_sliders():
    from course_utils.models.conditional import ConditionalGenerator, ConditionalVAE

    torch.manual_seed(0)
    generator = ConditionalGenerator(noise_dim=6, num_classes=3, channels=4).eval()
    names = ["a", "b", "c"]
    explorer = ConditionalExplorer(generator, names, sliders=2, zoom=2)
    assert explorer.updates == 1 and bytes(explorer.image.value).startswith(PNG_MAGIC)
    assert explorer.last_strip.shape == (28, 3 * 28)
    first = explorer.last_image.copy()
    explorer.selector.value = 2  # as if chosen: the observer redraws
    assert explorer.updates == 2 and "c" in explorer.caption.value
    assert np.array_equal(explorer.last_image, explorer.last_strip[:, 2 * 28 :])
    assert not np.array_equal(explorer.last_image, first)
    explorer.show(label=1, sliders=[2.0, -2.0])  # one redraw for everything
    assert explorer.updates == 3 and explorer.noise()[0, :2].tolist() == [2.0, -2.0]
    z, labels = explorer.noise(), torch.tensor([1])
    expected = ((generator(z, labels) + 1) / 2)[0, 0].detach().clamp(0, 1) * 255
    assert np.array_equal(explorer.last_image, expected.round().to(torch.uint8).numpy())
    # The other numbers of z stay as drawn: moving a slider changes only its own number.
    assert torch.equal(explorer.noise()[0, 2:], explorer.base[0, 2:])

    vae = ConditionalVAE(latent_dim=3, hidden=(8,), num_classes=3).eval()
    vae_explorer = ConditionalExplorer(vae, names, sliders=3)
    expected = vae.decode(vae_explorer.noise(), torch.tensor([0]))[0, 0].detach() * 255
    assert np.array_equal(vae_explorer.last_image, expected.round().to(torch.uint8).numpy())


def test_conditional_explorer_refuses_what_it_cannot_draw(model):
    from course_utils.models.conditional import ConditionalGenerator

    with pytest.raises(ValueError, match="between 1 and the noise size 6"):
        ConditionalExplorer(
            ConditionalGenerator(noise_dim=6, num_classes=2, channels=4), ["a", "b"], sliders=7
        )
    with pytest.raises(ShapeError, match="noise_dim"):
        ConditionalExplorer(torch.nn.Linear(2, 2), ["a", "b"])
