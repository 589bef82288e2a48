"""The conditional-quality benchmark's within-class entropy: k-means centres and the nearest-centre histogram."""

from __future__ import annotations

import math

import torch

from benchmarks.conditional_quality import cluster_entropy, kmeans


def test_kmeans_finds_separated_clusters():
    torch.manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = torch.cat([c + 0.1 * torch.randn(50, 2) for c in centres])
    found = kmeans(points, 3, seed=0)
    assert torch.cdist(centres, found).min(dim=1).values.max() < 0.2


def test_cluster_entropy_is_one_when_even_and_zero_when_collapsed():
    centres = torch.tensor([[0.0], [10.0], [20.0], [30.0]])
    even = torch.tensor([[0.1], [9.9], [20.2], [29.0]])
    assert math.isclose(cluster_entropy(even, centres), 1.0)
    assert cluster_entropy(torch.tensor([[0.1], [0.3], [-0.2]]), centres) == 0.0
    half = torch.tensor([[0.0], [10.0]])  # two of four clusters, evenly: log 2 / log 4
    assert math.isclose(cluster_entropy(half, centres), 0.5)
