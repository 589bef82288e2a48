"""Checkers for lesson 05 (convolutional GANs, and "is my GAN OK?").

05.1 ``transposed_output_size(size, kernel, stride, padding)``  (size − 1)·stride − 2·padding + kernel
05.2 ``up_block(in_channels, out_channels)``        ConvTranspose2d(k 4, s 2, p 1) → BatchNorm2d → ReLU: size × 2
05.3 ``down_block(in_channels, out_channels, batch_norm)``  Conv2d(k 4, s 2, p 1) → [BatchNorm2d] → LeakyReLU(0.2)
05.4 ``init_weights(module)``                        conv/linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02), biases 0
05.5 ``name_the_failures()``                          which failure each unlabelled run of the gallery is (practice)

The mistakes they name: the convolution's (downsampling) size formula, padding counted once or added, the "− 1"
forgotten, a float size; a Conv2d where a transposed one belongs (and the reverse), pooling or resizing instead of a
strided convolution, kernel/stride/padding that do not double (or halve) the size, channels swapped, BatchNorm1d,
batch norm missing or where it must not be, LeakyReLU's default slope 0.01 or a plain ReLU in D, LeakyReLU in G, a
squashing output; a standard deviation of 0.2 or a variance of 0.02, uniform weights, ConvTranspose2d or Linear
layers left out, batch-norm scales drawn around 0 or left at 1, biases not zeroed, a crash on layers without bias.
Accepted as right: nn.Identity() where batch norm is switched off, dropout, a bias before batch norm or not.
"""

from __future__ import annotations

import math
from typing import Dict, List

import torch
from torch import nn

from ..models import dcgan
from .core import Mistake, call, exercise

# ----------------------------------------------------------------------------------------------------------------
# 05.1 transposed_output_size
# ----------------------------------------------------------------------------------------------------------------

SIZE_CASES = [(7, 4, 2, 1), (14, 4, 2, 1), (1, 7, 1, 0), (5, 3, 2, 0), (5, 3, 2, 1), (4, 5, 3, 2)]


def size_variants(size: int, kernel: int, stride: int, padding: int) -> Dict[str, float]:
    """The right output size of a transposed convolution and the usual wrong formulas, by name."""
    return {
        "right": dcgan.transposed_output_size(size, kernel, stride, padding),
        "convolution": (size + 2 * padding - kernel) / stride + 1,
        "convolution_floor": (size + 2 * padding - kernel) // stride + 1,
        "padding_once": (size - 1) * stride - padding + kernel,
        "padding_added": (size - 1) * stride + 2 * padding + kernel,
        "no_minus_one": size * stride - 2 * padding + kernel,
        "no_padding": (size - 1) * stride + kernel,
        "times_stride": size * stride,
    }


SIZE_ADVICE = {
    "convolution": "this is the formula of an ordinary (downsampling) convolution, (size + 2·padding − kernel) / "
    "stride + 1. A transposed convolution runs it backwards: size = (out − 1)·stride − 2·padding + kernel",
    "convolution_floor": "this is the formula of an ordinary (downsampling) convolution, ⌊(size + 2·padding − "
    "kernel) / stride⌋ + 1. A transposed convolution runs it backwards: (size − 1)·stride − 2·padding + kernel",
    "padding_once": "padding trims BOTH borders of each side, so it counts twice: − 2·padding",
    "padding_added": "padding trims the output of a transposed convolution (it is the padding of the convolution "
    "it reverses): subtract 2·padding, do not add it",
    "no_minus_one": "the patches of `size` input pixels start stride apart, so the first and the last start "
    "(size − 1)·stride apart, not size·stride: (size − 1)·stride − 2·padding + kernel",
    "no_padding": "padding is missing: it trims each border, so subtract 2·padding",
    "times_stride": "size·stride is right only for kernel 4, stride 2, padding 1 (and a few others): each input "
    "pixel paints a kernel×kernel patch, patches start stride apart, padding trims each border",
}


@exercise("05.1", "transposed_output_size", points=1)
def transposed_output_size(fn) -> str:
    """Check ``transposed_output_size(size, kernel, stride, padding)`` against the formula and PyTorch itself."""
    values = []
    for size, kernel, stride, padding in SIZE_CASES:
        what = f"transposed_output_size({size}, {kernel}, {stride}, {padding})"
        value = call(fn, size, kernel, stride, padding, what=what)
        if value is None:
            raise Mistake(f"{what} returned None: did you forget the `return`?")
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise Mistake(f"{what} should return a whole number, got {type(value).__name__}.")
        values.append((what, value, size_variants(size, kernel, stride, padding)))
    wrong = [(what, value, variants) for what, value, variants in values if value != variants["right"]]
    if not wrong:
        floats = [what for what, value, _ in values if isinstance(value, float)]
        if floats:
            raise Mistake(f"{floats[0]} returned a float: sizes are whole numbers. Use // or int(...).")
        layer = nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)
        real = layer(torch.zeros(1, 1, 7, 7)).shape[-1]
        return f"(size − 1)·stride − 2·padding + kernel; e.g. 7 → {real} with kernel 4, stride 2, padding 1, as PyTorch."
    what, value, variants = wrong[0]
    for name, text in SIZE_ADVICE.items():  # the formula that gives ALL of the learner's numbers
        if all(math.isclose(v, var[name]) for _, v, var in values):
            raise Mistake(f"{what} returned {value}; expected {variants['right']}: {text}.")
    raise Mistake(f"{what} returned {value}; expected {variants['right']} (what nn.ConvTranspose2d gives).")


# ----------------------------------------------------------------------------------------------------------------
# 05.2 / 05.3 the blocks
# ----------------------------------------------------------------------------------------------------------------


def _leaf_layers(block) -> List[nn.Module]:
    """The block's layers in order, without the ones that compute nothing (nn.Identity, e.g. where batch norm is
    switched off) and without dropout."""
    return [
        m
        for m in block.modules()
        if len(list(m.children())) == 0 and not isinstance(m, (nn.Identity, nn.Dropout))
    ]


def _sequence_mistake(what: str, layers: List[nn.Module], expected: List[type]) -> None:
    """Name what is wrong with the layers' sequence: the order, or a layer too many or too few."""
    kinds = [type(m) for m in layers]
    if kinds == expected:
        return
    want = " → ".join(k.__name__ for k in expected)
    if sorted(k.__name__ for k in kinds) == sorted(k.__name__ for k in expected):
        raise Mistake(f"{what} is {_order(layers)}; it should be {want}, in that order.")
    extra = [k.__name__ for k in kinds if k not in expected]
    detail = f" ({', '.join(extra)} does not belong in it)" if extra else ""
    raise Mistake(f"{what} is {_order(layers)}; it should be {want}{detail}.")


def _get_block(fn, what: str, *args) -> nn.Module:
    block = call(fn, *args, what=what)
    if block is None:
        raise Mistake(f"{what} returned None: did you forget `return nn.Sequential(...)`?")
    if not isinstance(block, nn.Module):
        raise Mistake(
            f"{what} should return a torch.nn.Module (e.g. nn.Sequential(...)), got {type(block).__name__}."
        )
    return block


def _order(layers: List[nn.Module]) -> str:
    return " → ".join(type(m).__name__ for m in layers)


def _check_conv(conv, kind: str, in_channels: int, out_channels: int, what: str) -> None:
    """The (transposed) convolution's channels, kernel, stride and padding."""
    if (conv.in_channels, conv.out_channels) == (out_channels, in_channels):
        raise Mistake(
            f"the {kind} has its channels the wrong way round ({conv.in_channels} → {conv.out_channels}): "
            f"{kind}(in_channels, out_channels, ...)."
        )
    if (conv.in_channels, conv.out_channels) != (in_channels, out_channels):
        raise Mistake(
            f"{what} has a {kind}({conv.in_channels}, {conv.out_channels}, ...); use the arguments: "
            f"{kind}(in_channels, out_channels, ...)."
        )
    settings = (conv.kernel_size[0], conv.stride[0], conv.padding[0])
    if settings != (4, 2, 1):
        raise Mistake(
            f"the {kind} has kernel_size={settings[0]}, stride={settings[1]}, padding={settings[2]}; the lesson's "
            "DCGAN uses kernel_size=4, stride=2, padding=1 (a kernel divisible by the stride, so every output pixel "
            "gets the same number of contributions)."
        )


def _no_squash(layers: List[nn.Module], where: str) -> None:
    if any(isinstance(m, (nn.Sigmoid, nn.Tanh)) for m in layers):
        raise Mistake(
            f"no sigmoid or tanh in {where}: a hidden block ends with its activation (ReLU in G, LeakyReLU(0.2) "
            "in D); only G's very last layer has a tanh, and D outputs a logit."
        )


@exercise("05.2", "up_block", points=2)
def up_block(fn) -> str:
    """Check ``up_block(in_channels, out_channels)``: ConvTranspose2d(k 4, s 2, p 1) → BatchNorm2d → ReLU."""
    in_channels, out_channels, what = 6, 3, "up_block(6, 3)"
    block = _get_block(fn, what, in_channels, out_channels)
    layers = _leaf_layers(block)
    _no_squash(layers, "up_block")
    if any(isinstance(m, nn.Upsample) for m in layers):
        raise Mistake(
            "this exercise builds the transposed-convolution block; the resize-then-convolve block (Upsample → "
            "Conv2d) is the alternative shown later. Use nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1)."
        )
    transposed = [m for m in layers if isinstance(m, nn.ConvTranspose2d)]
    if not transposed:
        if any(isinstance(m, nn.Conv2d) for m in layers):
            raise Mistake(
                "nn.Conv2d with stride 2 HALVES the size; the generator must double it: nn.ConvTranspose2d("
                "in_channels, out_channels, kernel_size=4, stride=2, padding=1)."
            )
        raise Mistake(
            "the block needs a transposed convolution: nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1)."
        )
    if len(transposed) > 1 or any(isinstance(m, (nn.Conv2d, nn.Linear)) for m in layers):
        raise Mistake(
            f"one nn.ConvTranspose2d per block, and no other convolution or Linear layer; you have {_order(layers)}."
        )
    _check_conv(transposed[0], "nn.ConvTranspose2d", in_channels, out_channels, what)
    if any(isinstance(m, nn.LeakyReLU) for m in layers):
        raise Mistake(
            "the generator uses a plain nn.ReLU (Radford et al., 2016); LeakyReLU(0.2) is the discriminator's."
        )
    if any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm3d)) for m in layers):
        raise Mistake("the block's outputs are images (N×C×H×W): use nn.BatchNorm2d(out_channels), one mean and "
                      "variance per channel.")  # fmt: skip
    norms = [m for m in layers if isinstance(m, nn.BatchNorm2d)]
    if not norms:
        raise Mistake("batch norm is missing: ConvTranspose2d → nn.BatchNorm2d(out_channels) → ReLU.")
    if norms[0].num_features != out_channels:
        raise Mistake(f"nn.BatchNorm2d normalizes the {out_channels} channels the convolution outputs: "
                      "nn.BatchNorm2d(out_channels).")  # fmt: skip
    _sequence_mistake("the block", layers, [nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU])
    x = torch.randn(8, in_channels, 7, 7, generator=torch.Generator().manual_seed(0))
    block.train()
    out = call(block, x, what=f"{what}(a batch of shape (8, 6, 7, 7))")
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (8, out_channels, 14, 14):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise Mistake(
            f"the block turned (8, 6, 7, 7) into {got}; expected (8, 3, 14, 14): twice the height and width."
        )
    if bool((out < 0).any()):
        raise Mistake("the block's outputs should be ≥ 0 (it ends with ReLU).")
    note = "" if transposed[0].bias is None else " (bias=False would do: batch norm subtracts any bias again)"
    return f"ConvTranspose2d(4, 2, 1) → BatchNorm2d → ReLU: (8, 6, 7, 7) → (8, 3, 14, 14){note}."


@exercise("05.3", "down_block", points=2)
def down_block(fn) -> str:
    """Check ``down_block(in_channels, out_channels, batch_norm)``: Conv2d(k 4, s 2, p 1) → [BatchNorm2d] →
    LeakyReLU(0.2), with and without batch norm."""
    in_channels, out_channels = 3, 5
    for batch_norm in (True, False):
        what = f"down_block(3, 5, batch_norm={batch_norm})"
        block = _get_block(fn, what, in_channels, out_channels, batch_norm)
        layers = _leaf_layers(block)
        _no_squash(layers, "down_block")
        if any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in layers):
            raise Mistake(
                "no pooling: Radford et al. (2016) let the network learn its own downsampling with a strided "
                "convolution, nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1)."
            )
        convs = [m for m in layers if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        if not convs:
            raise Mistake(
                "the block needs a convolution: nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1)."
            )
        if isinstance(convs[0], nn.ConvTranspose2d):
            raise Mistake("a transposed convolution doubles the size; the discriminator halves it with an ordinary "
                          "strided convolution: nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1).")  # fmt: skip
        if len(convs) > 1 or any(isinstance(m, nn.Linear) for m in layers):
            raise Mistake(
                f"one nn.Conv2d per block, and no other convolution or Linear layer; you have {_order(layers)}."
            )
        _check_conv(convs[0], "nn.Conv2d", in_channels, out_channels, what)
        leaky = [m for m in layers if isinstance(m, nn.LeakyReLU)]
        if not leaky:
            if any(isinstance(m, nn.ReLU) for m in layers):
                raise Mistake("use nn.LeakyReLU(0.2), not ReLU: a ReLU passes no gradient for negative inputs, so "
                              "parts of D go silent and G gets less feedback through them.")  # fmt: skip
            raise Mistake("the activation is missing: Conv2d → [BatchNorm2d] → nn.LeakyReLU(0.2).")
        if abs(leaky[0].negative_slope - 0.2) > 1e-9:
            default = " (nn.LeakyReLU()'s default)" if abs(leaky[0].negative_slope - 0.01) < 1e-12 else ""
            raise Mistake(f"your LeakyReLU has negative_slope={leaky[0].negative_slope}{default}; DCGAN uses 0.2: "
                          "nn.LeakyReLU(0.2).")  # fmt: skip
        norms = [m for m in layers if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))]
        if any(not isinstance(m, nn.BatchNorm2d) for m in norms):
            raise Mistake("the block's outputs are images (N×C×H×W): use nn.BatchNorm2d(out_channels).")
        if batch_norm and not norms:
            raise Mistake(f"{what} has no batch norm: with batch_norm=True it is Conv2d → nn.BatchNorm2d(out_channels) "
                          "→ LeakyReLU(0.2).")  # fmt: skip
        if not batch_norm and norms:
            raise Mistake(
                f"{what} has a batch norm: with batch_norm=False (D's first layer, which must see the raw pixel "
                "statistics, and a WGAN-GP critic) it is Conv2d → LeakyReLU(0.2) only."
            )
        if norms and norms[0].num_features != out_channels:
            raise Mistake(
                "nn.BatchNorm2d normalizes the convolution's outputs: nn.BatchNorm2d(out_channels)."
            )
        expected = [nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU] if batch_norm else [nn.Conv2d, nn.LeakyReLU]
        _sequence_mistake(what, layers, expected)
        x = torch.randn(8, in_channels, 14, 14, generator=torch.Generator().manual_seed(0))
        block.eval()
        out = call(block, x, what=f"{what}(a batch of shape (8, 3, 14, 14))")
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (8, out_channels, 7, 7):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise Mistake(
                f"{what} turned (8, 3, 14, 14) into {got}; expected (8, 5, 7, 7): half the height and width."
            )
    return "Conv2d(4, 2, 1) → [BatchNorm2d] → LeakyReLU(0.2): (8, 3, 14, 14) → (8, 5, 7, 7), batch norm only when asked."


# ----------------------------------------------------------------------------------------------------------------
# 05.4 init_weights
# ----------------------------------------------------------------------------------------------------------------


def _init_probe() -> nn.Sequential:
    """Layers of every kind init_weights must handle, large enough that their weights' std is measured to ±3%."""
    return nn.Sequential(
        nn.Linear(64, 512),  # 32,768 weights, with a bias
        nn.Unflatten(1, (32, 4, 4)),
        nn.ConvTranspose2d(32, 64, 4, 2, 1, bias=False),  # 32,768 weights, no bias (batch norm follows)
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.Conv2d(64, 64, 4, 2, 1),  # 65,536 weights, with a bias
        nn.BatchNorm2d(64),
        nn.LeakyReLU(0.2),
    )


def _describe_spread(weights: torch.Tensor) -> str:
    return f"mean {float(weights.mean()):.3f}, standard deviation {float(weights.std()):.4f}"


def _check_weights(weights: torch.Tensor, layer: str) -> None:
    std, mean = float(weights.std()), float(weights.mean())
    if abs(std - 0.02) <= 0.002 and abs(mean) <= 0.002:
        excess = float(((weights - mean) ** 4).mean() / weights.var() ** 2) - 3
        if excess < -0.9:  # a uniform distribution's excess kurtosis is −1.2, a normal's 0
            raise Mistake(f"the {layer} weights have the right spread but are uniform; draw them from a normal "
                          "distribution: nn.init.normal_(m.weight, 0.0, 0.02).")  # fmt: skip
        return
    if abs(std - 0.2) < 0.02:
        raise Mistake(
            f"the {layer} weights have standard deviation 0.2, ten times too large: nn.init.normal_(m.weight, 0.0, 0.02)."
        )
    if abs(std - math.sqrt(0.02)) < 0.014:
        raise Mistake(
            f"the {layer} weights have standard deviation {std:.3f} = √0.02: 0.02 is the standard deviation, not "
            "the variance. nn.init.normal_(m.weight, mean=0.0, std=0.02)."
        )
    if abs(std - 0.02 / math.sqrt(3)) < 0.002:
        raise Mistake(f"the {layer} weights look uniform on [−0.02, 0.02]; draw them from a normal distribution: "
                      "nn.init.normal_(m.weight, 0.0, 0.02).")  # fmt: skip
    raise Mistake(
        f"the {layer} weights were not set to N(0, 0.02): they have {_describe_spread(weights)} (PyTorch's default "
        "initialisation?). Check the isinstance test: nn.Conv2d, nn.ConvTranspose2d and nn.Linear are three "
        "different classes (ConvTranspose2d is not a Conv2d)."
    )


@exercise("05.4", "init_weights", points=2)
def init_weights(fn) -> str:
    """Check ``init_weights(module)`` as ``model.apply(init_weights)`` on Linear, ConvTranspose2d, Conv2d and
    BatchNorm2d layers: N(0, 0.02) weights, N(1, 0.02) batch-norm scales, zero biases."""
    if not callable(fn):
        raise Mistake(
            f"Pass your function itself, e.g. check.init_weights(init_weights); got {type(fn).__name__}."
        )
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = _init_probe()
        for m in model.modules():  # biases and shifts start non-zero, so "set them to 0" is visible
            if getattr(m, "bias", None) is not None:
                nn.init.constant_(m.bias, 0.5)
        try:
            call(model.apply, fn, what="model.apply(init_weights)")
        except Mistake as mistake:
            if "NoneType" in str(mistake):
                raise Mistake(
                    f"{mistake} Some layers have no bias (bias=False, as before a batch norm): zero a bias only "
                    "when it exists, `if m.bias is not None:`."
                ) from None
            raise
    linear, transposed, _, conv, norm = model[0], model[2], model[3], model[5], model[6]
    for layer, name in ((conv, "Conv2d"), (transposed, "ConvTranspose2d"), (linear, "Linear")):
        _check_weights(layer.weight.detach(), name)
    for layer, name in ((linear, "Linear"), (conv, "Conv2d")):
        if not torch.all(layer.bias == 0):
            raise Mistake(f"the {name} biases should be 0: nn.init.zeros_(m.bias) (when m.bias is not None).")
    for bn in (model[3], norm):
        scale = bn.weight.detach()
        if torch.all(scale == 1):
            raise Mistake("the batch-norm scales are all exactly 1 (PyTorch's default); DCGAN draws them from "
                          "N(1, 0.02): nn.init.normal_(m.weight, 1.0, 0.02).")  # fmt: skip
        if abs(float(scale.mean())) < 0.1 and float(scale.std()) < 0.1:
            raise Mistake(
                "the batch-norm scales are drawn around 0: they multiply each normalized channel, so scales near 0 "
                "switch the channels off. Draw them around 1: nn.init.normal_(m.weight, 1.0, 0.02)."
            )
        if abs(float(scale.mean()) - 1) > 0.01 or not 0.01 < float(scale.std()) < 0.03:
            raise Mistake(
                f"the batch-norm scales should be ~ N(1, 0.02); they have {_describe_spread(scale)}."
            )
        if not torch.all(bn.bias == 0):
            raise Mistake("the batch-norm shifts (bias) should be 0: nn.init.zeros_(m.bias).")
    return (
        "N(0, 0.02) for Linear, Conv2d and ConvTranspose2d weights; batch-norm scales N(1, 0.02); biases 0."
    )


# ----------------------------------------------------------------------------------------------------------------
# 05.5 name_the_failures
# ----------------------------------------------------------------------------------------------------------------

# What a run of each kind shows in its curves. A wrong answer is told what its CHOICE would show, so the feedback
# never names the right answer or describes the run it belongs to.
SIGNS = {
    "sigmoid_before_logits_loss": "D(x) and D(G(z)) never leave [0.5, 0.73] (σ(σ(x)) cannot), whatever D learns",
    "no_batch_norm_in_g": "the fakes start almost identical (spread near 0 at the very start), and D(G(z)) sinks "
    "towards 0",
    "mode_collapse": "the spread climbs above an untrained G's 0.2 and then FALLS BACK to it or below (the fakes "
    "alike again), while D(x) stays above D(G(z)): D learns, and wins",
    "d_too_strong": "D(G(z)) drops to about 0.001 near the start (D rejects every fake) while G's gradient norm is "
    "large",
    "healthy": "D(G(z)) stays below D(x) but clear of 0, the gradient norms stay in a steady band, and the spread "
    "climbs towards 1 and stays there",
}


@exercise("05.5", "name_the_failures", practice=True)
def name_the_failures(fn) -> str:
    """Check ``name_the_failures()`` → {letter: failure name} for the unlabelled runs A–E of the lesson.

    Ungraded practice: the learner's own notebook holds the labelled gallery the unlabelled runs are drawn from, and
    this checker answers as often as it is asked, so a grade would not say who can read the curves.
    """
    from ..gan_diagnostics import _MYSTERY, MYSTERY_CHOICES

    answers = call(fn, what="name_the_failures()")
    if not isinstance(answers, dict):
        raise Mistake(
            f"name_the_failures() should return a dict like {{'A': 'healthy', ...}}, got {type(answers).__name__}."
        )
    letters = sorted(_MYSTERY)
    keys = sorted(str(k).strip().upper() for k in answers)
    if keys != letters:
        raise Mistake(
            f"give one answer for each run {', '.join(letters)} (keys {letters}); you gave keys {sorted(answers)}."
        )
    answers = {str(k).strip().upper(): v for k, v in answers.items()}
    unknown = {k: v for k, v in answers.items() if v not in MYSTERY_CHOICES}
    if unknown:
        letter, value = sorted(unknown.items())[0]
        raise Mistake(
            f"run {letter}: {value!r} is not one of the names: {', '.join(repr(c) for c in MYSTERY_CHOICES)}."
        )
    wrong = [letter for letter in letters if answers[letter] != _MYSTERY[letter]]
    if wrong:
        lines = [
            f"run {letter} is not {answers[letter]!r}: such a run would show that {SIGNS[answers[letter]]}; "
            f"look at run {letter} again"
            for letter in wrong
        ]
        right = len(letters) - len(wrong)
        raise Mistake(f"{right} of {len(letters)} right. " + "; ".join(lines) + ".")
    return "all five runs named from their curves alone."
