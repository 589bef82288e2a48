"""Lesson 07's models: the conditional inputs, the conditional GAN and VAE, and latent steering."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from course_utils import ShapeError
from course_utils.models import conditional as c
from course_utils.training import Budget, Report


def test_generator_input_puts_a_one_hot_label_after_the_noise():
    z = torch.randn(3, 4)
    out = c.generator_input(z, torch.tensor([2, 0, 1]), num_classes=3)
    assert out.shape == (3, 7) and torch.equal(out[:, :4], z)
    assert out[:, 4:].tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]


def test_discriminator_input_adds_one_plane_per_class():
    images = torch.rand(2, 1, 5, 6)
    out = c.discriminator_input(images, torch.tensor([1, 0]), num_classes=3)
    assert out.shape == (2, 4, 5, 6) and torch.equal(out[:, :1], images)
    assert out[0, 2].eq(1).all() and out[0, 1].eq(0).all() and out[1, 1].eq(1).all() and out[0, 3].eq(0).all()


@pytest.mark.parametrize("conditioning", ["channels", "projection"])
def test_the_label_changes_what_the_networks_compute(conditioning):
    torch.manual_seed(0)
    generator = c.ConditionalGenerator(noise_dim=8, num_classes=4, channels=4).eval()
    discriminator = c.ConditionalDiscriminator(num_classes=4, channels=4, conditioning=conditioning).eval()
    z = torch.randn(5, 8)
    a, b = generator(z, torch.zeros(5, dtype=torch.long)), generator(z, torch.full((5,), 3))
    assert a.shape == (5, 1, 28, 28) and a.abs().max() <= 1 and not torch.allclose(a, b)
    if conditioning == "projection":  # a fresh embedding is small (N(0, 0.02)); make the label matter visibly
        nn.init.normal_(discriminator.embed.weight)
    logits_a, logits_b = (
        discriminator(a, torch.zeros(5, dtype=torch.long)),
        discriminator(a, torch.full((5,), 3)),
    )
    assert logits_a.shape == (5, 1) and not torch.allclose(logits_a, logits_b)


def test_the_auxiliary_discriminator_scores_realness_without_the_label_and_names_the_class():
    torch.manual_seed(0)
    discriminator = c.ConditionalDiscriminator(num_classes=4, channels=4, conditioning="auxiliary").eval()
    images = torch.rand(5, 1, 28, 28) * 2 - 1
    logits, classes = discriminator.scores(images, torch.zeros(5, dtype=torch.long))
    assert logits.shape == (5, 1) and classes.shape == (5, 4)
    other_label = torch.full((5,), 3)
    assert torch.equal(discriminator(images, other_label), logits)  # "real or fake?" ignores the label
    plain = c.ConditionalDiscriminator(num_classes=4, channels=4)
    assert plain.scores(images, other_label)[1] is None


def test_the_auxiliary_classifier_teaches_the_generator_the_classes():
    """Class 0 is all dark, class 1 all bright. The auxiliary D's realness logit never sees the label, so only
    the class head can tell G which class is which: with ``aux_weight=0`` the two classes' means stayed within 0.2
    of each other (seeds 0-2, 300 steps); with the class terms they were 0.85-1.85 apart."""
    torch.manual_seed(1)
    labels = torch.arange(64) % 2
    images = (labels.float() * 1.6 - 0.8)[:, None, None, None].expand(64, 1, 28, 28).clone()
    generator = c.ConditionalGenerator(noise_dim=8, num_classes=2, channels=4)
    discriminator = c.ConditionalDiscriminator(num_classes=2, channels=4, conditioning="auxiliary")
    history = c.train_cgan(generator, discriminator, images, labels, Budget(steps=300), batch_size=16, lr=2e-3,
                           report=Report(show_progress=False, log_every=50))  # fmt: skip
    class_loss = history["class_loss"]
    assert class_loss[-1] < class_loss[0]
    dark, bright = (c.sample_class(generator, k, 32, generator_seed=0).mean() for k in (0, 1))
    assert bright - dark > 0.3, (float(dark), float(bright))


def test_bad_labels_get_clear_messages():
    generator = c.ConditionalGenerator(noise_dim=8, num_classes=4, channels=4)
    with pytest.raises(ShapeError, match="dtype torch.long"):
        generator(torch.randn(2, 8), torch.tensor([0.0, 1.0]))
    with pytest.raises(ShapeError, match="0…3"):
        generator(torch.randn(2, 8), torch.tensor([0, 4]))
    with pytest.raises(ShapeError, match=r"shape \(2,\)"):
        generator(torch.randn(2, 8), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="'channels', 'projection', 'auxiliary'; got 'concat'"):
        c.ConditionalDiscriminator(conditioning="concat")


def test_a_few_cgan_steps_train_both_players_within_the_budget():
    torch.manual_seed(0)
    images, labels = torch.rand(64, 1, 28, 28) * 2 - 1, torch.randint(3, (64,))
    generator = c.ConditionalGenerator(noise_dim=8, num_classes=3, channels=4)
    discriminator = c.ConditionalDiscriminator(num_classes=3, channels=4, conditioning="projection")
    before = [p.detach().clone() for p in (*generator.parameters(), *discriminator.parameters())]
    history = c.train_cgan(generator, discriminator, images, labels, Budget(steps=4), batch_size=16,
                           average_decay=0.9, report=Report(show_progress=False, log_every=2))  # fmt: skip
    after = list((*generator.parameters(), *discriminator.parameters()))
    assert history.steps_done == 4 and history.steps["d_loss"] == [2, 4]
    assert all(not torch.equal(a, b) for a, b in zip(before, after) if a.dim() > 1)
    assert set(history.names()) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert isinstance(history.averaged, c.ConditionalGenerator) and not history.averaged.training
    assert not generator.training and not discriminator.training


def test_sample_class_asks_for_one_class_in_eval_mode():
    torch.manual_seed(0)
    generator = c.ConditionalGenerator(noise_dim=8, num_classes=3, channels=4).train()
    images = c.sample_class(generator, 2, 6, generator_seed=1)
    assert images.shape == (6, 1, 28, 28) and not images.requires_grad and generator.training
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(images, generator.eval()(z, torch.full((6,), 2)))


def test_conditional_vae_trains_and_its_decoder_uses_the_label():
    torch.manual_seed(0)
    images, labels = torch.rand(96, 1, 28, 28).round(), torch.randint(3, (96,))
    model = c.ConditionalVAE(latent_dim=4, hidden=(32,), num_classes=3)
    history = c.train_cvae(model, images, labels, epochs=10, batch_size=32, show_progress=False)
    assert history["loss"][-1] < history["loss"][0]
    z = torch.randn(2, 4)
    assert not torch.allclose(model.decode(z, torch.tensor([0, 0])), model.decode(z, torch.tensor([1, 1])))
    samples = model.sample(torch.tensor([0, 1, 2]), torch.Generator().manual_seed(0))
    assert samples.shape == (3, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1


@pytest.mark.parametrize("objective", ["log_probability", "logit"])
def test_steering_climbs_its_objective(objective):
    """Small steps up log p(target | x) (the default) or up the raw logit raise that score for every z."""
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(4, 9), nn.Tanh(), nn.Unflatten(1, (1, 3, 3)))
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(9, 3))
    z = torch.randn(5, 4)
    step = functools.partial(c.steering_step, objective=objective)
    path = c.steer(generator, classifier, z, target=1, steps=5, step_size=0.05, step_fn=step)
    assert len(path) == 6 and all(not p.requires_grad for p in path)
    with torch.no_grad():
        logits = [classifier((generator(p) + 1) / 2) for p in path]
    scores = [lg.log_softmax(1)[:, 1] if objective == "log_probability" else lg[:, 1] for lg in logits]
    assert all((later >= earlier - 1e-6).all() for earlier, later in zip(scores, scores[1:]))
    assert (scores[-1] > scores[0]).all()


def test_the_log_probability_step_pushes_the_other_classes_down_and_the_logit_step_need_not():
    """Class 1's logit reads every pixel class 0's reads, and two more. Climbing logit 0 alone raises class 1's logit
    by as much, so class 1 stays ahead; climbing log p(0 | x) follows ∇ℓ₀ − Σ_j p_j ∇ℓ_j, which also lowers class
    1's logit through the pixels only it reads."""
    generator = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Unflatten(1, (1, 2, 2)))
    nn.init.eye_(generator[0].weight[:2]), nn.init.eye_(generator[0].weight[2:])
    nn.init.zeros_(generator[0].bias)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False))
    with (
        torch.no_grad()
    ):  # class 0 and class 1 read the same pixels; class 1 also reads pixel 1 (a shared feature)
        classifier[1].weight.copy_(torch.tensor([[1.0, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]]))
    z = torch.zeros(1, 2)
    probs = {}
    for objective in c.STEERING_OBJECTIVES:
        new = c.steering_step(z, generator, classifier, target=0, step_size=0.5, objective=objective)
        with torch.no_grad():
            probs[objective] = classifier((generator(new) + 1) / 2).softmax(1)[0]
    with torch.no_grad():
        start = classifier((generator(z) + 1) / 2).softmax(1)[0]
    assert probs["log_probability"][0] > start[0] + 0.01
    assert probs["logit"][1] > probs["log_probability"][1]
    with pytest.raises(ValueError, match="'log_probability', 'logit'; got 'probability'"):
        c.steering_step(z, generator, classifier, target=0, step_size=0.5, objective="probability")


def test_the_auxiliary_discriminator_loss_sums_the_two_bce_terms_and_the_class_term():
    """D's AC-GAN loss is BCE(real, 1) + BCE(fake, 0) + CE(class head on real, y), each with weight 1 (Odena et
    al.), not lesson 04's average of the two BCE terms plus the class term."""
    torch.manual_seed(0)
    generator = c.ConditionalGenerator(noise_dim=8, num_classes=3, channels=4)
    discriminator = c.ConditionalDiscriminator(num_classes=3, channels=4, conditioning="auxiliary")
    real, labels = torch.rand(16, 1, 28, 28) * 2 - 1, torch.randint(3, (16,))
    frozen = [torch.optim.SGD(m.parameters(), lr=0.0) for m in (generator, discriminator)]
    torch.manual_seed(1)
    numbers = c.cgan_train_step(generator, discriminator, real, labels, *frozen)
    torch.manual_seed(1)  # the same noise again, and the same batch statistics (lr 0: nothing moved)
    fake = generator(torch.randn(16, 8), labels)
    with torch.no_grad():
        real_logits, real_classes = discriminator.scores(real, labels)
        fake_logits, _ = discriminator.scores(fake, labels)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    real_loss, fake_loss = (
        bce(real_logits, torch.ones_like(real_logits)),
        bce(fake_logits, torch.zeros_like(fake_logits)),
    )
    class_loss = torch.nn.functional.cross_entropy(real_classes, labels)
    assert numbers["class_loss"] == pytest.approx(float(class_loss), rel=1e-5)
    assert numbers["d_loss"] == pytest.approx(float(real_loss + fake_loss + class_loss), rel=1e-5)
    assert numbers["d_loss"] != pytest.approx(float((real_loss + fake_loss) / 2 + class_loss), rel=1e-3)


def test_conditional_models_round_trip_through_a_checkpoint(tmp_path):
    from course_utils import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    models = [
        c.ConditionalGenerator(noise_dim=8, num_classes=3, channels=4, upsample="resize"),
        c.ConditionalDiscriminator(num_classes=3, channels=4, conditioning="projection"),
        c.ConditionalVAE(latent_dim=4, hidden=(16,), num_classes=3),
    ]
    for i, model in enumerate(models):
        loaded, _ = load_checkpoint(save_checkpoint(model.eval(), tmp_path / f"m{i}.pt"))
        assert type(loaded) is type(model) and loaded.config == model.config
        for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
            assert torch.equal(a, b)
