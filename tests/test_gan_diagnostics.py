"""Lesson 05's DCGAN and diagnostics: shapes, the init, the step's numbers, and ``diagnose``: its rules on
made-up histories, on real tiny runs, and on recorded full-size gallery runs of other seeds than the lesson's
own."""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch import nn

from benchmarks import gan_failure_histories
from course_utils import load_dataset
from course_utils.gan_diagnostics import (
    COLLAPSED,
    FAILURES,
    RISEN,
    diagnose,
    diagnostic_step,
    draw_diagnostics,
    failure_run,
    grad_norm,
    spread_fall,
    unlabelled,
)
from course_utils.models import gan
from course_utils.models.dcgan import DCDiscriminator, DCGenerator, init_weights, transposed_output_size
from course_utils.training import History

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("upsample", ["transposed", "resize"])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_generator_makes_images_in_minus_one_one(upsample, batch_norm):
    generator = DCGenerator(noise_dim=16, channels=8, upsample=upsample, batch_norm=batch_norm)
    images = generator(torch.randn(5, 16))
    assert images.shape == (5, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert generator.noise_dim == 16 and generator.generate(3).shape == (3, 1, 28, 28)


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_discriminator_gives_one_logit_per_image(norm):
    discriminator = DCDiscriminator(channels=8, norm=norm)
    assert discriminator(torch.rand(4, 1, 28, 28) * 2 - 1).shape == (4, 1)
    first = discriminator.features[0]
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in first.modules()), (
        "no norm in layer 1"
    )
    has_batch_norm = any(isinstance(m, nn.BatchNorm2d) for m in discriminator.modules())
    assert has_batch_norm == (norm == "batch")


@pytest.mark.parametrize("batch_norm", [True, False])
def test_two_convs_per_scale_add_a_same_size_layer_at_each_resolution(batch_norm):
    """convs_per_scale=2: G gets a 3×3 conv at 14×14 and paints the 28×28 output with one; D gets one at 14×14 and
    one at 7×7; the output layer of G and the first layer of D stay without norm; shapes are unchanged."""
    torch.manual_seed(0)
    generator = DCGenerator(noise_dim=16, channels=8, batch_norm=batch_norm, convs_per_scale=2)
    images = generator(torch.randn(5, 16))
    assert images.shape == (5, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    same_size = [m for m in generator.modules() if isinstance(m, nn.Conv2d) and m.stride == (1, 1)]
    assert [tuple(m.weight.shape) for m in same_size] == [(8, 8, 3, 3), (1, 4, 3, 3)]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in generator.up2[1:]), "no norm in G's output layer"
    assert generator.config["convs_per_scale"] == 2
    for norm in ("batch", "layer"):
        discriminator = DCDiscriminator(channels=8, norm=norm, convs_per_scale=2)
        assert discriminator(torch.rand(4, 1, 28, 28) * 2 - 1).shape == (4, 1)
        sizes = []
        x = torch.rand(2, 1, 28, 28)
        for layer in discriminator.features:
            x = layer(x)
            sizes.append(tuple(x.shape[1:]))
        assert sizes == [(8, 14, 14), (8, 14, 14), (16, 7, 7), (16, 7, 7)]
        assert not any(
            isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in discriminator.features[0].modules()
        )
    one, two = DCDiscriminator(channels=8), DCDiscriminator(channels=8, convs_per_scale=2)
    assert sum(p.numel() for p in two.parameters()) - sum(p.numel() for p in one.parameters()) == (
        8 * 8 * 9 + 2 * 8 + 16 * 16 * 9 + 2 * 16
    )


def test_critic_without_batch_norm_scores_each_image_alone():
    torch.manual_seed(0)
    critic = DCDiscriminator(channels=8, norm="layer").train()
    x = torch.randn(6, 1, 28, 28)
    assert torch.allclose(critic(x)[:2], critic(x[:2]), atol=1e-5)


def test_bad_inputs_get_clear_messages():
    with pytest.raises(ValueError, match="upsample must be"):
        DCGenerator(upsample="bilinear")
    with pytest.raises(ValueError, match="norm must be"):
        DCDiscriminator(norm="instance")
    with pytest.raises(ValueError, match="convs_per_scale must be 1"):
        DCGenerator(convs_per_scale=3)
    with pytest.raises(ValueError, match="convs_per_scale must be 1"):
        DCDiscriminator(convs_per_scale=0)
    with pytest.raises(Exception, match="N×64"):
        DCGenerator()(torch.randn(2, 10))


def test_init_weights_follows_radford():
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(64, 64, 4), nn.BatchNorm2d(64)
    nn.init.constant_(conv.bias, 1.0)
    for m in (conv, bn):
        init_weights(m)
    assert abs(float(conv.weight.std()) - 0.02) < 0.002 and torch.all(conv.bias == 0)
    assert abs(float(bn.weight.mean()) - 1) < 0.01 and torch.all(bn.bias == 0)


def test_transposed_output_size_is_the_generator_arithmetic():
    assert transposed_output_size(7, 4, 2, 1) == 14 and transposed_output_size(14, 4, 2, 1) == 28


def test_diagnostic_step_records_the_diagnostics_and_trains_both():
    torch.manual_seed(0)
    generator, discriminator = DCGenerator(channels=8), DCDiscriminator(channels=8)
    g_opt = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    before = [p.detach().clone() for p in (*generator.parameters(), *discriminator.parameters())]
    numbers = diagnostic_step(generator, discriminator, torch.rand(16, 1, 28, 28) * 2 - 1, g_opt, d_opt)
    assert set(numbers) == {"d_loss", "g_loss", "d_real", "d_fake", "d_grad", "g_grad", "spread"}
    assert numbers["d_grad"] > 0 and numbers["g_grad"] > 0 and 0 < numbers["spread"]
    after = [p.detach() for p in (*generator.parameters(), *discriminator.parameters())]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))
    assert grad_norm(nn.Linear(2, 2)) == 0.0  # no gradient yet


def test_lesson_04_step_trains_the_dcgan_unchanged():
    torch.manual_seed(0)
    data = torch.rand(64, 1, 28, 28) * 2 - 1
    run = gan.train_gan(DCGenerator(channels=8), DCDiscriminator(channels=8), data, steps=3, batch_size=16,
                        show_progress=False, log_every=1)  # fmt: skip
    assert run.steps == 3 and set(run.history.names()) == {"d_loss", "g_loss", "d_real", "d_fake"}


def test_draw_diagnostics_draws_what_the_history_has():
    history = History()
    for step in (10, 20):
        history.record(step, d_real=0.8, d_fake=0.2, d_grad=1.0, g_grad=2.0, spread=0.5)
    history.record(20, entropy=0.9, confident=0.5, frechet=100.0, floor=10.0)
    fig = draw_diagnostics(history, torch.rand(4, 1, 28, 28))
    assert len(fig.axes) == 5


def made_up(d_real, d_fake, spread, every=10):
    """A history with these series, one value every ``every`` steps."""
    history = History()
    for i, values in enumerate(zip(d_real, d_fake, spread)):
        history.record(every * (i + 1), d_real=values[0], d_fake=values[1], spread=values[2])
    return history


RISE = [0.2, 0.25, 0.3, 0.4, 0.5, 0.55, 0.55, 0.5]  # an ordinary start: from an untrained G's 0.2 upwards


def test_collapse_is_read_from_the_fakes_variety_whatever_d_says():
    """D keeps rating real images higher (D is learning and winning) while the fakes' spread falls back:
    collapse. The same curves of D with a spread that stays up: nothing to report."""
    n = len(RISE) + 4
    d_real, d_fake = [0.8] * n, [0.2] * n
    assert diagnose(made_up(d_real, d_fake, RISE + [0.4, 0.3, 0.4, 0.5])).name == "mode_collapse"
    assert diagnose(made_up(d_real, d_fake, RISE + [0.55, 0.5, 0.55, 0.6])).name == "healthy"


def test_a_fall_counts_only_after_the_spread_rose_and_only_when_deep():
    n = len(RISE) + 2
    d_real, d_fake = [0.8] * n, [0.2] * n
    shallow = RISE + [COLLAPSED * 0.55 + 0.02] * 2  # just above the line
    assert diagnose(made_up(d_real, d_fake, shallow)).name == "healthy"
    deep = RISE + [COLLAPSED * 0.55 - 0.02] * 2
    assert diagnose(made_up(d_real, d_fake, deep)).name == "mode_collapse"
    never_rose = [0.2, 0.25, RISEN - 0.02, 0.25, 0.12, 0.1, 0.2, 0.25]  # wobbles of an untrained G's spread
    assert diagnose(made_up([0.8] * 8, [0.2] * 8, never_rose)).name == "healthy"
    assert spread_fall(made_up([0.8] * 3, [0.2] * 3, [0.2, 0.3, 0.4])) is None
    assert spread_fall(made_up([0.8] * 4, [0.2] * 4, [0.2, 0.5, 0.3, 0.4])) == (0.5, 20, 0.3, 30)


def test_fakes_rated_above_real_images_mean_a_d_that_does_not_learn_not_collapse():
    """D(G(z)) above D(x) with a spread that never rose (the frozen-D run's curves): a D that does not learn.
    With a spread that rose and fell, the fall decides."""
    n = len(RISE) + 4
    d_real, d_fake = [0.55] * n, [0.6, 0.8] + [0.95] * (n - 2)
    assert diagnose(made_up(d_real, d_fake, [0.2] * n)).name == "frozen_d"
    assert diagnose(made_up(d_real, d_fake, RISE + [0.3, 0.2, 0.2, 0.2])).name == "mode_collapse"


def test_diagnose_needs_the_diagnostic_series():
    history = History()
    history.record(1, d_loss=0.5)
    with pytest.raises(KeyError, match="diagnostic_step"):
        diagnose(history)


# Real short runs: seeded, small (8 channels, batches of 32, 2,000 images) and fast (a few seconds each).
TINY = {"channels": 8, "batch_size": 32, "log_every": 10}


@pytest.fixture(scope="module")
def images():
    return load_dataset("fashion-mnist", "train", limit=2000, verbose=False).images * 2 - 1


@pytest.fixture
def one_thread():
    """Tiny networks train faster on one thread (and much faster on a busy machine, where threads wait)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "name, steps",
    [
        ("healthy", 150),
        ("sigmoid_before_logits_loss", 80),
        ("no_batch_norm_in_g", 80),
        ("frozen_d", 80),
        ("d_too_strong", 80),
    ],
)
def test_diagnose_names_the_failure_of_a_real_run(images, one_thread, name, steps):
    """The code path on tiny real runs (the lesson's seed). Collapse needs full-size networks: the recorded
    runs below test it."""
    run, _ = failure_run(name, images, steps=steps, **TINY)
    assert diagnose(run.history).name == name, str(diagnose(run.history))


def test_snapshots_do_not_change_a_run(images, one_thread):
    plain, _ = failure_run("mode_collapse", images, steps=20, **TINY)
    noise = torch.randn(4, 64)
    watched, _ = failure_run("mode_collapse", images, steps=20, fixed_noise=noise, snapshot_every=10, **TINY)
    assert watched.history.to_dict() == plain.history.to_dict()
    assert [step for step, _ in watched.snapshots] == [0, 10, 20] and watched.snapshots[0][1].shape == (
        4,
        1,
        28,
        28,
    )


# ``benchmarks/gan_failure_histories.py`` trained every gallery run at the lesson's full-mode size with other
# seeds than the lesson's 0, and recorded the histories: runs ``diagnose`` was not written from.
@pytest.fixture(scope="module")
def recorded():
    record = json.loads(gan_failure_histories.OUTPUT.read_text(encoding="utf-8"))
    return {
        name: {int(seed): gan_failure_histories.as_history(run) for seed, run in by_seed.items()}
        for name, by_seed in record["runs"].items()
    }


def test_the_recorded_runs_are_every_gallery_run_at_the_lessons_size_on_other_seeds(recorded):
    record = json.loads(gan_failure_histories.OUTPUT.read_text(encoding="utf-8"))
    settings = gan_failure_histories.SETTINGS
    assert record["settings"] == settings and settings["threads"] == 1
    lesson = json.loads((ROOT / "notebooks" / "05_dcgan.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(cell["source"]) for cell in lesson["cells"] if cell["cell_type"] == "code")
    for name, key in (
        ("gallery_images", "images"),
        ("gallery_steps", "steps"),
        ("gallery_channels", "channels"),
    ):
        assert re.search(rf"{name}=\({settings[key]}, \d+\)", code), (
            f"the lesson's full-mode {name} is not {key}"
        )
    assert "batch_size=64, seed=0" in code
    assert inspect.signature(failure_run).parameters["log_every"].default == settings["log_every"]
    assert set(recorded) == set(FAILURES)
    for name, by_seed in recorded.items():
        assert len(by_seed) >= 5 and 0 not in by_seed, name
        assert all(history.steps["spread"][-1] == settings["steps"] for history in by_seed.values()), name


# What ``diagnose`` must get right on the recorded runs: every run of a failure that has a rule. The missing
# detach and the 10× learning rate leave no sign in 300 steps: diagnose must not invent one (it says healthy).
EXPECTED = {name: name for name in FAILURES} | {"no_detach": "healthy", "lr_too_high": "healthy"}


@pytest.mark.parametrize("name", list(FAILURES))
def test_diagnose_on_runs_it_was_not_written_from(recorded, name):
    verdicts = {seed: diagnose(history) for seed, history in recorded[name].items()}
    wrong = {seed: str(verdict) for seed, verdict in verdicts.items() if verdict.name != EXPECTED[name]}
    counts = Counter(verdict.name for verdict in verdicts.values())
    assert not wrong, f"{name}: diagnose says {dict(counts)}; wrong on seeds {wrong}"


def test_unlabelled_hides_the_names():
    histories = {name: History() for name in FAILURES}
    mystery = unlabelled(histories)
    assert sorted(mystery) == ["A", "B", "C", "D", "E"]
    assert len({id(h) for h in mystery.values()}) == 5
    with pytest.raises(KeyError, match="Train these"):
        unlabelled({})


def test_two_callbacks_with_the_same_period_both_run():
    """train_gan's snapshots and an extra callback every n steps (the lesson's judge) share n: both must run."""
    calls = []
    data = torch.rand(64, 1, 28, 28) * 2 - 1
    run = gan.train_gan(DCGenerator(channels=4), DCDiscriminator(channels=4), data, steps=4, batch_size=16,
                        fixed_noise=torch.randn(2, 64), snapshot_every=2, every=[(2, lambda step: calls.append(step))],
                        show_progress=False)  # fmt: skip
    assert calls == [2, 4] and [s for s, _ in run.snapshots] == [0, 2, 4]
