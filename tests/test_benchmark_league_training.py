"""One budget for the league: every row trains for the same compute, the moving average or the last weights is
chosen on validation, and the league table loads exactly the recorded checkpoints with their costs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common, league_training  # noqa: E402
from benchmarks import league_table as table_benchmark  # noqa: E402
from course_utils import league  # noqa: E402


def test_every_trained_row_is_trained_here_or_by_the_symmetric_search():
    assert set(league_training.ROWS) | set(league_training.FROM_ELSEWHERE) == set(league.RECIPES)
    assert set(table_benchmark.ONE_BUDGET) == {
        "league_training",
        "wgan_vs_dcgan",
        "league_training-cfg",
        "league_training-latent",
    }


def test_a_tiny_run_pins_one_checkpoint_per_row_and_the_table_shows_its_cost(
    tmp_path, monkeypatch, one_thread
):
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("COURSE_FAST", "1")  # a quick judge, trained on the spot
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(table_benchmark, "RESULTS_DIR", tmp_path)
    monkeypatch.setitem(league.TRAINING, "train_images", (320, 320))
    code = league_training.main(["--rows", "vae", "diffusion", "--minutes", "0.002", "--samples", "64",
                                 "--train-images", "320", "--output", "one-budget-test"])  # fmt: skip
    assert code == 0
    rows = json.loads((tmp_path / "one-budget-test.json").read_text())["figures"]["rows"]
    for key, row in rows.items():
        pinned = [c for c in row["checkpoints"] if c["league_row"] == key]
        assert len(pinned) == 1 and pinned[0]["model"] == f"{key}-{row['chosen']}"
        assert row["validation_frechet"][row["chosen"]] == min(row["validation_frechet"].values())
        assert row["steps"] >= 1 and row["ema"] == (row["chosen"] == "ema")

    table_benchmark.main(["--samples", "32", "--seeds", "1", "--memorization", "8", "--rows", "vae", "diffusion",
                          "--results", "one-budget-test"])  # fmt: skip
    record = json.loads((tmp_path / "league_table.json").read_text())["figures"]
    assert set(record["pinned"]) == {"vae", "diffusion"}
    scored = {r["key"]: r for r in record["rows"]}
    assert (
        scored["diffusion"]["evaluations"] == league.SAMPLING_STEPS[1] and scored["vae"]["evaluations"] == 1
    )
    assert scored["vae"]["steps"] == rows["vae"]["steps"] and scored["vae"]["ema"] == rows["vae"]["ema"]
    markdown = (tmp_path / "league_table.md").read_text()
    assert "| training compute | steps | EMA | evals/sample |" in markdown
