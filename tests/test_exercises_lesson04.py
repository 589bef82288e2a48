"""Lesson 04's checkers: the right answers pass, and each mistake they claim to diagnose gets its diagnosis."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import check
from course_utils.exercises import ExerciseFailed
from course_utils.models import gan

BCE = F.binary_cross_entropy_with_logits


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


def test_reference_answers_pass():
    assert check.discriminator_loss(gan.discriminator_loss).passed
    assert check.generator_loss(gan.generator_loss).passed
    assert check.generator_block(lambda i, o: gan.generator_block(i, o)).passed
    assert check.discriminator_block(gan.discriminator_block).passed
    assert check.train_step(gan.train_step).passed


def test_other_right_answers_pass():
    def d_by_hand(r, f):  # written out with logsigmoid: the same loss, stable
        return -(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean()) / 2

    def d_concatenated(r, f):  # one BCE over both halves (equal sizes): the same average
        return BCE(torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)]))

    assert check.discriminator_loss(d_by_hand).passed
    assert check.discriminator_loss(d_concatenated).passed
    assert check.generator_loss(lambda f: -F.logsigmoid(f).mean()).passed
    assert check.generator_block(
        lambda i, o: nn.Sequential(nn.Linear(i, o), nn.BatchNorm1d(o), nn.ReLU())
    ).passed


def _d_swapped(r, f):
    return (BCE(r, torch.zeros_like(r)) + BCE(f, torch.ones_like(f))) / 2


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (_d_swapped, "labels are swapped"),
        (
            lambda r, f: (BCE(r.sigmoid(), torch.ones_like(r)) + BCE(f.sigmoid(), torch.zeros_like(f))) / 2,
            "sigmoid is applied twice",
        ),  # fmt: skip
        (
            lambda r, f: (
                (
                    F.binary_cross_entropy(r, torch.ones_like(r))
                    + F.binary_cross_entropy(f, torch.zeros_like(f))
                )
                / 2
            ),
            "logits as if they were probabilities",
        ),  # fmt: skip
        (lambda r, f: BCE(r, torch.ones_like(r)) + BCE(f, torch.zeros_like(f)), "average them"),
        (lambda r, f: BCE(r, torch.ones_like(r)), "only the real half"),
        (lambda r, f: (BCE(r, torch.ones_like(r)) + BCE(f, torch.ones_like(f))) / 2, "fakes got label 1"),
        (
            lambda r, f: ((BCE(r, torch.ones_like(r)) + BCE(f, torch.zeros_like(f))) / 2).item(),
            "torch.Tensor",
        ),
        (lambda r, f: ((BCE(r, torch.ones_like(r)) + BCE(f, torch.zeros_like(f))) / 2).detach(), "cut off"),
        (
            lambda r, f: (
                (BCE(r, torch.ones_like(r), reduction="none") + BCE(f, torch.zeros_like(f), reduction="none"))
                / 2
            ),
            "one number",
        ),  # fmt: skip
        (
            lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()) / 2,
            "very confident",
        ),  # fmt: skip
    ],
    ids=[
        "swapped",
        "double-sigmoid",
        "logits-as-probs",
        "sum",
        "real-only",
        "all-real",
        "item",
        "detach",
        "no-mean",
        "unstable",
    ],  # fmt: skip
)
def test_discriminator_loss_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.discriminator_loss, answer)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        # torch.log of a logit: caught on logits in (0, 1), where it is finite, as logits used as probabilities
        (
            lambda r, f: -(torch.log(r).mean() + torch.log(1 - f).mean()) / 2,
            "logits as if they were probabilities",
        ),
        # a loss that is right for logits in (0, 1) but takes the log of a negative one: NaN, and said so
        (
            lambda r, f: (
                (BCE(r, torch.ones_like(r)) + BCE(f, torch.zeros_like(f))) / 2 + 0 * torch.log(r).mean()
            ),
            "log gives for a negative number",
        ),
        # an ε inside the log caps the loss when D is sure: finite but wrong, blamed on the cap, not on inf
        (
            lambda r, f: (
                -(torch.log(torch.sigmoid(r) + 1e-8).mean() + torch.log(1 - torch.sigmoid(f) + 1e-8).mean())
                / 2
            ),
            "an ε inside the log",
        ),
        # F.binary_cross_entropy on probabilities clamps its log at -100: finite but wrong
        (
            lambda r, f: (
                (
                    F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
                    + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f))
                )
                / 2
            ),
            "clamps its log at -100",
        ),
        # the written-out formula y log p + (1 - y) log(1 - p): 0 · (-inf) = NaN when D is sure
        (
            lambda r, f: (
                -(
                    (torch.log(torch.sigmoid(r)) + 0 * torch.log(1 - torch.sigmoid(r))).mean()
                    + (0 * torch.log(torch.sigmoid(f)) + torch.log(1 - torch.sigmoid(f))).mean()
                )
                / 2
            ),
            "0 · (-inf)",
        ),
    ],
    ids=["log-of-logits", "nan", "epsilon-cap", "plain-bce-clamp", "formula-nan"],
)
def test_discriminator_loss_non_finite_and_capped_causes(answer, diagnosis):
    assert diagnosis in feedback(check.discriminator_loss, answer)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda f: -torch.log(torch.sigmoid(f)).mean(), "= -inf."),
        (lambda f: -torch.log(torch.sigmoid(f) + 1e-8).mean(), "an ε inside the log"),
        (lambda f: F.binary_cross_entropy(torch.sigmoid(f), torch.ones_like(f)), "clamps its log at -100"),
        (lambda f: -torch.log(f).mean(), "logits as if they were probabilities"),
        (lambda f: BCE(f, torch.ones_like(f)) + 0 * torch.log(f).mean(), "log gives for a negative number"),
    ],
    ids=["inf", "epsilon-cap", "plain-bce-clamp", "log-of-logits", "nan"],
)
def test_generator_loss_non_finite_and_capped_causes(answer, diagnosis):
    assert diagnosis in feedback(check.generator_loss, answer)


def test_summed_discriminator_loss_is_not_blamed_on_step_size():
    message = feedback(
        check.discriminator_loss, lambda r, f: BCE(r, torch.ones_like(r)) + BCE(f, torch.zeros_like(f))
    )
    assert "Adam" in message and "twice the step size" not in message


def test_probabilities_in_plain_bce_crash_is_explained():
    def plain(r, f):
        return (
            F.binary_cross_entropy(r, torch.ones_like(r)) + F.binary_cross_entropy(f, torch.zeros_like(f))
        ) / 2

    # Out of the gentle range, plain BCE raises; the checker explains instead of showing the raw error.
    from course_utils.exercises.core import Mistake
    from course_utils.exercises.lesson04 import _call_loss

    with pytest.raises(Mistake, match="binary_cross_entropy_with_logits"):
        _call_loss(plain, torch.tensor([[2.0]]), torch.tensor([[-1.0]]), what="discriminator_loss")


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda f: BCE(f, torch.zeros_like(f)), "what the DISCRIMINATOR wants"),
        (lambda f: -BCE(f, torch.zeros_like(f)), "minimax form"),
        (lambda f: BCE(f.sigmoid(), torch.ones_like(f)), "sigmoid is applied twice"),
        (lambda f: -BCE(f, torch.ones_like(f)), "sign is flipped"),
        (lambda f: BCE(f, torch.ones_like(f), reduction="sum"), "summed"),
        (lambda f: -torch.log(torch.sigmoid(f)).mean(), "rejects the fakes with certainty"),
        (lambda f: None, "return"),
    ],
    ids=["label-zero", "saturating", "double-sigmoid", "sign", "sum", "unstable", "none"],
)
def test_generator_loss_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.generator_loss, answer)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda i, o: nn.Sequential(nn.Linear(i, o), nn.ReLU()), "batch norm is missing"),
        (lambda i, o: nn.Sequential(nn.Linear(i, o), nn.ReLU(), nn.BatchNorm1d(o)), "in that order"),
        (lambda i, o: nn.Sequential(nn.Linear(i, o), nn.BatchNorm1d(o), nn.LeakyReLU(0.2)), "plain nn.ReLU"),
        (lambda i, o: nn.Sequential(nn.Linear(i, o), nn.BatchNorm1d(o), nn.Tanh()), "no tanh"),
        (lambda i, o: nn.Sequential(nn.Linear(o, i), nn.BatchNorm1d(i), nn.ReLU()), "wrong way round"),
        (lambda i, o: [nn.Linear(i, o), nn.BatchNorm1d(o), nn.ReLU()], "torch.nn.Module"),
    ],
    ids=["no-bn", "order", "leaky", "tanh", "swapped-dims", "list"],
)
def test_generator_block_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.generator_block, answer)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda i, o: nn.Sequential(nn.Linear(i, o), nn.ReLU()), "not ReLU"),
        (lambda i, o: nn.Sequential(nn.Linear(i, o), nn.LeakyReLU()), "negative_slope=0.01"),
        (lambda i, o: nn.Sequential(nn.Linear(i, o), nn.LeakyReLU(0.2), nn.Sigmoid()), "applied twice"),
        (lambda i, o: nn.Sequential(nn.Linear(i, o)), "activation is missing"),
        (lambda i, o: nn.Sequential(nn.Linear(i, 3), nn.LeakyReLU(0.2)), "use the arguments"),
    ],
    ids=["relu", "slope", "sigmoid", "no-activation", "wrong-size"],
)
def test_discriminator_block_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.discriminator_block, answer)


# ---- train_step: the right step, then one mistake at a time ---------------------------------------------------


def make_step(
    detach=True,
    swap=False,
    g_label=1.0,
    double_sigmoid=False,
    d_step_in_g=False,
    zero_d=True,
    zero_g=True,
    noise=None,
    n_fakes=None,
    g_step=True,
    d_loss_for_g_before_step=False,
    detach_in_g=False,
    zero_g_late=False,
    report="right",
):
    """A train_step with one knob per mistake (all off = the right answer)."""

    def step(generator, discriminator, real, g_optimizer, d_optimizer):
        n = n_fakes or len(real)
        z = torch.randn(n, noise or generator.noise_dim)
        fake = generator(z)
        squash = torch.sigmoid if double_sigmoid else (lambda t: t)
        real_logits = squash(discriminator(real))
        fake_logits = squash(discriminator(fake.detach() if detach else fake))
        real_target, fake_target = (0.0, 1.0) if swap else (1.0, 0.0)
        d_loss = (BCE(real_logits, torch.full_like(real_logits, real_target))
                  + BCE(fake_logits, torch.full_like(fake_logits, fake_target))) / 2  # fmt: skip
        early = discriminator(fake)
        if zero_d:
            d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        logits = early if d_loss_for_g_before_step else discriminator(fake.detach() if detach_in_g else fake)
        g_loss = BCE(squash(logits), torch.full_like(logits, g_label))
        if zero_g:
            g_optimizer.zero_grad()
        g_loss.backward()
        if zero_g_late:
            g_optimizer.zero_grad()
        (d_optimizer if d_step_in_g else g_optimizer).step() if g_step else None
        out = {"d_loss": d_loss.item(), "g_loss": g_loss.item()}
        r, f = real_logits.detach(), fake_logits.detach()
        reports = {
            "right": (r.sigmoid().mean(), f.sigmoid().mean()),
            "swapped": (f.sigmoid().mean(), r.sigmoid().mean()),
            "logits": (r.mean(), f.mean()),
            "sigmoid_of_mean": (r.mean().sigmoid(), f.mean().sigmoid()),
            "after_step": (discriminator(real).detach().sigmoid().mean(), f.sigmoid().mean()),
        }
        if report != "missing":
            out["d_real"], out["d_fake"] = (float(v) for v in reports[report])
        return out

    return step


@pytest.mark.parametrize(
    "knobs, diagnosis",
    [
        (dict(detach=False), "fakes not detached in the discriminator step"),
        (dict(swap=True), "labels are swapped"),
        (dict(double_sigmoid=True), "sigmoid is applied twice"),
        (dict(d_step_in_g=True), "generator step also updated the discriminator"),
        (dict(g_label=0.0), "what the DISCRIMINATOR wants"),
        (dict(zero_d=False), "forgot d_optimizer.zero_grad()"),
        (dict(zero_g=False), "forgot g_optimizer.zero_grad()"),
        (dict(noise=64), "noise of shape (N, 4)"),
        (dict(n_fakes=128), "as many fakes as there are real examples"),
        (dict(g_step=False), "generator never stepped"),
        (dict(d_loss_for_g_before_step=True), "BEFORE d_optimizer.step()"),
        (dict(detach_in_g=True), "must NOT be detached"),
        (dict(zero_g_late=True), "zero_grad() between backward() and step() wipes"),
        (dict(report="missing"), "also return 'd_real' and 'd_fake'"),
        (dict(report="swapped"), "d_real and d_fake are swapped"),
        (dict(report="logits"), "is the mean logit"),
        (dict(report="sigmoid_of_mean"), "sigmoid of the mean logit"),
        (dict(report="after_step"), "before d_optimizer.step()"),
    ],
    ids=[
        "not-detached",
        "swapped",
        "double-sigmoid",
        "g-step-updates-d",
        "g-label",
        "no-zero-d",
        "no-zero-g",
        "noise-size",
        "batch-size",
        "no-g-step",
        "stale-d",
        "detached-in-g",
        "zero-g-between-backward-and-step",
        "no-probabilities",
        "probabilities-swapped",
        "logits-reported",
        "sigmoid-of-mean",
        "probabilities-after-d-step",
    ],  # fmt: skip
)
def test_train_step_mistakes(knobs, diagnosis):
    assert diagnosis in feedback(check.train_step, make_step(**knobs))


def test_train_step_knobs_off_is_right():
    assert check.train_step(make_step()).passed


def test_train_step_that_returns_a_tuple_is_told_the_format():
    def step(*args):
        out = gan.train_step(*args)
        return out["d_loss"], out["g_loss"]

    assert "return a dict" in feedback(check.train_step, step)


def test_checking_train_step_leaves_the_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check.train_step(gan.train_step)
    assert torch.equal(torch.rand(3), expected)
