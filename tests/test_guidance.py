"""Lesson 10's package: the conversions, DDIM as Euler, the ODE likelihood, guidance and the conditional U-Net."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils.errors import ShapeError
from course_utils.models import diffusion, guidance
from course_utils.models.time_networks import SmallUNet, TimeMLP
from course_utils.toy_data import ring_centers
from course_utils.training import Budget, Report


def test_the_four_readings_agree_with_tweedie_and_with_lesson_09s_conversions():
    gen = torch.Generator().manual_seed(0)
    eps, x_t = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen)
    alpha_bar = torch.rand(5, 1, generator=gen) * 0.9 + 0.05
    out = guidance.from_epsilon(eps, x_t, alpha_bar)
    tweedie = (x_t + (1 - alpha_bar) * out["score"]) / alpha_bar.sqrt()
    assert torch.allclose(out["x0"], tweedie, atol=1e-5)
    x0_from_v, eps_from_v = diffusion.x0_and_noise(out["v"], x_t, alpha_bar, "v")
    assert torch.allclose(x0_from_v, out["x0"], atol=1e-4) and torch.allclose(eps_from_v, eps, atol=1e-4)


def test_euler_on_the_flow_visits_ddims_points():
    """The lesson's claim, on an untrained network: 7 DDIM steps and 7 Euler steps after the conversion agree."""
    torch.manual_seed(0)
    model = TimeMLP(dim=2, hidden=(16, 16), time_dim=8).eval()
    schedule = diffusion.linear_schedule(100)
    alpha_bars = schedule.alpha_bars
    times = diffusion.ddim_timesteps(100, 7)
    ddim = diffusion.ddim_sample(model, (50, 2), schedule, times, generator=torch.Generator().manual_seed(3))

    def tau_of(t):
        a, b = alpha_bars[t].sqrt(), (1 - alpha_bars[t]).sqrt()
        return float(a / (a + b))

    noise = torch.randn(50, 2, generator=torch.Generator().manual_seed(3))
    x = noise / (alpha_bars[times[0]].sqrt() + (1 - alpha_bars[times[0]]).sqrt())
    with torch.no_grad():
        for i, t in enumerate(times):
            ab = alpha_bars[t]

            def velocity(x_tau, _times, ab=ab, t=t):
                x_t = x_tau * (ab.sqrt() + (1 - ab).sqrt())
                return guidance.diffusion_to_flow(model(x_t, torch.full((len(x_t),), t)), x_t, ab)[2]

            x = guidance.euler_step(
                velocity, x, tau_of(t), tau_of(times[i + 1]) if i + 1 < len(times) else 1.0
            )
    assert torch.allclose(x, ddim, atol=1e-4), (x - ddim).abs().max()


class GaussianFlow(nn.Module):
    """The exact velocity of the straight-line flow from N(0, I) to N(0, s² I): x (τ s² − (1 − τ)) / σ_τ²."""

    def __init__(self, s: float) -> None:
        super().__init__()
        self.s = s
        self.unused = nn.Parameter(torch.zeros(()))  # so that the module has a device

    def forward(self, x, tau):
        tau = tau[:, None]
        variance = tau**2 * self.s**2 + (1 - tau) ** 2
        return x * (tau * self.s**2 - (1 - tau)) / variance


def test_the_ode_likelihood_of_an_exact_flow_is_the_true_density():
    s = 0.5
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(0)) * s
    log_p, z = guidance.ode_log_likelihood(GaussianFlow(s), x, steps=100)
    true = -0.5 * (x / s).pow(2).sum(dim=1) - 2 * math.log(s) - math.log(2 * math.pi)
    assert torch.allclose(log_p, true, atol=1e-3), (log_p - true).abs().max()
    assert torch.allclose(z, x / s, atol=1e-3)  # the flow maps each point back to its noise


def test_hutchinsons_estimate_is_unbiased_and_exact_divergence_is_the_trace():
    matrix = torch.tensor([[1.5, 2.0], [-1.0, 0.25]])

    def linear(x, tau):
        return x @ matrix.T

    x, tau = torch.randn(400, 2), torch.zeros(400)
    assert torch.allclose(guidance.exact_divergence(linear, x, tau), torch.full((400,), 1.75))
    estimate = guidance.hutchinson_divergence(
        linear, x, tau, probes=50, generator=torch.Generator().manual_seed(0)
    )
    assert abs(float(estimate.mean()) - 1.75) < 0.05
    one = guidance.hutchinson_divergence(linear, x, tau, probes=1, generator=torch.Generator().manual_seed(0))
    assert float(one.std()) > 0.5  # one probe is noisy point by point


def test_ring_log_density_is_the_mixture():
    point = torch.tensor([[2.0, 0.0]])  # on the first centre; the others are far
    expected = -math.log(2 * math.pi * 0.05**2) - math.log(8)
    assert math.isclose(float(guidance.ring_log_density(point, ring_centers(), 0.05)), expected, rel_tol=1e-5)


def test_drop_labels_and_the_guided_prediction():
    torch.manual_seed(0)
    labels = torch.arange(10).repeat(1000)
    dropped = guidance.drop_labels(labels, 0.3, 10)
    assert abs(float((dropped == 10).float().mean()) - 0.3) < 0.02
    assert torch.equal(dropped[dropped != 10], labels[dropped != 10])
    cond, uncond = torch.randn(4), torch.randn(4)
    assert torch.equal(guidance.guided_prediction(cond, uncond, 0.0), cond)
    assert torch.allclose(guidance.guided_prediction(cond, uncond, 2.0), cond + 2 * (cond - uncond))


def test_choose_guidance_scale():
    curve = [{"w": 0, "accuracy": 0.9, "recall": 0.6}, {"w": 1, "accuracy": 0.97, "recall": 0.45},
             {"w": 2, "accuracy": 0.98, "recall": 0.3}]  # fmt: skip
    assert guidance.choose_guidance_scale(curve, 0.95) == 1
    assert guidance.choose_guidance_scale(curve, 0.5) == 0
    assert guidance.choose_guidance_scale(curve, 0.99) is None


def test_a_conditional_unet_reads_labels_and_says_what_is_wrong():
    torch.manual_seed(0)
    model = SmallUNet(channels=(8, 8, 8), time_dim=8, time_scale=1000.0, num_classes=10).eval()
    x, t = torch.randn(3, 1, 28, 28), torch.rand(3)
    with torch.no_grad():
        nn.init.normal_(model.conv_out.weight)  # the output layer starts at 0: make the labels visible
        no_label = model(x, t)
        assert torch.equal(no_label, model(x, t, torch.full((3,), 10)))  # None means "no label" for all
        assert not torch.allclose(no_label, model(x, t, torch.tensor([0, 1, 2])))
    with pytest.raises(ValueError, match="0 … 10"):
        model(x, t, torch.tensor([0, 11, 2]))
    with pytest.raises(ShapeError, match="whole numbers, one per example"):
        model(x, t, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="num_classes=10"):
        SmallUNet(channels=(8, 8, 8), time_dim=8)(x, t, torch.tensor([0, 1, 2]))
    assert (
        "num_classes" not in SmallUNet(channels=(8, 8, 8), time_dim=8).config
    )  # old checkpoints load as before


def test_guided_samplers_reduce_to_plain_euler():
    torch.manual_seed(0)
    model = SmallUNet(channels=(8, 8, 8), time_dim=8, time_scale=1000.0, num_classes=10).eval()
    nn.init.normal_(model.conv_out.weight, std=0.1)
    labels = torch.tensor([0, 3, 7, 9])
    plain = guidance.cfg_sample(model, labels, 0.0, steps=3, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        x = noise
        for i in range(3):
            x = x + model(x, torch.full((4,), i / 3), labels) / 3
    assert torch.allclose(plain, x, atol=1e-6)
    classifier = guidance.NoiseAwareClassifier(channels=(8, 8)).eval()
    unguided = guidance.classifier_guided_sample(model, classifier, labels, 0.0, steps=3,
                                                 generator=torch.Generator().manual_seed(1))  # fmt: skip
    guided = guidance.classifier_guided_sample(model, classifier, labels, 5.0, steps=3,
                                               generator=torch.Generator().manual_seed(1))  # fmt: skip
    with torch.no_grad():
        x = noise
        for i in range(3):
            x = x + model(x, torch.full((4,), i / 3)) / 3
    assert torch.allclose(unguided, x, atol=1e-6) and not torch.allclose(guided, x, atol=1e-3)


def test_training_the_guided_flow_and_the_classifiers_runs_and_learns_something():
    torch.manual_seed(0)
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    labels = torch.arange(64) % 10
    model = SmallUNet(channels=(8, 8, 8), time_dim=8, time_scale=1000.0, num_classes=10)
    history = guidance.train_guided_flow(model, images, labels, Budget(steps=4), batch_size=16,
                                         report=Report(show_progress=False, log_every=1))  # fmt: skip
    assert history.steps_done == 4 and history.averaged is not None and len(history["loss"]) == 4
    half = labels % 2  # two classes told apart by brightness: a few steps learn them
    bright = (half.float() * 1.6 - 0.8)[:, None, None, None] + 0.1 * torch.randn(64, 1, 28, 28)
    classifier = guidance.NoiseAwareClassifier(num_classes=2, channels=(8, 8))
    guidance.train_noise_aware_classifier(classifier, bright, half, Budget(steps=60), batch_size=16, lr=3e-3,
                                          clean=True, report=Report(show_progress=False))  # fmt: skip
    assert guidance.noisy_accuracy(classifier, bright, half, 1.0, clean=True) > 0.9
