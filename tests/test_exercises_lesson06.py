"""Lesson 06's checkers: the right answers pass, and each mistake they claim to diagnose gets its diagnosis."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from course_utils import check
from course_utils.exercises import ExerciseFailed
from course_utils.models import wgan

BCE = F.binary_cross_entropy_with_logits


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


def test_reference_answers_pass():
    assert check.wasserstein_1d(wgan.wasserstein_1d).passed
    assert check.critic_loss(wgan.critic_loss).passed
    assert check.wgan_generator_loss(wgan.generator_loss).passed
    assert check.gradient_penalty(wgan.gradient_penalty).passed


def test_other_right_answers_pass():
    def w1_numpy_style(a, b):  # sort with .sort(), then a float
        return float((a.sort().values - b.sort().values).abs().mean())

    def penalty_grad_outputs(
        critic, real, fake, weight=10.0
    ):  # grad_outputs instead of .sum(), α of shape (N, 1, ...)
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)))
        x_hat = (fake + alpha * (real - fake)).requires_grad_()
        scores = critic(x_hat)
        (grads,) = torch.autograd.grad(scores, x_hat, grad_outputs=torch.ones_like(scores), create_graph=True)
        return weight * ((grads.reshape(len(grads), -1).norm(dim=1) - 1) ** 2).mean()

    assert check.wasserstein_1d(w1_numpy_style).passed
    assert check.critic_loss(lambda r, f: torch.mean(f) - torch.mean(r)).passed
    assert check.wgan_generator_loss(lambda f: -torch.mean(f)).passed
    assert check.gradient_penalty(penalty_grad_outputs).passed


# ----------------------------------------------------------------------------------------------------------------
# 06.1
# ----------------------------------------------------------------------------------------------------------------


def _sorted(x):
    return torch.sort(x).values


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda a, b: (a - b).abs().mean(), "in the order they came"),
        (lambda a, b: (_sorted(a) - b).abs().mean(), "only a is sorted"),
        (lambda a, b: (_sorted(a) - torch.sort(b, descending=True).values).abs().mean(), "opposite orders"),
        (lambda a, b: (a.mean() - b.mean()).abs(), "difference of the two means"),
        (lambda a, b: (_sorted(a) - _sorted(b)).mean(), "difference of the two means"),
        (lambda a, b: ((_sorted(a) - _sorted(b)) ** 2).mean(), "W2²"),
        (lambda a, b: ((_sorted(a) - _sorted(b)) ** 2).mean().sqrt(), "this is W2"),
        (lambda a, b: (_sorted(a) - _sorted(b)).abs().sum(), "summed"),
        (lambda a, b: (_sorted(a) - _sorted(b)).abs().max(), "largest move"),
        (lambda a, b: (torch.sort(a) - torch.sort(b)).abs().mean(), "torch.sort returns a pair"),
        (lambda a, b: None, "return"),
        (lambda a, b: (_sorted(a) - _sorted(b)).abs(), "one number"),
    ],
    ids=[
        "unsorted",
        "one-sorted",
        "opposite",
        "means",
        "signed",
        "squared",
        "w2",
        "sum",
        "max",
        "sort-pair",
        "none",
        "no-mean",
    ],  # fmt: skip
)
def test_wasserstein_1d_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.wasserstein_1d, answer)


def test_wasserstein_1d_in_place_sort_is_named():
    def in_place(a, b):
        a.copy_(a.sort().values)
        b.copy_(b.sort().values)
        return (a - b).abs().mean()

    assert "changed its inputs" in feedback(check.wasserstein_1d, in_place)


def test_wasserstein_1d_reference_on_known_values():
    a = torch.tensor([0.0, 1.0, 3.0])
    assert float(wgan.wasserstein_1d(a, a + 2)) == pytest.approx(2.0)
    # moving {0, 1, 3} onto {1, 1, 1}: |0 − 1| + 0 + |3 − 1| over 3 grains
    assert float(wgan.wasserstein_1d(a, torch.ones(3))) == pytest.approx(1.0)
    with pytest.raises(Exception, match="same size"):
        wgan.wasserstein_1d(a, torch.ones(4))


# ----------------------------------------------------------------------------------------------------------------
# 06.2 / 06.3
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda r, f: r.mean() - f.mean(), "sign is flipped"),
        (lambda r, f: (f.mean() - r.mean()).abs(), "no absolute value"),
        (lambda r, f: (BCE(r, torch.ones_like(r)) + BCE(f, torch.zeros_like(f))) / 2, "lesson 04's"),
        (lambda r, f: torch.sigmoid(f).mean() - torch.sigmoid(r).mean(), "no sigmoid"),
        (lambda r, f: f.sum() - r.sum(), "summed"),
        (lambda r, f: (f.mean() - r.mean()) / 2, "no ½"),
        (lambda r, f: f.mean(), "only the fake half"),
        (lambda r, f: -r.mean(), "only the real half"),
        (lambda r, f: (f.mean() - r.mean()).item(), "cut off"),
        (lambda r, f: (f.mean() - r.mean()).detach(), "cut off"),
        (lambda r, f: f - r, "one number"),
        (lambda r, f: -(torch.log(r).mean() + torch.log(1 - f).mean()), "no log"),
    ],
    ids=[
        "swapped",
        "abs",
        "bce",
        "sigmoid",
        "sum",
        "half",
        "fake-only",
        "real-only",
        "item",
        "detach",
        "no-mean",
        "log",
    ],  # fmt: skip
)
def test_critic_loss_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.critic_loss, answer)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda f: f.mean(), "sign is flipped"),
        (lambda f: BCE(f, torch.ones_like(f)), "non-saturating"),
        (lambda f: -torch.sigmoid(f).mean(), "no sigmoid"),
        (lambda f: -f.sum(), "summed"),
        (lambda f: f.mean().abs(), "no absolute value"),
        (lambda f: -f.mean().item(), "cut off"),
        (lambda f: -f, "one number"),
    ],
    ids=["plus", "bce", "sigmoid", "sum", "abs", "item", "no-mean"],
)
def test_generator_loss_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.wgan_generator_loss, answer)


# ----------------------------------------------------------------------------------------------------------------
# 06.4
# ----------------------------------------------------------------------------------------------------------------


def _alpha(real):
    return torch.rand(len(real), *([1] * (real.dim() - 1)))


def make_penalty(alpha=_alpha, point="mix", create_graph=True, requires_grad=True, reduce_scores="sum",
                 norm="per_example", shape="square", reduction="mean", use_weight=True):  # fmt: skip
    """A gradient penalty with one deliberate mistake (the defaults give the right one)."""

    def penalty(critic, real, fake, weight=10.0):
        a = alpha(real)
        x_hat = {"mix": a * real + (1 - a) * fake, "real": real, "fake": fake}[point]
        if requires_grad:
            x_hat = x_hat.requires_grad_(True)
        scores = critic(x_hat)
        scores = (
            scores.sum() if reduce_scores == "sum" else scores.mean() if reduce_scores == "mean" else scores
        )
        (grads,) = torch.autograd.grad(scores, x_hat, create_graph=create_graph)
        if norm == "per_example":
            norms = grads.flatten(1).norm(2, dim=1)
        elif norm == "batch":
            norms = grads.norm(2)
        else:  # "dim1"
            norms = grads.norm(2, dim=1)
        terms = {
            "square": (norms - 1) ** 2,
            "none": norms - 1,
            "abs": (norms - 1).abs(),
            "squared_norm": (norms**2 - 1) ** 2,
            "one_sided": F.relu(norms - 1) ** 2,
        }[shape]
        total = terms.mean() if reduction == "mean" else terms.sum()
        return (
            weight if use_weight == "arg" or use_weight is True else 10.0 if use_weight == "fixed" else 1.0
        ) * total

    return penalty


@pytest.mark.parametrize(
    "options, diagnosis",
    [
        ({"alpha": lambda real: torch.rand(1)}, "same α"),
        ({"alpha": lambda real: torch.full((len(real),) + (1,) * (real.dim() - 1), 0.5)}, "same α"),
        ({"alpha": lambda real: torch.randn(len(real), *([1] * (real.dim() - 1)))}, "normal distribution"),
        ({"alpha": lambda real: torch.rand_like(real)}, "one α per NUMBER"),
        ({"alpha": lambda real: torch.rand(len(real), 1)}, "broadcast over each example"),
        ({"point": "real"}, "only called on the real examples"),
        ({"point": "fake"}, "only called on the fakes"),
        ({"requires_grad": False}, "must require gradients"),
        ({"create_graph": False}, "create_graph=True"),
        ({"reduce_scores": "none"}, "grad_outputs"),
        ({"reduce_scores": "mean"}, "MEAN of the scores"),
        ({"norm": "batch"}, "ONE norm of the gradient of the whole batch"),
        ({"norm": "dim1"}, "over the channels only"),
        ({"shape": "none"}, "square is missing"),
        ({"shape": "abs"}, "not the absolute value"),
        ({"shape": "squared_norm"}, "squared norm"),
        ({"reduction": "sum"}, "summed"),
        ({"use_weight": False}, "weight λ is missing"),
        ({"use_weight": "fixed"}, "fixed 10"),
    ],
    ids=[
        "one-alpha",
        "alpha-half",
        "alpha-normal",
        "alpha-per-number",
        "alpha-shape",
        "at-real",
        "at-fake",
        "no-requires-grad",
        "no-create-graph",
        "no-sum",
        "mean-scores",
        "batch-norm",
        "channel-norm",
        "no-square",
        "abs",
        "squared-norm",
        "sum",
        "no-weight",
        "fixed-weight",
    ],  # fmt: skip
)
def test_gradient_penalty_mistakes(options, diagnosis):
    assert diagnosis in feedback(check.gradient_penalty, make_penalty(**options))


def test_make_penalty_defaults_are_right():  # the mistakes above differ from the right answer in one option only
    assert check.gradient_penalty(make_penalty()).passed


def test_one_sided_penalty_passes_and_is_named():
    for answer in (make_penalty(shape="one_sided"), functools.partial(wgan.gradient_penalty, one_sided=True)):
        result = check.gradient_penalty(answer)
        assert result.passed
        assert "one-sided" in result.message and "Petzka" in result.message
    two_sided = check.gradient_penalty(make_penalty())
    assert "Petzka" not in two_sided.message  # the two-sided answer is not renamed


@pytest.mark.parametrize(
    "options, diagnosis",
    [
        ({"use_weight": "fixed"}, "fixed 10"),
        ({"create_graph": False}, "create_graph=True"),
        ({"alpha": lambda real: torch.rand(1)}, "same α"),
    ],
    ids=["fixed-weight", "no-create-graph", "one-alpha"],
)
def test_one_sided_penalty_mistakes_are_still_named(options, diagnosis):
    assert diagnosis in feedback(check.gradient_penalty, make_penalty(shape="one_sided", **options))


# ----------------------------------------------------------------------------------------------------------------
# The reference model
# ----------------------------------------------------------------------------------------------------------------


def test_gradient_penalty_is_zero_for_a_unit_slope_critic_and_reaches_the_weights():
    critic = torch.nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.0, 0.8]]))  # ‖∇f‖ = 1 everywhere
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    assert float(wgan.gradient_penalty(critic, real, fake).detach()) == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic.weight.mul_(2)  # ‖∇f‖ = 2: penalty λ (2 − 1)² = 10, gradient 2λ(2 − 1) w/‖w‖ per weight
    penalty = wgan.gradient_penalty(critic, real, fake)
    assert float(penalty.detach()) == pytest.approx(10.0)
    penalty.backward()
    assert torch.allclose(critic.weight.grad, 20 * torch.tensor([[0.6, 0.0, 0.8]]))


def test_one_sided_penalty_ignores_slopes_below_one():
    critic = torch.nn.Linear(3, 1)
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.3, 0.0, 0.4]]))  # ‖∇f‖ = 0.5 everywhere
    assert float(wgan.gradient_penalty(critic, real, fake).detach()) == pytest.approx(2.5)  # λ (0.5 − 1)²
    assert float(wgan.gradient_penalty(critic, real, fake, one_sided=True).detach()) == pytest.approx(0.0)
    with torch.no_grad():
        critic.weight.mul_(4)  # ‖∇f‖ = 2: both forms give λ (2 − 1)²
    assert float(wgan.gradient_penalty(critic, real, fake, one_sided=True).detach()) == pytest.approx(10.0)


def test_train_step_runs_n_critic_steps_and_clips():
    torch.manual_seed(0)
    generator, critic = wgan.gan.point_gan(noise_dim=4, width=16)
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-3)
    c_opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    calls = []
    c_opt.step = (lambda step: lambda *a, **k: (calls.append(1), step(*a, **k))[1])(c_opt.step)
    out = wgan.train_step(generator, critic, torch.randn(5 * 8, 2), g_opt, c_opt, n_critic=5, clip=0.01)
    assert len(calls) == 5
    assert set(out) == {"critic_loss", "wasserstein", "penalty", "g_loss"}
    assert max(float(p.detach().abs().max()) for p in critic.parameters()) <= 0.01 + 1e-9
    with pytest.raises(Exception, match="n_critic"):
        wgan.train_step(generator, critic, torch.randn(7, 2), g_opt, c_opt, n_critic=5)


def test_train_wgan_learns_to_move_a_gaussian():
    torch.manual_seed(0)
    data = torch.randn(2048, 2) * 0.1 + torch.tensor([2.0, -1.0])
    generator, critic = wgan.gan.point_gan(noise_dim=2, width=32)
    target = torch.tensor([2.0, -1.0])
    start = float((generator.generate(1000).mean(0) - target).norm())
    # β₁ = 0.5 (not the default 0): on this near-point target the momentum-free default circles the target
    # for hundreds of steps; here the test is that the loop and the losses move the generator at all.
    run = wgan.train_wgan(generator, critic, data, steps=100, batch_size=32, lr=2e-3, betas=(0.5, 0.9),
                          show_progress=False)  # fmt: skip
    assert run.steps == 100 and "wasserstein" in run.history
    end = float((generator.generate(1000).mean(0) - target).norm())
    assert end < 0.4 * start, (start, end)


def test_spectral_normalize_bounds_each_layer():
    critic = wgan.point_critic(width=16, spectral=True)
    critic.train()
    for _ in range(30):  # power iterations converge
        critic(torch.randn(4, 2))
    critic.eval()
    for layer in critic.modules():
        if isinstance(layer, torch.nn.Linear):
            assert float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2)) == pytest.approx(
                1.0, abs=0.05
            )
