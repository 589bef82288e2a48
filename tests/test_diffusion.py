"""Lesson 09's models: the schedule, the samplers with exactly known optimal networks, the networks' shapes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils import ShapeError, load_checkpoint, save_checkpoint
from course_utils.models import diffusion, flow_matching
from course_utils.models.time_networks import SmallUNet, TimeMLP, time_embedding, train_time_model
from course_utils.toy_data import ring_of_gaussians


def test_linear_schedule_matches_ho_et_al():
    schedule = diffusion.linear_schedule()
    assert schedule.steps == 1000
    assert math.isclose(float(schedule.betas[0]), 1e-4, rel_tol=1e-5)
    assert math.isclose(float(schedule.betas[-1]), 0.02, rel_tol=1e-5)
    alpha_bars = schedule.alpha_bars
    assert bool((alpha_bars[1:] < alpha_bars[:-1]).all())
    assert 1e-5 < float(alpha_bars[-1]) < 1e-4  # x_T is (almost) pure noise: ᾱ_T ≈ 4e-5
    with pytest.raises(ValueError):
        diffusion.linear_schedule(1)


def test_q_sample_has_the_closed_form_mean_and_variance():
    alpha_bars = diffusion.linear_schedule().alpha_bars
    x0 = torch.full((20_000, 1), 2.0)
    t = torch.full((20_000,), 300)
    x_t = diffusion.q_sample(x0, t, torch.randn_like(x0), alpha_bars)
    a = float(alpha_bars[300])
    assert abs(float(x_t.mean()) - 2 * math.sqrt(a)) < 0.03
    assert abs(float(x_t.var()) - (1 - a)) < 0.03


class PointMassNoise(nn.Module):
    """The exact ε-predictor for data that is always 0: x_t = √(1 − ᾱ_t) ε, so ε = x_t / √(1 − ᾱ_t)."""

    def __init__(self, alpha_bars: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("alpha_bars", alpha_bars)
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t):
        return x / (1 - self.alpha_bars[t]).sqrt().reshape(-1, *[1] * (x.dim() - 1))


def test_samplers_with_the_exact_network_land_on_the_data():
    schedule = diffusion.linear_schedule()
    model = PointMassNoise(schedule.alpha_bars)
    ddim = diffusion.ddim_sample(
        model, (100, 2), schedule, steps=10, generator=torch.Generator().manual_seed(0)
    )
    assert float(ddim.abs().max()) < 1e-4  # deterministic: exactly x̂_0 = 0 at the end
    ddpm, path = diffusion.ddpm_sample(model, (100, 2), schedule, keep_path=True)
    assert len(path) == schedule.steps + 1
    assert float(ddpm.abs().max()) < 0.05  # the last steps add noise of size √β ≈ 0.01


def test_ddim_timesteps():
    assert diffusion.ddim_timesteps(1000, 1) == [0]
    assert diffusion.ddim_timesteps(1000, 2) == [999, 0]
    steps = diffusion.ddim_timesteps(1000, 50)
    assert len(steps) == 50 and steps[0] == 999 and steps[-1] == 0 and steps == sorted(steps, reverse=True)
    with pytest.raises(ValueError):
        diffusion.ddim_timesteps(1000, 0)


class PointMassVelocity(nn.Module):
    """The exact velocity for data that is always c: (c − x) / (1 − t)."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t):
        return (self.c - x) / (1 - t).reshape(-1, *[1] * (x.dim() - 1))


@pytest.mark.parametrize("steps", [1, 3, 20])
def test_euler_with_the_exact_velocity_lands_on_the_data(steps):
    samples, path = flow_matching.sample(PointMassVelocity(1.5), (50, 2), steps=steps, keep_path=True)
    assert torch.allclose(samples, torch.full((50, 2), 1.5), atol=1e-5)
    assert len(path) == steps + 1
    direct = flow_matching.euler_sample(PointMassVelocity(1.5), path[0], steps)
    assert torch.allclose(direct, samples, atol=1e-5)


def test_time_embedding_and_network_shapes():
    emb = time_embedding(torch.tensor([0.0, 5.0, 999.0]), 32)
    assert emb.shape == (3, 32) and float(emb.abs().max()) <= 1.0
    mlp = TimeMLP()
    assert mlp(torch.randn(4, 2), torch.tensor([0, 1, 2, 3])).shape == (4, 2)
    unet = SmallUNet(channels=(8, 16, 16), time_dim=16)
    out = unet(torch.randn(3, 1, 28, 28), torch.tensor([0, 500, 999]))
    assert out.shape == (3, 1, 28, 28)
    with pytest.raises(ShapeError, match="one time per example"):
        unet(torch.randn(3, 1, 28, 28), torch.tensor(5))
    with pytest.raises(ShapeError):
        mlp(torch.randn(4, 3), torch.zeros(4))


def test_unet_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    unet = SmallUNet(channels=(8, 16, 16), time_dim=16, time_scale=1000.0)
    path = save_checkpoint(unet, tmp_path / "flow.pt", kind="flow_matching")
    loaded, meta = load_checkpoint(path)
    x, t = torch.randn(2, 1, 28, 28), torch.rand(2)
    assert meta["kind"] == "flow_matching"
    assert torch.allclose(loaded(x, t), unet.eval()(x, t))


def test_both_losses_train_a_ring_model(one_thread):
    data = ring_of_gaussians(2048, seed=0)
    alpha_bars = diffusion.linear_schedule().alpha_bars
    for loss_fn, scale in ((lambda m, x: diffusion.epsilon_loss(m, x, alpha_bars), 1.0),
                           (flow_matching.flow_matching_loss, 1000.0)):  # fmt: skip
        torch.manual_seed(0)
        model = TimeMLP(hidden=(64, 64), time_scale=scale)
        history = train_time_model(
            model, data, loss_fn, steps=300, batch_size=256, lr=2e-3, show_progress=False
        )
        losses = history["loss"]
        # 0.9, not less: the flow loss cannot fall far, since many straight lines cross each x_t
        assert sum(losses[-5:]) / 5 < 0.9 * losses[0]
