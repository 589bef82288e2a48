"""Lesson 05's checkers: the right answers pass, and each mistake they claim to diagnose gets its diagnosis."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils import check
from course_utils.exercises import CHECKERS, ExerciseFailed
from course_utils.models import dcgan


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


# ----------------------------------------------------------------------------------------------------------------
# 05.1 transposed_output_size
# ----------------------------------------------------------------------------------------------------------------


def test_transposed_output_size_right_answers_pass():
    assert check.transposed_output_size(dcgan.transposed_output_size).passed
    assert check.transposed_output_size(lambda n, k, s, p: n * s - s - 2 * p + k).passed


def test_the_formula_matches_pytorch():
    for size, kernel, stride, padding in [(7, 4, 2, 1), (5, 3, 2, 0), (4, 5, 3, 2), (1, 7, 1, 0)]:
        layer = nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding)
        got = layer(torch.zeros(1, 1, size, size)).shape[-1]
        assert got == dcgan.transposed_output_size(size, kernel, stride, padding)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda n, k, s, p: (n + 2 * p - k) / s + 1, "ordinary (downsampling) convolution"),
        (lambda n, k, s, p: (n + 2 * p - k) // s + 1, "ordinary (downsampling) convolution"),
        (lambda n, k, s, p: (n - 1) * s - p + k, "counts twice"),
        (lambda n, k, s, p: (n - 1) * s + 2 * p + k, "do not add it"),
        (lambda n, k, s, p: n * s - 2 * p + k, "(size − 1)·stride"),
        (lambda n, k, s, p: (n - 1) * s + k, "padding is missing"),
        (lambda n, k, s, p: n * s, "only for kernel 4"),
        (lambda n, k, s, p: float((n - 1) * s - 2 * p + k), "a float"),
        (lambda n, k, s, p: None, "forget the `return`"),
        (lambda n, k, s, p: (n - 1) * s - 2 * p + k + 1, "expected 14"),
    ],
)
def test_transposed_output_size_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.transposed_output_size, answer)


# ----------------------------------------------------------------------------------------------------------------
# 05.2 up_block
# ----------------------------------------------------------------------------------------------------------------


def test_up_block_right_answers_pass():
    assert check.up_block(dcgan.generator_block).passed
    result = check.up_block(
        lambda i, o: nn.Sequential(
            nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.ReLU(inplace=True)
        )
    )
    assert result.passed and "bias=False would do" in result.message


def _up(conv=None, norm="bn2d", act="relu", extra=()):
    def block(i, o):
        layers = [conv(i, o) if conv else nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False)]
        if norm == "bn2d":
            layers.append(nn.BatchNorm2d(o))
        elif norm == "bn1d":
            layers.append(nn.BatchNorm1d(o))
        elif norm == "bn_in":
            layers.append(nn.BatchNorm2d(i))
        layers.append({"relu": nn.ReLU(), "leaky": nn.LeakyReLU(0.2)}[act])
        return nn.Sequential(*layers, *extra)

    return block


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_up(conv=lambda i, o: nn.Conv2d(i, o, 4, 2, 1)), "HALVES the size"),
        (_up(conv=lambda i, o: nn.ConvTranspose2d(o, i, 4, 2, 1)), "channels the wrong way round"),
        (_up(conv=lambda i, o: nn.ConvTranspose2d(i, o, 3, 2, 1)), "kernel_size=3, stride=2, padding=1"),
        (_up(conv=lambda i, o: nn.ConvTranspose2d(i, o, 4, 1, 0)), "kernel_size=4, stride=1, padding=0"),
        (_up(norm=None), "batch norm is missing"),
        (_up(norm="bn1d"), "nn.BatchNorm2d(out_channels), one mean"),
        (_up(norm="bn_in"), "normalizes the 3 channels"),
        (_up(act="leaky"), "plain nn.ReLU"),
        (_up(extra=(nn.Tanh(),)), "no sigmoid or tanh"),
        (
            lambda i, o: nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()),
            "resize-then-convolve block",
        ),
        (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.ReLU(), nn.BatchNorm2d(o)), "in that order"),
        (lambda i, o: None, "forget `return nn.Sequential"),
        (lambda i, o: [nn.ConvTranspose2d(i, o, 4, 2, 1)], "should return a torch.nn.Module"),
    ],
)  # fmt: skip
def test_up_block_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.up_block, answer)


# ----------------------------------------------------------------------------------------------------------------
# 05.3 down_block
# ----------------------------------------------------------------------------------------------------------------


def test_down_block_right_answers_pass():
    assert check.down_block(
        lambda i, o, bn: dcgan.discriminator_block(i, o, "batch" if bn else "none")
    ).passed

    def written_out(in_channels, out_channels, batch_norm=True):
        layers = [nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        return nn.Sequential(*layers, nn.LeakyReLU(0.2, inplace=True))

    assert check.down_block(written_out).passed

    def identity_when_off(in_channels, out_channels, batch_norm=True):  # one layer list for both cases
        norm = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 4, 2, 1), norm, nn.LeakyReLU(0.2))

    assert check.down_block(identity_when_off).passed


def test_a_layer_too_many_is_named_and_not_called_the_wrong_order():
    def extra(in_channels, out_channels, batch_norm=True):
        layers = [nn.Conv2d(in_channels, out_channels, 4, 2, 1)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        return nn.Sequential(*layers, nn.LeakyReLU(0.2), nn.Softplus())

    message = feedback(check.down_block, extra)
    assert "Softplus does not belong in it" in message and "in that order" not in message


def _down(conv=None, norm="bn2d", act=None, pool=False, always_norm=False, never_norm=False):
    def block(i, o, bn=True):
        layers = [conv(i, o) if conv else nn.Conv2d(i, o, 4, 2, 1)]
        if pool:
            layers = [nn.Conv2d(i, o, 3, 1, 1), nn.MaxPool2d(2)]
        use = (bn or always_norm) and not never_norm
        if use and norm == "bn2d":
            layers.append(nn.BatchNorm2d(o))
        elif use and norm == "bn1d":
            layers.append(nn.BatchNorm1d(o))
        layers.append(act() if act else nn.LeakyReLU(0.2))
        return nn.Sequential(*layers)

    return block


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_down(act=nn.LeakyReLU), "negative_slope=0.01 (nn.LeakyReLU()'s default)"),
        (_down(act=lambda: nn.LeakyReLU(0.1)), "negative_slope=0.1;"),
        (_down(act=nn.ReLU), "not ReLU"),
        (_down(act=nn.Sigmoid), "no sigmoid or tanh"),
        (_down(pool=True), "no pooling"),
        (_down(conv=lambda i, o: nn.ConvTranspose2d(i, o, 4, 2, 1)), "doubles the size"),
        (_down(conv=lambda i, o: nn.Conv2d(o, i, 4, 2, 1)), "wrong way round"),
        (_down(conv=lambda i, o: nn.Conv2d(i, o, 3, 2, 1)), "kernel_size=3"),
        (_down(norm=None), "has no batch norm"),
        (_down(always_norm=True), "D's first layer"),
        (_down(norm="bn1d"), "use nn.BatchNorm2d(out_channels)"),
        (lambda i, o, bn=True: nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.LeakyReLU(0.2), *([nn.BatchNorm2d(o)] if bn else [])), "in that order"),
        (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.LeakyReLU(0.2)), "raised TypeError"),
    ],
)  # fmt: skip
def test_down_block_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.down_block, answer)


# ----------------------------------------------------------------------------------------------------------------
# 05.4 init_weights
# ----------------------------------------------------------------------------------------------------------------


def test_init_weights_right_answers_pass():
    assert check.init_weights(dcgan.init_weights).passed

    def by_class_name(m):  # the pytorch/examples dcgan style
        name = type(m).__name__
        if "Conv" in name or "Linear" in name:
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif "BatchNorm" in name:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.constant_(m.bias, 0)

    assert check.init_weights(by_class_name).passed

    def weights_init(m):  # the PyTorch DCGAN tutorial's, as written there
        classname = m.__class__.__name__
        if classname.find("Conv") != -1 or classname.find("Linear") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias.data, 0)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    assert check.init_weights(weights_init).passed


def test_an_unwritten_init_weights_is_named_not_apply():
    def init_weights(module):
        raise NotImplementedError("Exercise 05.4: write the body of init_weights here")

    message = feedback(check.init_weights, init_weights)
    assert "not done yet" in message and "in init_weights" in message and "apply" not in message


def _init(weight_std=0.02, kinds=(nn.Conv2d, nn.ConvTranspose2d, nn.Linear), bn=(1.0, 0.02), zero_bias=True,
          uniform=False, guard_bias=True):  # fmt: skip
    def init(m):
        if isinstance(m, kinds):
            if uniform:
                nn.init.uniform_(m.weight, -0.02, 0.02)
            else:
                nn.init.normal_(m.weight, 0.0, weight_std)
            if zero_bias and (m.bias is not None or not guard_bias):
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            if bn is None:
                nn.init.ones_(m.weight)
            else:
                nn.init.normal_(m.weight, *bn)
            if zero_bias:
                nn.init.zeros_(m.bias)

    return init


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_init(weight_std=0.2), "ten times too large"),
        (_init(weight_std=math.sqrt(0.02)), "not the variance"),
        (_init(uniform=True), "uniform on [−0.02, 0.02]"),
        (_init(kinds=(nn.Conv2d, nn.Linear)), "ConvTranspose2d is not a Conv2d"),
        (_init(kinds=(nn.Conv2d, nn.ConvTranspose2d)), "Linear weights were not set"),
        (_init(bn=(0.0, 0.02)), "switch the channels off"),
        (_init(bn=None), "exactly 1"),
        (_init(bn=(1.0, 0.2)), "should be ~ N(1, 0.02)"),
        (_init(zero_bias=False), "biases should be 0"),
        (_init(guard_bias=False), "if m.bias is not None"),
    ],
)
def test_init_weights_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.init_weights, answer)


def test_init_weights_does_not_change_the_callers_random_numbers():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    check.init_weights(dcgan.init_weights)
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------------------------------------------------------
# 05.5 name_the_failures
# ----------------------------------------------------------------------------------------------------------------

RIGHT = {"A": "no_batch_norm_in_g", "B": "mode_collapse", "C": "healthy", "D": "sigmoid_before_logits_loss",
         "E": "d_too_strong"}  # fmt: skip


def test_name_the_failures_right_answer_passes():
    assert check.name_the_failures(lambda: dict(RIGHT)).passed
    assert check.name_the_failures(lambda: {k.lower(): v for k, v in RIGHT.items()}).passed


@pytest.mark.parametrize(
    "answers, diagnosis",
    [
        (
            {**RIGHT, "D": "healthy"},
            "4 of 5 right. run D is not 'healthy': such a run would show that D(G(z)) stays",
        ),
        ({**RIGHT, "A": "d_too_strong", "E": "no_batch_norm_in_g"}, "3 of 5 right. run A"),
        ({**RIGHT, "B": "d_too_strong"}, "drops to about 0.001"),
        ({**RIGHT, "C": "mode_collapse"}, "FALLS BACK to it or below"),
        ({**RIGHT, "E": "healthy"}, "climbs towards 1"),
        ({k: v for k, v in RIGHT.items() if k != "E"}, "one answer for each run"),
        ({**RIGHT, "C": "ok"}, "'ok' is not one of the names"),
        (["healthy"] * 5, "should return a dict"),
    ],
)
def test_name_the_failures_mistakes(answers, diagnosis):
    assert diagnosis in feedback(check.name_the_failures, lambda: answers)


@pytest.mark.parametrize("letter", sorted(RIGHT))
def test_a_wrong_name_is_told_what_its_choice_shows_never_the_right_answer(letter):
    """The feedback describes the learner's choice; it neither names the right failure nor describes its curves."""
    from course_utils.exercises.lesson05 import SIGNS

    for choice in sorted(set(RIGHT.values()) - {RIGHT[letter]}):
        message = feedback(check.name_the_failures, lambda choice=choice: {**RIGHT, letter: choice})
        assert SIGNS[choice] in message
        assert repr(RIGHT[letter]) not in message and SIGNS[RIGHT[letter]] not in message


def test_name_the_failures_is_ungraded_practice():
    info = CHECKERS["05.5"]
    assert info.practice and info.points == 0
