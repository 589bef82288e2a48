"""The league-table benchmark writes every row it scored to JSON and the markdown table the README shows."""

from __future__ import annotations

import json

import pytest

from benchmarks import common
from benchmarks import league_table as benchmark
from course_utils import league
from course_utils.models.classifier import Classifier

pytestmark = pytest.mark.usefixtures("one_thread")


def test_benchmark_writes_json_and_markdown(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setattr(
        league, "reference_classifier", lambda dataset: Classifier().eval()
    )  # no judge training
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(benchmark, "RESULTS_DIR", tmp_path)
    benchmark.main(
        ["--samples", "40", "--seeds", "2", "--memorization", "10", "--rows", "real", "noise", "copier"]
    )
    record = json.loads((tmp_path / "league_table.json").read_text())
    rows = record["figures"]["rows"]
    assert [r["key"] for r in rows] == ["real", "noise", "copier"] and all(r["seeds"] == 2 for r in rows)
    assert rows[2]["copies"] == 1.0 and "load_average_1min" in record["machine"]
    markdown = (tmp_path / "league_table.md").read_text()
    assert "*training-set copier*" in markdown and "N = 40 samples" in markdown
