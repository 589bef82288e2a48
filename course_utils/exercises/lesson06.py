"""Checkers for lesson 06 (Wasserstein GANs and the gradient penalty).

06.1 ``wasserstein_1d(a, b)``                       exact W1 of two 1-D samples of equal size: mean |sort a − sort b|
06.2 ``critic_loss(real_scores, fake_scores)``      E[f(fake)] − E[f(real)]
06.3 ``wgan_generator_loss(fake_scores)``           −E[f(G(z))]
06.4 ``gradient_penalty(critic, real, fake, weight=10.0)``  λ·mean (‖∇f(x̂)‖₂ − 1)², x̂ = αx + (1 − α)x̃
     (the one-sided λ·mean max(0, ‖∇f(x̂)‖₂ − 1)² of Petzka et al., 2018, is accepted too, and named)

The mistakes they name: for W1, pairing the samples unsorted (or only one sorted, or sorted in opposite orders),
the difference of the means, squares (W2), a sum or a maximum instead of the mean, torch.sort's (values, indices)
pair; for the losses, the sign, lesson 04's BCE, a sigmoid on the scores, a sum, a half, an absolute value; for the
penalty, one α for the whole batch, α from a normal, one α per number instead of per example, the gradient taken
at the real or fake points, x̂ not requiring gradients, forgetting ``create_graph=True``, the norm over the whole
batch instead of per example, the norm over the channels only, the gradient of the mean score, the square
missing, the squared norm, a sum over the batch, the weight λ missing or ignored.
"""

from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from ..models import wgan
from .core import Mistake, call, exercise, expect_tensor
from .lesson04 import discriminator_variants, generator_variants


def _isclose(value: torch.Tensor, expected: torch.Tensor) -> bool:
    return bool(torch.isclose(value.double(), expected.double(), atol=1e-5, rtol=1e-4))


def _number(value, what: str) -> torch.Tensor:
    """The learner's result as a float64 0-dim tensor, after checking it is one number."""
    if value is None:
        raise Mistake(f"{what} returned None: did you forget the `return` statement?")
    if isinstance(value, (int, float)):
        return torch.tensor(float(value), dtype=torch.float64)
    expect_tensor(value, what)
    if value.numel() != 1:
        raise Mistake(
            f"{what} should be one number (a 0-dim tensor), got shape {tuple(value.shape)}: average over the "
            "batch with .mean()."
        )
    return value.detach().double().reshape(())


def _keeps_graph(value, what: str) -> None:
    if not isinstance(value, torch.Tensor) or not value.requires_grad:
        raise Mistake(
            f"{what} is cut off from the graph (no gradient can flow back): did you use .item(), .detach(), "
            "float(...) or torch.no_grad()? Return the loss tensor itself so that .backward() works."
        )


def _match(value: torch.Tensor, variants: Dict[str, torch.Tensor], advice: Dict[str, str], what: str) -> None:
    """Pass if ``value`` is the right one; else name the first known mistake it equals, or give both numbers."""
    if _isclose(value, variants["right"]):
        return
    if not torch.isfinite(value):
        raise Mistake(
            f"{what} is {float(value)} on ordinary scores. A critic's scores are any real numbers (no sigmoid, "
            "no probabilities): there is no log in a Wasserstein loss, only means of the scores."
        )
    for name, text in advice.items():
        if name in variants and _isclose(value, variants[name]):
            raise Mistake(f"{what}: {text}.")
    raise Mistake(f"{what} is {float(value):.5f}; expected {float(variants['right']):.5f}.")


# ----------------------------------------------------------------------------------------------------------------
# 06.1 wasserstein_1d
# ----------------------------------------------------------------------------------------------------------------


def wasserstein_variants(a: torch.Tensor, b: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The exact 1-D W1 and the usual wrong ones, by name (float64)."""
    a, b = a.double(), b.double()
    sa, sb = torch.sort(a).values, torch.sort(b).values
    return {
        "right": (sa - sb).abs().mean(),
        "unsorted": (a - b).abs().mean(),
        "only_a_sorted": (sa - b).abs().mean(),
        "only_b_sorted": (a - sb).abs().mean(),
        "opposite_orders": (sa - sb.flip(0)).abs().mean(),
        "mean_difference": (a.mean() - b.mean()).abs(),
        "signed": a.mean() - b.mean(),
        "signed_other": b.mean() - a.mean(),
        "squared": ((sa - sb) ** 2).mean(),
        "w2": ((sa - sb) ** 2).mean().sqrt(),
        "sum": (sa - sb).abs().sum(),
        "max": (sa - sb).abs().max(),
    }


MEANS = (
    "this is the difference of the two means (mean(sort(a) − sort(b)) is just that, too). It equals W1 only "
    "when one sample is a shifted copy of the other; W1 takes the absolute value of each difference BEFORE "
    "averaging, (sort(a) − sort(b)).abs().mean(), and so also sees differences of spread and shape"
)

WASSERSTEIN_ADVICE = {
    "unsorted": "you paired the samples in the order they came. The cheapest transport in 1-D pairs them in SORTED "
    "order (the smallest with the smallest, ...): torch.sort(a).values and torch.sort(b).values",
    "only_a_sorted": "only a is sorted: sort both samples, then pair them in order",
    "only_b_sorted": "only b is sorted: sort both samples, then pair them in order",
    "opposite_orders": "the two samples are sorted in opposite orders (one ascending, one descending): sort both "
    "the same way, so that the smallest grain of one pile goes to the smallest place of the other",
    "mean_difference": MEANS,
    "signed": MEANS,
    "signed_other": MEANS,
    "squared": "you squared the differences: that is W2², the squared 2-Wasserstein distance. W1 averages the "
    "absolute differences: (sort(a) − sort(b)).abs().mean()",
    "w2": "this is W2, the root of the mean squared difference. W1 averages the absolute differences",
    "sum": "you summed the distances; W1 averages them (each of the n grains carries mass 1/n): .mean()",
    "max": "this is the largest move (the ∞-Wasserstein distance); W1 is the average move: .mean()",
}


def _call_sorting(fn, *args, what: str):
    """Call the learner's W1; explain the error of subtracting torch.sort's (values, indices) pair."""
    try:
        return call(fn, *args, what=what)
    except Mistake as mistake:
        if "return_types.sort" in str(mistake) or "torch.return_types" in str(mistake):
            raise Mistake(
                f"{what} crashed: torch.sort returns a pair (values, indices); use torch.sort(a).values "
                "(or a.sort().values)."
            ) from None
        raise


@exercise("06.1", "wasserstein_1d", points=2)
def wasserstein_1d(fn) -> str:
    """Check ``wasserstein_1d(a, b)`` = mean |sort(a) − sort(b)| on samples of the same size."""
    what = "wasserstein_1d(a, b)"
    # Every wrong variant differs from the right value (and from each other) on the first two cases.
    a = torch.tensor([2.0, -0.38, -2.83, 0.74, -1.41, -1.82])
    b = torch.tensor([0.54, 0.8, -0.13, 0.06, -0.06, 0.41])
    shifted = a[[3, 0, 5, 1, 4, 2]] + 2.5  # a + 2.5, in another order
    cases = ((a, b), (b, a), (a, shifted))
    for x, y in cases:
        x_in, y_in = x.clone(), y.clone()
        value = _number(_call_sorting(fn, x_in, y_in, what=what), what)
        if not torch.equal(x_in, x) or not torch.equal(y_in, y):
            raise Mistake(
                f"{what} changed its inputs (an in-place sort?): use torch.sort(a).values, which makes a copy."
            )
        _match(value, wasserstein_variants(x, y), WASSERSTEIN_ADVICE, what)
    same = _number(_call_sorting(fn, a, a.flip(0), what=what), what)
    if not _isclose(same, torch.tensor(0.0)):
        raise Mistake(
            f"{what} of a sample and the same numbers in another order should be 0, got {float(same):.4g}."
        )
    return "W1 = mean |sort(a) − sort(b)|: 2.5 for a shifted copy, 0 for the same sample in another order."


# ----------------------------------------------------------------------------------------------------------------
# 06.2 critic_loss / 06.3 generator_loss
# ----------------------------------------------------------------------------------------------------------------


def critic_variants(real: torch.Tensor, fake: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The critic's loss and the usual wrong ones, by name (float64)."""
    r, f = real.double(), fake.double()
    right = wgan.critic_loss(r, f)
    return {
        "right": right,
        "swapped": r.mean() - f.mean(),
        "absolute": right.abs(),
        "bce": discriminator_variants(r, f)["right"],
        "sigmoid": torch.sigmoid(f).mean() - torch.sigmoid(r).mean(),
        "sum": f.sum() - r.sum(),
        "half": right / 2,
        "fake_only": f.mean(),
        "real_only": -r.mean(),
    }


CRITIC_ADVICE = {
    "swapped": "the sign is flipped: the critic MINIMISES E[f(fake)] − E[f(real)], i.e. it pushes the scores of "
    "real examples up and those of fakes down",
    "absolute": "no absolute value: the loss E[f(fake)] − E[f(real)] is negative when the critic is doing its job "
    "(real scored higher than fake), and its size then estimates the distance",
    "bce": "this is lesson 04's discriminator loss (binary cross-entropy). A critic is not a classifier: no sigmoid, "
    "no log, no labels, just the difference of the mean scores E[f(fake)] − E[f(real)]",
    "sigmoid": "no sigmoid: the critic's scores are unbounded real numbers, and squashing them into (0, 1) "
    "flattens the very slopes the generator learns from. Use the raw scores",
    "sum": "you summed over the batch; average instead: fake_scores.mean() − real_scores.mean()",
    "half": "no ½ here: lesson 04 averaged two cross-entropies, but the critic's loss is the plain difference "
    "of the two means",
    "fake_only": "only the fake half is there: subtract the mean score of the real examples too",
    "real_only": "only the real half is there: add the mean score of the fakes too",
}


def generator_variants_w(fake: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The Wasserstein generator loss and the usual wrong ones, by name (float64)."""
    f = fake.double()
    return {
        "right": wgan.generator_loss(f),
        "plus": f.mean(),
        "bce": generator_variants(f)["right"],
        "sigmoid": -torch.sigmoid(f).mean(),
        "sum": -f.sum(),
        "absolute": f.mean().abs(),
    }


GENERATOR_ADVICE_W = {
    "plus": "the sign is flipped: the generator wants the critic to score its fakes HIGH, so it minimises "
    "−E[f(G(z))]",
    "bce": "this is lesson 04's non-saturating loss (binary cross-entropy). With a critic the generator's loss is "
    "just −E[f(G(z))]: minus the mean score of the fakes",
    "sigmoid": "no sigmoid: the critic's scores are unbounded real numbers; use −fake_scores.mean()",
    "sum": "you summed over the batch; average instead: −fake_scores.mean()",
    "absolute": "no absolute value: the generator's loss −E[f(G(z))] can have either sign",
}


def _absolute_value(results, advice: str, what: str) -> None:
    """An absolute value equals the right loss where it is positive and its negative elsewhere (so it looks like
    a flipped sign on one case alone): name it when it fits every case and the right answer does not."""
    if all(_isclose(v, variants["absolute"]) for _, v, variants in results) and not all(
        _isclose(v, variants["right"]) for _, v, variants in results
    ):
        raise Mistake(f"{what}: {advice}.")


def _scores(*values) -> torch.Tensor:
    return torch.tensor([[v] for v in values])


@exercise("06.2", "critic_loss", points=1)
def critic_loss(fn) -> str:
    """Check ``critic_loss(real_scores, fake_scores)`` = E[f(fake)] − E[f(real)]."""
    what = "critic_loss(real_scores, fake_scores)"
    cases = (
        (_scores(2.0, 0.5, 3.1, -0.2), _scores(-1.0, 0.4, -2.5, 0.1)),  # a critic doing its job: loss < 0
        (_scores(-0.7, 0.2, -1.5, 0.9), _scores(1.3, 2.4, -0.3, 0.8)),  # a fooled critic: loss > 0
    )
    results = []
    for real, fake in cases:
        r_in, f_in = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
        loss = call(fn, r_in, f_in, what=what)
        results.append((loss, _number(loss, what), critic_variants(real, fake)))
    _absolute_value(results, CRITIC_ADVICE["absolute"], what)
    for loss, value, variants in results:
        _match(value, variants, CRITIC_ADVICE, what)
        _keeps_graph(loss, what)
    return "E[f(fake)] − E[f(real)], on the raw scores: negative when the critic ranks real above fake."


@exercise("06.3", "wgan_generator_loss", points=1)
def wgan_generator_loss(fn) -> str:
    """Check ``wgan_generator_loss(fake_scores)`` = −E[f(G(z))]."""
    what = "wgan_generator_loss(fake_scores)"
    results = []
    for fake in (_scores(-1.0, 0.4, -2.5, 0.1), _scores(1.3, 2.4, -0.3, 0.8)):  # mean score < 0, then > 0
        f_in = fake.clone().requires_grad_(True)
        loss = call(fn, f_in, what=what)
        results.append((loss, _number(loss, what), generator_variants_w(fake)))
    _absolute_value(results, GENERATOR_ADVICE_W["absolute"], what)
    for loss, value, variants in results:
        _match(value, variants, GENERATOR_ADVICE_W, what)
        _keeps_graph(loss, what)
    return "−E[f(G(z))]: the generator raises the critic's mean score of its fakes."


# ----------------------------------------------------------------------------------------------------------------
# 06.4 gradient_penalty
# ----------------------------------------------------------------------------------------------------------------


class _RecordingCritic(nn.Module):
    """A small fixed critic (flatten → Linear → tanh → Linear) that records every input it is called on."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(6)
        self.hidden = nn.Linear(in_features, 16)
        self.out = nn.Linear(16, 1)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.randn(16, in_features, generator=generator) * 0.8)
            self.hidden.bias.copy_(torch.randn(16, generator=generator) * 0.5)
            self.out.weight.copy_(torch.randn(1, 16, generator=generator) * 0.6)
            self.out.bias.zero_()
        self.inputs: List[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x)
        return self.out(torch.tanh(self.hidden(x.flatten(1))))


def penalty_variants(
    critic: _RecordingCritic, points: torch.Tensor, weight: float
) -> Dict[str, torch.Tensor]:
    """The penalty at the given x̂ and the usual wrong ones, by name (float64)."""
    x = points.detach().double().requires_grad_(True)
    twin = _RecordingCritic(critic.hidden.in_features).double()  # the same fixed weights, in float64
    (grads,) = torch.autograd.grad(twin(x).sum(), x)
    norms = grads.flatten(1).norm(2, dim=1)
    variants = {
        "right": weight * ((norms - 1) ** 2).mean(),
        "batch_norm": weight * (grads.norm(2) - 1) ** 2,
        "mean_of_scores": weight * ((norms / len(x) - 1) ** 2).mean(),
        "no_weight": ((norms - 1) ** 2).mean(),
        "no_square": weight * (norms - 1).mean(),
        "abs": weight * (norms - 1).abs().mean(),
        "squared_norm": weight * ((norms**2 - 1) ** 2).mean(),
        "one_sided": weight * (F.relu(norms - 1) ** 2).mean(),
        "sum": weight * ((norms - 1) ** 2).sum(),
    }
    if x.dim() > 2:
        variants["channel_norm"] = weight * ((grads.norm(2, dim=1) - 1) ** 2).mean()
    return variants


PENALTY_ADVICE = {
    "batch_norm": "you took ONE norm of the gradient of the whole batch. The penalty is per example: flatten each "
    "example's gradient and take its own norm, grads.flatten(1).norm(2, dim=1), then average (‖g‖ − 1)² over the "
    "batch",
    "channel_norm": "the norm runs over the channels only (dim=1 of an N×C×H×W gradient), giving one norm per "
    "pixel. Flatten each example first: grads.flatten(1).norm(2, dim=1), one norm per example",
    "mean_of_scores": "you took the gradient of the MEAN of the scores, which divides each example's gradient by "
    "the batch size. Differentiate the SUM (critic(x_hat).sum()), or pass grad_outputs=torch.ones_like(scores): "
    "each example then gets the gradient of its own score",
    "no_weight": "the weight λ is missing: return weight * ((norms − 1) ** 2).mean()",
    "no_square": "the square is missing: (‖g‖ − 1)², so that norms above AND below 1 are penalised",
    "abs": "use the square (‖g‖ − 1)², not the absolute value (Gulrajani et al., 2017)",
    "squared_norm": "you used the squared norm ‖g‖²; take the norm itself: (‖g‖₂ − 1)²",
    "sum": "you summed over the batch; average instead: ((norms − 1) ** 2).mean()",
}

AUTOGRAD_HINTS = (
    ("does not require grad", "x̂ must require gradients before the critic sees it: "
     "x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)"),
    ("implicitly created only for scalar outputs", "torch.autograd.grad needs one number to differentiate, or "
     "grad_outputs: use critic(x_hat).sum(), or grad_outputs=torch.ones_like(scores)"),
    ("must match the size", "α's shape must broadcast over each example: torch.rand(len(real), 1, ...) with one 1 "
     "per remaining dimension of real, e.g. torch.rand(len(real), *[1] * (real.dim() - 1))"),
)  # fmt: skip


def _call_penalty(fn, *args, what: str, **kwargs):
    """Call the learner's penalty; turn autograd's and broadcasting's errors into the lesson's advice."""
    try:
        return call(fn, *args, what=what, **kwargs)
    except Mistake as mistake:
        for clue, hint in AUTOGRAD_HINTS:
            if clue in str(mistake):
                raise Mistake(f"{mistake} {hint}.") from None
        raise


def _interpolates(critic: _RecordingCritic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The input the critic was called on that is neither the real batch nor the fakes: the learner's x̂."""
    seen = [x.detach() for x in critic.inputs if isinstance(x, torch.Tensor)]
    others = [
        x for x in seen if x.shape == real.shape and not torch.equal(x, real) and not torch.equal(x, fake)
    ]
    if others:
        return others[-1]
    if any(x.shape == real.shape and torch.equal(x, real) for x in seen):
        raise Mistake(
            "the critic was only called on the real examples: the penalty is taken at points BETWEEN real and "
            "fake, x_hat = alpha * real + (1 - alpha) * fake, with one α ~ U[0, 1] per example."
        )
    if any(x.shape == real.shape and torch.equal(x, fake) for x in seen):
        raise Mistake(
            "the critic was only called on the fakes: the penalty is taken at points BETWEEN real and fake, "
            "x_hat = alpha * real + (1 - alpha) * fake, with one α ~ U[0, 1] per example."
        )
    raise Mistake(
        f"the critic was never called on a batch shaped like real {tuple(real.shape)}: compute "
        "critic(x_hat) with x_hat = alpha * real + (1 - alpha) * fake."
    )


def _check_alpha(x_hat: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> None:
    """Recover α from x̂ = αx + (1 − α)x̃ (real − fake is never near 0 here) and name what is wrong with it."""
    alpha = ((x_hat - fake) / (real - fake)).flatten(1).double()
    per_example = alpha.mean(1)
    if (alpha - per_example[:, None]).abs().max() > 1e-4:
        if bool(((alpha > -1e-6) & (alpha < 1 + 1e-6)).all()):
            raise Mistake(
                "you drew one α per NUMBER (e.g. torch.rand_like(real)), so x̂ is not on the straight segment "
                "between a real example and a fake. Draw one α per example: torch.rand(len(real), 1, ...) with "
                "one 1 per remaining dimension."
            )
        raise Mistake(
            "x̂ is not of the form α·real + (1 − α)·fake with one α per example: "
            "x_hat = alpha * real + (1 - alpha) * fake, alpha = torch.rand(len(real), 1, ...)."
        )
    if bool(((per_example < -1e-6) | (per_example > 1 + 1e-6)).any()):
        raise Mistake(
            f"some α are outside [0, 1] (from {float(per_example.min()):.2f} to {float(per_example.max()):.2f}): "
            "did you draw them from a normal distribution (torch.randn)? α ~ U[0, 1] is torch.rand, so x̂ stays on "
            "the segment between the real example and the fake."
        )
    if float(per_example.max() - per_example.min()) < 1e-6:
        raise Mistake(
            f"every example got the same α ({float(per_example[0]):.3f}): one α for the whole batch puts all x̂ at "
            "the same fraction of the way. Draw one α per example: torch.rand(len(real), 1, ...)."
        )


ONE_SIDED_NOTE = (
    "You wrote the one-sided penalty, λ·mean max(0, ‖∇f(x̂)‖ − 1)²: the published variant of Petzka et al. "
    "(2018), which penalises only breaches of the constraint ‖∇f‖ ≤ 1. It is accepted; the lesson's answer key is "
    "Gulrajani et al.'s two-sided (‖∇f(x̂)‖ − 1)², which also pushes slopes below 1 up to 1."
)


def _penalty_terms(norms: torch.Tensor, form: str) -> torch.Tensor:
    """(‖g‖ − 1)² per example for the two-sided penalty ("right"), max(0, ‖g‖ − 1)² for the one-sided one."""
    return F.relu(norms - 1) ** 2 if form == "one_sided" else (norms - 1) ** 2


def _parameter_grads(critic: nn.Module) -> torch.Tensor:
    return torch.cat(
        [(p.grad if p.grad is not None else torch.zeros_like(p)).flatten() for p in critic.parameters()]
    )


@exercise("06.4", "gradient_penalty", points=3)
def gradient_penalty(fn) -> str:
    """Check ``gradient_penalty(critic, real, fake, weight=10.0)`` = λ·mean_i (‖∇f(x̂_i)‖₂ − 1)²."""
    what = "gradient_penalty(critic, real, fake)"
    generator = torch.Generator().manual_seed(0)
    n = 48
    forms = set()  # "right" (two-sided) or "one_sided", per case
    for shape in ((2,), (1, 3, 3)):  # points, then tiny 1-channel "images"
        features = int(torch.tensor(shape).prod())
        real = 1 + 0.2 * torch.rand(n, *shape, generator=generator)
        fake = -1 - 0.2 * torch.rand(
            n, *shape, generator=generator
        )  # real − fake is between 2 and 2.4 everywhere
        critic = _RecordingCritic(features)
        torch.manual_seed(1)
        penalty = _call_penalty(fn, critic, real.clone(), fake.clone(), what=what)
        value = _number(penalty, what)
        x_hat = _interpolates(critic, real, fake)
        _check_alpha(x_hat, real, fake)
        variants = penalty_variants(critic, x_hat, 10.0)
        # On the points the test critic's slopes at x̂ lie on both sides of 1, so the two forms differ there; on the
        # images every slope is above 1 and they agree.
        one_sided = _isclose(value, variants["one_sided"]) and not _isclose(value, variants["right"])
        form = "one_sided" if one_sided else "right"
        if form == "right":
            _match(value, variants, PENALTY_ADVICE, what)
        forms.add(form)
        if not isinstance(penalty, torch.Tensor) or not penalty.requires_grad:
            raise Mistake(
                f"{what} has the right value but no gradient reaches the critic's weights: did you forget "
                "create_graph=True in torch.autograd.grad? Without it the gradient ∇f(x̂) is a constant, and the "
                "penalty cannot change the critic. (.item(), .detach() or torch.no_grad() would cut it too.)"
            )
        critic.zero_grad()
        penalty.backward()
        got = _parameter_grads(critic)
        reference = _RecordingCritic(features)
        x = x_hat.detach().requires_grad_(True)
        (grads,) = torch.autograd.grad(reference(x).sum(), x, create_graph=True)
        (10.0 * _penalty_terms(grads.flatten(1).norm(2, dim=1), form).mean()).backward()
        if not torch.allclose(got, _parameter_grads(reference), atol=1e-5, rtol=1e-4):
            raise Mistake(f"{what} has the right value, but its gradient with respect to the critic's weights is not "
                          "the penalty's: compute it from torch.autograd.grad(..., create_graph=True) at x̂.")  # fmt: skip
        critic.inputs.clear()
        penalty = _call_penalty(fn, critic, real.clone(), fake.clone(), weight=1.0, what=what)
        value = _number(penalty, f"{what[:-1]}, weight=1.0)")
        x_hat = _interpolates(critic, real, fake)
        right = penalty_variants(critic, x_hat, 1.0)[form]
        if not _isclose(value, right):
            if _isclose(value, 10 * right):
                raise Mistake("with weight=1.0 the penalty is still 10 times too big: use the weight argument "
                              "instead of a fixed 10.")  # fmt: skip
            raise Mistake(f"with weight=1.0 the penalty is {float(value):.5f}; expected {float(right):.5f}.")
    if "one_sided" in forms:
        return (
            "one α ~ U[0, 1] per example, the gradient at x̂ with create_graph=True, one norm per example, "
            f"λ·mean max(0, ‖∇f(x̂)‖ − 1)²; for points and for images. {ONE_SIDED_NOTE}"
        )
    return (
        "one α ~ U[0, 1] per example, the gradient at x̂ with create_graph=True, one norm per example, "
        "λ·mean (‖∇f(x̂)‖ − 1)²; for points and for images."
    )
