"""Lesson 04's reference GAN: shapes, the losses, one step, the loop, saving and loading, and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import CheckpointError, ShapeError, load_checkpoint, save_checkpoint
from course_utils.models.gan import (
    Discriminator,
    Generator,
    discriminator_loss,
    generator_loss,
    image_gan,
    point_gan,
    train_gan,
    train_step,
)
from course_utils.toy_data import ring_of_gaussians


def small_image_gan():
    return image_gan(noise_dim=8, g_hidden=(16,), d_hidden=(16,))


def test_shapes_and_ranges():
    torch.manual_seed(0)
    generator, discriminator = small_image_gan()
    z = generator.sample_noise(5)
    images = generator(z)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1  # tanh output: the [-1, 1] range of the scaled data
    assert discriminator(images).shape == (5, 1)
    g2, d2 = point_gan(noise_dim=3, width=8)
    assert g2(torch.randn(4, 3)).shape == (4, 2) and d2(torch.randn(4, 2)).shape == (4, 1)


def test_losses_match_their_definitions():
    real, fake = torch.tensor([[2.0], [0.0]]), torch.tensor([[-1.0], [3.0]])
    p_real, p_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(torch.log(p_real).mean() + torch.log(1 - p_fake).mean()) / 2
    assert torch.isclose(discriminator_loss(real, fake), expected_d)
    assert torch.isclose(generator_loss(fake), -torch.log(p_fake).mean())
    # A perfect discriminator has a loss near 0; one that cannot tell has log 2.
    assert discriminator_loss(torch.full((3, 1), 30.0), torch.full((3, 1), -30.0)) < 1e-6
    assert torch.isclose(discriminator_loss(torch.zeros(3, 1), torch.zeros(3, 1)), torch.tensor(math.log(2)))


def test_train_step_moves_each_network_in_its_own_direction():
    torch.manual_seed(0)
    generator, discriminator = point_gan(noise_dim=2, width=16)
    real = ring_of_gaussians(64, seed=0)
    g_opt = torch.optim.SGD(generator.parameters(), lr=0.05)
    d_opt = torch.optim.SGD(discriminator.parameters(), lr=0.05)
    z = torch.randn(64, 2)
    with torch.no_grad():
        before = discriminator_loss(discriminator(real), discriminator(generator(z)))
    g_before = [p.clone() for p in generator.parameters()]
    numbers = train_step(generator, discriminator, real, g_opt, d_opt)
    assert set(numbers) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(isinstance(v, float) for v in numbers.values())
    with torch.no_grad():
        after = discriminator_loss(discriminator(real), discriminator(generator(z)))
    assert not all(torch.equal(a, b) for a, b in zip(g_before, generator.parameters()))
    assert after < before + 0.05  # D got better (G's small move cannot undo that by much)


def test_training_on_the_ring_moves_the_samples_out_to_the_ring():
    torch.manual_seed(0)
    generator, discriminator = point_gan(noise_dim=8, width=64)
    data = ring_of_gaussians(2000, seed=0)  # 8 modes on a circle of radius 2
    fixed = torch.randn(16, 8)
    radius_before = generator.generate(1000).norm(dim=1).mean()
    run = train_gan(generator, discriminator, data, steps=300, batch_size=256, lr=1e-3, fixed_noise=fixed,
                    snapshot_every=100, log_every=100, show_progress=False)  # fmt: skip
    assert [s for s, _ in run.snapshots] == [0, 100, 200, 300]
    assert run.snapshots[-1][1].shape == (16, 2)
    assert set(run.history.names()) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert run.history.steps["d_loss"] == [100, 200, 300]
    radius_after = generator.generate(1000).norm(dim=1).mean()
    assert radius_before < 0.5 and 1.0 < radius_after < 3.0  # from a blob at the centre out towards the ring
    assert run.history.last("d_real") > run.history.last("d_fake")  # D still tells real from fake a little


def test_the_averaged_generator_is_the_moving_average_of_the_weights():
    """A step that sets every weight of G to the step number: with decay 0.5 the average after steps 1, 2, 3 is
    1 (the first update copies), then 0.5·1 + 0.5·2 = 1.5, then 0.5·1.5 + 0.5·3 = 2.25; G itself stays at 3."""
    generator, discriminator = point_gan(noise_dim=2, width=4)
    calls = []

    def set_weights(g, d, real, g_opt, d_opt):
        calls.append(len(calls) + 1)
        with torch.no_grad():
            for parameter in g.parameters():
                parameter.fill_(float(calls[-1]))
        return {"d_loss": 0.0}

    run = train_gan(generator, discriminator, torch.randn(64, 2), steps=3, batch_size=16, step_fn=set_weights,
                    average_decay=0.5, show_progress=False)  # fmt: skip
    assert all(torch.all(p == 3.0) for p in generator.parameters())
    assert all(torch.allclose(p, torch.tensor(2.25)) for p in run.averaged.parameters())
    assert not run.averaged.training and run.averaged.generate(5).shape == (5, 2)
    assert train_gan(generator, discriminator, torch.randn(64, 2), steps=1, batch_size=16, step_fn=set_weights,
                     show_progress=False).averaged is None  # fmt: skip
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_gan(
            generator, discriminator, torch.randn(64, 2), steps=1, average_decay=1.5, show_progress=False
        )


def test_train_gan_rejects_data_of_another_shape():
    generator, discriminator = point_gan(noise_dim=2, width=8)
    with pytest.raises(ShapeError, match=r"examples of shape \(1, 28, 28\).*generator makes \(2,\)"):
        train_gan(generator, discriminator, torch.zeros(300, 1, 28, 28), steps=1, show_progress=False)


def test_wrong_noise_size_names_the_expected_size():
    generator, _ = small_image_gan()
    with pytest.raises(ShapeError, match=r"noise of shape N×8.*got \(4, 64\)"):
        generator(torch.randn(4, 64))
    with pytest.raises(ShapeError, match="N×8"):
        generator(torch.randn(8))  # one vector without its batch dimension
    _, discriminator = small_image_gan()
    with pytest.raises(ShapeError, match="N×1×28×28"):
        discriminator(torch.zeros(3, 784))


def test_saved_generator_loads_into_a_fresh_object_without_the_discriminator(tmp_path):
    torch.manual_seed(0)
    generator, _ = small_image_gan()
    path = save_checkpoint(generator, tmp_path / "generator.pt", steps=0)
    rebuilt, meta = load_checkpoint(path)  # no model given: rebuilt from the class and config stored inside
    assert isinstance(rebuilt, Generator) and meta["config"]["noise_dim"] == 8
    z = torch.randn(6, 8)
    generator.eval()
    assert torch.allclose(rebuilt(z), generator(z))
    a, b = rebuilt.generate(6), rebuilt.generate(6)
    assert a.shape == (6, 1, 28, 28) and not torch.allclose(a, b)  # new noise, new examples


def test_loading_into_the_wrong_architecture_or_from_a_non_checkpoint_is_explained(tmp_path):
    generator, _ = small_image_gan()
    path = save_checkpoint(generator, tmp_path / "generator.pt")
    with pytest.raises(CheckpointError, match="different shapes"):
        load_checkpoint(path, model=Generator(noise_dim=16, hidden=(16,)))
    with pytest.raises(CheckpointError, match="not in the model"):
        load_checkpoint(path, model=Discriminator(hidden=(16,)))
    junk = tmp_path / "picture.pt"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))  # an image saved under a .pt name
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(junk, model=Generator(noise_dim=8, hidden=(16,)))
    plain = tmp_path / "state_dict.pt"
    torch.save(generator.state_dict(), plain)  # a bare state_dict, not a course checkpoint
    with pytest.raises(CheckpointError, match="not a course checkpoint"):
        load_checkpoint(plain)


def test_bad_constructor_argument_is_explained():
    with pytest.raises(ValueError, match="'tanh' or 'linear'"):
        Generator(output="sigmoid")


@pytest.mark.parametrize("text", ["these are my notes", "step,loss\n1,0.5\n", "hello"])
def test_a_text_file_is_not_a_checkpoint(tmp_path, text):
    junk = tmp_path / "notes.pt"
    junk.write_text(text)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(junk, model=Generator(noise_dim=8, hidden=(16,)))
