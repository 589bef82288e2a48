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
    assert diffusion.ddim_timesteps(1000, 1) == [999]  # one step: a jump from the noise, not a step at t = 0
    assert diffusion.ddim_timesteps(1000, 2) == [999, 0]
    assert diffusion.ddim_timesteps(1000, 1000) == list(range(999, -1, -1))
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


# ----------------------------------------------------------------------------------------------------------------
# Gaussian data N(mean, s² I): every optimal network is known exactly
# ----------------------------------------------------------------------------------------------------------------

MEAN, SD = 1.0, 0.5


class GaussianDiffusion(nn.Module):
    """The exact ε-, x0- or v-predictor for data N(MEAN, SD² I): with a = √ᾱ_t, b = √(1 − ᾱ_t),
    E[x0 | x_t] = MEAN + a SD² (x_t − a MEAN) / (a² SD² + b²) and E[ε | x_t] = b (x_t − a MEAN) / (a² SD² + b²)."""

    def __init__(self, alpha_bars: torch.Tensor, prediction: str) -> None:
        super().__init__()
        self.register_buffer("alpha_bars", alpha_bars.double())
        self.prediction = prediction
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t):
        alpha_bar = self.alpha_bars[t].reshape(-1, *[1] * (x.dim() - 1))
        a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        centred = (x.double() - a * MEAN) / (alpha_bar * SD**2 + b**2)
        x0, eps = MEAN + a * SD**2 * centred, b * centred
        return diffusion.prediction_target(x0, eps, a, self.prediction).to(x.dtype)


class GaussianVelocity(nn.Module):
    """The exact flow-matching velocity E[x1 − x0 | x_t] for data x1 ~ N(MEAN, SD² I), x_t = (1 − t) x0 + t x1."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t):
        t = t.double().reshape(-1, *[1] * (x.dim() - 1))
        centred = (x.double() - t * MEAN) / ((1 - t) ** 2 + t**2 * SD**2)
        return (MEAN + t * SD**2 * centred - (1 - t) * centred).to(x.dtype)


def test_the_three_predictions_are_one_another_rewritten():
    alpha_bars = diffusion.linear_schedule().alpha_bars
    t = torch.tensor([0, 10, 500, 999])
    x0, eps = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    alpha_bar = alpha_bars[t].double().reshape(-1, 1)
    x_t = diffusion.q_sample(x0, t, eps, alpha_bars.double())
    for prediction in diffusion.PREDICTIONS:
        output = diffusion.prediction_target(x0, eps, alpha_bar.sqrt(), prediction)
        x0_hat, eps_hat = diffusion.x0_and_noise(output, x_t, alpha_bar, prediction)
        assert torch.allclose(x0_hat, x0) and torch.allclose(eps_hat, eps), prediction
    with pytest.raises(ValueError):
        diffusion.x0_and_noise(eps, x_t, alpha_bar, "score")


@pytest.mark.parametrize("prediction", diffusion.PREDICTIONS)
def test_ddim_with_the_exact_network_one_step_gives_the_mean_many_steps_the_data(prediction):
    """One DDIM step from pure noise lands every sample on (almost) the data's mean, whatever the network predicts:
    x̂0 = E[x0 | x_T] is all a single jump can give. More steps restore the spread."""
    schedule = diffusion.linear_schedule()
    model = GaussianDiffusion(schedule.alpha_bars, prediction)
    spread = []
    for steps in (1, 10, 100):
        samples = diffusion.ddim_sample(model, (4000, 2), schedule, steps, generator=torch.Generator().manual_seed(0),
                                        prediction=prediction)  # fmt: skip
        assert abs(float(samples.mean()) - MEAN) < 0.05
        spread.append(float(samples.std()))
    assert spread[0] < 0.05 * SD  # one step: the mean
    assert spread[0] < spread[1] < spread[2]
    assert abs(spread[2] - SD) < 0.03  # 100 steps: the data's spread


def test_one_euler_step_with_the_exact_velocity_gives_the_mean():
    noise = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    one = flow_matching.euler_sample(GaussianVelocity(), noise, 1)
    assert torch.allclose(one, torch.full_like(one, MEAN), atol=1e-5)
    many = flow_matching.euler_sample(GaussianVelocity(), noise, 100)
    assert abs(float(many.std()) - SD) < 0.03


def test_the_exact_network_reaches_the_gaussian_epsilon_floor():
    """The ε loss of the best network, step by step, is a² s² / (a² s² + b²): near 1 at small t, near 0 at large t."""
    alpha_bars = diffusion.linear_schedule().alpha_bars
    steps = [0, 5, 20, 100, 300, 999]
    x0 = MEAN + SD * torch.randn(20_000, 2, generator=torch.Generator().manual_seed(1))
    model = GaussianDiffusion(alpha_bars, "epsilon")
    losses = diffusion.epsilon_loss_by_step(
        model, x0, alpha_bars, steps, generator=torch.Generator().manual_seed(2)
    )
    floor = diffusion.gaussian_epsilon_floor(alpha_bars, SD**2)[steps]
    assert torch.allclose(losses, floor, rtol=0.05, atol=2e-3)
    assert float(floor[0]) > 0.9 and float(floor[-1]) < 1e-3


def test_training_keeps_the_moving_average_of_the_weights(one_thread):
    """history.averaged is decay · average + (1 − decay) · weights after each step, starting from the first step's."""
    torch.manual_seed(0)
    model = TimeMLP(hidden=(8,), time_dim=4)
    data = torch.randn(64, 2)
    seen = []  # the weights each step starts from: w_0 … w_{n-1}

    def loss_fn(m, x):
        seen.append(torch.cat([p.detach().flatten().clone() for p in m.parameters()]))
        return (m(x, torch.zeros(len(x), dtype=torch.long)) - x).pow(2).mean()

    decay = 0.6
    history = train_time_model(model, data, loss_fn, steps=5, batch_size=16, lr=0.05, show_progress=False,
                               average_decay=decay)  # fmt: skip
    weights = seen[1:] + [torch.cat([p.detach().flatten() for p in model.parameters()])]  # w_1 … w_n
    expected = weights[0]
    for w in weights[1:]:
        expected = decay * expected + (1 - decay) * w
    averaged = torch.cat([p.detach().flatten() for p in history.averaged.parameters()])
    assert torch.allclose(averaged, expected, atol=1e-6)
    assert not torch.allclose(averaged, weights[-1])
    assert not history.averaged.training
    plain = train_time_model(TimeMLP(hidden=(8,), time_dim=4), data, loss_fn, steps=1, batch_size=16,
                             show_progress=False)  # fmt: skip
    assert plain.averaged is None
    with pytest.raises(ValueError, match="average_decay"):
        train_time_model(model, data, loss_fn, steps=1, batch_size=16, show_progress=False, average_decay=1.0)


@pytest.mark.parametrize("steps", [2, 5])
def test_ddim_at_the_flows_noise_levels_is_the_flows_euler_sampler(steps):
    """With exact networks, DDIM at the steps whose signal-to-noise ratios are those of the flow's Euler times gives
    the flow's Euler samples: the two are one sampler, up to a rescaling of x (Kingma & Gao, 2023)."""
    schedule = diffusion.linear_schedule()
    times = diffusion.flow_timesteps(schedule.alpha_bars, steps)
    assert times[0] == 999 and len(times) == steps
    noise = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    ddim = diffusion.ddim_sample(GaussianDiffusion(schedule.alpha_bars, "v"), (500, 2), schedule, times,
                                 generator=torch.Generator().manual_seed(0), prediction="v")  # fmt: skip
    euler = flow_matching.euler_sample(GaussianVelocity(), noise, steps)
    assert float((ddim - euler).abs().max()) < 0.02 * SD
    with pytest.raises(ValueError, match="descending"):
        diffusion.ddim_sample(GaussianDiffusion(schedule.alpha_bars, "v"), (5, 2), schedule, [0, 999])


def test_clip_clamps_the_final_samples_and_clip_x0_every_estimate():
    schedule = diffusion.linear_schedule()
    model = GaussianDiffusion(schedule.alpha_bars, "epsilon")

    def sample(**clamping):
        return diffusion.ddim_sample(model, (500, 2), schedule, 10, generator=torch.Generator().manual_seed(0),
                                     **clamping)  # fmt: skip

    free = sample()  # around MEAN = 1: a range of (0, 0.5) clamps most estimates
    assert torch.equal(sample(clip=(0.0, 0.5)), free.clamp(0.0, 0.5))
    every_step = sample(clip_x0=(0.0, 0.5))
    assert float(every_step.min()) >= 0.0 and float(every_step.max()) <= 0.5
    assert float((every_step - free.clamp(0.0, 0.5)).abs().max()) > 0.05  # another path, not a clamped end
