"""Lesson 09's checkers: the right answers pass, and each mistake they claim to diagnose gets its diagnosis."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils import check
from course_utils.exercises import ExerciseFailed
from course_utils.models import diffusion, flow_matching


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


def per_example(values, like):
    return values.reshape(-1, *[1] * (like.dim() - 1))


def test_reference_answers_pass():
    assert check.q_sample(diffusion.q_sample).passed
    assert check.epsilon_loss(diffusion.epsilon_loss).passed
    assert check.ancestral_step(diffusion.ancestral_step).passed
    assert check.flow_matching_loss(flow_matching.flow_matching_loss).passed
    assert check.euler_sample(flow_matching.euler_sample).passed


def test_other_right_answers_pass():
    def q_sample_view(x0, t, noise, alpha_bars):  # written with a loop over the example's dimensions
        a = alpha_bars[t]
        while a.dim() < x0.dim():
            a = a.unsqueeze(-1)
        return torch.sqrt(a) * x0 + torch.sqrt(1 - a) * noise

    def epsilon_loss_by_hand(model, x0, alpha_bars):  # noise first, then t; the squared error written out
        noise = torch.randn(x0.shape)
        t = torch.randint(len(alpha_bars), (x0.shape[0],))
        x_t = q_sample_view(x0, t, noise, alpha_bars)
        return ((model(x_t, t) - noise) ** 2).mean()

    def euler_with_linspace(model, x, steps):
        for t in torch.linspace(0, 1, steps + 1)[:-1]:
            x = x + model(x, t.repeat(len(x))) / steps
        return x

    assert check.q_sample(q_sample_view).passed
    assert check.epsilon_loss(epsilon_loss_by_hand).passed
    assert check.euler_sample(euler_with_linspace).passed


def _squared_norm_per_example(prediction, target):
    """The papers' form of the loss: ‖ε − ε_θ‖² per example (summed over its coordinates), averaged over the batch."""
    return (prediction - target).pow(2).flatten(1).sum(dim=1).mean()


def test_per_example_squared_norms_are_right_too():
    """A sum over each example's coordinates differs from the mean by a constant factor: same minimiser."""
    assert check.epsilon_loss(_eps_loss(reduce=_squared_norm_per_example)).passed
    assert check.flow_matching_loss(_flow(reduce=_squared_norm_per_example)).passed


# ---------------------------------------------------------------------------------------------------- 09.1


def _q(transform):
    """A q_sample answer built from the per-example ᾱ: transform(a, x0, noise)."""

    def answer(x0, t, noise, alpha_bars):
        return transform(per_example(alpha_bars[t], x0), x0, noise, alpha_bars, t)

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_q(lambda a, x, n, ab, t: a * x + (1 - a) * n), "they are VARIANCES"),
        (_q(lambda a, x, n, ab, t: a * x + (1 - a).sqrt() * n), "signal's factor needs a square root"),
        (_q(lambda a, x, n, ab, t: a.sqrt() * x + (1 - a) * n), "noise's factor needs a square root"),
        (_q(lambda a, x, n, ab, t: (1 - a).sqrt() * x + a.sqrt() * n), "signal and noise are swapped"),
        (_q(lambda a, x, n, ab, t: a.sqrt() * x + (1 - a.sqrt()) * n), "not 1 − √ᾱ_t"),
        (
            lambda x0, t, n, ab: diffusion.q_sample(x0, t - 1, n, ab),
            "alpha_bars[t - 1]",
        ),
        (
            lambda x0, t, n, ab: diffusion.q_sample(x0, t, n, torch.cumprod(ab, 0)),
            "already the running product",
        ),
        (lambda x0, t, n, ab: ab[t].sqrt() * x0 + (1 - ab[t]).sqrt() * n, "cannot be broadcast"),
        (
            lambda x0, t, n, ab: diffusion.q_sample(x0, t, torch.randn_like(x0), ab),
            "different results for the same inputs",
        ),
        (lambda x0, t, n, ab: x0.mul_(ab[t].view(-1, *[1] * (x0.dim() - 1)).sqrt()) + n, "in place"),
        (lambda x0, t, n, ab: None, "return"),
    ],
    ids=[
        "no-roots",
        "no-root-signal",
        "no-root-noise",
        "swapped",
        "one-minus-root",
        "t-1",
        "cumprod",
        "broadcast",
        "own-noise",
        "in-place",
        "none",
    ],  # fmt: skip
)
def test_q_sample_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.q_sample, answer)


def test_q_sample_silent_broadcast_on_square_input():
    def broadcast_last(
        x0, t, noise, alpha_bars
    ):  # right shape for images and N×2 here only by reshaping wrongly
        a = alpha_bars[t]
        if x0.dim() == 2 and x0.shape[0] == x0.shape[1]:
            return a.sqrt() * x0 + (1 - a).sqrt() * noise  # broadcast along the last axis, silently
        return diffusion.q_sample(x0, t, noise, alpha_bars)

    assert "broadcast along the LAST axis" in feedback(check.q_sample, broadcast_last)


# ---------------------------------------------------------------------------------------------------- 09.2


def _eps_loss(draw_t=None, make_x_t=None, target=None, reduce=None, model_input=None):
    """An epsilon_loss answer with one part replaced."""

    def answer(model, x0, alpha_bars):
        t = draw_t(x0, alpha_bars) if draw_t else torch.randint(0, len(alpha_bars), (len(x0),))
        noise = torch.randn_like(x0)
        x_t = make_x_t(x0, t, noise, alpha_bars) if make_x_t else diffusion.q_sample(x0, t, noise, alpha_bars)
        out = model(model_input(x0, x_t) if model_input else x_t, t)
        goal = target(x0, x_t, noise) if target else noise
        return reduce(out, goal) if reduce else F.mse_loss(out, goal)

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_eps_loss(target=lambda x0, x_t, n: x0), "the target is the clean x0"),
        (_eps_loss(target=lambda x0, x_t, n: x_t), "the target is x_t"),
        (_eps_loss(target=lambda x0, x_t, n: torch.randn_like(n)), "the very noise ε you mixed into x_t"),
        (_eps_loss(reduce=lambda o, g: F.mse_loss(o, g, reduction="sum")), "grows with the batch size"),
        (_eps_loss(reduce=F.l1_loss), "mean ABSOLUTE error"),
        (_eps_loss(reduce=lambda o, g: F.mse_loss(o, g).detach()), "cut off from the graph"),
        (_eps_loss(reduce=lambda o, g: F.mse_loss(o, g, reduction="none")), "one number"),
        (_eps_loss(draw_t=lambda x0, ab: torch.randint(0, len(ab), (1,)).repeat(len(x0))), "the same step t"),
        (_eps_loss(draw_t=lambda x0, ab: torch.rand(len(x0))), "whole diffusion steps"),
        (_eps_loss(draw_t=lambda x0, ab: torch.randint(1, len(ab), (len(x0),))), "t = 0 never came up"),
        (_eps_loss(draw_t=lambda x0, ab: torch.randint(0, len(ab) - 1, (len(x0),))), "do not subtract 1"),
        (_eps_loss(model_input=lambda x0, x_t: x0), "the model got the clean x0"),
        (
            _eps_loss(
                make_x_t=lambda x0, t, n, ab: per_example(ab[t], x0) * x0 + per_example(1 - ab[t], x0) * n
            ),
            "without square roots",
        ),
        (
            _eps_loss(make_x_t=lambda x0, t, n, ab: diffusion.q_sample(n, t, x0, ab)),
            "x0 and the noise swapped",
        ),
        (_eps_loss(make_x_t=lambda x0, t, n, ab: x0 + n), "is not √ᾱ_t x0 + √(1 − ᾱ_t) ε"),
        (lambda model, x0, ab: F.mse_loss(x0, torch.randn_like(x0)), "never called the model"),
    ],
    ids=[
        "target-x0",
        "target-xt",
        "fresh-target-noise",
        "sum",
        "l1",
        "detach",
        "no-mean",
        "one-t",
        "float-t",
        "no-zero",
        "no-last",
        "clean-input",
        "no-roots",
        "swapped",
        "plain-sum",
        "no-model",
    ],  # fmt: skip
)
def test_epsilon_loss_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.epsilon_loss, answer)


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_epsilon_loss_names_x0_and_v_as_valid_but_misread_by_the_samplers(prediction):
    """x0- and v-prediction are valid parameterisations; the mistake is only that this lesson's samplers read ε."""
    text = feedback(check.epsilon_loss, lambda m, x0, ab: diffusion.prediction_loss(m, x0, ab, prediction))
    assert "valid parameterisation" in text and "output as the noise ε" in text
    assert ("the target is v" in text) == (prediction == "v")


def test_flow_matching_loss_names_the_data_target_as_valid_but_misread_by_euler():
    text = feedback(check.flow_matching_loss, _flow(target=lambda x0, x1: x1))
    assert "valid parameterisation" in text and "output as the velocity" in text


def test_epsilon_loss_t_out_of_range():
    answer = _eps_loss(
        draw_t=lambda x0, ab: torch.randint(1, len(ab) + 1, (len(x0),)).clamp(max=len(ab) - 1) + 1
    )
    # t from 2 to T: an index past the end crashes in q_sample, and the checker says so (no made-up diagnosis)
    assert "raised IndexError" in feedback(check.epsilon_loss, answer)

    def out_of_range_model_t(model, x0, alpha_bars):
        t = torch.randint(0, len(alpha_bars), (len(x0),))
        noise = torch.randn_like(x0)
        return F.mse_loss(model(diffusion.q_sample(x0, t, noise, alpha_bars), t + 1), noise)

    assert "steps are 0 … T − 1" in feedback(check.epsilon_loss, out_of_range_model_t)


# ---------------------------------------------------------------------------------------------------- 09.3


def _step(mean_fn=None, sigma_fn=None, noise_at_zero=False, model_t=None):
    """An ancestral_step answer with one part replaced: mean_fn(x, eps, b, ab_t, ab_prev), sigma_fn(b, ab_t, ab_prev)."""

    def answer(model, x_t, t, betas, alpha_bars, z):
        step = model_t(t) if model_t else t
        eps = model(x_t, torch.full((len(x_t),), step, dtype=torch.long))
        b, ab = betas[t], alpha_bars[t]
        ab_prev = alpha_bars[t - 1] if t > 0 else torch.tensor(1.0)
        mean = (
            mean_fn(x_t, eps, b, ab, ab_prev)
            if mean_fn
            else (x_t - b / (1 - ab).sqrt() * eps) / (1 - b).sqrt()
        )
        sigma = sigma_fn(b, ab, ab_prev) if sigma_fn else b.sqrt()
        return mean + sigma * z if (t > 0 or noise_at_zero) else mean

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (
            _step(mean_fn=lambda x, e, b, ab, abp: (x - (1 - ab).sqrt() * e) / ab.sqrt()),
            "estimate of the clean x0",
        ),
        (_step(mean_fn=lambda x, e, b, ab, abp: x - b / (1 - ab).sqrt() * e), "divided by √α_t"),
        (_step(mean_fn=lambda x, e, b, ab, abp: (x - b / (1 - ab).sqrt() * e) / ab.sqrt()), "not by √ᾱ_t"),
        (
            _step(mean_fn=lambda x, e, b, ab, abp: (x - b / (1 - ab) * e) / (1 - b).sqrt()),
            "square root in the denominator",
        ),
        (
            _step(mean_fn=lambda x, e, b, ab, abp: (x + b / (1 - ab).sqrt() * e) / (1 - b).sqrt()),
            "SUBTRACTED",
        ),
        (_step(sigma_fn=lambda b, ab, abp: b), "you used the variance β_t itself"),
        (_step(sigma_fn=lambda b, ab, abp: ((1 - abp) / (1 - ab) * b).sqrt()), "posterior variance"),
        (_step(sigma_fn=lambda b, ab, abp: 0 * b), "the fresh noise is missing"),
        (_step(noise_at_zero=True), "no noise is added"),
        (_step(model_t=lambda t: max(t - 1, 0)), "predict the noise at the current step"),
        (
            lambda model, x_t, t, betas, ab, z: diffusion.ancestral_step(
                model, x_t, t, betas, ab, torch.randn_like(z)
            ),
            "use the `z` given",
        ),  # fmt: skip
        (lambda model, x_t, t, betas, ab, z: model(x_t, t), "tensor with one time per example"),
        (lambda model, x_t, t, betas, ab, z: x_t, "never called the model"),
    ],
    ids=[
        "x0-hat",
        "no-divide",
        "sqrt-alpha-bar",
        "coef-no-root",
        "plus-eps",
        "sigma-beta",
        "posterior",
        "no-noise",
        "noise-at-0",
        "model-t-1",
        "own-noise",
        "int-t",
        "no-model",
    ],  # fmt: skip
)
def test_ancestral_step_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.ancestral_step, answer)


# ---------------------------------------------------------------------------------------------------- 09.4


def _flow(draw_t=None, interpolate=None, target=None, reduce=None, model_t=None):
    def answer(model, x1):
        x0 = torch.randn_like(x1)
        t = draw_t(x1) if draw_t else torch.rand(len(x1))
        s = t.view(-1, 1)
        x_t = interpolate(x0, x1, s) if interpolate else (1 - s) * x0 + s * x1
        out = model(x_t, model_t(t) if model_t else t)
        goal = target(x0, x1) if target else x1 - x0
        return reduce(out, goal) if reduce else F.mse_loss(out, goal)

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_flow(target=lambda x0, x1: x0 - x1), "the velocity points the wrong way"),
        (_flow(target=lambda x0, x1: x1), "the target is the data x1"),
        (_flow(target=lambda x0, x1: x0), "the target is the noise x0"),
        (_flow(interpolate=lambda x0, x1, s: s * x0 + (1 - s) * x1), "the path runs the wrong way"),
        (_flow(interpolate=lambda x0, x1, s: x1), "the data x1 itself"),
        (_flow(interpolate=lambda x0, x1, s: x0 + s * x1), "is not x_t = (1 − t) x0 + t x1"),
        (_flow(draw_t=lambda x1: torch.rand(1).repeat(len(x1))), "the same t"),
        (_flow(draw_t=lambda x1: torch.randint(0, 1000, (len(x1),))), "a float per example"),
        (_flow(draw_t=lambda x1: torch.rand(len(x1)) * 0.4), "draw it uniformly over"),
        (_flow(model_t=lambda t: t.view(-1, 1)), "give the model the plain vector"),
        (_flow(reduce=lambda o, g: F.mse_loss(o, g, reduction="sum")), "grows with the batch size"),
        (_flow(target=lambda x0, x1: x1 - torch.randn_like(x0)), "for the same noise x0 that is in x_t"),
    ],
    ids=[
        "reversed",
        "target-x1",
        "target-x0",
        "path-reversed",
        "input-x1",
        "not-line",
        "one-t",
        "int-t",
        "narrow-t",
        "t-column",
        "sum",
        "fresh-noise",
    ],  # fmt: skip
)
def test_flow_matching_loss_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.flow_matching_loss, answer)


# ---------------------------------------------------------------------------------------------------- 09.5


def _euler(times=None, dt_fn=None, sign=1.0):
    def answer(model, x, steps):
        dt = dt_fn(steps) if dt_fn else 1.0 / steps
        for t in times(steps) if times else [i / steps for i in range(steps)]:
            x = x + sign * dt * model(x, torch.full((len(x),), float(t)))
        return x

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_euler(times=lambda n: [(i + 1) / n for i in range(n)]), "at the END of each step"),
        (_euler(times=lambda n: [1 - i / n for i in range(n)]), "ran time backwards"),
        (
            _euler(times=lambda n: torch.linspace(0, 1, n).tolist()),
            "torch.linspace(0, 1, steps) would include 1",
        ),
        (_euler(times=lambda n: [i / n for i in range(n + 1)]), "take 4 evaluations"),
        (_euler(sign=-1.0), "stepped against the velocity"),
        (_euler(dt_fn=lambda n: 1.0), "forgot Δt"),
        (_euler(dt_fn=lambda n: 1.0 / max(n - 1, 1)), "Δt = 1/(steps − 1)"),
        (lambda model, x, steps: model(x, torch.zeros(len(x))), "evaluated the model 1 times"),
    ],
    ids=["end-of-step", "backwards", "linspace", "one-too-many", "sign", "no-dt", "dt-n-1", "velocity"],
)
def test_euler_sample_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.euler_sample, answer)


def test_euler_sample_in_place():
    def in_place(model, x, steps):
        for i in range(steps):
            x += model(x, torch.full((len(x),), i / steps)) / steps
        return x

    assert "in place" in feedback(check.euler_sample, in_place)
