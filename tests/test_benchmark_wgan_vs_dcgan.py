"""WGAN-GP against the DCGAN: the same grid for both, settings chosen on validation, the chosen seed-0 models
recorded as the league's rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common, wgan_vs_dcgan  # noqa: E402


def fake_run(kind, lr, seed, validation, test):
    judged = {split: {"frechet": fd, "confident": 0.5, "recall": 0.3} for split, fd in
              (("validation", validation), ("test", test))}  # fmt: skip
    return {"kind": kind, "lr": lr, "seed": seed, "generator_steps": 10,
            "judged": {"last": judged, "ema": {s: {**j, "frechet": j["frechet"] + 1} for s, j in judged.items()}}}  # fmt: skip


def test_each_kind_is_chosen_on_validation_only():
    runs = [fake_run("dcgan", 1e-3, s, validation=50 + s, test=90) for s in (0, 1)]
    runs += [fake_run("dcgan", 2e-3, s, validation=60, test=10) for s in (0, 1)]  # best on test: not chosen
    runs += [fake_run("wgan_gp", 1e-3, 0, validation=80, test=80)]
    table = wgan_vs_dcgan.settings_table(runs, "validation")
    first = next(r for r in table if r["kind"] == "dcgan" and r["lr"] == 1e-3 and r["weights"] == "last")
    assert first["frechet"] == {"mean": 50.5, "sd": 0.7071} and first["seeds"] == [0, 1]
    assert wgan_vs_dcgan.choose(table) == {
        "wgan_gp": {"lr": 1e-3, "weights": "last"},
        "dcgan": {"lr": 1e-3, "weights": "last"},
    }


def test_a_tiny_run_records_the_chosen_models_for_the_league(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("COURSE_FAST", "1")  # a quick judge, trained on the spot
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    code = wgan_vs_dcgan.main(["--minutes", "0.003", "--lrs", "8e-4,1.6e-3", "--seeds", "0,1", "--samples", "64",
                               "--train-images", "320", "--threads", "1", "--output", "symmetric-test"])  # fmt: skip
    assert code == 0
    record = json.loads((tmp_path / "symmetric-test.json").read_text())["figures"]
    grid = {(r["kind"], r["lr"], r["seed"]) for r in record["runs"]}
    assert grid == {(k, lr, s) for k in ("wgan_gp", "dcgan") for lr in (8e-4, 1.6e-3) for s in (0, 1)}
    assert len(record["validation"]) == len(record["test"]) == 2 * 2 * 2  # kinds × rates × {last, ema}
    assert {c["league_row"] for c in record["checkpoints"]} == {"dcgan", "wgan_gp"}
    for checkpoint in record["checkpoints"]:
        assert (tmp_path / "checkpoints" / checkpoint["file"]).is_file()
    assert set(common.league_checkpoints(tmp_path, ["symmetric-test"])) == {"dcgan", "wgan_gp"}
