"""Lesson 11's checkers: the right answers pass in every form, and each mistake they name gets its diagnosis."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils import check
from course_utils.exercises import ExerciseFailed
from course_utils.models import latent


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


def test_reference_answers_pass():
    assert check.latent_scale(latent.latent_scale).passed
    assert check.latent_flow_loss(latent.latent_flow_loss).passed
    assert check.generate(latent.generate).passed
    assert check.reconstruction_floor(latent.reconstruction_floor).passed
    assert check.choose_latent_channels(latent.choose_latent_channels).passed


def test_other_right_answers_pass():
    def scale_by_rms(latents):  # unit second moment: E[(scale·z)²] = 1
        return 1 / latents.pow(2).mean().sqrt()

    def scale_biased_std(latents):
        return (1 / latents.std(unbiased=False)).item()

    def loss_times_first_and_sum(velocity_net, encode, images, scale):  # t drawn before the noise; a sum
        z = encode(images).detach() * scale
        t = torch.rand(z.shape[0])
        noise = torch.randn(z.shape)
        x_t = t[:, None, None, None] * z + (1 - t[:, None, None, None]) * noise
        return ((velocity_net(x_t, t) - (z - noise)) ** 2).sum()

    def generate_written_out(velocity_net, decode, scale, n, latent_shape, steps, generator):
        x = torch.randn((n,) + tuple(latent_shape), generator=generator)
        with torch.no_grad():
            for k in range(steps):
                x = x + velocity_net(x, torch.ones(n) * k / steps) * (1 / steps)
        return decode(x * (1 / scale))

    def floor_swapped_arguments(reconstruct, images, reference_features, features, distance):
        return torch.tensor(distance(reference_features, features(reconstruct(images))))

    def choose_by_sorting(curve, tolerance):
        best = min(r["frechet"] for r in curve)
        for row in sorted(curve, key=lambda r: r["channels"]):
            if row["frechet"] / best - 1 <= tolerance + 1e-12:
                return row["channels"]

    assert check.latent_scale(scale_by_rms).passed
    assert check.latent_scale(scale_biased_std).passed
    assert check.latent_flow_loss(loss_times_first_and_sum).passed
    assert check.generate(generate_written_out).passed
    assert check.reconstruction_floor(floor_swapped_arguments).passed
    assert check.choose_latent_channels(choose_by_sorting).passed


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda z: z.std(), "the standard deviation itself"),
        (lambda z: 1 / z.var(), "1 / variance"),
        (lambda z: z.var(), "that is the variance"),
        (lambda z: 1 / z.abs().max(), "1 / max |z|"),
        (lambda z: 1 / z.std(dim=(0, 2, 3)), "one factor per channel"),
        (lambda z: 1 / z.std(dim=(0, 2, 3)).mean(), "the average of the channels' stds"),
        (lambda z: z / z.std(), "returned the scaled latents"),
        (lambda z: z.div_(z.std()).std(), "in place"),
        (lambda z: "0.18215", "one number"),
    ],
)
def test_latent_scale_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.latent_scale, answer)


def _loss(scaled="times", grads=False, one_time=False, swapped=False, target="velocity", shape="latent"):
    def answer(velocity_net, encode, images, scale):
        z = encode(images) if grads else encode(images).detach()
        x1 = {"times": scale * z, "none": z, "divide": z / scale}[scaled]
        x0 = torch.randn(images.shape if shape == "image" else x1.shape)
        t = torch.full((len(x1),), 0.5) if one_time else torch.rand(len(x1))
        s = t.view(-1, 1, 1, 1)
        x_t = s * x0 + (1 - s) * x1 if swapped else (1 - s) * x0 + s * x1
        goal = {"velocity": x1 - x0, "reversed": x0 - x1, "data": x1, "noise": x0}[target]
        return F.mse_loss(velocity_net(x_t, t), goal)

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_loss(scaled="none"), "forgot the scale"),
        (_loss(scaled="divide"), "divided the latents by the scale"),
        (_loss(grads=True), "frozen"),
        (_loss(one_time=True), "one time t for the whole batch"),
        (_loss(swapped=True), "the other way round"),
        (_loss(target="reversed"), "the target is reversed"),
        (_loss(target="data"), "not the data x1"),
        (_loss(target="noise"), "not the noise x0"),
        (_loss(shape="image"), "the latents' shape"),
        (
            lambda net, encode, images, scale: _loss()(net, encode, images, scale).item(),
            "one number (a 0-d tensor)",
        ),
    ],
)
def test_latent_flow_loss_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.latent_flow_loss, answer)


def _generate(
    undo="divide", reverse=False, no_length=False, image_noise=False, return_latents=False, seeded=True
):
    def answer(velocity_net, decode, scale, n, latent_shape, steps, generator):
        shape = (n, 1, 28, 28) if image_noise else (n, *latent_shape)
        x = torch.randn(shape, generator=generator if seeded else None)
        for i in range(steps):
            t = 1 - i / steps if reverse else i / steps
            dt = 1.0 if no_length else 1 / steps
            x = x + (-dt if reverse else dt) * velocity_net(x, torch.full((n,), t))
        if return_latents:
            return x / scale
        return decode({"divide": x / scale, "none": x, "multiply": x * scale}[undo])

    return answer


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_generate(undo="none"), "divide by the scale before decoding"),
        (_generate(undo="multiply"), "multiplied by the scale"),
        (_generate(reverse=True), "start at t = 0"),
        (_generate(no_length=True), "Δt = 1 / steps"),
        (_generate(image_noise=True), "the LATENTS' shape"),
        (_generate(return_latents=True), "returned latents"),
        (_generate(seeded=False), "draw the noise from it"),
    ],
)
def test_generate_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.generate, answer)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (
            lambda rec, images, ref, features, distance: distance(features(images), ref),
            "the data's own floor",
        ),
        (
            lambda rec, images, ref, features, distance: distance(features(rec(images)), features(images)),
            "compared with their own inputs",
        ),
        (
            lambda rec, images, ref, features, distance: float(((rec(images) - images) ** 2).mean()),
            "error in pixels",
        ),
        (lambda rec, images, ref, features, distance: features(rec(images)), "one number"),
    ],
)
def test_reconstruction_floor_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.reconstruction_floor, answer)


def _first_qualifying(curve, tolerance):
    best = min(r["frechet"] for r in curve)
    return next(r["channels"] for r in curve if r["frechet"] <= (1 + tolerance) * best)


def _sorts_in_place(curve, tolerance):
    curve.sort(key=lambda r: r["channels"])
    return latent.choose_latent_channels(curve, tolerance)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda curve, tol: min(curve, key=lambda r: r["floor"])["channels"], "lowest reconstruction floor"),
        (lambda curve, tol: min(r["channels"] for r in curve), "ignores quality"),
        (_first_qualifying, "need not be the smallest"),
        (
            lambda curve, tol: min(
                r["channels"] for r in curve if r["frechet"] < (1 + tol) * min(x["frechet"] for x in curve)
            ),
            "use ≤, not <",
        ),
        (
            lambda curve, tol: min(
                r["channels"] for r in curve if r["frechet"] <= tol + min(x["frechet"] for x in curve)
            ),
            "a share of the best",
        ),
        (lambda curve, tol: min(curve, key=lambda r: r["frechet"])["channels"], "not the answer"),
        (_sorts_in_place, "without changing them"),
        (lambda curve, tol: min((r for r in curve), key=lambda r: r["frechet"]), "whole row"),
    ],
)
def test_choose_latent_channels_mistakes(answer, diagnosis):
    message = feedback(check.choose_latent_channels, answer)
    assert diagnosis in message or diagnosis == "not the answer" and "expected" in message


def test_not_done_yet_is_said_so():
    def latent_scale(latents):
        raise NotImplementedError

    assert "not done yet" in feedback(check.latent_scale, latent_scale)
