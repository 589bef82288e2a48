"""One budget for the league: every model the course trains, trained for the same compute, each with the moving
average of its weights available.

    python benchmarks/league_training.py --minutes 2 --threads 2       # the committed run (about 25 minutes)
    python benchmarks/league_training.py --rows vae --minutes 0.1 --samples 200 --output try   # a try

Each row of the league (``course_utils.league``) that a lesson trains is trained here with the lesson's network and
settings (``league.RECIPES``, the same recipes the league uses when it trains a row itself) on the training split,
seed 0, for ``--minutes`` of compute (this process's CPU time divided by its threads; wall-clock on a GPU), keeping
a moving average of the weights (decay ``--decay``, 0.995 as lessons 05 and 09) beside the last weights. Then
``--samples`` samples of each (drawn by the league's own sampler for that row) are compared with as many images of
the **validation** split in the course classifier's features, and the one with the lower Fréchet distance is the
row's model: the ``EMA`` column of the league says which. Nothing is chosen on the test split.

Two rows are not trained here: the DCGAN and WGAN-GP rows come from ``benchmarks/wgan_vs_dcgan.py``, which trains
both for the same budget with a learning-rate search that is the same for both; the per-class Gaussians of lesson
01 are fitted by the league in seconds (nothing to train).

Every checkpoint is saved as ``<output>-<row>-<weights>-seed0.pt`` and recorded in the results file with its
SHA-256; the chosen one carries its league row, so ``benchmarks/league_table.py`` loads exactly it.

Writes ``benchmarks/results/league_training.json`` (``--output`` names another).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.common import add_run_options, compute_clock, load_average, save_run_checkpoint, write_results  # noqa: E402
from course_utils import league, load_dataset, seed_everything  # noqa: E402
from course_utils.judge import classifier_features, reference_classifier  # noqa: E402
from course_utils.metrics import frechet_distance  # noqa: E402

FROM_ELSEWHERE = ("dcgan", "wgan_gp")  # trained by benchmarks/wgan_vs_dcgan.py at the same budget
ROWS = tuple(key for key in league.RECIPES if key not in FROM_ELSEWHERE)
SEED = 0


def validation_frechet(context, row: str, record: dict, n: int, classifier, reference) -> float:
    """Fréchet distance of ``n`` samples of ``row``, loaded from the checkpoint ``record`` names, to the
    validation images' features ``reference``."""
    pinned = replace(context, row=row, pinned={row: (record["file"], record["sha256"])})
    sampler, _ = league.REGISTRY[row].build(pinned)
    samples = sampler(n, torch.Generator().manual_seed(20_000))
    return round(frechet_distance(classifier_features(samples, model=classifier), reference), 2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS, metavar="ROW",
                        help=f"rows to train (default all: {', '.join(ROWS)})")  # fmt: skip
    add_run_options(parser, output="league_training", minutes=2.0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    load_start, wall_start = load_average(), time.perf_counter()
    made = league.make_context()
    context = replace(made, fast=False, budget={**made.budget, "train_images": args.train_images})
    clock = compute_clock(context.device)
    classifier = reference_classifier(context.dataset, device=context.device)
    validation = load_dataset(context.dataset, "validation", verbose=False).images[: args.samples]
    reference = classifier_features(validation, model=classifier)
    threads = torch.get_num_threads()
    print(f"{len(args.rows)} rows, {args.minutes:g} compute minutes each on {context.device} ({threads} threads), "
          f"moving average {args.decay}; load {load_start:.2f}")  # fmt: skip

    rows = {}
    for row in args.rows:
        seed_everything(SEED)
        budget = league.Budget(seconds=args.minutes * 60, clock=clock, average_decay=args.decay)
        started = clock()
        trained = league.train_row(row, context, budget)
        compute_seconds = round(clock() - started, 1)
        records, judged = {}, {}
        for weights, model in (("last", trained.model), ("ema", trained.averaged)):
            meta = {"steps": trained.steps, "compute_seconds": compute_seconds, "threads": threads,
                    "weights": weights, "train_images": len(context.train_images),
                    "about": f"{trained.steps:,} steps in {args.minutes:g} compute minutes, {weights} weights"}  # fmt: skip
            records[weights] = save_run_checkpoint(model.cpu().eval(), args.output, f"{row}-{weights}", SEED,
                                                   league_row=None, **meta)  # fmt: skip
            judged[weights] = validation_frechet(
                context, row, records[weights], args.samples, classifier, reference
            )
        chosen = min(judged, key=judged.get)
        records[chosen]["league_row"] = row
        rows[row] = {"steps": trained.steps, "compute_seconds": compute_seconds, "threads": threads,
                     "validation_frechet": judged, "chosen": chosen, "ema": chosen == "ema",
                     "checkpoints": list(records.values())}  # fmt: skip
        print(f"{row:13} {trained.steps:7,} steps; validation FD last {judged['last']:.1f}, EMA {judged['ema']:.1f}"
              f" → {chosen}", flush=True)  # fmt: skip

    load_end = load_average()
    write_results(
        args.output,
        {
            "settings": vars(args),
            "seed": SEED,
            "judged_against": f"the first {args.samples:,} validation images",
            "rows": rows,
            "load_average_1min": {"at_start": load_start, "at_end": load_end},
            "wall_seconds": round(time.perf_counter() - wall_start, 1),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
