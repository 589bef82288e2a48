"""The league table: every row builds and samples images in [0, 1]; the yardsticks score as they must; checkpoints
are reused, fast ones never stand in for full ones; the table and the plot show every row."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from course_utils import league
from course_utils.checkpoints import save_checkpoint
from course_utils.errors import UnknownNameError
from course_utils.models.classifier import Classifier
from course_utils.models.gan import Generator
from course_utils.models.vae import VAE

matplotlib.use("Agg")


@pytest.fixture
def tiny_budget(tmp_path, monkeypatch, one_thread):
    """An empty checkpoint folder and training that takes a second."""
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    monkeypatch.setitem(league.TRAINING, "train_images", (300, 300))
    monkeypatch.setitem(league.TRAINING, "autoencoder_epochs", (1, 1))
    monkeypatch.setitem(league.TRAINING, "vae_epochs", (1, 1))
    monkeypatch.setitem(league.TRAINING, "gan_steps", (2, 2))
    return tmp_path


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
    assert "trained here" in built.sources["mlp_gan"]
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
    save_checkpoint(Generator(), tiny_budget / "gan-fashion-mnist.pt", steps=20_000)  # the benchmark's
    _, source = league.REGISTRY["mlp_gan"].build(context)
    assert source == "checkpoint gan-fashion-mnist.pt (20,000 steps)"


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
