"""Lesson 10's checkers: the right answers pass in every form, and each mistake they name gets its diagnosis."""

from __future__ import annotations

import pytest
import torch

from course_utils import check
from course_utils.exercises import ExerciseFailed
from course_utils.models import guidance


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


def test_reference_answers_pass():
    assert check.from_epsilon(guidance.from_epsilon).passed
    assert check.diffusion_to_flow(guidance.diffusion_to_flow).passed
    assert check.euler_step(guidance.euler_step).passed
    assert check.drop_labels(guidance.drop_labels).passed
    assert check.guided_prediction(guidance.guided_prediction).passed
    assert check.choose_guidance_scale(guidance.choose_guidance_scale).passed


def test_other_right_answers_pass():
    def from_epsilon_by_tweedie(
        eps_hat, x_t, alpha_bar
    ):  # the score first, then Tweedie's formula; v from x_t
        score = -eps_hat / torch.sqrt(1 - alpha_bar)
        x0 = (x_t + (1 - alpha_bar) * score) / torch.sqrt(alpha_bar)
        v = alpha_bar.sqrt() * eps_hat - (1 - alpha_bar).sqrt() * x0
        return dict(score=score, v=v, x0=x0, extra=None)

    def flow_with_tau_flat(eps_hat, x_t, alpha_bar):  # τ as a flat tensor, the velocity from x_τ and ε̂
        a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        tau = a / (a + b)
        x_tau = x_t / (a + b)
        return [x_tau, tau.flatten(), (x_tau - eps_hat) / tau]

    def euler_with_ones(velocity_fn, x, tau, tau_next):
        return x + velocity_fn(x, tau * torch.ones(x.shape[0])) * (tau_next - tau)

    def drop_with_bernoulli(labels, p_uncond, null_label):
        mask = torch.bernoulli(torch.full(labels.shape, float(p_uncond))).bool()
        out = labels.clone()
        out[mask] = null_label
        return out

    def guided_as_difference(conditional, unconditional, w):
        return conditional + w * (conditional - unconditional)

    def choose_by_sorting(curve, min_accuracy):
        rows = sorted((r for r in curve if r["accuracy"] >= min_accuracy), key=lambda r: -r["recall"])
        return rows[0]["w"] if rows else None

    assert check.from_epsilon(from_epsilon_by_tweedie).passed
    assert check.diffusion_to_flow(flow_with_tau_flat).passed
    assert check.euler_step(euler_with_ones).passed
    assert check.drop_labels(drop_with_bernoulli).passed
    assert check.guided_prediction(guided_as_difference).passed
    assert check.choose_guidance_scale(choose_by_sorting).passed


def _from_eps(x0=None, v=None, score=None):
    def answer(eps_hat, x_t, alpha_bar):
        a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        right = guidance.from_epsilon(eps_hat, x_t, alpha_bar)
        out = dict(right)
        if x0:
            out["x0"] = x0(eps_hat, x_t, alpha_bar, a, b)
        if v:
            out["v"] = v(eps_hat, right["x0"], a, b)
        if score:
            out["score"] = score(eps_hat, alpha_bar, b)
        return out

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_from_eps(x0=lambda e, x, ab, a, b: (x - (1 - ab) * e) / a), "not its variance"),
        (_from_eps(x0=lambda e, x, ab, a, b: x - b * e), "divide by √ᾱ"),
        (_from_eps(x0=lambda e, x, ab, a, b: (x - b * e) / ab), "not by ᾱ"),
        (_from_eps(v=lambda e, x0, a, b: b * e - a * x0), "swapped them"),
        (_from_eps(v=lambda e, x0, a, b: b * x0 - a * e), "opposite sign"),
        (_from_eps(score=lambda e, ab, b: -e / (1 - ab)), "not its variance"),
        (_from_eps(score=lambda e, ab, b: e / b), "with a minus"),
        (_from_eps(score=lambda e, ab, b: -e), "off by the noise's standard deviation"),
        (lambda e, x, ab: (e, e, e), "should return a dict"),
    ],
)
def test_from_epsilon_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.from_epsilon, answer)


def _to_flow(x_tau=None, tau=None, velocity=None):
    def answer(eps_hat, x_t, alpha_bar):
        a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        x0 = (x_t - b * eps_hat) / a
        return (
            x_tau(x_t, a, b) if x_tau else x_t / (a + b),
            tau(alpha_bar, a, b) if tau else a / (a + b),
            velocity(eps_hat, x0, x_t) if velocity else x0 - eps_hat,
        )

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_to_flow(tau=lambda ab, a, b: ab), "τ is not ᾱ"),
        (_to_flow(tau=lambda ab, a, b: a), "τ is not √ᾱ"),
        (_to_flow(tau=lambda ab, a, b: b / (a + b)), "not the noise's"),
        (_to_flow(x_tau=lambda x, a, b: x), "divided by √ᾱ + √(1 − ᾱ)"),
        (_to_flow(x_tau=lambda x, a, b: x * (a + b)), "do not multiply"),
        (_to_flow(velocity=lambda e, x0, x: e - x0), "from the noise to the data"),
        (_to_flow(velocity=lambda e, x0, x: x0), "not x̂0"),
        (_to_flow(velocity=lambda e, x0, x: x - e), "looks like x_t − ε̂"),
        (_to_flow(tau=lambda ab, a, b: 0.5), "should be a tensor"),
        (lambda e, x, ab: (x, ab), "three things"),
    ],
)
def test_diffusion_to_flow_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.diffusion_to_flow, answer)


def _times(x, tau):
    return torch.full((len(x),), tau)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda v, x, t, t2: x + (t2 - t) * v(x, _times(x, t2)), "read at τ_next"),
        (lambda v, x, t, t2: x - (t2 - t) * v(x, _times(x, t)), "went backwards"),
        (lambda v, x, t, t2: x + v(x, _times(x, t)), "step's length"),
        (lambda v, x, t, t2: (t2 - t) * v(x, _times(x, t)), "not only the change"),
        (lambda v, x, t, t2: x + (t2 - t) * v(x, t), "not the number tau"),
        (lambda v, x, t, t2: x.add_((t2 - t) * v(x, _times(x, t))), "in place"),
    ],
)
def test_euler_step_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.euler_step, answer)


def _zeroed(labels, p, null):
    return torch.where(torch.rand(labels.shape) < p, torch.zeros_like(labels), labels)


def _whole_batch(labels, p, null):
    return torch.full_like(labels, null) if torch.rand(()) < p else labels.clone()


def _kept_share(labels, p, null):
    return torch.where(torch.rand(labels.shape) < 1 - p, torch.full_like(labels, null), labels)


def _in_place(labels, p, null):
    labels[torch.rand(labels.shape) < p] = null
    return labels


def _mask(labels, p, null):
    return torch.rand(labels.shape) < p


def _some_classes(labels, p, null):  # the even classes twice as often as the odd ones' share, p on average
    chance = torch.where(labels % 2 == 0, torch.tensor(min(2 * p, 1.0)), torch.tensor(max(2 * p - 1, 0.0)))
    chosen = torch.rand(labels.shape) < chance
    return torch.where(chosen, torch.full_like(labels, null), labels)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_zeroed, "which is a real class"),
        (_whole_batch, "on its own"),
        (_kept_share, "share DROPPED"),
        (_in_place, "in place"),
        (_mask, "not a mask"),
        (_some_classes, "same chance"),
        (lambda labels, p, null: labels.clone(), "all go"),
    ],
)
def test_drop_labels_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.drop_labels, answer)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda c, u, w: w * c + (1 - w) * u, "the other convention"),
        (lambda c, u, w: (1 + w) * u - w * c, "are swapped"),
        (lambda c, u, w: (1 + w) * c + w * u, "subtract the unconditional"),
        (lambda c, u, w: w * c - w * u, "takes 1 + w"),
        (lambda c, u, w: c + w * u, "conditional + w · (conditional − unconditional)"),
    ],
)
def test_guided_prediction_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.guided_prediction, answer)


def _first_good(curve, m):
    return next((r["w"] for r in curve if r["accuracy"] >= m), None)


def _strict(curve, m):
    rows = [r for r in curve if r["accuracy"] > m]
    return max(rows, key=lambda r: r["recall"])["w"] if rows else None


def _no_none(curve, m):
    return max((r for r in curve if r["accuracy"] >= m), key=lambda r: r["recall"])["w"]


def _index(curve, m):
    rows = [i for i, r in enumerate(curve) if r["accuracy"] >= m]
    return max(rows, key=lambda i: curve[i]["recall"]) if rows else None


def _sorts_in_place(curve, m):
    curve.sort(key=lambda r: -r["recall"])
    return next((r["w"] for r in curve if r["accuracy"] >= m), None)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda curve, m: max(curve, key=lambda r: r["accuracy"])["w"], "the most accurate w"),
        (lambda curve, m: max(curve, key=lambda r: r["recall"])["w"], "ignores the accuracy"),
        (_first_good, "the smallest w"),
        (_strict, "use ≥, not >"),
        (_no_none, "return None"),
        (_index, "the row's position"),
        (_sorts_in_place, "without changing them"),
        (
            lambda curve, m: max((r for r in curve if r["accuracy"] >= m), key=lambda r: r["recall"]),
            "whole row",
        ),
    ],
)
def test_choose_guidance_scale_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.choose_guidance_scale, answer)


def test_not_done_yet_is_said_so():
    def from_epsilon(eps_hat, x_t, alpha_bar):
        raise NotImplementedError

    assert "not done yet" in feedback(check.from_epsilon, from_epsilon)
