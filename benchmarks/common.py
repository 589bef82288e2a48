"""What every benchmark script shares: the machine's description, its load, the training clock, and writing results
as JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

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
