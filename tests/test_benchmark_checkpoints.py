"""A benchmark's checkpoints are named after its run and recorded with their hash; the league loads exactly those."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from course_utils import league, save_checkpoint  # noqa: E402
from course_utils.checkpoints import file_sha256  # noqa: E402
from course_utils.errors import CheckpointError  # noqa: E402
from course_utils.models import dcgan  # noqa: E402


@pytest.fixture
def checkpoints(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(folder))
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    return folder


def generator(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return dcgan.DCGenerator(channels=8)


def test_a_runs_checkpoint_is_named_after_its_results_file_model_and_seed(checkpoints):
    first = common.save_run_checkpoint(
        generator(0), "dcgan_quality", "dcgan", 0, league_row="dcgan", steps=10
    )
    other = common.save_run_checkpoint(
        generator(1), "dcgan_quality-gpu", "dcgan", 0, league_row="dcgan", steps=10
    )
    seed = common.save_run_checkpoint(generator(2), "dcgan_quality", "dcgan", 1, league_row="dcgan", steps=10)
    assert [first["file"], other["file"], seed["file"]] == [
        "dcgan_quality-dcgan-seed0.pt", "dcgan_quality-gpu-dcgan-seed0.pt", "dcgan_quality-dcgan-seed1.pt"
    ]  # fmt: skip
    assert first["sha256"] == file_sha256(checkpoints / first["file"]), "another run must not write over it"
    assert first["sha256"] != other["sha256"] and first["league_row"] == "dcgan"


def test_the_league_reads_the_records_of_the_results_files(tmp_path, checkpoints):
    record = common.save_run_checkpoint(
        generator(0), "dcgan_quality", "dcgan", 0, league_row="dcgan", steps=10
    )
    averaged = common.save_run_checkpoint(generator(1), "dcgan_quality", "avg", 0, league_row=None, steps=10)
    results = tmp_path / "results"
    results.mkdir()
    nested = {"figures": {"models": {"dcgan": {"checkpoint": record}, "avg": {"checkpoint": averaged}}}}
    (results / "dcgan_quality.json").write_text(json.dumps(nested))
    (results / "other.json").write_text(json.dumps({"figures": {"checkpoint": "an old path, not a record"}}))
    assert common.league_checkpoints(results) == {"dcgan": (record["file"], record["sha256"])}
    clash = dict(record, file="dcgan_quality-gpu-dcgan-seed0.pt", sha256="0" * 64)
    (results / "dcgan_quality-gpu.json").write_text(json.dumps({"figures": [clash]}))
    with pytest.raises(ValueError, match="League row 'dcgan'.*--results"):
        common.league_checkpoints(results)
    assert common.league_checkpoints(results, ["dcgan_quality-gpu"]) == {"dcgan": (clash["file"], "0" * 64)}


def test_a_pinned_row_loads_that_checkpoint_and_refuses_another(checkpoints):
    record = common.save_run_checkpoint(
        generator(0), "dcgan_quality", "dcgan", 0, league_row="dcgan", steps=9919
    )
    context = league.make_context()
    context.pinned = {"dcgan": (record["file"], record["sha256"])}
    built = league.build(["dcgan"], context)
    assert built.sources["dcgan"] == (
        f"checkpoint dcgan_quality-dcgan-seed0.pt (9,919 steps; SHA-256 {record['sha256'][:12]}, as recorded)"
    )
    assert torch.equal(next(built.models["dcgan"].parameters()), next(generator(0).parameters()))
    # Another run writes over the file: the league refuses it rather than score other weights under that name.
    save_checkpoint(generator(5), checkpoints / record["file"], steps=9919)
    with pytest.raises(CheckpointError, match="not the checkpoint its results file recorded"):
        league.build(["dcgan"], context)
    (checkpoints / record["file"]).unlink()
    with pytest.raises(CheckpointError, match="Run the benchmark that made it"):
        league.build(["dcgan"], context)
    assert not list(checkpoints.glob("league-*.pt")), "a pinned row never trains a stand-in"
