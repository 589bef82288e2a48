"""Lesson 02's checkers: the right answers pass, and each mistake they claim to diagnose is diagnosed."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import check
from course_utils.exercises import ExerciseFailed


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


def not_done(*args):
    raise NotImplementedError("Write this function")


class Apply(nn.Module):
    """A layer that applies a plain function (for mistakes such as a square root inside a network)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


# ---------------------------------------------------------------- 02.1 make_encoder


def encoder_right(latent_dim):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, latent_dim))


class NoisyEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = encoder_right(latent_dim)

    def forward(self, x):
        return self.net(x) + torch.randn(len(x), self.net[-1].out_features)


def test_make_encoder_right_answer_passes():
    result = check.make_encoder(encoder_right)
    assert result.passed and result.points == 2


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (not_done, "not done yet"),
        (lambda d: None, "returned None"),
        (lambda d: nn.Sequential, "returned the class"),
        (lambda d: [nn.Linear(784, d)], "torch.nn.Module"),
        (lambda d: nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, d)), "nn.Flatten()"),
        (lambda d: nn.Sequential(nn.Linear(28, 64), nn.ReLU(), nn.Linear(64, d)), "last axis"),
        (
            lambda d: nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 30)),
            "the argument",
        ),
        (lambda d: nn.Sequential(*encoder_right(d), nn.Sigmoid()), "ends with a Sigmoid"),
        (lambda d: nn.Sequential(*encoder_right(d), nn.ReLU()), "ends with a ReLU"),
        (lambda d: nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.Linear(64, d)), "purely linear"),
        (NoisyEncoder, "deterministic"),
        (lambda d: nn.Sequential(*encoder_right(d), Apply(torch.sqrt)), "contains NaN"),
    ],
    ids=[
        "todo",
        "none",
        "class",
        "not-module",
        "no-flatten",
        "linear-on-rows",
        "fixed-size",
        "sigmoid",
        "relu",
        "linear",
        "noisy",
        "nan",
    ],  # fmt: skip
)
def test_make_encoder_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.make_encoder, answer)


# ---------------------------------------------------------------- 02.2 make_decoder


def decoder_right(latent_dim, tail=(nn.Sigmoid,), shape=(1, 28, 28), hidden_act=True):
    layers = [nn.Linear(latent_dim, 64)] + ([nn.ReLU()] if hidden_act else []) + [nn.Linear(64, 784)]
    return nn.Sequential(*layers, *(t() for t in tail), nn.Unflatten(1, shape))


def test_make_decoder_right_answer_passes():
    assert check.make_decoder(decoder_right).passed


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (not_done, "not done yet"),
        (lambda d: nn.Sequential(*list(decoder_right(d))[:-1]), "flat vectors"),
        (lambda d: decoder_right(d, shape=(28, 28)), "channel axis"),
        (lambda d: decoder_right(d, tail=()), "end the decoder with nn.Sigmoid()"),
        (lambda d: decoder_right(d, tail=(nn.ReLU,)), "final ReLU does not cap"),
        (lambda d: decoder_right(d, hidden_act=False), "purely linear"),
        (lambda d: decoder_right(30), "latent_dim = 8 inputs"),
        (lambda d: decoder_right(d, tail=(lambda: Apply(torch.sqrt), nn.Sigmoid)), "contains NaN"),
        (lambda d: decoder_right(d, tail=(nn.Sigmoid, lambda: Apply(lambda x: 255 * x))), "× 255"),
        (lambda d: decoder_right(d, tail=(lambda: nn.Softmax(dim=1),)), "Softmax"),
    ],
    ids=[
        "todo",
        "flat",
        "no-channel",
        "no-sigmoid",
        "relu-out",
        "linear",
        "fixed-size",
        "nan",
        "scaled-sigmoid",
        "softmax",
    ],  # fmt: skip
)
def test_make_decoder_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.make_decoder, answer)


# ---------------------------------------------------------------- 02.3 reconstruction_loss


def loss_right(reconstructions, images):
    return ((reconstructions - images) ** 2).flatten(start_dim=1).sum(dim=1).mean()


def test_reconstruction_loss_right_answers_pass():
    assert check.reconstruction_loss(loss_right).passed
    assert check.reconstruction_loss(lambda r, x: F.mse_loss(r, x, reduction="sum") / len(x)).passed


def per_image(per_pixel):
    return per_pixel.flatten(start_dim=1).sum(dim=1)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (not_done, "not done yet"),
        (lambda r, x: F.mse_loss(r, x), "784× smaller"),
        (lambda r, x: ((r - x) ** 2).sum(), "whole batch"),
        (lambda r, x: per_image((r - x) ** 2), "one loss per image"),
        (lambda r, x: loss_right(r, x).item(), "Python float"),
        (lambda r, x: loss_right(r.detach(), x), "through the graph"),
        (lambda r, x: per_image((r - x) ** 2).sqrt().mean(), "RMSE"),
        (lambda r, x: loss_right(r, x).sqrt(), "square root of the loss"),
        (lambda r, x: per_image((r - x).abs()).mean(), "absolute error"),
        (lambda r, x: per_image(r - x).mean(), "forgot to square"),
        (lambda r, x: F.binary_cross_entropy(r, x, reduction="sum") / len(x), "binary cross-entropy"),
        (lambda r, x: -loss_right(r, x), "wrong sign"),
        (lambda r, x: 2 * loss_right(r, x), "expected"),
        (lambda r, x: per_image(r - x).sqrt().mean(), "contains NaN"),
        (lambda r, x: loss_right(torch.sigmoid(r), x), "applied a sigmoid"),
        (lambda r, x: F.binary_cross_entropy_with_logits(r, x, reduction="sum") / len(x), "with logits"),
        (lambda r, x: loss_right(255 * r, 255 * x), "0–255 scale"),
    ],
    ids=[
        "todo",
        "mean-all",
        "sum-all",
        "per-image",
        "item",
        "detach",
        "rmse",
        "sqrt",
        "l1",
        "no-square",
        "bce",
        "sign",
        "other",
        "nan",
        "sigmoid",
        "bce-logits",
        "255",
    ],  # fmt: skip
)
def test_reconstruction_loss_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.reconstruction_loss, answer)


# ---------------------------------------------------------------- 02.4 encode_decode


def encode_decode_right(model, images):
    model.eval()
    with torch.no_grad():
        codes = model.encode(images)
        return codes, model.decode(codes)


def no_eval(model, images):
    with torch.no_grad():
        codes = model.encode(images)
        return codes, model.decode(codes)


def no_grad_missing(model, images):
    model.eval()
    codes = model.encode(images)
    return codes, model.decode(codes)


def swapped(model, images):
    codes, reconstructions = encode_decode_right(model, images)
    return reconstructions, codes


def decodes_zeros(model, images):
    codes, _ = encode_decode_right(model, images)
    with torch.no_grad():
        return codes, model.decode(torch.zeros_like(codes))


def test_encode_decode_right_answer_passes():
    assert check.encode_decode(encode_decode_right).passed


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (not_done, "not done yet"),
        (lambda m, x: encode_decode_right(m, x)[1], "return two things"),
        (no_eval, "model.eval()"),
        (no_grad_missing, "torch.no_grad()"),
        (swapped, "order is swapped"),
        (decodes_zeros, "decode the codes you just computed"),
        (lambda m, x: m.encode(x.flatten(start_dim=1)), "raised ValueError"),
        (lambda m, x: encode_decode_right(m, 255 * x), "rescaled images"),
    ],
    ids=["todo", "one-thing", "train-mode", "grad", "swapped", "wrong-decode", "flat-input", "255"],
)
def test_encode_decode_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.encode_decode, answer)


# ---------------------------------------------------------------- 02.5 interpolate_codes


def interpolate_right(z_start, z_end, steps):
    t = torch.linspace(0, 1, steps)[:, None]
    return z_start + t * (z_end - z_start)


def test_interpolate_codes_right_answer_passes():
    assert check.interpolate_codes(interpolate_right).passed
    assert check.interpolate_codes(
        lambda a, b, n: torch.stack([torch.lerp(a, b, float(t)) for t in torch.linspace(0, 1, n)])
    ).passed


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (not_done, "not done yet"),
        (lambda a, b, n: interpolate_right(a, b, n).T, "one code per row"),
        (lambda a, b, n: interpolate_right(b, a, n), "backwards"),
        (lambda a, b, n: a + (torch.arange(n) / n)[:, None] * (b - a), "torch.linspace(0, 1, steps)"),
        (lambda a, b, n: interpolate_right(a, b, n - 1), "should be 5×3"),
        (
            lambda a, b, n: interpolate_right(a, b, n) ** 1.0 + torch.tensor([[0.0], [1], [1], [1], [0]]),
            "evenly",
        ),
        (lambda a, b, n: a + torch.arange(n)[:, None] * (b - a), "overshoots"),
        (lambda a, b, n: a + (torch.arange(n) / (n - n))[:, None] * (b - a), "contains NaN and inf"),
    ],
    ids=["todo", "transposed", "reversed", "arange", "too-few", "not-straight", "unscaled", "nan"],
)
def test_interpolate_codes_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.interpolate_codes, answer)
