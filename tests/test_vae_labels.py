"""Figures called nats are likelihoods: the VAE benchmark's recorded results and the lesson's printed labels."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "vae_vs_pytorch_examples.json"
LESSON = ROOT / "notebooks" / "03_variational_autoencoders.ipynb"


def _sections(node, data=None, path="figures"):
    """Yield (path, key, the 'data' description in force) for every key in the nested results."""
    if isinstance(node, dict):
        data = node.get("data", data)
        for key, value in node.items():
            yield path, key, data
            yield from _sections(value, data, f"{path}.{key}")


def test_benchmark_says_nats_only_for_binarized_data():
    figures = json.loads(RESULTS.read_text())["figures"]
    found_nats = False
    for path, key, data in _sections(figures):
        if "nats" in key.lower():
            found_nats = True
            assert data and data.startswith("binarized"), f"{path}.{key} is in nats but its data is {data!r}"
        if "bce_loss" in key.lower():
            assert data and data.startswith("grey"), f"{path}.{key} is a BCE loss but its data is {data!r}"
    assert found_nats, "the benchmark should report the binarized likelihood figures in nats"
    assert "grey_pixels" in figures and "test_bce_loss" in figures["grey_pixels"]


def test_benchmark_reports_the_whole_test_set_with_a_monte_carlo_error():
    iwae = json.loads(RESULTS.read_text())["figures"]["iwae_fashion_mnist"]
    assert iwae["test_images"] == 10_000
    assert set(iwae["iwae_bounds_by_k"]) == {"1", "10", "100", "1000", "5000"}
    for bound in iwae["iwae_bounds_by_k"].values():
        assert bound["standard_error_nats"] > 0


def test_lesson_prints_nats_only_beside_binarized_images():
    # Every code line that prints "nats" in lesson 03 must sit in a cell that works on binarized images or on
    # log-weights of them (binary_test / binary_validation / log_weights), or print the continuous Bernoulli.
    nb = nbformat.read(LESSON, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "nats" not in cell.source:
            continue
        source = cell.source
        assert any(
            word in source for word in ("binary_test", "binary_validation", "log_weights", "log_normalizer")
        ), f"a cell prints nats without binarized data:\n{source[:300]}"
    grey_cells = [c.source for c in nb.cells if c.cell_type == "code" and "grey_vae" in c.source]
    assert grey_cells and "loss_label(test_images)" in grey_cells[0]
