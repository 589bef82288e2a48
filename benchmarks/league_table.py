"""The course's league table (lesson 08): every generator of the course, scored the same way.

    python benchmarks/league_table.py               # N = 5,000, 3 seeds
    python benchmarks/league_table.py --samples 1000 --seeds 1   # a quick look

Each row of ``course_utils.league.REGISTRY`` (real validation images as the floor, pixel noise, a training-set
copier, and the models of lessons 01-07 and 09-11) is loaded from a checkpoint when one exists in
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

**Which checkpoint each row loads: one budget for every model.** ``benchmarks/league_training.py`` trains every
model of lessons 02-09 for the same compute (its results file states it) with the moving average of the weights
available to each, and ``benchmarks/wgan_vs_dcgan.py`` trains the DCGAN and WGAN-GP rows for the same compute
after a learning-rate search that is the same for both. Both save their models under names of their own run and
record each file with its SHA-256 and its league row. This script pins every row those results files record
(``--results`` names other files): that row loads exactly the recorded file, and a missing file or one whose
SHA-256 differs stops the script with a message, so the table is built from the models its benchmarks' results
describe, or not at all. Rows that no results file records load or train as above; the source column says which.
``--no-pin`` ignores the records. The table's cost columns come from the pinned checkpoints' records: training
compute, training steps, whether the moving average was used (EMA), and network evaluations per sample.

Every figure is mean ± sd over the seeds (fresh samples and test images; the models are not retrained). The
Fréchet distances are in the course classifier's features: comparable within this table only, never with papers'
FIDs. The test split gives final figures; nothing is tuned here.

Writes ``benchmarks/results/league_table.json`` (every row with its source, the build time of each row, the load
average at start and end) and ``benchmarks/results/league_table.md`` (the table the README shows).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS_DIR, league_checkpoints, write_results  # noqa: E402
from course_utils import league, seed_everything  # noqa: E402
from course_utils.checkpoints import checkpoint_dir, load_checkpoint  # noqa: E402

# The results files whose checkpoints the rows load: every trained model at one budget (lessons 10 and 11 have files
# of their own, from `league_training.py --rows cfg --output league_training-cfg` and `--rows latent_flow --output
# league_training-latent`, at the same budget).
ONE_BUDGET = ["league_training", "wgan_vs_dcgan", "league_training-cfg", "league_training-latent"]


def costs(pinned: dict, built: league.Samplers) -> dict:
    """What each row cost to train, from its pinned checkpoint's record: ``{row: {compute, steps, ema}}``.
    The per-class Gaussians are fitted here (their build time); unpinned rows say nothing."""
    found = {}
    for row, (name, _) in pinned.items():
        if row in built.samplers:
            _, meta = load_checkpoint(checkpoint_dir() / name)
            minutes, threads = meta["compute_seconds"] / 60, meta.get("threads")
            found[row] = {"compute": f"{minutes:.1f} min" + (f", {threads} threads" if threads else ""),
                          "steps": meta.get("steps"), "ema": meta.get("weights") == "ema"}  # fmt: skip
    for row, owner in league.SHARES_MODEL_WITH.items():
        if row in built.samplers and owner in found:
            found[row] = dict(found[owner])
    if "gaussians" in built.seconds:
        found["gaussians"] = {"compute": f"fitted, {built.seconds['gaussians']:.0f} s"}
    return found


def training_conditions(names) -> str:
    """A sentence on the machine the training runs had: each results file's 1-minute load at start and end (on
    this 2-core machine about 2 when a run with 2 threads had it to itself, clearly more when it shared it)."""
    parts = []
    for name in names:
        path = RESULTS_DIR / f"{name}.json"
        if path.is_file():
            figures = json.loads(path.read_text())["figures"]
            load = figures.get("load_average_1min", {})
            if load.get("at_start") is not None and load.get("at_end") is not None:
                parts.append(f"`{name}.py` {load['at_start']:.2f} → {load['at_end']:.2f}")
    if not parts:
        return ""
    return " Load (1 min) while the models trained, start → end: " + "; ".join(parts) + "."


def training_seed_spread() -> str:
    """A sentence on the spread between training runs, from ``wgan_vs_dcgan.json`` (3 training seeds per setting)."""
    path = RESULTS_DIR / "wgan_vs_dcgan.json"
    if not path.is_file():
        return ""
    figures = json.loads(path.read_text())["figures"]
    parts = []
    for kind, label in (("dcgan", "DCGAN"), ("wgan_gp", "WGAN-GP")):
        chosen = figures["chosen"].get(kind)
        row = next((r for r in figures["test"] if r["kind"] == kind and r["lr"] == chosen["lr"]
                    and r["weights"] == chosen["weights"]), None) if chosen else None  # fmt: skip
        if row:
            parts.append(f"{label} {row['frechet']['mean']:.1f} ± {row['frechet']['sd']:.1f}")
    if not parts:
        return ""
    return (f" Between training runs: over {len(figures['settings']['seeds'].split(','))} training seeds at this "
            f"budget (one sampling seed each, N = {figures['settings']['samples']:,}) the FD is {'; '.join(parts)} "
            "(`benchmarks/results/wgan_vs_dcgan.json`); lesson 05's ablation has the same for the DCGAN's variants "
            "(`dcgan_ablation.json`).")  # fmt: skip


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
        "--results", nargs="*", default=ONE_BUDGET, metavar="NAME",
        help=f"results files whose recorded checkpoints the rows must load (default: {' '.join(ONE_BUDGET)})",
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
    spent = costs(context.pinned, built)
    for row in rows:
        row.update(spent.get(row["key"], {}))

    print()
    league.print_table(rows)
    table = league.markdown_table(rows)
    note = (
        f"N = {args.samples:,} samples per row and seed, mean ± sd over {args.seeds} seed(s) (fresh samples and "
        "test images; models not retrained). FD: Fréchet distance to as many test images in the course "
        "classifier's features (not comparable with papers' FIDs); precision/recall: k-NN, k = 3, same features; "
        f"copies: share of {args.memorization:,} samples nearer a training image than 99% of test images are; "
        "NN ratio: median distance to the nearest training image, samples / test images (pixels). Training "
        "compute: this CPU's time per thread (results of `benchmarks/league_training.py` and "
        "`benchmarks/wgan_vs_dcgan.py`); EMA: sampled from the moving average of the weights (chosen on the "
        "validation split); evals/sample: network evaluations per image. Rows in italics are yardsticks, not "
        "models. Written by `python benchmarks/league_table.py`."
        + training_seed_spread()
        + training_conditions(args.results or [])
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
