"""Lesson 05: the failure gallery on seeds the lesson does not use, so that ``diagnose`` is tested on runs it
was not written from.

    python benchmarks/gan_failure_histories.py                                      # every run, seeds 1-5
    python benchmarks/gan_failure_histories.py --failures mode_collapse --seeds 6,7   # added to the file

Each run is ``gan_diagnostics.failure_run`` with the lesson's full-mode gallery settings (the first 10,000
training images, 32 channels, batches of 64, 300 steps, one thread) and a seed other than the lesson's 0. The
histories (every series ``diagnostic_step`` records, averaged over each 10 steps, rounded to 4 decimals) go to
``tests/fixtures/gan_failure_histories.json``; runs already there for other failures or seeds are kept, so
the work can be split. ``tests/test_gan_diagnostics.py`` runs ``diagnose`` on every history there and checks
how many it names right, per failure. The script prints the same tally.

Each run is a fixed number of steps, so the histories do not depend on the machine's speed; a GAN's path is
chaotic, though, and another CPU or PyTorch build can give a seed another path. Each run costs what one run of
the lesson's gallery costs (seven took about 70 s on one CPU thread).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine  # noqa: E402
from course_utils import load_dataset  # noqa: E402
from course_utils.gan_diagnostics import FAILURES, diagnose, failure_run  # noqa: E402
from course_utils.training import History  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[1] / "tests/fixtures/gan_failure_histories.json"
# The lesson's full-mode gallery (notebooks/05_dcgan.ipynb, section 5).
SETTINGS = {"images": 10_000, "channels": 32, "batch_size": 64, "steps": 300, "log_every": 10, "threads": 1}


def compact(history: History) -> dict:
    """The history as ``{"every": n, series: values}``, values to 4 decimals: small enough to commit, and far
    finer than any rule of ``diagnose``. Each series has a value every ``log_every`` steps, from that step."""
    every = SETTINGS["log_every"]
    series = {name: [round(v, 4) for v in history[name]] for name in history.names()}
    for name in series:
        assert history.steps[name] == [every * (i + 1) for i in range(len(series[name]))], name
    return {"every": every, **series}


def as_history(run: dict) -> History:
    """A history back from ``compact``'s form."""
    history = History()
    for name, values in run.items():
        if name != "every":
            history.values[name] = list(values)
            history.steps[name] = [run["every"] * (i + 1) for i in range(len(values))]
    return history


def one_line_lists(text: str) -> str:
    """``json.dumps(indent=1)`` puts every number on a line of its own: put each list of numbers on one."""
    return re.sub(r"\[[-0-9.e,\s]*\]", lambda match: json.dumps(json.loads(match.group(0))), text)


def tally(runs: dict) -> dict:
    """{failure: Counter of the names ``diagnose`` gives its runs}."""
    return {
        name: Counter(diagnose(as_history(run)).name for run in by_seed.values())
        for name, by_seed in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--failures", default=",".join(FAILURES), help="comma-separated keys of FAILURES")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated seeds (the lesson uses 0)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    names = args.failures.split(",")
    unknown = [name for name in names if name not in FAILURES]
    if unknown:
        parser.error(f"unknown failures {unknown}; the gallery has: {', '.join(FAILURES)}")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    if 0 in seeds:
        parser.error("seed 0 is the lesson's own run: diagnose must be tested on other seeds")

    torch.set_num_threads(SETTINGS["threads"])
    data = load_dataset("fashion-mnist", "train", limit=SETTINGS["images"], verbose=False).images * 2 - 1
    runs = {}
    for name in names:
        for seed in seeds:
            run, _ = failure_run(name, data, steps=SETTINGS["steps"], channels=SETTINGS["channels"],
                                 batch_size=SETTINGS["batch_size"], seed=seed,
                                 log_every=SETTINGS["log_every"])  # fmt: skip
            runs.setdefault(name, {})[str(seed)] = compact(run.history)
            print(f"{name:28} seed {seed}: diagnose says {diagnose(run.history)}", flush=True)

    # Read the file only now, so that runs split over several commands at once all land in it.
    record = json.loads(args.output.read_text()) if args.output.exists() else {"runs": {}, "commands": []}
    if record.get("settings", SETTINGS) != SETTINGS:
        sys.exit(f"{args.output} holds runs made with other settings ({record['settings']}); use --output.")
    for name, by_seed in runs.items():
        record["runs"].setdefault(name, {}).update(by_seed)
    record["runs"] = {
        name: dict(sorted(record["runs"][name].items(), key=lambda item: int(item[0])))
        for name in FAILURES
        if name in record["runs"]
    }
    command = "python " + " ".join(sys.argv)
    if command not in record["commands"]:
        record["commands"].append(command)
    record.update(
        {
            "about": "Lesson 05's failure gallery on other seeds than the lesson's; "
            "tests/test_gan_diagnostics.py runs diagnose on each history.",
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": machine(),
            "settings": SETTINGS,
        }
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(one_line_lists(json.dumps(record, indent=1, ensure_ascii=False)) + "\n")
    print(f"\nWritten to {args.output}. diagnose names, per failure (all seeds in the file):")
    for name, counts in tally(record["runs"]).items():
        print(f"  {name:28} {counts[name]} of {sum(counts.values())} right; " + ", ".join(
            f"{other} {n}" for other, n in counts.items() if other != name))  # fmt: skip


if __name__ == "__main__":
    main()
