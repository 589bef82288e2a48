"""Lesson 07's checkers: the right answers pass, and each mistake they claim to diagnose gets its diagnosis."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils import check
from course_utils.exercises import ExerciseFailed
from course_utils.models import conditional


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


def test_reference_answers_pass():
    assert check.generator_input(conditional.generator_input).passed
    assert check.discriminator_input(conditional.discriminator_input).passed
    assert check.sample_class(conditional.sample_class).passed
    assert check.steering_step(conditional.steering_step).passed


def test_other_right_answers_pass():
    def by_eye(z, labels, k):  # rows of an identity matrix made on z's device
        return torch.cat([z, torch.eye(k, device=z.device)[labels]], dim=1)

    def by_scatter(z, labels, k):
        one_hot = torch.zeros(len(z), k, device=z.device).scatter_(1, labels[:, None], 1.0)
        return torch.cat([z, one_hot], dim=1)

    def planes_by_repeat(images, labels, k):
        n, _, h, w = images.shape
        planes = F.one_hot(labels, k).float().view(n, k, 1, 1).repeat(1, 1, h, w)
        return torch.cat([images, planes], dim=1)

    def sample_by_hand(generator, label, n):
        device = next(generator.parameters()).device
        generator.eval()
        with torch.no_grad():
            z = torch.randn(n, generator.noise_dim, device=device)
            return generator(z, torch.full((n,), label, device=device))

    def steer_with_backward(z, generator, classifier, target, step_size):
        z = z.clone().requires_grad_(True)
        F.log_softmax(classifier((generator(z) + 1) / 2), dim=1)[:, target].sum().backward()
        with torch.no_grad():
            return z + step_size * z.grad

    def steer_by_logsumexp(z, generator, classifier, target, step_size):  # ℓ_target − log Σ_j exp ℓ_j
        z = z.detach().clone().requires_grad_(True)
        logits = classifier((generator(z) + 1) / 2)
        (grad,) = torch.autograd.grad((logits[:, target] - logits.logsumexp(dim=1)).sum(), z)
        return (z + step_size * grad).detach()

    def steer_by_cross_entropy(
        z, generator, classifier, target, step_size
    ):  # −CE summed: Σ_i log p(target | x_i)
        z = z.detach().clone().requires_grad_(True)
        logits = classifier((generator(z) + 1) / 2)
        wanted = torch.full((len(z),), target, dtype=torch.long)
        (grad,) = torch.autograd.grad(-F.cross_entropy(logits, wanted, reduction="sum"), z)
        return (z + step_size * grad).detach()

    def steer_by_log_of_softmax(z, generator, classifier, target, step_size):
        z = z.detach().clone().requires_grad_(True)
        probs = classifier((generator(z) + 1) / 2).softmax(dim=1)
        (grad,) = torch.autograd.grad(torch.log(probs[:, target]).sum(), z)
        return (z + step_size * grad).detach()

    assert check.generator_input(by_eye).passed
    assert check.generator_input(by_scatter).passed
    assert check.discriminator_input(planes_by_repeat).passed
    assert check.sample_class(sample_by_hand).passed
    assert check.steering_step(steer_with_backward).passed
    assert check.steering_step(steer_by_logsumexp).passed
    assert check.steering_step(steer_by_cross_entropy).passed
    assert check.steering_step(steer_by_log_of_softmax).passed


def _one_hot(labels, k):
    return F.one_hot(labels, k).float()


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda z, y, k: torch.cat([_one_hot(y, k), z], dim=1), "comes first"),
        (lambda z, y, k: torch.cat([z, y[:, None].float()], dim=1), "class index as one number"),
        (lambda z, y, k: torch.cat([z, F.one_hot(y).float()], dim=1), "without num_classes"),
        (lambda z, y, k: torch.cat([z, _one_hot(y, 10)], dim=1), "10 columns"),
        (lambda z, y, k: torch.cat([z, _one_hot(y, k)], dim=0), "dim=0 would stack"),
        (lambda z, y, k: torch.cat([z, _one_hot(y.flip(0), k)], dim=1), "not a one-hot of the labels"),
        (lambda z, y, k: torch.cat([2 * z, _one_hot(y, k)], dim=1), "z unchanged"),
        (
            lambda z, y, k: torch.cat([z, torch.zeros(len(y), k).scatter_(1, y[:, None], 1.0)], 1),
            "another device",
        ),
        (lambda z, y, k: torch.cat([z, torch.eye(k)[y]], dim=1), "another device"),
        (lambda z, y, k: None, "return"),
    ],
    ids=[
        "order",
        "index",
        "one-hot-no-k",
        "hard-coded-10",
        "dim0",
        "wrong-rows",
        "z-changed",
        "cpu-zeros",
        "eye-on-cpu",
        "none",
    ],  # fmt: skip
)
def test_generator_input_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.generator_input, answer)


def _planes(images, labels, k):
    n, _, h, w = images.shape
    return _one_hot(labels, k).to(images.device)[:, :, None, None].expand(n, k, h, w)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda x, y, k: torch.cat([x, _one_hot(y, k)[:, :, None, None]], dim=1), "height and width"),
        (
            lambda x, y, k: torch.cat([x, _one_hot(y, k)[:, :, None, None].expand(len(x), k, 28, 28)], dim=1),
            "height and width",
        ),  # fmt: skip
        (lambda x, y, k: torch.cat([_planes(x, y, k), x], dim=1), "label channels come first"),
        (lambda x, y, k: torch.cat([x.flatten(1), _one_hot(y, k)], dim=1), "fully connected D"),
        (
            lambda x, y, k: torch.cat(
                [x, y[:, None, None, None].float().expand(len(x), 1, *x.shape[2:])], dim=1
            ),
            "one channel holding the class index",
        ),  # fmt: skip
        (lambda x, y, k: torch.cat([x, 1 - _planes(x, y, k)], dim=1), "not one-hot planes"),
        (
            lambda x, y, k: torch.cat(
                [x, torch.ones(*x.shape[:1], k, *x.shape[2:]) * _planes(x, y, k)], dim=1
            ),
            "another device",
        ),  # fmt: skip
        (lambda x, y, k: torch.cat([x, _planes(x, y, k)], dim=2), "Concatenate along dim=1, the channels"),
    ],
    ids=["not-spread", "hard-coded-28", "order", "flat", "index-plane", "inverted", "cpu-ones", "wrong-dim"],
)
def test_discriminator_input_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.discriminator_input, answer)


def make_sampler(
    dtype=torch.long, shape="flat", label_offset=0, noise="randn", same_noise=False, eval_mode=True,
    no_grad=True, noise_dim=None, device="generator", scale_output=1.0,
):  # fmt: skip
    """A sample_class with one knob per mistake (the defaults are the right answer)."""

    def sample(generator, label, n):
        where = next(generator.parameters()).device if device == "generator" else torch.device("cpu")
        d = noise_dim or generator.noise_dim
        z = (torch.randn if noise == "randn" else torch.rand)(1 if same_noise else n, d, device=where)
        z = z.expand(n, d) if same_noise else z
        labels = torch.full((n,), label + label_offset, dtype=dtype, device=where)
        labels = labels[:, None] if shape == "column" else labels
        if eval_mode:
            generator.eval()
        with torch.set_grad_enabled(not no_grad):
            return generator(z, labels) * scale_output

    return sample


@pytest.mark.parametrize(
    "knobs, diagnosis",
    [
        (dict(dtype=torch.float32), "dtype=torch.long"),
        (dict(shape="column"), "shape (n,)"),
        (dict(label_offset=1), "every label should be the requested class"),
        (dict(noise="rand"), "torch.randn, not torch.rand"),
        (dict(same_noise=True), "same noise vector"),
        (dict(eval_mode=False), "generator.eval()"),
        (dict(no_grad=False), "torch.no_grad()"),
        (dict(noise_dim=3), "(n, generator.noise_dim)"),
        (dict(device="cpu"), "generator's device"),
        (dict(scale_output=0.5), "unchanged"),
    ],
    ids=[
        "float-labels",
        "column-labels",
        "wrong-class",
        "uniform",
        "shared-noise",
        "train-mode",
        "grad",
        "noise-size",
        "device",
        "changed-output",
    ],  # fmt: skip
)
def test_sample_class_mistakes(knobs, diagnosis):
    assert diagnosis in feedback(check.sample_class, make_sampler(**knobs))


def test_sample_class_knobs_off_is_right():
    assert check.sample_class(make_sampler()).passed


def make_steer(score="logprob", sign=1.0, reduce="sum", rescale=True, normalise=False, output="new_z",
               detach=True, use_step=True, in_place=False):  # fmt: skip
    """A steering_step with one knob per mistake (the defaults are the right answer)."""

    def steer(z, generator, classifier, target, step_size):
        zz = z if in_place else z.detach().clone()
        zz.requires_grad_(True)
        images = generator(zz)
        logits = classifier((images + 1) / 2 if rescale else images)
        scores = {
            "logit": logits,
            "prob": logits.softmax(1),
            "logprob": logits.log_softmax(1),
            "batch_logprob": logits.log_softmax(0),
        }[score][:, target]
        total = scores.sum() if reduce == "sum" else scores.mean() if reduce == "mean" else scores
        (grad,) = torch.autograd.grad(total, zz)
        if normalise:
            grad = grad / grad.norm(dim=1, keepdim=True)
        eta = step_size if use_step else 1.0
        if in_place:
            zz.data.add_(eta * grad)
            return zz.detach()
        new = {"new_z": zz + sign * eta * grad, "step": eta * grad, "grad": grad}[output]
        return new.detach() if detach else new

    return steer


@pytest.mark.parametrize(
    "knobs, diagnosis",
    [
        (dict(sign=-1.0), "moved DOWN"),
        (dict(reduce="mean"), "averaged the log-probabilities"),
        (dict(reduce="none"), "backward() needs one number"),
        (dict(score="prob"), "softmax probability"),
        (dict(score="logit"), "the contrast the lesson draws"),
        (dict(score="batch_logprob"), "across the batch"),
        (dict(rescale=False), "(images + 1) / 2"),
        (dict(normalise=True), "normalised the gradient"),
        (dict(output="step"), "step_size · gradient, not the new code"),
        (dict(output="grad"), "returned the gradient"),
        (dict(use_step=False), "step_size is missing"),
        (dict(detach=False), "still attached to the graph"),
        (dict(in_place=True), "changed the z it was given"),
        (dict(sign=0.0), "returned z unchanged"),
    ],
    ids=[
        "descent",
        "mean",
        "no-sum",
        "probability",
        "raw-logit",
        "log-softmax-over-batch",
        "no-rescale",
        "normalised",
        "step-only",
        "gradient-only",
        "no-step-size",
        "attached",
        "in-place",
        "unchanged",
    ],  # fmt: skip
)
def test_steering_step_mistakes(knobs, diagnosis):
    assert diagnosis in feedback(check.steering_step, make_steer(**knobs))


def test_steering_knobs_off_is_right():
    assert check.steering_step(make_steer()).passed


def test_checking_leaves_the_random_state_alone():
    for checker, answer in [
        (check.generator_input, conditional.generator_input),
        (check.discriminator_input, conditional.discriminator_input),
        (check.sample_class, conditional.sample_class),
        (check.steering_step, conditional.steering_step),
    ]:
        torch.manual_seed(123)
        expected = torch.rand(3)
        torch.manual_seed(123)
        checker(answer)
        assert torch.equal(torch.rand(3), expected), checker.__name__


@pytest.mark.parametrize(
    "checker, answer, diagnosis",
    [
        (check.generator_input, lambda z, y, k: torch.cat([z, _one_hot(y, k)], 1)[None], "returned shape"),
        (
            check.generator_input,
            lambda z, y, k: torch.cat([z, _one_hot(y, k + 1)], 1),
            "N×(noise_dim + num_classes)",
        ),
        (check.discriminator_input, lambda x, y, k: torch.cat([x, _planes(x, y, k + 1)], 1), "N×(C + K)×H×W"),
        (
            check.discriminator_input,
            lambda x, y, k: torch.cat([2 * x, _planes(x, y, k)], 1),
            "images unchanged",
        ),
        (check.sample_class, lambda g, label, n: torch.zeros(n, 1, 28, 28), "never called the generator"),
        (check.sample_class, lambda g, label, n: g(torch.randn(n, g.noise_dim), [label] * n), "of type list"),
        (check.steering_step, make_steer(use_step=False, sign=0.5), "off by up to"),
    ],
    ids=[
        "g-extra-dim",
        "g-extra-column",
        "d-extra-plane",
        "d-images-changed",
        "s-no-call",
        "s-list-labels",
        "steer-other",
    ],  # fmt: skip
)
def test_shape_and_other_diagnoses(checker, answer, diagnosis):
    assert diagnosis in feedback(checker, answer)
