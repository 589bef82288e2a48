"""benchmarks/full_run.py: a lesson in full mode in a fresh kernel, with its time, memory, load and printed lines."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
full_run = pytest.importorskip("benchmarks.full_run")


def lesson(tmp_path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = tmp_path / "00_example.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_a_lesson_runs_in_full_mode_with_a_fresh_checkpoint_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")  # the run must drop it: full mode
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    path = lesson(
        tmp_path,
        "import os\nprint('fast' if os.environ.get('COURSE_FAST') else 'full mode')",
        # 200 MiB written (so resident, not just reserved), held while the half-second sampler looks
        "import course_utils\nprint('data:', course_utils.data_dir())\n"
        "print('checkpoints:', os.environ['COURSE_CHECKPOINT_DIR'])\nbig = b'x' * (200 * 2**20)\n"
        "import time\ntime.sleep(1.5)",
        "3 * 7",
    )
    record = full_run.run_lesson(path, checkpoints, executed_dir=tmp_path / "executed")
    assert record["status"] == "ok"
    # the checkpoint and data folders, paths of the machine, are recorded by their variables' names
    assert record["printed"] == [
        "full mode",
        "data: $COURSE_DATA_DIR",
        "checkpoints: $COURSE_CHECKPOINT_DIR",
        "21",
    ]
    executed = nbformat.read(str(tmp_path / "executed" / path.name), as_version=4)
    assert executed.cells[2].outputs[0]["data"]["text/plain"] == "21", (
        "the executed notebook keeps its outputs"
    )
    assert record["peak_memory_mib"] > 200, "the kernel's 200 MiB allocation must show in its peak memory"
    assert record["seconds"] > 0 and set(record["load_average_1min"]) == {"at_start", "at_end"}
    assert __import__("os").environ["COURSE_FAST"] == "1", "the caller's environment is restored"


def test_a_failing_lesson_is_recorded_with_its_error(tmp_path):
    path = lesson(
        tmp_path, "print('before')", "raise ValueError('the data folder is empty')", "print('never')"
    )
    record = full_run.run_lesson(path, tmp_path, executed_dir=tmp_path / "executed")
    assert record["status"] == "error" and "the data folder is empty" in record["error"]
    assert record["printed"] == ["before"]
