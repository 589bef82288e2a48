"""The DCGAN ablation: every arm trains, both generators are judged, and the table is mean ± sd over seeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common, dcgan_ablation  # noqa: E402


def test_the_arms_differ_in_one_network_each():
    assert dcgan_ablation.ARMS == {"first": (1, 1), "deeper_d": (1, 2), "deeper_g": (2, 1), "both": (2, 2)}


def test_the_summary_is_mean_and_sd_over_seeds():
    def run(arm, seed, frechet):
        judged = {"frechet": frechet, "confident": 0.5, "recall": 0.2}
        return {"arm": arm, "seed": seed, "steps": 100 + seed, "judged": {"last": judged, "ema": judged}}

    table = dcgan_ablation.summarize([run("first", 0, 10.0), run("first", 1, 14.0), run("both", 0, 3.0)])
    assert table["first"]["last"]["frechet"] == 12.0 and table["first"]["last"][
        "frechet_sd"
    ] == pytest.approx(2.83, abs=0.01)
    assert table["both"]["ema"]["frechet_sd"] == 0.0 and set(table) == {"first", "both"}


def test_a_tiny_run_writes_every_arm_and_both_generators(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("COURSE_FAST", "1")  # a quick judge, trained on the spot
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    code = dcgan_ablation.main(["--minutes", "0.005", "--seeds", "0,1", "--samples", "64", "--train-images", "256",
                                "--threads", "1", "--output", "ablation-test"])  # fmt: skip
    assert code == 0
    record = json.loads((tmp_path / "ablation-test.json").read_text())["figures"]
    assert [(r["arm"], r["seed"]) for r in record["runs"]] == [
        (a, s) for s in (0, 1) for a in dcgan_ablation.ARMS
    ]
    for run in record["runs"]:
        assert run["steps"] >= 1 and set(run["judged"]) == {"last", "ema"}
        assert 0 <= run["judged"]["ema"]["recall"] <= 1 and run["judged"]["last"]["frechet"] > 0
    assert set(record["table"]) == set(dcgan_ablation.ARMS) and "frechet_sd" in record["table"]["both"]["ema"]
