"""2-D toy data and the per-class Gaussian model: shapes, repeatability, the right statistics, bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import ShapeError, UnknownNameError, toy_data  # noqa: E402
from course_utils.gaussian import PCA, ClassGaussians  # noqa: E402


def test_three_blobs_shapes_repeatability_and_statistics():
    points, labels = toy_data.three_blobs(n_per_class=3000, seed=0)
    assert points.shape == (9000, 2) and points.dtype == torch.float32 and labels.dtype == torch.long
    assert torch.bincount(labels).tolist() == [3000] * 3
    again, _ = toy_data.three_blobs(n_per_class=3000, seed=0)
    other, _ = toy_data.three_blobs(n_per_class=3000, seed=1)
    assert torch.equal(points, again) and not torch.equal(points, other)
    for k, (mean, cov) in enumerate(toy_data.BLOBS):
        chosen = points[labels == k].double()
        assert torch.allclose(chosen.mean(0), torch.tensor(mean).double(), atol=0.06)
        assert torch.allclose(torch.cov(chosen.T), torch.tensor(cov).double(), atol=0.08)


def test_ring_of_gaussians_puts_every_point_near_its_mode():
    points, modes = toy_data.ring_of_gaussians(
        n=800, modes=8, radius=2.0, std=0.05, seed=0, return_modes=True
    )
    assert points.shape == (800, 2) and set(modes.tolist()) == set(range(8))
    nearest, close = toy_data.nearest_mode(points, modes=8)
    assert torch.equal(nearest, modes) and close.float().mean() > 0.98
    assert torch.allclose(points.norm(dim=1), torch.full((800,), 2.0), atol=0.3)
    assert toy_data.ring_of_gaussians(n=5).shape == (5, 2)


def test_two_moons_shapes():
    points, labels = toy_data.two_moons(n_per_class=50)
    assert points.shape == (100, 2) and torch.bincount(labels).tolist() == [50, 50]


def test_bad_input_names_the_expected_shape():
    with pytest.raises(ShapeError, match="N×2"):
        toy_data.check_points(torch.rand(10, 3))
    with pytest.raises(ShapeError, match="floating point"):
        toy_data.check_points(torch.ones(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="positive whole number"):
        toy_data.three_blobs(n_per_class=0)


def fitted(n_per_class=2000):
    points, labels = toy_data.three_blobs(n_per_class=n_per_class, seed=0)
    return ClassGaussians(class_names=toy_data.BLOB_NAMES).fit(points, labels), points, labels


def test_class_gaussians_fit_match_the_data_and_classify_well():
    model, points, labels = fitted()
    for k in range(3):
        chosen = points[labels == k].double()
        assert torch.allclose(model.means[k], chosen.mean(0), atol=1e-6)
        centered = chosen - chosen.mean(0)
        assert torch.allclose(model.covariances[k], centered.T @ centered / len(chosen), atol=1e-3)
    assert torch.allclose(model.priors, torch.full((3,), 1 / 3, dtype=torch.float64))
    probs = model.predict_proba(points)
    assert torch.allclose(probs.sum(1), torch.ones(len(points)))
    assert (model.predict(points) == labels).float().mean() > 0.97


def test_class_gaussians_log_likelihood_matches_torch_distributions():
    model, points, _ = fitted(200)
    x = points[:7]
    for k in range(3):
        reference = torch.distributions.MultivariateNormal(model.means[k], model.covariances[k]).log_prob(
            x.double()
        )
        assert torch.allclose(model.log_likelihood(x)[:, k], reference, atol=1e-6)
    expected = torch.logsumexp(model.log_likelihood(x) + model.priors.log(), dim=1)
    assert torch.allclose(model.log_density(x), expected)


def test_class_gaussians_sample_by_number_or_name_and_reject_unknown_classes():
    model, _, _ = fitted()
    torch.manual_seed(0)
    new = model.sample(5000, label="tilted")
    assert new.shape == (5000, 2)
    assert torch.allclose(new.double().mean(0), model.means[1], atol=0.06)
    assert torch.allclose(torch.cov(new.double().T), model.covariances[1], atol=0.1)
    assert model.sample(3, label=2).shape == (3, 2)
    with pytest.raises(UnknownNameError, match=r"0 \(round\), 1 \(tilted\), 2 \(flat\)"):
        model.sample(3, label=7)
    with pytest.raises(UnknownNameError, match="Valid classes"):
        model.sample(3, label="Sneaker")


def test_class_gaussians_reject_bad_shapes():
    with pytest.raises(ShapeError, match="N×D"):
        ClassGaussians().fit(torch.rand(10), torch.zeros(10, dtype=torch.long))
    model, _, _ = fitted(50)
    with pytest.raises(ShapeError, match="N×2"):
        model.predict_proba(torch.rand(4, 3))


def test_pca_reconstructs_exactly_with_all_components_and_sorts_variance():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 6, generator=generator) @ torch.randn(6, 6, generator=generator)
    full = PCA(6).fit(x)
    assert torch.allclose(full.decode(full.encode(x)), x, atol=1e-4)
    assert torch.allclose(full.components @ full.components.T, torch.eye(6, dtype=torch.float64), atol=1e-8)
    ratios = full.explained_variance_ratio
    assert torch.all(ratios[:-1] >= ratios[1:]) and abs(float(ratios.sum()) - 1) < 1e-5
    two = PCA(2).fit(x)
    assert two.encode(x).shape == (200, 2) and two.decode(two.encode(x)).shape == (200, 6)


def test_plots_draw_without_error():
    model, points, labels = fitted(50)
    fig, axes = plt.subplots(1, 3)
    toy_data.plot_points(points, labels, class_names=toy_data.BLOB_NAMES, ax=axes[0])
    toy_data.plot_decision_regions(model.predict_proba, points, labels, ax=axes[1], steps=30)
    toy_data.plot_density(model.log_density, points, ax=axes[2], steps=30)
    assert len(axes[0].collections) == 3
    plt.close(fig)


def test_two_d_plots_name_their_axes_and_keep_a_callers_labels():
    points, labels = toy_data.three_blobs(n_per_class=20, seed=0)
    ax = toy_data.plot_decision_regions(lambda x: torch.full((len(x), 3), 1 / 3), points, labels)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x₁", "x₂")
    _, own = plt.subplots()
    own.set_xlabel("first feature")
    toy_data.plot_points(points, labels, ax=own)
    assert (own.get_xlabel(), own.get_ylabel()) == ("first feature", "x₂")
    plt.close("all")
