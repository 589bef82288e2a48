"""Lesson 05's "is my GAN OK?": a training step that records diagnostics, a live view of them, real failing runs,
and ``diagnose``, which reads a run's ``History`` and names the likely failure.

What a step records (``diagnostic_step``, lesson 04's ``train_step`` plus three numbers):

- ``d_real``, ``d_fake``: D's mean probability "real" on the real batch and on the fakes (who is winning);
- ``d_grad``, ``g_grad``: the length of each player's whole gradient (``grad_norm``): a player whose gradient
  shrinks to 0 has stopped learning;
- ``spread``: how much the fakes of a batch differ from each other, pixel by pixel, relative to how much real
  images do (1 = as varied as the data; near 0 = every fake alike, i.e. mode collapse).

``judge_every`` adds the judge's view of a few hundred fixed-noise samples every so often (class-histogram
entropy, confident share, Fréchet distance to the test set with its floor). ``FAILURES`` lists the lesson's
gallery: each a small change from the healthy DCGAN, trained for a few hundred steps by ``failure_run``.
``diagnose`` names a run's likely failure from its history; it is tested on gallery runs of other seeds than
the lesson's (``tests/fixtures/gan_failure_histories.json``, made by ``benchmarks/gan_failure_histories.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, Optional

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from .images import to_unit_range
from .live import LiveView
from .models.dcgan import DCDiscriminator, DCGenerator
from .models.gan import discriminator_loss, generator_loss, train_gan
from .plots import LINE_COLORS, as_image_batch
from .training import History

# ----------------------------------------------------------------------------------------------------------------
# The step that records diagnostics
# ----------------------------------------------------------------------------------------------------------------


def grad_norm(module: nn.Module) -> float:
    """The length of the gradient of all of ``module``'s parameters taken as one vector: √(Σ grad²)."""
    squares = [p.grad.detach().pow(2).sum() for p in module.parameters() if p.grad is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


def spread(fake: torch.Tensor, real: torch.Tensor) -> float:
    """How varied a batch of fakes is, relative to a real batch: mean per-pixel std of the fakes / of the reals."""
    return float(fake.detach().std(0).mean() / real.std(0).mean().clamp_min(1e-8))


def diagnostic_step(
    generator: nn.Module,
    discriminator: nn.Module,
    real: torch.Tensor,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    detach: bool = True,
) -> dict:
    """Lesson 04's training step (a D step on detached fakes, then a G step), recording the gradient norms and
    the spread of the fakes too.

    ``detach=False`` is the lesson's "no detach" bug, written the way it usually appears: both optimizers are
    zeroed once at the top, the D loss's backward reaches G (``retain_graph`` silences PyTorch's complaint),
    and G then steps on the sum of its own gradient and the one D's loss left behind.
    """
    z = torch.randn(len(real), generator.noise_dim, device=real.device)
    fake = generator(z)

    if not detach:  # the bug: one zero_grad for both players, at the top
        g_optimizer.zero_grad(set_to_none=True)
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach() if detach else fake)
    d_loss = discriminator_loss(real_logits, fake_logits)
    d_optimizer.zero_grad(set_to_none=True)
    d_loss.backward(retain_graph=not detach)
    d_grad = grad_norm(discriminator)
    d_optimizer.step()

    g_loss = generator_loss(discriminator(fake))
    if detach:
        g_optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    g_grad = grad_norm(generator)
    g_optimizer.step()

    return {
        "d_loss": float(d_loss.detach()),
        "g_loss": float(g_loss.detach()),
        "d_real": float(torch.sigmoid(real_logits.detach()).mean()),
        "d_fake": float(torch.sigmoid(fake_logits.detach()).mean()),
        "d_grad": d_grad,
        "g_grad": g_grad,
        "spread": spread(fake, real),
    }


# ----------------------------------------------------------------------------------------------------------------
# The judge every few hundred steps, and one live view of everything
# ----------------------------------------------------------------------------------------------------------------


def judge_every(generator: nn.Module, noise: torch.Tensor, frechet: bool = True) -> Callable[[int], dict]:
    """A callback for ``train_gan(..., every=[(n, judge_every(G, noise))])``: the judge's scores of G(noise).

    Records ``entropy`` (class-histogram entropy / log 10), ``confident`` (share with p > 0.9) and, with
    ``frechet``, the Fréchet distance to as many test images (``frechet``) and its real-vs-real floor.
    """
    from .judge import frechet_to_test, judge_samples  # the judge trains its classifier on first use

    def callback(step: int) -> dict:
        was_training = generator.training
        generator.eval()
        with torch.no_grad():
            samples = generator(noise.to(next(generator.parameters()).device)).cpu()
        generator.train(was_training)
        verdict = judge_samples(samples)
        numbers = {
            "entropy": verdict["entropy_ratio"] + 0.0,
            "confident": verdict["confident_share"],
        }  # + 0.0: no -0.0
        if frechet:
            distance = frechet_to_test(samples)
            numbers.update(frechet=distance["frechet"], floor=distance["floor"])
        return numbers

    return callback


PANELS = {
    "D's probability 'real'": ["d_real", "d_fake"],
    "gradient norms": ["d_grad", "g_grad"],
    "variety and the judge": ["spread", "entropy", "confident"],
    "Fréchet distance to test": ["frechet", "floor"],
}
LABELS = {"d_real": "D(x)", "d_fake": "D(G(z))", "d_grad": "|∇D|", "g_grad": "|∇G|", "spread": "spread",
          "entropy": "entropy / log 10", "confident": "confident share", "frechet": "generated",
          "floor": "real-vs-real floor"}  # fmt: skip


def draw_diagnostics(history: History, samples: Optional[torch.Tensor] = None, title: str = ""):
    """The panels of ``PANELS`` that the history has (and the latest samples): one figure, returned."""
    panels = {name: [s for s in series if s in history] for name, series in PANELS.items()}
    panels = {name: series for name, series in panels.items() if series}
    count = len(panels) + (samples is not None)
    fig, axes = plt.subplots(1, count, figsize=(3.3 * count, 3.1))
    axes = np.atleast_1d(axes)
    for ax, (name, series) in zip(axes, panels.items()):
        for i, s in enumerate(series):
            ax.plot(history.steps[s], history[s], color=LINE_COLORS[i], label=LABELS[s],
                    marker="o" if len(history[s]) < 12 else None, markersize=3)  # fmt: skip
        if name in ("gradient norms", "Fréchet distance to test"):
            ax.set_yscale("log")
        if name in ("D's probability 'real'", "variety and the judge"):
            ax.set_ylim(0, 1.05)
        ax.set(title=name, xlabel="step")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
    if samples is not None:
        x = to_unit_range(as_image_batch(samples))[:64]
        ncols = math.ceil(math.sqrt(len(x)))
        grid = torch.ones(math.ceil(len(x) / ncols) * 30, ncols * 30)
        for i, image in enumerate(x):
            r, c = divmod(i, ncols)
            grid[r * 30 : r * 30 + 28, c * 30 : c * 30 + 28] = image[0]
        axes[-1].imshow(grid, cmap="gray", vmin=0, vmax=1)
        axes[-1].set(title="fixed-noise samples")
        axes[-1].axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


class DiagnosticsView(LiveView):
    """``LiveView`` with one panel per group of ``PANELS`` and the fixed-noise samples, redrawn in place."""

    def _draw(self, history, samples):
        return draw_diagnostics(history, samples, self.title)


# ----------------------------------------------------------------------------------------------------------------
# The failure gallery: each a one-line change from the healthy DCGAN
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One entry of the gallery: what was changed (as the code a learner would write) and how to train it."""

    title: str
    change: str
    lr: float = 2e-4
    d_lr: Optional[float] = None
    g_batch_norm: bool = True
    d_norm: str = "batch"
    dcgan_init_in_g: bool = True
    sigmoid_in_d: bool = False
    detach: bool = True


FAILURES: Dict[str, Failure] = {
    "healthy": Failure("healthy DCGAN", "(nothing changed: the lesson's settings)"),
    "d_too_strong": Failure("D far too strong", "d_optimizer = Adam(D.parameters(), lr=2e-3)  # G keeps 2e-4",
                            d_lr=2e-3),
    "no_batch_norm_in_g": Failure("no batch norm in G", "DCGenerator(batch_norm=False)", g_batch_norm=False),
    "sigmoid_before_logits_loss": Failure("a sigmoid before a logits loss",
                                          "D = nn.Sequential(DCDiscriminator(), nn.Sigmoid())", sigmoid_in_d=True),
    "no_detach": Failure("no detach", "D(fake) instead of D(fake.detach()) in the D step (+ retain_graph=True)",
                         detach=False),
    "lr_too_high": Failure("learning rate 10× too high", "lr=2e-3 for both players", lr=2e-3, d_lr=2e-3),
    # Real collapse, with a D that learns: neither network has batch norm, and G keeps PyTorch's own (larger)
    # initialisation, so its fakes do not start all alike. It collapsed on each of seeds 1-5 too, with D(x)
    # above D(G(z)) throughout: tests/fixtures/gan_failure_histories.json (made by
    # benchmarks/gan_failure_histories.py).
    "mode_collapse": Failure("mode collapse (no batch norm anywhere)",
                             "DCGenerator(batch_norm=False) at PyTorch's init, DCDiscriminator(norm='none')",
                             g_batch_norm=False, d_norm="none", dcgan_init_in_g=False),
    # Not collapse: a D that barely learns. G sends every z towards the one image this fixed D likes best,
    # D(G(z)) climbs to 1 and G's gradient fades with −log D(G(z)) → 0.
    "frozen_d": Failure("a frozen D (G overpowers it)",
                        "d_optimizer = Adam(D.parameters(), lr=1e-6)  # D barely learns", d_lr=1e-6),
}  # fmt: skip


def failure_run(
    name: str,
    data: torch.Tensor,
    steps: int,
    channels: int = 32,
    batch_size: int = 64,
    seed: int = 0,
    log_every: int = 10,
    fixed_noise: Optional[torch.Tensor] = None,
    snapshot_every: Optional[int] = None,
    show_progress: bool = False,
) -> tuple:
    """Train the gallery's run ``name`` (a key of ``FAILURES``) from a fresh, seeded DCGAN; return (run, G).

    With ``fixed_noise``, ``run.snapshots`` holds its samples as ``(step, images)``: at the end, or with
    ``snapshot_every`` also at the start and every so many steps (snapshots do not change the run).
    """
    if name not in FAILURES:
        raise KeyError(f"No failure named {name!r}; the gallery has: {', '.join(FAILURES)}.")
    failure = FAILURES[name]
    torch.manual_seed(seed)
    generator = DCGenerator(noise_dim=64, channels=channels, batch_norm=failure.g_batch_norm)
    discriminator: nn.Module = DCDiscriminator(channels=channels, norm=failure.d_norm)
    if not failure.dcgan_init_in_g:  # PyTorch's own initialisation instead of DCGAN's N(0, 0.02)
        for module in generator.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                module.reset_parameters()
    if failure.sigmoid_in_d:
        discriminator = nn.Sequential(discriminator, nn.Sigmoid())

    def step(g, d, real, g_opt, d_opt):
        return diagnostic_step(g, d, real, g_opt, d_opt, detach=failure.detach)

    run = train_gan(generator, discriminator, data, steps=steps, batch_size=batch_size, lr=failure.lr,
                    d_lr=failure.d_lr, step_fn=step, fixed_noise=fixed_noise, snapshot_every=snapshot_every,
                    log_every=log_every, seed=seed, show_progress=show_progress)  # fmt: skip
    return run, generator


# ----------------------------------------------------------------------------------------------------------------
# Reading a history
# ----------------------------------------------------------------------------------------------------------------

DOUBLE_SIGMOID_RANGE = (0.5, 1 / (1 + math.exp(-1)))  # σ(σ(x)) lies between σ(0) = 0.5 and σ(1) ≈ 0.731
# Collapse, read from the fakes' variety: the spread had RISEN above an untrained generator's (about 0.2),
# then fell below COLLAPSED × the highest value it had reached. Set before the other-seed runs were made:
# there, the collapse runs fell to 28-40% of their peak and the 35 others never below 77%
# (tests/fixtures/gan_failure_histories.json).
RISEN, COLLAPSED = 0.3, 0.6


@dataclass
class Diagnosis:
    """What ``diagnose`` concludes: the failure's name (a key of ``FAILURES``) and the evidence, in words."""

    name: str
    evidence: str

    def __str__(self) -> str:
        return f"{FAILURES[self.name].title}: {self.evidence}"


def spread_fall(history: History) -> Optional[tuple]:
    """The deepest fall of the fakes' spread below the highest spread reached before it, over the whole run:
    ``(peak, step of the peak, low, step of the low)``, or None while the spread never fell."""
    spreads, steps = history["spread"], history.steps["spread"]
    peak, deepest = 0, None
    for i in range(1, len(spreads)):
        if spreads[i] >= spreads[peak]:
            peak = i
        elif deepest is None or spreads[i] / spreads[peak] < deepest[2] / deepest[0]:  # the peak is > 0 here
            deepest = (spreads[peak], steps[peak], spreads[i], steps[i])
    return deepest


def diagnose(history: History) -> Diagnosis:
    """Name the likely failure of a run from its history (``diagnostic_step``'s numbers), with the evidence.

    The rules, in order; each names what the sign means, not the change that caused it:
    1. D(x) and D(G(z)) never leave [0.5, 0.731]: they are σ(σ(logit)), a sigmoid applied twice;
    2. the fakes start all alike (median spread < 0.05 over the first fifth of the run): G without batch norm,
       whose N(0, 0.02) weights shrink the noise at every layer, so every z gives the same image;
    3. the fakes' spread rose above ``RISEN`` and later fell below ``COLLAPSED`` × its peak, anywhere in the
       run: G's fakes became alike again after they had varied — mode collapse, whatever D(x) and D(G(z)) do;
    4. D(G(z)) ends above D(x) (last quarter, by more than 0.1): D rates the fakes above the real images, so D
       is not learning (frozen, or far slower than G); G's gradient fades as −log D(G(z)) → 0. Not by itself
       collapse: rule 3 looks at the fakes' variety;
    5. D(G(z)) fell below 0.01 at some point: D rejected nearly every fake, D far too strong;
    6. otherwise no failure shows in these numbers ("healthy"; a bug can still hide, e.g. a missing detach).

    The spread is pixel-level variety in the training batch: it misses fakes that differ only in texture (the
    frozen D's identical-looking fakes keep about 0.2), and batch norm in G, which rescales each batch, can
    prop it up. Lesson 05 says when each sign misleads.
    """
    for name in ("d_real", "d_fake", "spread"):
        if name not in history or not history[name]:
            raise KeyError(f"diagnose needs the series {name!r} that diagnostic_step records; the history has: "
                           f"{', '.join(history.names()) or 'none'}.")  # fmt: skip
    d_real, d_fake, spreads = history["d_real"], history["d_fake"], history["spread"]
    low, high = DOUBLE_SIGMOID_RANGE
    both = d_real + d_fake
    if min(both) >= low - 1e-3 and max(both) <= high + 1e-3:
        return Diagnosis("sigmoid_before_logits_loss", f"D(x) and D(G(z)) stayed within [{min(both):.3f}, "
                         f"{max(both):.3f}], inside σ(σ(·))'s range [0.5, 0.731]")  # fmt: skip
    first = sorted(spreads[: max(1, len(spreads) // 5)])
    if first[len(first) // 2] < 0.05:
        return Diagnosis("no_batch_norm_in_g", f"the fakes started all alike (spread {first[len(first) // 2]:.3f} "
                         f"over the first fifth; real images: 1) and D(G(z)) fell to {min(d_fake):.3f}")  # fmt: skip
    fall = spread_fall(history)
    if fall is not None and fall[0] >= RISEN and fall[2] < COLLAPSED * fall[0]:
        return Diagnosis("mode_collapse", f"the fakes' spread rose to {fall[0]:.2f} (step {fall[1]}) and "
                         f"fell back to {fall[2]:.2f} (step {fall[3]}): the fakes became alike again after "
                         "they had varied")  # fmt: skip
    quarter = max(1, len(d_fake) // 4)
    late_fake, late_real = sum(d_fake[-quarter:]) / quarter, sum(d_real[-quarter:]) / quarter
    if late_fake > late_real + 0.1:
        return Diagnosis("frozen_d", f"D(G(z)) ended at {late_fake:.2f}, above D(x) at {late_real:.2f}: D "
                         "is not learning, and G's gradient fades as D(G(z)) → 1")  # fmt: skip
    if min(d_fake) < 0.01:
        at = history.steps["d_fake"][d_fake.index(min(d_fake))]
        return Diagnosis("d_too_strong", f"D(G(z)) fell to {min(d_fake):.4f} at step {at}: D rejected almost "
                         "every fake")  # fmt: skip
    return Diagnosis("healthy", f"D(G(z)) stayed between {min(d_fake):.2f} and {max(d_fake):.2f}, and the "
                     f"fakes' spread reached {max(spreads):.2f} and did not fall back")  # fmt: skip


# The unlabelled runs of exercise 05.5: five of the gallery's runs, by letter (the checker knows the answer).
_MYSTERY = {"A": "no_batch_norm_in_g", "B": "mode_collapse", "C": "healthy", "D": "sigmoid_before_logits_loss",
            "E": "d_too_strong"}  # fmt: skip
MYSTERY_CHOICES = sorted(set(_MYSTERY.values()))


def unlabelled(histories: Dict[str, History]) -> Dict[str, History]:
    """The histories of exercise 05.5's runs, by letter A–E, from ``{failure name: history}``."""
    missing = [name for name in _MYSTERY.values() if name not in histories]
    if missing:
        raise KeyError(f"Train these gallery runs first: {', '.join(missing)}.")
    return {letter: histories[name] for letter, name in _MYSTERY.items()}


def draw_runs(histories: Dict[str, History], samples: Optional[Dict[str, torch.Tensor]] = None, notes=None):
    """One row per run: D(x) and D(G(z)), the gradient norms, the spread, [and 16 of its samples]; returned.

    ``histories`` and ``samples`` are keyed by the row's title; ``notes`` (title → text) is printed under a row.
    """
    columns = 3 + (samples is not None)
    fig, axes = plt.subplots(
        len(histories), columns, figsize=(3.4 * columns, 2.3 * len(histories)), squeeze=False
    )
    for row, (title, history) in zip(axes, histories.items()):
        for ax, (name, series) in zip(row, [("D's probability 'real'", ["d_real", "d_fake"]),
                                            ("gradient norms", ["d_grad", "g_grad"]), ("spread", ["spread"])]):  # fmt: skip
            for i, s in enumerate(series):
                ax.plot(history.steps[s], history[s], color=LINE_COLORS[i], label=LABELS[s])
            ax.set_yscale("log" if name == "gradient norms" else "linear")
            if name != "gradient norms":
                ax.set_ylim(0, 1.05)
            ax.grid(alpha=0.3)
            ax.set_title(f"{title}: {name}", fontsize=9)
            if len(series) > 1:
                ax.legend(frameon=False, fontsize=7)
        if samples is not None:
            x = to_unit_range(as_image_batch(samples[title]))[:16]
            grid = torch.ones(4 * 30, 4 * 30)
            for i, image in enumerate(x):
                r, c = divmod(i, 4)
                grid[r * 30 : r * 30 + 28, c * 30 : c * 30 + 28] = image[0]
            row[-1].imshow(grid, cmap="gray", vmin=0, vmax=1)
            row[-1].axis("off")
            row[-1].set_title(f"{title}: samples", fontsize=9)
        if notes and title in notes:
            row[0].text(0, -0.45, notes[title], transform=row[0].transAxes, fontsize=8, va="top")
    fig.tight_layout()
    return fig
