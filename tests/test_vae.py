"""The reference VAE (lesson 03): shapes, the loss against hand-worked values, training, and the IWAE estimate."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils import ShapeError, UnknownNameError, load_checkpoint, save_checkpoint
from course_utils.models import vae


@pytest.fixture
def blobs():
    """128 tiny 'images': four fixed 28×28 patterns with noise, values in [0, 1]."""
    generator = torch.Generator().manual_seed(0)
    patterns = (torch.rand(4, 1, 28, 28, generator=generator) > 0.6).float()
    images = patterns.repeat(32, 1, 1, 1) * 0.9 + 0.05 * torch.rand(128, 1, 28, 28, generator=generator)
    return images.clamp(0, 1)


def test_shapes_and_sampling():
    torch.manual_seed(0)
    model = vae.VAE(latent_dim=3, hidden=(32,))
    x = torch.rand(5, 1, 28, 28)
    logits, mu, log_var = model(x)
    assert logits.shape == (5, 1, 28, 28) and mu.shape == (5, 3) and log_var.shape == (5, 3)
    samples = model.sample(7, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (7, 1, 28, 28) and 0 <= float(samples.min()) and float(samples.max()) <= 1
    assert not samples.requires_grad


def test_bad_shapes_are_explained():
    model = vae.VAE(latent_dim=2, hidden=(8,))
    with pytest.raises(ShapeError, match="N×1×28×28"):
        model.encode(torch.rand(5, 784))
    with pytest.raises(ShapeError, match="unsqueeze"):
        model.decode(torch.zeros(2))


def test_kl_closed_form_matches_hand_value_and_monte_carlo():
    mu = torch.tensor([[1.0, 0.0]])
    log_var = torch.tensor([[0.0, math.log(4.0)]])
    # dim 1: 0.5 * (1 + 1 - 1 - 0) = 0.5; dim 2: 0.5 * (0 + 4 - 1 - log 4)
    expected = 0.5 + 0.5 * (3 - math.log(4.0))
    assert torch.allclose(vae.kl_divergence(mu, log_var), torch.tensor([expected]))
    torch.manual_seed(0)
    z = mu + torch.exp(0.5 * log_var) * torch.randn(200_000, 2)
    zeros = torch.zeros_like(z)
    monte_carlo = (vae.log_normal(z, mu, log_var) - vae.log_normal(z, zeros, zeros)).mean()
    assert abs(float(monte_carlo) - expected) < 0.02


def test_negative_elbo_is_sum_over_pixels_and_dims_mean_over_batch():
    torch.manual_seed(0)
    logits, x = torch.randn(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    mu, log_var = torch.randn(4, 3), torch.randn(4, 3)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 4
    kl = -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp()) / 4
    assert torch.allclose(vae.negative_elbo(logits, x, mu, log_var), rec + kl)
    assert torch.allclose(vae.negative_elbo(logits, x, mu, log_var, beta=3.0), rec + 3 * kl)


def test_reparameterize_lets_gradients_through():
    mu = torch.zeros(1000, 2, requires_grad=True)
    log_var = torch.zeros(1000, 2, requires_grad=True)
    z = vae.reparameterize(mu, log_var)
    z.sum().backward()
    assert torch.equal(mu.grad, torch.ones_like(mu))
    assert torch.allclose(log_var.grad, 0.5 * z.detach())


def test_training_lowers_the_test_loss_and_checkpoints_round_trip(blobs, tmp_path):
    torch.manual_seed(0)
    model = vae.VAE(latent_dim=2, hidden=(64,))
    before = vae.evaluate_vae(model, blobs)["negative_elbo"]
    history = vae.train_vae(
        model, blobs, epochs=8, batch_size=32, lr=3e-3, test_images=blobs, show_progress=False
    )
    after = vae.evaluate_vae(model, blobs)
    assert after["negative_elbo"] < 0.6 * before
    assert after["kl"] > 0
    assert len(history["test_loss"]) == 8 and history.epochs_done == 8
    assert history["test_loss"][-1] < history["test_loss"][0]
    path = save_checkpoint(model, tmp_path / "vae.pt", epochs=8)
    loaded, meta = load_checkpoint(path)
    assert isinstance(loaded, vae.VAE) and meta["config"]["latent_dim"] == 2
    z = torch.randn(3, 2)
    assert torch.allclose(loaded.decode(z), model.decode(z))


def test_beta_trades_kl_for_reconstruction(blobs):
    results = {}
    for beta in (0.2, 5.0):
        torch.manual_seed(0)
        model = vae.VAE(latent_dim=2, hidden=(64,))
        vae.train_vae(model, blobs, epochs=6, batch_size=32, lr=3e-3, beta=beta, show_progress=False)
        results[beta] = vae.evaluate_vae(model, blobs)
    assert results[5.0]["kl"] < results[0.2]["kl"]
    assert results[5.0]["reconstruction"] > results[0.2]["reconstruction"]


def test_iwae_bound_is_above_the_elbo_and_k1_equals_it_on_average(blobs):
    torch.manual_seed(0)
    model = vae.VAE(latent_dim=2, hidden=(32,))
    vae.train_vae(model, blobs, epochs=3, batch_size=32, show_progress=False, dynamic_binarization=True)
    x = vae.binarize(blobs[:16], torch.Generator().manual_seed(0))
    elbo = -vae.evaluate_vae(model, x)["negative_elbo"]
    k1 = vae.iwae_log_likelihood(model, x.repeat(20, 1, 1, 1), k=1, chunk=1).mean()
    k200 = vae.iwae_log_likelihood(model, x, k=200, chunk=64)
    assert k200.shape == (16,)
    assert abs(float(k1) - elbo) < 0.05 * abs(elbo)  # k = 1 is the ELBO (an unbiased one-sample estimate)
    assert float(k200.mean()) > float(k1) + 0.1  # more samples: a tighter (higher) bound
    with pytest.raises(ValueError, match="at least 1"):
        vae.iwae_log_likelihood(model, x, k=0)


def test_decode_grid_reads_like_a_plot():
    model = vae.VAE(latent_dim=2, hidden=(8,))
    grid = vae.decode_grid(model, extent=2.0, n=3)
    assert grid.shape == (9, 1, 28, 28)
    top_left, bottom_right = torch.tensor([[-2.0, 2.0]]), torch.tensor([[2.0, -2.0]])
    assert torch.allclose(grid[0], model.decode(top_left)[0]) and torch.allclose(
        grid[8], model.decode(bottom_right)[0]
    )
    with pytest.raises(ShapeError, match="2-D latent"):
        vae.decode_grid(vae.VAE(latent_dim=3, hidden=(8,)))


def test_trainer_options_schedule_and_after_epoch(blobs):
    calls = []
    model = vae.VAE(latent_dim=2, hidden=(8,))
    history = vae.train_vae(
        model, blobs[:64], epochs=2, batch_size=32, schedule="constant", show_progress=False,
        after_epoch=lambda epoch, hist: calls.append((epoch, len(hist.epoch_seconds))),
    )  # fmt: skip
    assert calls == [(0, 1), (1, 2)] and len(history.epoch_seconds) == 2
    with pytest.raises(UnknownNameError, match="cosine"):
        vae.train_vae(model, blobs[:8], epochs=1, schedule="linear", show_progress=False)


# ---------------------------------------------------------------------------------------------- labels, CB, IWAE error


def test_loss_label_says_nats_only_for_binary_pixels():
    gray = torch.rand(3, 1, 28, 28)
    assert vae.loss_label(gray) == "BCE loss"
    assert vae.loss_label(vae.binarize(gray, torch.Generator().manual_seed(0))) == "nats"


def test_continuous_bernoulli_log_norm_matches_the_formula_and_normalizes():
    logits = torch.tensor([-20.0, -3.0, -0.5, -1e-4, 0.0, 1e-4, 0.3, 4.0], dtype=torch.float64)
    lam = torch.sigmoid(logits)
    ours = vae.continuous_bernoulli_log_norm(logits)
    assert abs(float(ours[4]) - math.log(2.0)) < 1e-12  # C(1/2) = 2
    away = (lam - 0.5).abs() > 1e-3
    formula = torch.log(2 * torch.atanh(1 - 2 * lam[away]) / (1 - 2 * lam[away]))
    assert torch.allclose(ours[away], formula, atol=1e-9)
    # The normalized density integrates to 1 over [0, 1] (midpoint rule), unlike the bare Bernoulli formula.
    x = (torch.arange(20_000, dtype=torch.float64) + 0.5) / 20_000
    for logit in (-3.0, 0.0, 0.3, 4.0):
        lam_ = torch.sigmoid(torch.tensor(logit, dtype=torch.float64))
        bare = lam_**x * (1 - lam_) ** (1 - x)
        log_c = vae.continuous_bernoulli_log_norm(torch.tensor(logit, dtype=torch.float64))
        assert abs(float((bare * log_c.exp()).mean()) - 1.0) < 1e-6
        assert float(bare.mean()) < 0.51  # without C(λ) the "density" misses at least half its mass


def test_continuous_bernoulli_log_norm_has_finite_gradients_at_one_half():
    logits = torch.tensor([0.0, 1e-3, -1e-3, 5.0], requires_grad=True)
    vae.continuous_bernoulli_log_norm(logits).sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_continuous_bernoulli_nll_is_bce_minus_the_normalizer():
    torch.manual_seed(0)
    logits, x = torch.randn(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    expected = vae.reconstruction_nll(logits, x) - vae.continuous_bernoulli_log_norm(logits).flatten(1).sum(1)
    assert torch.allclose(vae.continuous_bernoulli_nll(logits, x), expected)
    assert (vae.continuous_bernoulli_nll(logits, x) < vae.reconstruction_nll(logits, x) - 784 * 0.69).all()


def test_monte_carlo_summary_uses_the_spread_of_repeats_not_of_images():
    # Two images far apart (log p -80 and -120) but each estimated almost the same way twice: the Monte-Carlo
    # error is tiny although the images differ by 40 nats.
    estimates = torch.tensor([[-80.0, -120.0], [-80.2, -119.8]], dtype=torch.float64)
    summary = vae.monte_carlo_summary(estimates)
    assert summary["mean"] == pytest.approx(-100.0)
    # per-image variances 0.02 and 0.02 → sqrt(0.04 / 2) / 2
    assert summary["standard_error"] == pytest.approx(math.sqrt(0.04 / 2) / 2)
    assert summary["repeats"] == 2 and summary["images"] == 2
    with pytest.raises(ShapeError):
        vae.monte_carlo_summary(torch.zeros(1, 5))


def test_iwae_repeats_are_independent_draws_of_the_same_images(blobs):
    torch.manual_seed(0)
    model = vae.VAE(latent_dim=2, hidden=(16,))
    x = vae.binarize(blobs[:3], torch.Generator().manual_seed(0))
    estimates = vae.iwae_repeats(model, x, k=5, repeats=3)
    assert estimates.shape == (3, 3)
    assert not torch.equal(estimates[0], estimates[1])
    assert torch.equal(estimates[0], vae.iwae_log_likelihood(model, x, k=5, seed=0))


def test_latent_usage_finds_a_dead_dimension(blobs):
    torch.manual_seed(0)
    model = vae.VAE(latent_dim=3, hidden=(16,))
    with torch.no_grad():  # dimension 1's mean and log-variance ignore the input: mu = 0, log_var = 0
        model.to_stats.weight[[1, 4]] = 0.0
        model.to_stats.bias[[1, 4]] = 0.0
        model.to_stats.weight[[0, 2]] *= 50.0
    usage = vae.latent_usage(model, blobs)
    assert usage["activity"][1] == 0 and float(usage["kl_per_dim"][1]) == 0.0
    assert usage["active"] == 2
    mu, log_var = model.encode(blobs)
    assert torch.allclose(usage["kl_per_dim"].sum(), vae.kl_divergence(mu, log_var).mean(), atol=1e-4)


def test_iwae_ladder_matches_the_single_k_estimator_at_its_largest_k(blobs):
    torch.manual_seed(0)
    model = vae.VAE(latent_dim=2, hidden=(16,))
    x = vae.binarize(blobs[:4], torch.Generator().manual_seed(0))
    ladder = vae.iwae_ladder(model, x, ks=[1, 8, 32], chunk=16, seed=3)
    single = vae.iwae_log_likelihood(model, x, k=32, chunk=16, seed=3)
    assert set(ladder) == {1, 8, 32} and ladder[1].shape == (4,)
    assert torch.allclose(ladder[32], single)
    assert float(ladder[32].mean()) > float(ladder[1].mean())
