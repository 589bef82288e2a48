"""Checkers for lesson 04 (GANs from scratch).

04.1 ``discriminator_loss(real_logits, fake_logits)``  real → 1, fake → 0, the two halves averaged
04.2 ``generator_loss(fake_logits)``                   the non-saturating loss BCE(D(G(z)), 1)
04.3 ``generator_block(in_dim, out_dim)``              Linear → BatchNorm1d → ReLU
04.4 ``discriminator_block(in_dim, out_dim)``          Linear → LeakyReLU(0.2)
04.5 ``train_step(generator, discriminator, real, g_optimizer, d_optimizer)``  one D step, then one G step;
     returns the two losses and D's mean probabilities "real" on the real batch and on the fakes

The mistakes they name: labels swapped, sigmoid applied twice (probabilities given to a logits loss), logits
used as probabilities (NaN from the log of a negative number), a hand-written log that overflows (inf) or is capped
by an ε or clamp, the minimax (saturating) generator loss, fakes not detached in the D step, the G step also
updating D, a forgotten ``zero_grad``, the wrong noise size or number of fakes, logits reported as probabilities.
"""

from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from ..models import gan
from .core import Mistake, call, exercise, expect_tensor, match_variants

BCE = F.binary_cross_entropy_with_logits


def _isclose(value: torch.Tensor, expected: torch.Tensor) -> bool:
    return bool(torch.isclose(value, expected.double(), atol=1e-5, rtol=1e-4))


def _scalar(value, what: str) -> torch.Tensor:
    """The learner's loss as a float64 0-dim tensor, after checking it is one finite number."""
    expect_tensor(value, what)
    if value.numel() != 1:
        raise Mistake(
            f"{what} should be one number (a 0-dim tensor), got shape {tuple(value.shape)}: average the "
            "per-example losses (.mean(), or the loss's default reduction='mean')."
        )
    return value.detach().double().reshape(())


def _call_loss(fn, *args, what: str):
    """Call a learner's loss; explain the error binary_cross_entropy raises when it is given logits."""
    try:
        return call(fn, *args, what=what)
    except Mistake as mistake:
        if "between 0 and 1" in str(mistake):
            raise Mistake(
                f"{what} crashed because F.binary_cross_entropy got logits (any real number) where it needs "
                "probabilities in [0, 1]. The discriminator returns logits: use F.binary_cross_entropy_with_logits, "
                "which applies the sigmoid itself."
            ) from None
        raise


def _keeps_graph(value: torch.Tensor, what: str) -> None:
    if not value.requires_grad:
        raise Mistake(
            f"{what} is cut off from the graph (no gradient can flow back): did you use .item(), .detach(), "
            "torch.tensor(...) or torch.no_grad()? Return the loss tensor itself so that .backward() works."
        )


# ----------------------------------------------------------------------------------------------------------------
# 04.1 discriminator_loss
# ----------------------------------------------------------------------------------------------------------------

DOUBLE_SIGMOID = (
    "the sigmoid is applied twice: you passed probabilities (torch.sigmoid of the logits) to "
    "binary_cross_entropy_with_logits, which applies its own sigmoid. Pass the raw logits"
)
LOGITS_AS_PROBS = (
    "you used the logits as if they were probabilities (F.binary_cross_entropy or log of a logit). The "
    "discriminator outputs logits: use F.binary_cross_entropy_with_logits"
)


def discriminator_variants(real: torch.Tensor, fake: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The right discriminator loss and the usual wrong ones, by name (float64)."""
    r, f = real.double(), fake.double()
    ones, zeros = torch.ones_like(r), torch.zeros_like(f)
    variants = {
        "right": gan.discriminator_loss(r, f),
        "sum_of_halves": BCE(r, ones) + BCE(f, zeros),
        "swapped": (BCE(r, zeros) + BCE(f, ones)) / 2,
        "swapped_sum": BCE(r, zeros) + BCE(f, ones),
        "double_sigmoid": (BCE(torch.sigmoid(r), ones) + BCE(torch.sigmoid(f), zeros)) / 2,
        "double_sigmoid_sum": BCE(torch.sigmoid(r), ones) + BCE(torch.sigmoid(f), zeros),
        "all_real": (BCE(r, ones) + BCE(f, ones)) / 2,
        "all_fake": (BCE(r, zeros) + BCE(f, zeros)) / 2,
        "real_only": BCE(r, ones),
        "real_only_half": BCE(r, ones) / 2,
        "fake_only": BCE(f, zeros),
        "fake_only_half": BCE(f, zeros) / 2,
        "no_minus": -(BCE(r, ones) + BCE(f, zeros)) / 2,
    }
    if bool(((r > 0) & (r < 1)).all() and ((f > 0) & (f < 1)).all()):
        as_probs = (F.binary_cross_entropy(r, ones) + F.binary_cross_entropy(f, zeros)) / 2
        variants["logits_as_probs"] = as_probs
        variants["logits_as_probs_sum"] = as_probs * 2
    return variants


DISCRIMINATOR_ADVICE = {
    "sum_of_halves": "you added the real and the fake halves; average them: (BCE(real, 1) + BCE(fake, 0)) / 2. "
    "(Under Adam a constant factor on the loss does not change the steps, since Adam divides each gradient by "
    "its running size; but the values would be twice the lesson's, e.g. 2 log 2 instead of log 2 when D guesses)",
    "swapped": "the labels are swapped: the discriminator must say 1 (real) for real examples and 0 (fake) for "
    "generated ones. Use torch.ones_like(real_logits) and torch.zeros_like(fake_logits)",
    "swapped_sum": "the labels are swapped (real → 1, fake → 0), and the halves should be averaged, not added",
    "double_sigmoid": DOUBLE_SIGMOID,
    "double_sigmoid_sum": DOUBLE_SIGMOID + ", and average the two halves instead of adding them",
    "all_real": "the fakes got label 1 too: that is the generator's target, not the discriminator's. Fakes → 0",
    "all_fake": "the real examples got label 0 too: real examples → 1, fakes → 0",
    "real_only": "only the real half is there: add the fake half BCE(fake_logits, 0) and average the two",
    "real_only_half": "only the real half is there: add the fake half BCE(fake_logits, 0) before dividing by 2",
    "fake_only": "only the fake half is there: add the real half BCE(real_logits, 1) and average the two",
    "fake_only_half": "only the fake half is there: add the real half BCE(real_logits, 1) before dividing by 2",
    "no_minus": "the sign is flipped: a cross-entropy is ≥ 0 and goes DOWN as the discriminator improves",
    "logits_as_probs": LOGITS_AS_PROBS,
    "logits_as_probs_sum": LOGITS_AS_PROBS + ", and average the two halves instead of adding them",
}


NOT_FINITE = (
    "is {value} on ordinary logits (between -2.5 and 2). NaN is what torch.log gives for a negative number: the "
    "inputs are logits (any real number), not probabilities, so torch.log(logits) or torch.log(1 - logits) breaks "
    "for some of them. Use F.binary_cross_entropy_with_logits, which applies the sigmoid itself"
)


def _diagnose(
    value: torch.Tensor, variants: Dict[str, torch.Tensor], advice: Dict[str, str], what: str
) -> None:
    if _isclose(value, variants["right"]):
        return
    if not torch.isfinite(value):
        raise Mistake(f"{what} {NOT_FINITE.format(value=float(value))}.")
    named = match_variants(value, variants, advice, _isclose)
    if named:
        raise Mistake(f"{what}: {named}.")
    raise Mistake(f"{what} is {float(value):.5f}; expected {float(variants['right']):.5f}.")


def _confident_cause(value: torch.Tensor, rounding: str) -> str:
    """Why a loss that is right on ordinary logits goes wrong on very confident ones: inf/NaN, or a capped log."""
    if torch.isinf(value):
        return f"{rounding} = -inf."
    if torch.isnan(value):
        return f"{rounding} = -inf, and a 0 · (-inf) in a written-out formula gives NaN."
    return (
        f"{rounding} = -inf, and something capped it: an ε inside the log, a clamp, or F.binary_cross_entropy "
        "(which clamps its log at -100). A capped loss is also flat there: its gradient is 0 exactly where the "
        "network is most wrong."
    )


@exercise("04.1", "discriminator_loss", points=2)
def discriminator_loss(fn) -> str:
    """Check ``discriminator_loss(real_logits, fake_logits)`` = (BCE(real, 1) + BCE(fake, 0)) / 2 on logits."""
    what = "discriminator_loss(real_logits, fake_logits)"
    # Logits between 0 and 1 first: there "logits used as probabilities" gives a finite value we can recognize.
    gentle_real = torch.tensor([[0.9], [0.6], [0.7], [0.4]])
    gentle_fake = torch.tensor([[0.2], [0.3], [0.5], [0.1]])
    real = torch.tensor([[2.0], [-0.5], [1.5], [0.3]])
    fake = torch.tensor([[-1.0], [0.8], [-2.5], [-0.2]])
    for r, f in ((gentle_real, gentle_fake), (real, fake)):
        r_in, f_in = r.clone().requires_grad_(True), f.clone().requires_grad_(True)
        loss = _call_loss(fn, r_in, f_in, what=what)
        value = _scalar(loss, what)
        _diagnose(value, discriminator_variants(r, f), DISCRIMINATOR_ADVICE, what)
        _keeps_graph(loss, what)
    # A discriminator that is very sure: sigmoid(±60) rounds to exactly 1 or 0 in float32.
    sure_real, sure_fake = torch.tensor([[60.0], [-60.0]]), torch.tensor([[-60.0], [60.0]])
    loss = _call_loss(fn, sure_real, sure_fake, what=what)
    value = _scalar(loss, what)
    expected = discriminator_variants(sure_real, sure_fake)["right"]  # (0 + 60 + 0 + 60) / 4 = 30
    if not torch.isfinite(value) or not torch.isclose(value, expected, rtol=1e-3):
        raise Mistake(
            f"right on ordinary logits, but for very confident ones (±60) you get {float(value):.4g} instead of "
            f"{float(expected):.4g}: {_confident_cause(value, 'sigmoid(60) rounds to 1.0, so log(1 - p) = log(0)')} "
            "Work with logits: F.binary_cross_entropy_with_logits."
        )
    return "real → 1, fake → 0, on logits, the two halves averaged; stable for confident logits too."


# ----------------------------------------------------------------------------------------------------------------
# 04.2 generator_loss
# ----------------------------------------------------------------------------------------------------------------


def generator_variants(fake: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The non-saturating generator loss and the usual wrong ones, by name (float64)."""
    f = fake.double()
    ones, zeros = torch.ones_like(f), torch.zeros_like(f)
    variants = {
        "right": gan.generator_loss(f),
        "label_zero": BCE(f, zeros),
        "saturating": -BCE(f, zeros),  # mean log(1 - D(G(z))), the original minimax form
        "no_minus": -BCE(f, ones),
        "double_sigmoid": BCE(torch.sigmoid(f), ones),
        "sum": BCE(f, ones, reduction="sum"),
    }
    if bool(((f > 0) & (f < 1)).all()):
        variants["logits_as_probs"] = F.binary_cross_entropy(f, ones)
    return variants


GENERATOR_ADVICE = {
    "label_zero": "you used target 0 (fake): that is what the DISCRIMINATOR wants for fakes. The generator wants "
    "its fakes called real: BCE(fake_logits, 1)",
    "saturating": "this is the original minimax form, minimise log(1 - D(G(z))). It is right in theory, but it "
    "saturates: early in training D rejects the fakes confidently, D(G(z)) ≈ 0, and its gradient vanishes. "
    "Use the non-saturating loss -log D(G(z)) = BCE(fake_logits, 1)",
    "no_minus": "the sign is flipped: minimise -log D(G(z)) (a cross-entropy, ≥ 0), do not maximise it",
    "double_sigmoid": DOUBLE_SIGMOID,
    "sum": "you summed over the batch; average instead (.mean(), or the default reduction='mean')",
    "logits_as_probs": LOGITS_AS_PROBS,
}


@exercise("04.2", "generator_loss", points=2)
def generator_loss(fn) -> str:
    """Check ``generator_loss(fake_logits)`` = BCE(fake_logits, 1) = -mean log D(G(z)) (non-saturating)."""
    what = "generator_loss(fake_logits)"
    gentle = torch.tensor([[0.2], [0.7], [0.4], [0.9]])
    fake = torch.tensor([[-1.0], [0.8], [-2.5], [0.3]])
    for f in (gentle, fake):
        f_in = f.clone().requires_grad_(True)
        loss = _call_loss(fn, f_in, what=what)
        value = _scalar(loss, what)
        _diagnose(value, generator_variants(f), GENERATOR_ADVICE, what)
        _keeps_graph(loss, what)
    # Early in training D rejects fakes with certainty; sigmoid(-120) is exactly 0 in float32.
    rejected = torch.tensor([[-120.0], [-80.0]])
    loss = _call_loss(fn, rejected, what=what)
    value = _scalar(loss, what)
    if not torch.isfinite(value) or not torch.isclose(
        value, torch.tensor(100.0, dtype=torch.float64), rtol=1e-3
    ):
        raise Mistake(
            f"right on ordinary logits, but when D rejects the fakes with certainty (logits -120 and -80) you get "
            f"{float(value):.4g} instead of 100: {_confident_cause(value, 'sigmoid(-120) rounds to 0, so log(p) = log(0)')} "
            "Work with logits: F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))."
        )
    return "BCE(D(G(z)), 1): the non-saturating loss, on logits, stable when D is sure."


# ----------------------------------------------------------------------------------------------------------------
# 04.3 / 04.4 the blocks
# ----------------------------------------------------------------------------------------------------------------


def _leaf_layers(block) -> List[nn.Module]:
    return [m for m in block.modules() if len(list(m.children())) == 0]


def _get_block(fn, name: str, in_dim: int, out_dim: int) -> nn.Module:
    block = call(fn, in_dim, out_dim, what=f"{name}({in_dim}, {out_dim})")
    if block is None:
        raise Mistake(f"{name} returned None: did you forget `return nn.Sequential(...)`?")
    if not isinstance(block, nn.Module):
        raise Mistake(
            f"{name} should return a torch.nn.Module (e.g. nn.Sequential(...)), got {type(block).__name__}."
        )
    return block


def _check_linear(layers: List[nn.Module], name: str, in_dim: int, out_dim: int) -> None:
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    if len(linears) != 1 or layers[0] is not linears[0]:
        raise Mistake(
            f"{name} should start with one nn.Linear(in_dim, out_dim), and have no other Linear layer."
        )
    linear = linears[0]
    if (linear.in_features, linear.out_features) == (out_dim, in_dim):
        raise Mistake(
            f"the Linear layer is {in_dim}↔{out_dim} the wrong way round: nn.Linear(in_dim, out_dim)."
        )
    if (linear.in_features, linear.out_features) != (in_dim, out_dim):
        raise Mistake(
            f"{name}({in_dim}, {out_dim}) has nn.Linear({linear.in_features}, {linear.out_features}); use the "
            "arguments: nn.Linear(in_dim, out_dim)."
        )


def _no_output_squash(layers: List[nn.Module], name: str, who: str) -> None:
    if any(isinstance(m, nn.Sigmoid) for m in layers):
        if who == "discriminator":
            raise Mistake(
                f"no sigmoid in {name}: the discriminator outputs logits and the loss "
                "(binary_cross_entropy_with_logits) applies the sigmoid itself; a sigmoid here means it is "
                "applied twice, and it squashes the hidden features too."
            )
        raise Mistake(
            f"no sigmoid in {name}: hidden layers use ReLU; only the generator's last layer squashes."
        )
    if any(isinstance(m, nn.Tanh) for m in layers):
        raise Mistake(f"no tanh in {name}: a hidden block ends with its activation; tanh belongs to the "
                      "generator's very last layer only.")  # fmt: skip


@exercise("04.3", "generator_block", points=1)
def generator_block(fn) -> str:
    """Check ``generator_block(in_dim, out_dim)``: Linear → BatchNorm1d → ReLU."""
    name, in_dim, out_dim = "generator_block", 5, 7
    block = _get_block(fn, name, in_dim, out_dim)
    layers = _leaf_layers(block)
    _no_output_squash(layers, name, "generator")
    _check_linear(layers, name, in_dim, out_dim)
    if any(isinstance(m, nn.LeakyReLU) for m in layers):
        raise Mistake("the generator's hidden layers use a plain nn.ReLU (LeakyReLU is the discriminator's).")
    if any(isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)) for m in layers):
        raise Mistake("the block's outputs are vectors (N×out_dim): use nn.BatchNorm1d(out_dim).")
    norms = [m for m in layers if isinstance(m, nn.BatchNorm1d)]
    if not norms:
        raise Mistake("batch norm is missing: Linear → nn.BatchNorm1d(out_dim) → ReLU.")
    if norms[0].num_features != out_dim:
        raise Mistake(
            f"nn.BatchNorm1d normalizes the Linear layer's {out_dim} outputs: nn.BatchNorm1d(out_dim)."
        )
    kinds = [type(m) for m in layers if not isinstance(m, nn.Dropout)]
    if kinds != [nn.Linear, nn.BatchNorm1d, nn.ReLU]:
        order = " → ".join(type(m).__name__ for m in layers)
        raise Mistake(f"the block is {order}; it should be Linear → BatchNorm1d → ReLU, in that order.")
    x = torch.randn(16, in_dim, generator=torch.Generator().manual_seed(0))
    block.train()
    out = call(block, x, what=f"{name}(...)(a batch of shape (16, {in_dim}))")
    expect_tensor(out, "the block's output", shape=(16, out_dim))
    if bool((out < 0).any()):
        raise Mistake("the block's outputs should be ≥ 0 (it ends with ReLU).")
    return "Linear → BatchNorm1d → ReLU, (16, 5) → (16, 7)."


@exercise("04.4", "discriminator_block", points=1)
def discriminator_block(fn) -> str:
    """Check ``discriminator_block(in_dim, out_dim)``: Linear → LeakyReLU(0.2)."""
    name, in_dim, out_dim = "discriminator_block", 6, 4
    block = _get_block(fn, name, in_dim, out_dim)
    layers = _leaf_layers(block)
    _no_output_squash(layers, name, "discriminator")
    _check_linear(layers, name, in_dim, out_dim)
    if any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in layers):
        raise Mistake("keep the discriminator's block to Linear → LeakyReLU(0.2): no batch norm here.")
    leaky = [m for m in layers if isinstance(m, nn.LeakyReLU)]
    if not leaky:
        if any(isinstance(m, nn.ReLU) for m in layers):
            raise Mistake(
                "use nn.LeakyReLU(0.2), not ReLU: a ReLU passes no gradient for negative inputs, so parts of D go "
                "silent and the generator gets less feedback through them."
            )
        raise Mistake("the activation is missing: Linear → nn.LeakyReLU(0.2).")
    if abs(leaky[0].negative_slope - 0.2) > 1e-9:
        raise Mistake(
            f"your LeakyReLU has negative_slope={leaky[0].negative_slope}; GANs use 0.2 (Radford et al., 2016): "
            "nn.LeakyReLU(0.2)."
        )
    kinds = [type(m) for m in layers if not isinstance(m, nn.Dropout)]
    if kinds != [nn.Linear, nn.LeakyReLU]:
        order = " → ".join(type(m).__name__ for m in layers)
        raise Mistake(f"the block is {order}; it should be Linear → LeakyReLU(0.2).")
    x = torch.randn(16, in_dim, generator=torch.Generator().manual_seed(0))
    block.eval()
    out = call(block, x, what=f"{name}(...)(a batch of shape (16, {in_dim}))")
    expect_tensor(out, "the block's output", shape=(16, out_dim))
    expected = F.leaky_relu(layers[0](x), 0.2)
    if not torch.allclose(out, expected, atol=1e-5):
        raise Mistake("the block's output is not LeakyReLU(0.2) of the Linear layer's output.")
    return "Linear → LeakyReLU(0.2), (16, 6) → (16, 4)."


# ----------------------------------------------------------------------------------------------------------------
# 04.5 train_step
# ----------------------------------------------------------------------------------------------------------------


class _SpyGenerator(nn.Module):
    """A generator whose output does not depend on the noise (a learned point), so results are exact.

    It checks the noise it gets and records how many fakes were asked for.
    """

    def __init__(self, noise_dim: int, data_dim: int) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.data_shape = (data_dim,)
        self.center = nn.Parameter(torch.tensor([0.5, -1.0, 0.25][:data_dim]))
        self.batch_sizes: List[int] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.noise_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(
                f"this generator expects noise of shape (N, {self.noise_dim}) but got {got}: make the noise with "
                "torch.randn(len(real), generator.noise_dim) instead of a fixed size"
            )
        self.batch_sizes.append(len(z))
        return self.center.expand(len(z), -1) + 0.0 * z[:, :1]


def _spy_setup():
    torch.manual_seed(0)
    generator = _SpyGenerator(noise_dim=4, data_dim=3)
    discriminator = nn.Linear(3, 1)
    with torch.no_grad():
        discriminator.weight.copy_(torch.tensor([[0.8, -0.5, 0.3]]))
        discriminator.bias.fill_(0.1)
    real = torch.tensor(
        [
            [1.0, 0.5, -0.2],
            [0.8, 1.2, 0.0],
            [1.5, 0.3, 0.4],
            [0.9, 0.7, -0.6],
            [1.1, 1.0, 0.2],
            [1.3, 0.2, 0.1],
        ]
    )
    return generator, discriminator, real


def _expected_step(lr: float):
    """The right result of one step with SGD(lr): losses and the parameters of D and G after it."""
    generator, discriminator, real = _spy_setup()
    z = torch.zeros(len(real), generator.noise_dim)
    fake = generator(z)
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = gan.discriminator_loss(real_logits, fake_logits)
    d_grads = torch.autograd.grad(d_loss, list(discriminator.parameters()))
    with torch.no_grad():
        for p, g in zip(discriminator.parameters(), d_grads):
            p -= lr * g
    fake_logits_after = discriminator(fake)
    g_loss = gan.generator_loss(fake_logits_after)
    (g_grad,) = torch.autograd.grad(g_loss, [generator.center])
    return {
        "real_logits": real_logits.detach(),
        "fake_logits": fake_logits.detach(),
        "fake_logits_after": fake_logits_after.detach(),
        "d_loss": float(d_loss.detach()),
        "g_loss": float(g_loss.detach()),
        "d_after": [p.detach().clone() for p in discriminator.parameters()],
        "g_after": generator.center.detach() - lr * g_grad,
        "g_grad": g_grad,
        "d_grads": d_grads,
    }


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1) for t in tensors])


@exercise("04.5", "train_step", points=3)
def train_step(fn) -> str:
    """Check ``train_step(generator, discriminator, real, g_optimizer, d_optimizer)``: D step, then G step.

    Runs in a forked random state, so checking does not change the random numbers the notebook draws next.
    """
    with torch.random.fork_rng():
        return _check_train_step(fn)


def _check_train_step(fn) -> str:
    """Run the learner's step on a tiny spied-on GAN, then check, in this order: which steps ran and when, the
    numbers it returned, D's update, the returned G loss, G's update, and D's probabilities."""
    lr, junk = 0.1, 3.0
    run = _spied_step(fn, lr, junk)
    _check_step_order(run)
    _check_returned_losses(run["out"], run["expected"])
    _check_d_update(run, lr, junk)
    _check_returned_g_loss(run["out"], run["expected"])
    _check_g_update(run, lr, junk)
    _check_probabilities(run["out"], run["expected"])
    return (
        "D step on detached fakes, then a G step that moves only G; zero_grad before each backward; D(x) and "
        "D(G(z)) reported as probabilities."
    )


def _spied_step(fn, lr: float, junk: float) -> dict:
    """One call of the learner's ``train_step`` on ``_spy_setup``'s networks, with SGD optimizers whose ``step`` and
    ``zero_grad`` calls, and every gradient that reaches G or D, are recorded in order (``events``); the stale
    gradients ``junk`` show a missing ``zero_grad``. Returns what the checks below need."""
    generator, discriminator, real = _spy_setup()
    g_params, d_params = [generator.center], list(discriminator.parameters())
    g_optimizer = torch.optim.SGD(g_params, lr=lr)
    d_optimizer = torch.optim.SGD(d_params, lr=lr)
    for p in g_params + d_params:  # stale gradients, as a previous step would leave them
        p.grad = torch.full_like(p, junk)

    events: List[str] = []
    d_after_step: List[torch.Tensor] = []
    for p in g_params:
        p.register_hook(lambda grad: events.append("grad G") or grad)
    for p in d_params:
        p.register_hook(lambda grad: events.append("grad D") or grad)

    def spy(optimizer, label: str, after=None):
        step, zero_grad = optimizer.step, optimizer.zero_grad

        def spied_step(*args, **kwargs):
            out = step(*args, **kwargs)
            events.append(f"{label} step")
            if after is not None:
                after.append(_flat(d_params).clone())
            return out

        def spied_zero_grad(*args, **kwargs):
            events.append(f"{label} zero_grad")
            return zero_grad(*args, **kwargs)

        optimizer.step, optimizer.zero_grad = spied_step, spied_zero_grad

    spy(d_optimizer, "D", d_after_step)
    spy(g_optimizer, "G")

    what = "train_step(generator, discriminator, real, g_optimizer, d_optimizer)"
    try:
        out = call(fn, generator, discriminator, real, g_optimizer, d_optimizer, what=what)
    except Mistake as mistake:
        if "modified by an inplace operation" in str(mistake):
            raise Mistake(
                f"{what} computed D(fake) for the generator step BEFORE d_optimizer.step() changed D's weights in "
                "place, then called backward on it. Compute the generator's D(fake) after the D step."
            ) from None
        raise
    expected = _expected_step(lr)
    return {"out": out, "expected": expected, "events": events, "d_after_step": d_after_step, "d_params": d_params,
            "generator": generator, "real": real}  # fmt: skip


def _check_step_order(run: dict) -> None:
    """Which optimizer steps ran, in which order, where the gradients went, and the batch of fakes."""
    events, d_after_step, d_params = run["events"], run["d_after_step"], run["d_params"]
    generator, real = run["generator"], run["real"]
    d_steps, g_steps = events.count("D step"), events.count("G step")
    if d_steps == 0 and g_steps == 0:
        raise Mistake("neither optimizer stepped: call d_optimizer.step() after the D loss's backward, and "
                      "g_optimizer.step() after the G loss's backward.")  # fmt: skip
    if d_steps == 2 and g_steps == 0:
        raise Mistake(
            "the generator step also updated the discriminator: you called d_optimizer.step() after the "
            "generator's loss.backward(). The G step must call g_optimizer.step() (only G's parameters move)."
        )
    if d_steps == 0:
        raise Mistake("the discriminator never stepped: call d_optimizer.step() after d_loss.backward().")
    if g_steps == 0:
        raise Mistake("the generator never stepped: call g_optimizer.step() after g_loss.backward().")
    if d_steps > 1:
        raise Mistake(
            "the generator step also updated the discriminator: d_optimizer.step() ran twice. In the G step only "
            "g_optimizer.step() runs; D's gradients from the G loss are simply cleared by the next D step."
        )
    if g_steps > 1:
        raise Mistake("g_optimizer.step() ran twice: one G step per training step.")
    if events.index("G step") < events.index("D step"):
        raise Mistake("the generator stepped before the discriminator; in this lesson the D step comes first, "
                      "then the G step against the updated D.")  # fmt: skip
    before_d_step = events[: events.index("D step")]
    if "grad G" in before_d_step:
        raise Mistake(
            "fakes not detached in the discriminator step: the D loss's backward sent gradients into the "
            "generator. Use discriminator(fake.detach()) in the D loss, so the D step neither computes nor leaves "
            "gradients for G (left over, they would push G to help D)."
        )
    if "grad D" not in before_d_step:
        raise Mistake("d_optimizer.step() ran before any backward of the discriminator loss: "
                      "d_loss.backward() first, then d_optimizer.step().")  # fmt: skip
    if _flat(d_params).sub(d_after_step[0]).abs().max() > 1e-7:
        raise Mistake(
            "the generator step also changed the discriminator's weights (after d_optimizer.step()). Only "
            "g_optimizer.step() may run in the G step."
        )
    if set(generator.batch_sizes) != {len(real)}:
        raise Mistake(
            f"make as many fakes as there are real examples ({len(real)} here): the noise should be "
            f"torch.randn(len(real), generator.noise_dim); you made batches of {sorted(set(generator.batch_sizes))}."
        )


def _check_returned_losses(out, expected: dict) -> None:
    """The returned dict holds 'd_loss' and 'g_loss' as plain numbers, and 'd_loss' is the discriminator loss."""
    if not isinstance(out, dict) or not {"d_loss", "g_loss"} <= set(out):
        raise Mistake(
            "train_step should return a dict with 'd_loss', 'g_loss', 'd_real' and 'd_fake' (as floats, e.g. "
            f"d_loss.item()); it returned {type(out).__name__}"
            f"{' with keys ' + str(sorted(out)) if isinstance(out, dict) else ''}."
        )
    for key in ("d_loss", "g_loss"):
        value = out[key]
        if isinstance(value, torch.Tensor) and value.requires_grad:
            raise Mistake(
                f"return {key} as a plain number ({key}.item()): a tensor that still holds its graph keeps the "
                "whole step's memory alive while the losses are collected."
            )
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            raise Mistake(f"out['{key}'] should be a number, got {type(value).__name__}.") from None
    d_variants = discriminator_variants(expected["real_logits"], expected["fake_logits"])
    _diagnose(
        torch.tensor(out["d_loss"], dtype=torch.float64),
        d_variants,
        DISCRIMINATOR_ADVICE,
        "the returned d_loss",
    )


def _check_d_update(run: dict, lr: float, junk: float) -> None:
    """D's weights after its step: changed, without stale gradients, by one step on the discriminator loss."""
    expected, d_after_step = run["expected"], run["d_after_step"]
    d_now = d_after_step[0]
    d_before = torch.tensor([0.8, -0.5, 0.3, 0.1])
    d_grad = _flat(expected["d_grads"])
    if torch.allclose(d_now, d_before, atol=1e-7):
        raise Mistake("the discriminator's weights did not change: zero_grad() between backward() and step() "
                      "wipes the gradients. Order: d_optimizer.zero_grad(), d_loss.backward(), d_optimizer.step().")  # fmt: skip
    if torch.allclose(d_now, d_before - lr * (d_grad + junk), atol=1e-5):
        raise Mistake(
            "you forgot d_optimizer.zero_grad(): PyTorch ADDS new gradients to the old ones in .grad, so the D step "
            "used the previous step's gradients too. Call d_optimizer.zero_grad() before d_loss.backward()."
        )
    if not torch.allclose(d_now, _flat(expected["d_after"]), atol=1e-5):
        raise Mistake("the discriminator's update is not one step on the discriminator loss "
                      "(BCE(D(real), 1) + BCE(D(fake.detach()), 0)) / 2.")  # fmt: skip


def _check_returned_g_loss(out: dict, expected: dict) -> None:
    """The returned 'g_loss' is the generator loss against the UPDATED discriminator."""
    g_variants = generator_variants(expected["fake_logits_after"])
    if not _isclose(torch.tensor(out["g_loss"], dtype=torch.float64), g_variants["right"]):
        old = generator_variants(expected["fake_logits"])["right"]
        if _isclose(torch.tensor(out["g_loss"], dtype=torch.float64), old):
            raise Mistake("the returned g_loss was computed with the discriminator from BEFORE its step; compute "
                          "the generator's D(fake) after d_optimizer.step().")  # fmt: skip
        _diagnose(
            torch.tensor(out["g_loss"], dtype=torch.float64),
            g_variants,
            GENERATOR_ADVICE,
            "the returned g_loss",
        )


def _check_g_update(run: dict, lr: float, junk: float) -> None:
    """G's weights after its step: changed, the right way, by one step against the updated D."""
    expected, events, generator = run["expected"], run["events"], run["generator"]
    g_now = generator.center.detach()
    g_before = torch.tensor([0.5, -1.0, 0.25])
    g_grad = expected["g_grad"]
    if torch.allclose(g_now, g_before - lr * (g_grad + junk), atol=1e-5):
        raise Mistake(
            "you forgot g_optimizer.zero_grad(): the G step added its gradients to old ones left in .grad. Call "
            "g_optimizer.zero_grad() before g_loss.backward()."
        )
    if torch.allclose(g_now, g_before, atol=1e-7):
        if "grad G" in events[events.index("D step") :]:
            raise Mistake(
                "the generator did not change: zero_grad() between backward() and step() wipes the gradients. "
                "Order: g_optimizer.zero_grad(), g_loss.backward(), g_optimizer.step()."
            )
        raise Mistake(
            "the generator did not change: in the G step the fakes must NOT be detached (and must not be made under "
            "torch.no_grad()), or no gradient reaches G. Use generator_loss(discriminator(fake))."
        )
    if torch.allclose(g_now, g_before + lr * g_grad, atol=1e-5):
        raise Mistake("the generator moved the wrong way (it made D more sure its fakes are fake): the G loss "
                      "is BCE(D(fake), 1), minimised.")  # fmt: skip
    if not torch.allclose(g_now, expected["g_after"], atol=1e-5):
        raise Mistake(
            "the generator's update is not one step on generator_loss(discriminator(fake)) with the UPDATED "
            "discriminator. Compute the G loss after the D step, on fakes that are not detached."
        )


def _check_probabilities(out: dict, expected: dict) -> None:
    """The returned 'd_real' and 'd_fake': D's mean probability 'real' on the batch and the fakes of the D step."""
    real_logits, fake_logits = expected["real_logits"].double(), expected["fake_logits"].double()
    missing = [key for key in ("d_real", "d_fake") if key not in out]
    if missing:
        raise Mistake(
            f"the step is right; also return {' and '.join(repr(k) for k in missing)}: D's mean probability "
            "'real' on the real batch and on the fakes, from the D step's logits, e.g. "
            "torch.sigmoid(real_logits).mean().item(). They are the curves that show who is winning."
        )
    got = {}
    for key in ("d_real", "d_fake"):
        value = out[key]
        if isinstance(value, torch.Tensor) and value.requires_grad:
            raise Mistake(
                f"return {key} as a plain number (.item()), not a tensor that still holds its graph."
            )
        try:
            got[key] = torch.tensor(float(value), dtype=torch.float64)
        except (TypeError, ValueError):
            raise Mistake(f"out['{key}'] should be a number, got {type(value).__name__}.") from None
    want = {"d_real": torch.sigmoid(real_logits).mean(), "d_fake": torch.sigmoid(fake_logits).mean()}
    if _isclose(got["d_real"], want["d_fake"]) and _isclose(got["d_fake"], want["d_real"]):
        raise Mistake("d_real and d_fake are swapped: d_real is D's mean probability on the REAL batch.")
    for key, logits in (("d_real", real_logits), ("d_fake", fake_logits)):
        if _isclose(got[key], want[key]):
            continue
        if _isclose(got[key], logits.mean()):
            raise Mistake(
                f"{key} is the mean logit; report a probability: torch.sigmoid(logits).mean() (a logit can be "
                "any real number, a probability is between 0 and 1)."
            )
        if _isclose(got[key], torch.sigmoid(logits.mean())):
            raise Mistake(f"{key} is the sigmoid of the mean logit; report the mean of the probabilities: "
                          "torch.sigmoid(logits).mean().")  # fmt: skip
        raise Mistake(
            f"{key} is {float(got[key]):.4f}; expected {float(want[key]):.4f}, D's mean probability 'real' from the "
            "logits of the D step (before d_optimizer.step())."
        )
