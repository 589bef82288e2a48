"""What every benchmark script shares: the machine's description, its load, the training clock, writing results
as JSON, and the checkpoints a run saves (named after the run, recorded in its results with their hash)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# The 1-minute load average when the benchmark started: above ~0.5 on this 2-core machine, something else ran
# beside it and its timings are slower than the machine's (its quality figures are not affected).
LOAD_AT_START = os.getloadavg()[0]


def load_average() -> float:
    """The 1-minute load average: how many programs wanted the CPU, on average, over the last minute (NaN where the
    system does not say)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return float("nan")


def compute_clock(device: torch.device) -> Callable[[], float]:
    """The clock a benchmark's time budget runs on. On a CPU: this process's CPU time divided by its torch threads,
    which equals wall-clock time on an idle machine but does not let other programs eat the budget. On a GPU:
    wall-clock time."""
    if device.type != "cpu":
        return time.perf_counter
    threads = torch.get_num_threads()
    return lambda: time.process_time() / threads


def portable_path(path) -> str:
    """A file's name as a results file records it: relative to the repository, or to ``$COURSE_CHECKPOINT_DIR``.

    Results files are read on other machines, so they never hold this machine's absolute paths."""
    from course_utils.checkpoints import checkpoint_dir

    path = Path(path).resolve()
    for root, shown in (
        (Path(__file__).resolve().parents[1], ""),
        (checkpoint_dir().resolve(), "$COURSE_CHECKPOINT_DIR/"),
    ):
        if path.is_relative_to(root):
            return shown + path.relative_to(root).as_posix()
    return path.name


def machine() -> dict:
    """The facts that make a timing comparable: CPU, cores, threads, accelerator, versions, and the load."""
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_1min": {"at_start": round(LOAD_AT_START, 2), "at_end": round(os.getloadavg()[0], 2)},
    }
    return info


def add_run_options(parser, output: str, minutes: float) -> None:
    """The options of every benchmark that trains for a compute budget and judges the result: ``--minutes`` per
    run, ``--decay`` of the weights' moving average kept beside the last weights, ``--samples`` judged,
    ``--train-images`` (a subset, for tests), ``--threads`` and ``--output`` (the results file's name)."""
    from course_utils.models.dcgan import DEEPER_AVERAGE_DECAY

    parser.add_argument(
        "--minutes", type=float, default=minutes, help=f"compute minutes per run (default {minutes:g})"
    )
    parser.add_argument("--decay", type=float, default=DEEPER_AVERAGE_DECAY,
                        help=f"the moving average's decay (default {DEEPER_AVERAGE_DECAY})")  # fmt: skip
    parser.add_argument("--samples", type=int, default=2000, help="samples judged per model (default 2,000)")
    parser.add_argument(
        "--train-images", type=int, default=None, help="a subset of the training images (tests)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--output", default=output, help=f"results file name in benchmarks/results/ (default {output})"
    )


def write_results(name: str, figures: dict) -> Path:
    """Write ``figures`` with the date, machine and command to ``benchmarks/results/<name>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python " + " ".join(sys.argv),
        "machine": machine(),
        "figures": figures,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"Results written to {path}")
    return path


# ------------------------------------------------------------------------------------------------------------
# Checkpoints a run saves: named after the run, recorded with their hash
# ------------------------------------------------------------------------------------------------------------


def run_checkpoint_name(output: str, model: str, seed: int) -> str:
    """``<output>-<model>-seed<seed>.pt``: the results file's name, the model and the training seed, so that a run
    with another ``--output`` or seed never writes over the checkpoint another results file names."""
    return f"{output}-{model}-seed{seed}.pt"


def save_run_checkpoint(
    model: torch.nn.Module,
    output: str,
    name: str,
    seed: int,
    league_row: Optional[str] = None,
    **metadata,
) -> Dict[str, object]:
    """Save ``model`` in ``checkpoint_dir()`` under ``run_checkpoint_name(output, name, seed)``; the record to keep
    in the run's results: the model's name, seed, file name, SHA-256 and the league row it stands for (if any)."""
    from course_utils.checkpoints import checkpoint_dir, file_sha256, save_checkpoint

    path = save_checkpoint(model, checkpoint_dir() / run_checkpoint_name(output, name, seed), **metadata)
    return {
        "model": name,
        "seed": seed,
        "file": path.name,
        "sha256": file_sha256(path),
        "league_row": league_row,
    }


def recorded_checkpoints(record: object) -> Iterator[Dict[str, object]]:
    """Every checkpoint record (a dict with ``file``, ``sha256`` and ``league_row``) anywhere in a results file."""
    if isinstance(record, dict):
        if {"file", "sha256", "league_row"} <= set(record):
            yield record
        for value in record.values():
            yield from recorded_checkpoints(value)
    elif isinstance(record, list):
        for value in record:
            yield from recorded_checkpoints(value)


def league_checkpoints(
    results_dir: Path = RESULTS_DIR, names: Optional[list] = None
) -> Dict[str, Tuple[str, str]]:
    """The checkpoint each league row must load, from the results files that recorded one: ``{row: (file,
    sha256)}``. ``names`` limits the search to those results files (e.g. ``["dcgan_quality"]``). Two files that
    record different checkpoints for one row are an error: say which with ``names``."""
    chosen: Dict[str, Tuple[str, str]] = {}
    source: Dict[str, str] = {}
    paths = sorted(results_dir.glob("*.json"))
    if names is not None:
        paths = [path for path in paths if path.stem in names]
    for path in paths:
        for entry in recorded_checkpoints(json.loads(path.read_text(encoding="utf-8"))):
            row = entry["league_row"]
            if row is None:
                continue
            pinned = (str(entry["file"]), str(entry["sha256"]))
            if row in chosen and chosen[row] != pinned:
                raise ValueError(
                    f"League row {row!r}: {source[row]} records {chosen[row][0]}, {path.name} records {pinned[0]}. "
                    "Name the results files to use with --results."
                )
            chosen[row], source[row] = pinned, path.name
    return chosen
