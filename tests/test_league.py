"""The league table: every row builds and samples images in [0, 1]; the yardsticks score as they must; checkpoints
are reused, fast ones never stand in for full ones; the table and the plot show every row."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from course_utils import league
from course_utils.checkpoints import save_checkpoint
from course_utils.errors import UnknownNameError
from course_utils.models import conditional, dcgan, latent
from course_utils.models.classifier import Classifier
from course_utils.models.gan import Generator
from course_utils.models.time_networks import SmallUNet
from course_utils.models.vae import VAE

matplotlib.use("Agg")


@pytest.fixture
def tiny_budget(tmp_path, monkeypatch, one_thread):
    """An empty checkpoint folder and training that takes a second."""
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    monkeypatch.setitem(league.TRAINING, "train_images", (320, 320))  # WGAN-GP's 5 critic batches of 64
    for name, budget in (("autoencoder_epochs", 1), ("vae_epochs", 1), ("gan_steps", 2), ("dcgan_steps", 2),
                         ("dcgan_deeper_steps", 2), ("wgan_steps", 1), ("cgan_steps", 2), ("cvae_epochs", 1),
                         ("diffusion_steps", 2), ("flow_steps", 2)):  # fmt: skip
        monkeypatch.setitem(league.TRAINING, name, (budget, budget))
    monkeypatch.setattr(league, "SAMPLING_STEPS", (3, 2))
    return tmp_path


def build_from_saved(folder, saved):
    """Save each ``{row: (file, model, metadata)}`` in ``folder``, build those rows, and check each loaded its file."""
    for name, model, meta in saved.values():
        save_checkpoint(model, folder / name, **meta)
    built = league.build(list(saved))
    for key, (name, model, _) in saved.items():
        assert built.sources[key].startswith(f"checkpoint {name} ("), key
        assert torch.equal(next(built.models[key].parameters()), next(model.parameters())), key
    return built


def test_every_row_builds_and_samples_images_in_the_unit_range(tiny_budget, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    built = league.build()
    assert list(built.samplers) == list(league.REGISTRY)
    for key, sampler in built.samplers.items():
        images = sampler(5, torch.Generator().manual_seed(0))
        assert images.shape == (5, 1, 28, 28), key
        assert float(images.min()) >= 0 and float(images.max()) <= 1, key
        again = sampler(5, torch.Generator().manual_seed(0))
        assert torch.equal(images, again), f"{key}: the same seed must give the same samples"
    assert (tiny_budget / "league-mlp-gan-fast.pt").is_file()
    assert isinstance(built.models["vae"], VAE) and built.models["noise"] is None
    for key in ("mlp_gan", "dcgan", "dcgan_deeper", "wgan_gp", "cgan", "acgan", "cvae", "diffusion", "flow"):
        assert built.sources[key].startswith("trained here"), key
    assert built.sources["diffusion"].endswith("DDIM with 2 steps (η = 0)")
    assert built.sources["flow"].endswith("; 2 Euler steps") and "uniformly" in built.sources["cgan"]
    assert isinstance(built.models["wgan_gp"], dcgan.DCGenerator)
    assert built.models["dcgan_deeper"].config["convs_per_scale"] == 2
    assert isinstance(built.models["cvae"], conditional.ConditionalVAE)
    rebuilt = league.build(["mlp_gan"])
    assert rebuilt.sources["mlp_gan"].startswith("checkpoint league-mlp-gan-fast.pt")
    with pytest.raises(UnknownNameError):
        league.build(["no-such-row"])


def test_full_mode_never_uses_fast_checkpoints_and_a_short_one_is_refused(tiny_budget, monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    save_checkpoint(Generator(), tiny_budget / "league-mlp-gan-fast.pt", steps=10**6)
    save_checkpoint(
        Generator(), tiny_budget / "lesson04-fashion-generator.pt", steps=1
    )  # shorter than the budget
    context = league.make_context()
    sampler, source = league.REGISTRY["mlp_gan"].build(context)
    assert source.startswith("trained here") and (tiny_budget / "league-mlp-gan.pt").is_file()
    save_checkpoint(
        Generator(), tiny_budget / "gan_quality-mlp_gan-seed0.pt", steps=20_000
    )  # the benchmark's
    _, source = league.REGISTRY["mlp_gan"].build(context)
    assert source == "checkpoint gan_quality-mlp_gan-seed0.pt (20,000 steps)"


def test_the_later_lessons_rows_load_their_benchmarks_checkpoints(tiny_budget, monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    torch.manual_seed(0)
    saved = {
        "dcgan": ("dcgan_quality-dcgan-seed0.pt", dcgan.DCGenerator(channels=8), {"steps": 9919}),
        "dcgan_deeper": ("dcgan_quality-deeper-seed0.pt",
                         dcgan.DCGenerator(channels=8, convs_per_scale=2), {"steps": 7000}),
        "wgan_gp": ("wgan_quality-wgan_gp-seed0.pt", dcgan.DCGenerator(channels=8), {"steps": 2000}),
        "cgan": ("conditional_quality-cgan-seed0.pt", conditional.ConditionalGenerator(channels=8),
                 {"steps": 12_000, "train_images": 55_000}),
        "acgan": ("conditional_quality-cgan-auxiliary-seed0.pt", conditional.ConditionalGenerator(channels=8),
                  {"steps": 12_000, "train_images": 55_000}),
        "cvae": ("conditional_quality-cvae-seed0.pt", conditional.ConditionalVAE(4, hidden=(16,)),
                 {"epochs": 10, "train_images": 55_000}),
        "diffusion": ("diffusion_quality-diffusion-seed0.pt", SmallUNet(channels=(8, 8, 8), time_dim=8), {"steps": 5000}),
        "flow": ("diffusion_quality-flow-seed0.pt", SmallUNet(channels=(8, 8, 8), time_dim=8, time_scale=1000.0),
                 {"steps": 5000}),
        "latent_flow": ("latent_quality-latent-flow-seed0.pt",
                        latent.LatentFlow({"latent_channels": 2, "channels": [8, 8]},
                                          {"latent_channels": 2, "width": 16, "blocks": 1}, 0.5), {"steps": 5000}),
    }  # fmt: skip
    built = build_from_saved(tiny_budget, saved)
    for key in saved:
        images = built.samplers[key](3, torch.Generator().manual_seed(1))
        assert images.shape == (3, 1, 28, 28) and 0 <= float(images.min()) <= float(images.max()) <= 1, key
    assert "(10 epochs)" in built.sources["cvae"] and "(9,919 steps)" in built.sources["dcgan"]
    assert "DDIM with 3 steps" in built.sources["diffusion"]  # full mode's sampling steps
    assert "3 Euler steps in the latent space" in built.sources["latent_flow"]
    # A cVAE trained on fewer images than the league's budget is refused, and one is trained here instead.
    save_checkpoint(conditional.ConditionalVAE(4, hidden=(16,)), tiny_budget / saved["cvae"][0], epochs=10,
                    train_images=100)  # fmt: skip
    _, source = league.REGISTRY["cvae"].build(league.make_context())
    assert source.startswith("trained here") and (tiny_budget / "league-cvae.pt").is_file()


def test_the_lessons_own_checkpoints_are_loaded(tiny_budget, monkeypatch):
    """Lessons 06 and 07 save what they train under these names; lesson 08 after them trains none of it again."""
    monkeypatch.delenv("COURSE_FAST", raising=False)
    torch.manual_seed(0)
    saved = {
        "wgan_gp": ("lesson06-wgan-gp-generator.pt", dcgan.DCGenerator(channels=8), {"steps": 800}),
        "cgan": ("lesson07-cgan-generator.pt", conditional.ConditionalGenerator(channels=8),
                 {"steps": 3000, "train_images": 55_000}),
        "acgan": ("lesson07-acgan-generator.pt", conditional.ConditionalGenerator(channels=8),
                  {"steps": 3000, "train_images": 55_000}),
        "cvae": ("lesson07-cvae.pt", conditional.ConditionalVAE(4, hidden=(16,)),
                 {"epochs": 10, "train_images": 55_000}),
    }  # fmt: skip
    build_from_saved(tiny_budget, saved)


def test_a_later_lessons_row_is_left_out_until_its_checkpoint_exists(tiny_budget, monkeypatch, capsys):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    built = league.build(["real", "diffusion", "flow"], load_only_after="08")
    assert list(built.samplers) == ["real"]
    assert not list(tiny_budget.glob("league-*.pt")), "a left-out row must not train"
    printed = capsys.readouterr().out
    assert "diffusion (DDIM): left out until lesson 09 has saved it" in printed
    save_checkpoint(
        SmallUNet(channels=(8, 8, 8), time_dim=8), tiny_budget / "lesson09-diffusion.pt", steps=5000
    )
    built = league.build(["real", "diffusion", "flow"], load_only_after="08")
    assert list(built.samplers) == ["real", "diffusion"]
    assert built.sources["diffusion"].startswith("checkpoint lesson09-diffusion.pt (5,000 steps)")
    with pytest.raises(league.NotTrainedYet):
        league.load_or_train(["none.pt"], "league-x", train=lambda: None, fast=False, may_train=False)


def test_the_yardsticks_score_as_they_must(tiny_budget, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    torch.manual_seed(0)
    context = league.make_context()
    built = league.build(["real", "noise", "copier"], context)
    rows = league.evaluate(built, n=200, seeds=(0, 1), memorization_n=50, context=context,
                           classifier=Classifier().eval())  # fmt: skip
    real, noise, copier = (league.row_by_key(rows, k) for k in ("real", "noise", "copier"))
    assert copier["copies"] == 1.0 and copier["nn_ratio"] == 0.0 and copier["copies_sd"] == 0.0
    assert real["copies"] < 0.2 and 0.8 < real["nn_ratio"] < 1.25
    assert noise["recall"] == 0.0 and noise["nn_ratio"] > 1.5
    assert noise["frechet"] > real["frechet"] and real["seeds"] == 2
    table = league.markdown_table(rows)
    assert table.count("\n") == len(rows) + 1 and "*pixel noise*" in table and " ± " in table
    ax = league.plot_league(rows)
    assert len(ax.get_legend().get_texts()) == len(rows)


def test_register_refuses_a_second_row_with_the_same_key():
    with pytest.raises(ValueError, match="already has a row"):
        league.register("vae", "another VAE", lesson="03")(lambda context: None)


def test_every_recipe_trains_for_seconds_and_keeps_a_moving_average(tiny_budget, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    context = league.make_context()
    ticks = iter(range(10**6))  # a clock that advances one second per reading: a few steps each
    budget = league.Budget(seconds=4, clock=lambda: float(next(ticks)), average_decay=0.9)
    for key in league.RECIPES:
        trained = league.train_row(key, context, budget)
        assert trained.steps >= 1, key
        assert type(trained.averaged) is type(trained.model), key
        assert not trained.averaged.training, key
    with pytest.raises(ValueError, match="steps or seconds"):
        _ = league.Budget().step_limit
    assert league.Budget(seconds=1).step_limit == 10**9 and league.Budget(steps=3).step_limit == 3
