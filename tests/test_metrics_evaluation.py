"""Lesson 08's metrics on cases whose answers are known: identical sets, disjoint sets, and the 2-D ring."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.errors import ShapeError
from course_utils.judge import classifier_features, torchmetrics_frechet
from course_utils.metrics import (
    classifier_score,
    extrapolate_frechet,
    frechet_against_n,
    frechet_distance,
    knn_radii,
    memorization,
    nearest_distances,
    precision_recall,
)
from course_utils.models.classifier import Classifier
from course_utils.toy_data import ring_of_gaussians


def test_knn_radii_on_a_line():
    points = torch.arange(6.0)[:, None]  # 0, 1, ..., 5
    assert knn_radii(points, k=1).tolist() == [1.0] * 6
    assert knn_radii(points, k=2).tolist() == [2.0, 1.0, 1.0, 1.0, 1.0, 2.0]
    with pytest.raises(ShapeError):
        knn_radii(points[:2], k=2)  # a point needs k other points


def test_precision_recall_identical_and_disjoint_sets():
    real = torch.randn(300, 4, generator=torch.Generator().manual_seed(0))
    assert precision_recall(real, real.clone()) == {"precision": 1.0, "recall": 1.0}
    far = real + 100.0
    assert precision_recall(real, far) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_on_the_ring_tells_dropped_modes_from_blur():
    real, modes = ring_of_gaussians(2000, seed=0, return_modes=True)
    truth, truth_modes = ring_of_gaussians(4000, seed=1, return_modes=True)
    # Mode dropping: fresh points from 2 of the 8 modes. Every sample is realistic, a quarter of the data covered.
    two_modes = truth[truth_modes < 2][:1000]
    dropped = precision_recall(real, two_modes)
    assert dropped["precision"] > 0.9
    assert 0.15 < dropped["recall"] < 0.35  # about 2/8 of the real points
    # Blur: the same centres, 10 times the spread. Most samples are off the data; all modes are covered.
    blurred = ring_of_gaussians(2000, std=0.5, seed=2)
    blur = precision_recall(real, blurred)
    assert blur["precision"] < 0.3 and blur["recall"] > 0.8
    # A good model (the true distribution) scores high on both.
    good = precision_recall(real, truth[:2000])
    assert good["precision"] > 0.9 and good["recall"] > 0.9


def test_nearest_distances_agree_with_brute_force_and_find_copies():
    generator = torch.Generator().manual_seed(0)
    train = torch.rand(50, 1, 28, 28, generator=generator)
    queries = torch.rand(7, 1, 28, 28, generator=generator)
    distances, indices = nearest_distances(queries, train, batch_size=3)
    brute = torch.cdist(queries.flatten(1).double(), train.flatten(1).double())
    assert torch.allclose(distances.double(), brute.min(1).values, atol=1e-3)
    assert indices.tolist() == brute.argmin(1).tolist()
    copies, where = nearest_distances(train[[4, 9]], train)
    assert where.tolist() == [4, 9] and float(copies.max()) < 1e-2


def test_memorization_of_a_copier_and_of_new_images():
    generator = torch.Generator().manual_seed(0)
    train, test, new = (torch.rand(n, 16, generator=generator) for n in (500, 200, 200))
    test_d, _ = nearest_distances(test, train)
    copier = memorization(nearest_distances(train[:200], train)[0], test_d)
    assert copier["copy_share"] == 1.0 and copier["ratio"] < 0.01
    fresh = memorization(nearest_distances(new, train)[0], test_d)
    assert 0.9 < fresh["ratio"] < 1.1 and fresh["copy_share"] < 0.05


def test_classifier_score_extremes():
    certain_and_varied = torch.eye(10).repeat(5, 1)  # every class, each sample certain
    assert classifier_score(certain_and_varied) == pytest.approx(10.0, rel=1e-6)
    one_class = torch.zeros(20, 10)
    one_class[:, 3] = 1.0
    assert classifier_score(one_class) == pytest.approx(1.0)
    unsure = torch.full((20, 10), 0.1)  # each sample: every class equally likely
    assert classifier_score(unsure) == pytest.approx(1.0)
    half = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]])  # KL = log 2 for each sample
    assert classifier_score(half) == pytest.approx(2.0, rel=1e-6)


def test_extrapolation_recovers_a_known_line_and_shrinks_the_real_vs_real_bias():
    exact = {n: 3.0 + 500.0 / n for n in (100, 200, 400, 800)}
    fit = extrapolate_frechet(exact)
    assert fit["infinite_n"] == pytest.approx(3.0) and fit["slope"] == pytest.approx(500.0)
    with pytest.raises(ValueError):
        extrapolate_frechet({100: 1.0})
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(4000, 32, generator=generator), torch.randn(4000, 32, generator=generator)
    by_n = frechet_against_n(a, b, [250, 500, 1000, 2000, 4000])
    assert by_n[250] > by_n[4000]  # the same distribution: the distance is bias, shrinking with N
    assert abs(extrapolate_frechet(by_n)["infinite_n"]) < by_n[4000] / 2  # much nearer the truth, 0
    with pytest.raises(ValueError):
        frechet_against_n(a, b, [5000])


def test_torchmetrics_agrees_with_the_course_formula():
    torch.manual_seed(0)
    model = Classifier().eval()  # untrained: any fixed feature map will do for checking the formula
    real = torch.rand(300, 1, 28, 28)
    fake = (real * 0.7 + 0.1 * torch.rand(300, 1, 28, 28)).clamp(0, 1)
    ours = frechet_distance(classifier_features(real, model=model), classifier_features(fake, model=model))
    theirs = torchmetrics_frechet(real, fake, model=model)
    assert ours > 0 and math.isclose(theirs, ours, rel_tol=1e-4)
