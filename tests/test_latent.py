"""Lesson 11's package: the two stages of a latent generative model, the whole model, and its league row."""

from __future__ import annotations

import pytest
import torch

from course_utils.checkpoints import load_checkpoint, save_checkpoint
from course_utils.errors import ShapeError
from course_utils.models import flow_matching, latent
from course_utils.training import Budget, Report


def test_autoencoder_shapes_and_range():
    torch.manual_seed(0)
    model = latent.LatentAutoencoder(latent_channels=3).eval()
    images = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        mean, log_var = model.encode(images)
        decoded = model.decode(mean)
    assert mean.shape == log_var.shape == (5, 3, 7, 7)
    assert decoded.shape == (5, 1, 28, 28) and 0 <= float(decoded.min()) and float(decoded.max()) <= 1
    with torch.no_grad():
        reconstruction, mean_again, _ = model(images)
        again = model.reconstruct(images)
    assert reconstruction.shape == images.shape and torch.equal(mean_again, mean)
    assert torch.equal(again, decoded)


def test_shape_mistakes_are_named():
    model = latent.LatentAutoencoder(latent_channels=2)
    with pytest.raises(ShapeError, match="decode"):
        model.decode(torch.randn(2, 4, 7, 7))
    with pytest.raises(ShapeError, match="encode"):
        model.encode(torch.rand(2, 28, 28))
    net = latent.LatentVelocityNet(latent_channels=2, width=16, blocks=1)
    with pytest.raises(ShapeError, match="one time per example"):
        net(torch.randn(3, 2, 7, 7), torch.tensor(0.5))
    with pytest.raises(ValueError, match="num_classes=10"):
        net(torch.randn(3, 2, 7, 7), torch.rand(3), torch.zeros(3, dtype=torch.long))


def test_the_light_kl_autoencoder_learns_to_reconstruct():
    """A few hundred steps on 256 images cut the squared error per image well below what a blank image gives."""
    torch.manual_seed(0)
    images = (torch.rand(256, 1, 28, 28) > 0.7).float() * torch.linspace(0, 1, 28)
    model = latent.LatentAutoencoder(latent_channels=2, channels=(8, 16))
    before = float((latent.reconstruct_dataset(model, images) - images).pow(2).flatten(1).sum(1).mean())
    history = latent.train_latent_autoencoder(
        model, images, Budget(steps=300), batch_size=32, report=Report(show_progress=False)
    )
    after = float((latent.reconstruct_dataset(model, images) - images).pow(2).flatten(1).sum(1).mean())
    assert history.steps_done == 300 and after < 0.6 * before, (before, after)


def test_latent_scale_gives_unit_spread_and_the_flow_loss_matches_lesson_09s():
    torch.manual_seed(0)
    z = 3 + 7 * torch.randn(100, 2, 7, 7)
    assert abs(float((z * latent.latent_scale(z)).std()) - 1) < 1e-5
    net = latent.LatentVelocityNet(latent_channels=1, width=16, blocks=1)
    encode = torch.nn.AvgPool2d(4)
    images = torch.rand(8, 1, 28, 28)
    torch.manual_seed(1)
    ours = latent.latent_flow_loss(net, encode, images, 0.5)
    torch.manual_seed(1)
    lesson_09 = flow_matching.flow_matching_loss(net, 0.5 * encode(images))
    assert torch.allclose(ours, lesson_09)


def test_generate_and_the_models_sampler_agree():
    """Exercise 11.3's answer key and ``LatentFlow.sample`` make the same images from the same noise."""
    torch.manual_seed(0)
    model = latent.LatentFlow({"latent_channels": 2, "channels": [8, 16]}, {"latent_channels": 2, "width": 16,
                              "blocks": 1}, scale=0.7).eval()  # fmt: skip
    torch.nn.init.normal_(model.velocity.layer_out.weight, std=0.1)
    by_key = latent.generate(model.velocity, model.autoencoder.decode, 0.7, 6, (2, 7, 7), steps=5,
                             generator=torch.Generator().manual_seed(4))  # fmt: skip
    by_model = model.sample(6, steps=5, generator=torch.Generator().manual_seed(4), batch_size=4)
    assert torch.allclose(by_key, by_model, atol=1e-6)


def test_guided_sampling_follows_lesson_10_and_checks_labels():
    torch.manual_seed(0)
    model = latent.LatentFlow({"latent_channels": 2, "channels": [8, 16]},
                              {"latent_channels": 2, "width": 16, "blocks": 1, "num_classes": 10}, scale=1.0).eval()  # fmt: skip
    torch.nn.init.normal_(model.velocity.layer_out.weight, std=0.1)
    labels = torch.arange(4)
    plain = model.sample(4, steps=3, labels=labels, w=0.0, generator=torch.Generator().manual_seed(1))
    guided = model.sample(4, steps=3, labels=labels, w=2.0, generator=torch.Generator().manual_seed(1))
    assert plain.shape == guided.shape == (4, 1, 28, 28) and not torch.allclose(plain, guided)
    with pytest.raises(ShapeError, match="one label per image"):
        model.sample(4, labels=torch.arange(3))


def test_the_whole_model_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = latent.LatentFlow({"latent_channels": 2, "channels": [8, 16]}, {"latent_channels": 2, "width": 16,
                              "blocks": 1}, scale=0.37).eval()  # fmt: skip
    path = save_checkpoint(model, tmp_path / "latent.pt", steps=5)
    loaded, meta = load_checkpoint(path)
    assert (
        isinstance(loaded, latent.LatentFlow) and loaded.scale == pytest.approx(0.37) and meta["steps"] == 5
    )
    noise = torch.Generator().manual_seed(2)
    again = torch.Generator().manual_seed(2)
    assert torch.equal(model.sample(3, steps=2, generator=noise), loaded.sample(3, steps=2, generator=again))


def test_choose_latent_channels_reads_a_curve():
    curve = [
        {"channels": 8, "frechet": 30.0},
        {"channels": 2, "frechet": 33.0},
        {"channels": 4, "frechet": 29.0},
    ]
    assert latent.choose_latent_channels(curve, 0.0) == 4
    assert latent.choose_latent_channels(curve, 0.15) == 2
