"""The course's league table (lesson 08): every generator of the course, scored the same way.

    python benchmarks/league_table.py               # N = 5,000, 3 seeds
    python benchmarks/league_table.py --samples 1000 --seeds 1   # a quick look

Each row of ``course_utils.league.REGISTRY`` (real validation images as the floor, pixel noise, a training-set
copier, and the models of lessons 01-07 and 09) is loaded from a checkpoint when one exists in
``checkpoint_dir()`` (a benchmark's or a lesson's, when trained at least as long as the league's budget, or the
league's own), or trained on the spot within the budget of ``league.TRAINING`` and saved for next time (the
benchmarks of lessons 04-07 and 09 save the checkpoints it looks for first; with none of them, training everything
here takes about 25 minutes on one CPU thread). Then
``--samples`` samples of every row are drawn for each of ``--seeds`` seeds and scored against as many test images
(a fresh draw per seed) in the judge's features: Fréchet distance, k-NN precision and recall (k = 3), class
histogram entropy / log 10, confident share, the Inception-Score formula in the judge's probabilities, and the
copy share and nearest-neighbour ratio against the training set (pixels, first ``--memorization`` samples).

The diffusion and flow-matching rows cost the most: ``league.SAMPLING_STEPS`` (25) network evaluations of lesson
09's U-Net per sample, about 2 ms per image on one CPU thread, so about 12 minutes per row at the default 5,000
samples × 3 seeds (the other rows take seconds to sample).

**Which checkpoint each row loads.** A benchmark saves its models under names of their own run
(``<output>-<model>-seed<seed>.pt``) and records each file with its SHA-256 and its league row in its results file.
This script pins every row that some results file records (``--results`` names the files to read, default all):
that row loads exactly the recorded file, and a missing file or one whose SHA-256 differs stops the script with a
message, so the table is built from the models its benchmarks' results describe, or not at all. Rows that no
results file records load or train as above; the source column says which. ``--no-pin`` ignores the records.

Every figure is mean ± sd over the seeds (fresh samples and test images; the models are not retrained). The
Fréchet distances are in the course classifier's features: comparable within this table only, never with papers'
FIDs. The test split gives final figures; nothing is tuned here.

Writes ``benchmarks/results/league_table.json`` (every row with its source, the build time of each row, the load
average at start and end) and ``benchmarks/results/league_table.md`` (the table the README shows).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS_DIR, league_checkpoints, write_results  # noqa: E402
from course_utils import league, seed_everything  # noqa: E402
from course_utils.checkpoints import checkpoint_dir  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=5000, help="samples per row and seed (default 5,000)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0, 1, ... (default 3)")
    parser.add_argument(
        "--memorization", type=int, default=1000, help="samples checked for copies (default 1,000)"
    )
    parser.add_argument("--rows", nargs="*", default=None, help="only these rows (default: every row)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--results", nargs="*", default=None, metavar="NAME",
        help="results files whose recorded checkpoints the rows must load (default: every one that records some)",
    )  # fmt: skip
    parser.add_argument("--no-pin", action="store_true", help="ignore the checkpoints results files record")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(0)

    started = time.perf_counter()
    context = league.make_context()
    context.pinned = {} if args.no_pin else league_checkpoints(RESULTS_DIR, args.results)
    for row, (name, sha256) in sorted(context.pinned.items()):
        print(f"{row}: pinned to {name} (SHA-256 {sha256[:12]}…)")
    print(f"Checkpoints in {checkpoint_dir()}; training budget for rows without one: {context.budget}; "
          f"diffusion and flow sample with {context.sampling_steps} steps")  # fmt: skip
    built = league.build(args.rows, context)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rows = league.evaluate(built, n=args.samples, seeds=tuple(range(args.seeds)),
                           memorization_n=args.memorization, context=context)  # fmt: skip
    evaluate_seconds = time.perf_counter() - started

    print()
    league.print_table(rows)
    table = league.markdown_table(rows)
    note = (
        f"N = {args.samples:,} samples per row and seed, mean ± sd over {args.seeds} seed(s) (fresh samples and "
        "test images; models not retrained). FD: Fréchet distance to as many test images in the course "
        "classifier's features (not comparable with papers' FIDs); precision/recall: k-NN, k = 3, same features; "
        f"copies: share of {args.memorization:,} samples nearer a training image than 99% of test images are; "
        "NN ratio: median distance to the nearest training image, samples / test images (pixels). Rows in italics "
        "are yardsticks, not models. Written by `python benchmarks/league_table.py`."
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    markdown = RESULTS_DIR / "league_table.md"
    markdown.write_text(table + "\n\n" + note + "\n")
    print(f"\nMarkdown table written to {markdown}")
    write_results(
        "league_table",
        {
            "settings": vars(args),
            "training_budget": context.budget,
            "sampling_steps": context.sampling_steps,
            "build_seconds": {key: seconds for key, seconds in built.seconds.items()},
            "build_seconds_total": round(build_seconds, 1),
            "pinned": {
                row: {"file": name, "sha256": sha256} for row, (name, sha256) in context.pinned.items()
            },
            "evaluate_seconds": round(evaluate_seconds, 1),
            "rows": [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()} for row in rows
            ],
            "note": note,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
