"""Lesson 02's reference models, PCA baseline, metric and training loop, on tiny synthetic data."""

from __future__ import annotations

import pytest
import torch

from course_utils import ShapeError, UnknownNameError, load_checkpoint, save_checkpoint
from course_utils.models.autoencoder import (
    PCA,
    ConvAutoencoder,
    DenseAutoencoder,
    encode_images,
    reconstruction_error,
    reconstruction_loss,
    train_autoencoder,
)


def blob_images(n: int = 64, seed: int = 0) -> torch.Tensor:
    """Images of one bright square at a random place: structured enough to learn in a few steps."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 28, 28)
    corners = torch.randint(0, 20, (n, 2), generator=g)
    for i, (r, c) in enumerate(corners.tolist()):
        images[i, 0, r : r + 8, c : c + 8] = 1.0
    return images


def small_models():
    torch.manual_seed(0)
    return [DenseAutoencoder(latent_dim=5, hidden=(32,)), ConvAutoencoder(latent_dim=5, channels=(4, 8))]


@pytest.mark.parametrize("model", small_models(), ids=["dense", "conv"])
def test_shapes_range_and_determinism(model):
    x = blob_images(6)
    model.eval()
    codes = model.encode(x)
    assert codes.shape == (6, 5)
    out = model.decode(codes)
    assert out.shape == (6, 1, 28, 28) and float(out.detach().min()) >= 0 and float(out.detach().max()) <= 1
    assert torch.equal(model(x), out)
    assert torch.equal(model.encode(x), codes), "the same image must always get the same code"
    assert (codes < 0).any(), "codes are unconstrained real numbers (no final activation in the encoder)"


@pytest.mark.parametrize("model", small_models(), ids=["dense", "conv"])
def test_bad_shapes_get_clear_errors(model):
    with pytest.raises(ShapeError, match="reshape"):
        model.encode(torch.rand(3, 784))
    with pytest.raises(ShapeError, match="N×5"):
        model.decode(torch.rand(3, 4))
    with pytest.raises(ShapeError, match="unsqueeze"):
        model.decode(torch.rand(5))


@pytest.mark.parametrize("model", small_models(), ids=["dense", "conv"])
def test_checkpoint_round_trip_rebuilds_from_config(model, tmp_path):
    path = save_checkpoint(model, tmp_path / "ae.pt", note="test")
    loaded, meta = load_checkpoint(path)
    assert type(loaded) is type(model) and meta["note"] == "test"
    x = blob_images(3)
    assert torch.allclose(loaded(x), model.eval()(x))


def test_pca_is_exact_on_low_rank_data_and_orthonormal():
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(3, 64, generator=g)
    images = (torch.randn(50, 3, generator=g) @ basis + 0.5).reshape(50, 1, 8, 8)  # small images: fast eigh
    pca = PCA.fit(images, latent_dim=3)
    assert reconstruction_error(pca, images) < 1e-6
    gram = pca.components @ pca.components.T
    assert torch.allclose(gram, torch.eye(3), atol=1e-5)
    assert pca.encode(images).shape == (50, 3) and pca.decode(pca.encode(images)).shape == (50, 1, 8, 8)


def test_pca_error_is_the_discarded_variance_and_beats_other_projections():
    images = blob_images(80, seed=1)[:, :, 10:22, 10:22]  # 12×12 crops: a small eigenproblem
    k = 4
    pca = PCA.fit(images, latent_dim=k)
    x = images.reshape(80, -1).double()
    eigenvalues = torch.linalg.eigvalsh((x - x.mean(0)).T @ (x - x.mean(0)))
    discarded = float(eigenvalues.sort(descending=True).values[k:].sum()) / 80
    assert reconstruction_error(pca, images) == pytest.approx(discarded, rel=1e-3)
    # any other k-dimensional orthonormal projection does worse
    q, _ = torch.linalg.qr(torch.randn(144, k, generator=torch.Generator().manual_seed(2)))
    other = PCA(k, image_shape=(1, 12, 12))
    other.mean.copy_(pca.mean)
    other.components.copy_(q.T)
    assert reconstruction_error(other, images) > reconstruction_error(pca, images)


def test_pca_fit_rejects_bad_input():
    with pytest.raises(ShapeError):
        PCA.fit(torch.rand(10, 64), 3)
    with pytest.raises(ValueError, match="more than the data allow"):
        PCA.fit(torch.rand(5, 1, 8, 8), 6)


def test_metric_and_loss_definitions():
    x = torch.zeros(2, 1, 28, 28)
    r = torch.full((2, 1, 28, 28), 0.5)
    assert float(reconstruction_loss(r, x)) == pytest.approx(784 * 0.25)  # sum over pixels, mean over images
    bce = reconstruction_loss(r, x, kind="bce")
    assert float(bce) == pytest.approx(784 * torch.log(torch.tensor(2.0)).item(), rel=1e-5)
    with pytest.raises(UnknownNameError, match="mse"):
        reconstruction_loss(r, x, kind="l1")

    class Constant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("value", torch.tensor(0.5))

        def forward(self, images):
            return torch.full_like(images, 0.5)

    assert reconstruction_error(Constant(), x, batch_size=1) == pytest.approx(196.0)


def test_training_learns_records_history_and_is_repeatable():
    images = blob_images(64)

    def run(**kwargs):
        torch.manual_seed(0)
        model = DenseAutoencoder(latent_dim=4, hidden=(32,))
        before = reconstruction_error(model, images)
        history = train_autoencoder(
            model, images, epochs=6, batch_size=16, lr=1e-2, show_progress=False, **kwargs
        )
        return model, before, history

    model, before, history = run(test_images=images[:32])
    after = reconstruction_error(model, images)
    assert after < 0.5 * before, f"error {before:.1f} → {after:.1f}: training should at least halve it"
    assert len(history["test_error"]) == 6 and history.epochs_done == 6 and history.seconds > 0
    assert history["loss"][-1] < history["loss"][0]
    assert not model.training
    _, _, again = run(test_images=images[:32])
    assert again["loss"] == history["loss"], "same seed, same run"


def test_denoising_time_limit_and_bad_arguments():
    images = blob_images(64)
    torch.manual_seed(0)
    model = ConvAutoencoder(latent_dim=3, channels=(4, 4))
    history = train_autoencoder(
        model, images, epochs=50, batch_size=16, noise=0.3, time_limit=1e-6, show_progress=False
    )
    assert history.epochs_done == 0 and "loss" not in history  # stopped after the first step (loss every 10)
    with pytest.raises(UnknownNameError):
        train_autoencoder(model, images, epochs=1, loss="l2", show_progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train_autoencoder(model, images, epochs=0, show_progress=False)
    with pytest.raises(ValueError, match="never end"):
        train_autoencoder(model, images, epochs=None, show_progress=False)
    with pytest.raises(ValueError, match="time_limit"):
        train_autoencoder(model, images, epochs=1, time_limit=0, show_progress=False)
    with pytest.raises(ShapeError):
        train_autoencoder(model, images.reshape(64, -1), epochs=1, show_progress=False)


def test_encode_images_batches_and_keeps_mode():
    torch.manual_seed(0)
    model = DenseAutoencoder(latent_dim=2, hidden=(16,)).train()
    images = blob_images(10)
    codes = encode_images(model, images, batch_size=3)
    assert codes.shape == (10, 2) and not codes.requires_grad and model.training
    assert torch.allclose(codes, model.eval().encode(images).detach())
