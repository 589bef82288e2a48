"""The whole course in full mode, as a learner's first pass runs it: every lesson, in order, each in a fresh kernel.

    python benchmarks/full_run.py                    # every lesson, into benchmarks/results/ (--output names it)
    python benchmarks/full_run.py --lessons 00 03    # some lessons only
    python benchmarks/full_run.py --resume           # go on after an interrupted run (finished lessons are kept)
    python benchmarks/full_run.py --fast             # every lesson in fast mode, into benchmarks/results/fast_run.json
    make full-run                                    # the same as the first line

Each lesson runs top to bottom with ``COURSE_FAST`` unset (``--fast``: set to 1, as CI runs it), in a kernel of
its own, with one checkpoint folder that starts empty for the whole run: a lesson trains what it needs, or loads
what an earlier lesson of the same run saved, exactly as on a learner's first pass through the course. For each
lesson the results file records the wall time, the device and threads, the load average at its start and end, the
kernel's peak memory, and every line the lesson printed (its figures, which its "What you should see" quotes,
checked by ``tests/test_prose_numbers.py``); the executed notebook, with its plots, goes to ``build/full-run/``
(``build/fast-run/``). A table row is printed as each lesson ends. Run it with nothing else on
the machine, and read the load columns to check that it was so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))  # run as a script from anywhere: `benchmarks.common` is importable

from benchmarks.common import RESULTS_DIR, load_average, machine  # noqa: E402
from course_utils import data_dir  # noqa: E402

NOTEBOOKS = REPOSITORY / "notebooks"
STATE_FILE = REPOSITORY / "build" / "full-run.state"  # the checkpoint folder of a run, for --resume
EXECUTED = REPOSITORY / "build" / "full-run"  # each lesson as it ran, outputs included (not committed)
CELL_TIMEOUT_SECONDS = 3600
MAX_PRINTED_LINES = 600  # per lesson: enough for every figure, without storing a training log


class PeakMemory:
    """The largest resident memory of a process and its children, sampled every half second in a thread."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                processes = [self.process, *self.process.children(recursive=True)]
                self.peak_bytes = max(self.peak_bytes, sum(p.memory_info().rss for p in processes))
            except psutil.Error:
                pass  # the kernel is starting or stopping
            self._stop.wait(0.5)

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self._stop.set()
        self._thread.join()
        return round(self.peak_bytes / 2**20, 1)


def printed_lines(nb: nbformat.NotebookNode) -> List[str]:
    """What the lesson printed: its stdout and the text of each cell's value (progress bars go to stderr)."""
    lines: List[str] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                text = output.get("text", "")
            elif output.get("output_type") in ("execute_result", "display_data"):
                text = (
                    output.get("data", {}).get("text/plain", "")
                    if "image/png" not in output.get("data", {})
                    else ""
                )
            else:
                continue
            lines.extend(line.rstrip() for line in text.splitlines() if line.strip())
    return lines[:MAX_PRINTED_LINES]


def run_lesson(path: Path, checkpoint_dir: Path, executed_dir: Path = EXECUTED, fast: bool = False) -> Dict:
    """Run one lesson notebook in full mode (or in fast mode) in a fresh kernel; what it took and what it printed.
    The executed notebook is written to ``executed_dir``."""
    nb = nbformat.read(str(path), as_version=4)
    environment = {"COURSE_CHECKPOINT_DIR": str(checkpoint_dir), "MPLBACKEND": "Agg"}
    saved = {key: os.environ.get(key) for key in [*environment, "COURSE_FAST"]}
    os.environ.update(environment)
    os.environ.pop("COURSE_FAST", None)
    if fast:
        os.environ["COURSE_FAST"] = "1"
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    record: Dict = {"load_average_1min": {"at_start": load_average()}}
    start = time.perf_counter()
    peak: Optional[PeakMemory] = None
    try:
        with client.setup_kernel():
            peak = PeakMemory(client.km.provisioner.process.pid)
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        record["status"] = "ok"
    except (CellExecutionError, CellTimeoutError) as error:
        record["status"] = "error"
        record["error"] = (
            str(error).strip().splitlines()[-1][:500] if str(error).strip() else type(error).__name__
        )
    finally:
        record["seconds"] = round(time.perf_counter() - start, 1)
        record["peak_memory_mib"] = peak.stop() if peak else None
        record["load_average_1min"]["at_end"] = load_average()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    # The checkpoint and data folders are paths of the machine that ran it: the record names them by their variables.
    folders = {str(checkpoint_dir): "$COURSE_CHECKPOINT_DIR", str(data_dir()): "$COURSE_DATA_DIR"}
    record["printed"] = []
    for line in printed_lines(nb):
        for folder, variable in folders.items():
            line = line.replace(folder, variable)
        record["printed"].append(line)
    executed_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(
        nb, str(executed_dir / path.name)
    )  # with its outputs and figures, to read beside the prose
    return record


def device_in_use() -> Dict:
    """What the lessons' ``course_utils.get_device()`` will pick, and how many CPU threads PyTorch uses."""
    import torch

    return {
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch_threads": torch.get_num_threads(),
    }


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lessons", nargs="*", metavar="NN", help="lesson numbers to run (default: all)")
    parser.add_argument("--resume", action="store_true", help="keep the lessons an interrupted run finished")
    parser.add_argument("--fast", action="store_true", help="run in fast mode (COURSE_FAST=1), as CI does")
    parser.add_argument(
        "--output", help="name of the results file in benchmarks/results/ (default: full_run, or fast_run)"
    )
    args = parser.parse_args(argv)
    args.output = args.output or ("fast_run" if args.fast else "full_run")
    mode = "fast" if args.fast else "full"
    state_file = STATE_FILE.with_name(f"{mode}-run.state")

    lessons = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        lessons = [path for path in lessons if path.name[:2] in args.lessons]
    output = RESULTS_DIR / f"{args.output}.json"
    results: Dict = {}
    checkpoint_dir: Optional[Path] = None
    if args.resume and output.exists() and state_file.exists():
        results = json.loads(output.read_text())["lessons"]
        checkpoint_dir = Path(json.loads(state_file.read_text())["checkpoint_dir"])
        print(f"Resuming: {sum(r['status'] == 'ok' for r in results.values())} lesson(s) already done.")
    if checkpoint_dir is None or not checkpoint_dir.is_dir():
        checkpoint_dir = Path(tempfile.mkdtemp(prefix="course-full-run-"))
        results = {}
    state_file.parent.mkdir(exist_ok=True)
    state_file.write_text(json.dumps({"checkpoint_dir": str(checkpoint_dir)}))

    device = device_in_use()
    folder = "the interrupted run's checkpoint folder" if results else "a fresh checkpoint folder"
    print(f"{mode.capitalize()} mode, {device['device']} ({device['torch_threads']} threads); {folder}.")
    print(f"{'lesson':<42} {'status':<7} {'time':>14} {'peak MiB':>9} {'load start → end':>17}")
    for path in lessons:
        name = path.stem
        if results.get(name, {}).get("status") == "ok":
            continue
        record = run_lesson(path, checkpoint_dir, EXECUTED.with_name(f"{mode}-run"), fast=args.fast)
        record.update(device)
        results[name] = record
        load = record["load_average_1min"]
        print(
            f"{name:<42} {record['status']:<7} {minutes(record['seconds']):>14} "
            f"{record['peak_memory_mib'] or 0:>9.0f} {load['at_start']:>8.2f} → {load['at_end']:<6.2f}",
            flush=True,
        )
        if record["status"] != "ok":
            print(f"    {record['error']}")
        write(output, results)
    total = sum(r["seconds"] for r in results.values())
    print(f"{'the whole course':<42} {'':<7} {minutes(total):>14}")
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


def write(output: Path, results: Dict) -> None:
    """Write the run so far (so an interrupted run keeps what it finished)."""
    record = {
        "benchmark": output.stem,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/full_run.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "total_seconds": round(sum(r["seconds"] for r in results.values()), 1),
        "lessons": results,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
