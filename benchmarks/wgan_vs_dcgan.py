"""WGAN-GP against the DCGAN with the same search for both: one learning-rate grid, equal compute, 3 training seeds.

    python benchmarks/wgan_vs_dcgan.py                            # 2 kinds × 3 rates × 3 seeds, 2 minutes each
    python benchmarks/wgan_vs_dcgan.py --minutes 0.05 --lrs 8e-4 --seeds 0 --samples 200 --output try   # a try

Both kinds train lesson 05's first DCGAN generator (``dcgan.DCGenerator``, 32 channels, 64 noise numbers) on the
training split for ``--minutes`` of compute (this process's CPU time divided by its threads; wall-clock on a GPU):

- ``wgan_gp``: lesson 06's critic ``dcgan.DCDiscriminator(norm="layer")`` (no batch norm: the penalty needs each
  image's score to depend on that image alone) and ``wgan.train_wgan``: batches of 64, 5 critic steps per generator
  step, λ = 10, Adam β = (0, 0.9) (Gulrajani et al. 2017, Algorithm 1);
- ``dcgan``: lesson 05's batch-norm discriminator with the BCE loss (``gan.train_gan``): batches of 128,
  Adam β = (0.5, 0.999) (Radford et al. 2016).

Each kind gets every Adam learning rate in ``--lrs`` (the same grid for both) and every training seed in
``--seeds``, and keeps the moving average of G's weights (decay 0.995, as lesson 05) beside the last weights, so
"EMA on" and "EMA off" come from the same run. Every generator is judged twice on ``--samples`` fresh samples in
the course classifier's features: against the **validation** split, which chooses each kind's setting (learning
rate and weights, by the mean Fréchet distance over the seeds), and against the **test** split, which is reported
for the chosen settings only. Each setting's figures are mean ± sd over the training seeds.

The seed-0 run of each kind's chosen setting is saved (``<output>-<kind>-seed0.pt``) and recorded with its SHA-256
as the league's ``dcgan`` and ``wgan_gp`` rows (``benchmarks/league_table.py``).

Writes ``benchmarks/results/wgan_vs_dcgan.json`` (``--output`` names another).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.common import add_run_options, compute_clock, load_average, save_run_checkpoint, write_results  # noqa: E402
from course_utils import get_device, load_dataset, seed_everything  # noqa: E402
from course_utils.judge import classifier_features, judge_samples, reference_classifier  # noqa: E402
from course_utils.metrics import frechet_distance, precision_recall  # noqa: E402
from course_utils.models import gan, wgan  # noqa: E402
from course_utils.models.dcgan import DCDiscriminator, DCGenerator  # noqa: E402

KINDS = ("wgan_gp", "dcgan")
BATCH = {"wgan_gp": 64, "dcgan": 128}  # each loss's usual batch (WGAN-GP: per critic step)
LEAGUE_ROW = {"wgan_gp": "wgan_gp", "dcgan": "dcgan"}
METRICS = ("frechet", "confident", "recall")


def train_run(kind: str, lr: float, seed: int, images: torch.Tensor, args, device, clock) -> Dict:
    """One run: G and its opponent from ``seed``, trained for the budget; the last and the averaged G."""
    seed_everything(seed)
    generator = DCGenerator(noise_dim=64, channels=32).to(device)
    options = dict(steps=10**9, lr=lr, seed=seed, max_seconds=args.minutes * 60, clock=clock,
                   average_decay=args.decay, show_progress=False)  # fmt: skip
    start = clock()
    if kind == "wgan_gp":
        critic = DCDiscriminator(channels=32, norm="layer").to(device)
        run = wgan.train_wgan(generator, critic, images, batch_size=BATCH[kind], log_every=100, **options)
    else:
        discriminator = DCDiscriminator(channels=32).to(device)
        run = gan.train_gan(
            generator, discriminator, images, batch_size=BATCH[kind], log_every=250, **options
        )
    return {"kind": kind, "lr": lr, "seed": seed, "generator_steps": run.steps,
            "compute_seconds": round(clock() - start, 1),
            "generators": {"last": generator.eval(), "ema": run.averaged}}  # fmt: skip


def judge(
    generator: torch.nn.Module, references: Dict[str, torch.Tensor], classifier, n: int, seed: int
) -> Dict:
    """Fréchet distance, confident share and k-NN recall of ``n`` fresh samples against each reference split."""
    with torch.no_grad():
        samples = generator.generate(n, torch.Generator().manual_seed(10_000 + seed)).cpu()
    features = classifier_features(samples, model=classifier)
    confident = round(float(judge_samples(samples, model=classifier)["confident_share"]), 4)
    judged = {}
    for split, reference in references.items():
        quality = precision_recall(reference, features, k=3)
        judged[split] = {"frechet": round(frechet_distance(features, reference), 2), "confident": confident,
                         "recall": round(quality["recall"], 4), "precision": round(quality["precision"], 4)}  # fmt: skip
    return judged


def mean_sd(values: List[float]) -> Dict[str, float]:
    return {
        "mean": round(statistics.fmean(values), 4),
        "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
    }


def settings_table(runs: List[Dict], split: str) -> List[Dict]:
    """Every (kind, learning rate, weights) setting: each metric's mean ± sd over the training seeds."""
    table = []
    for kind in KINDS:
        for lr in sorted({r["lr"] for r in runs if r["kind"] == kind}):
            mine = [r for r in runs if r["kind"] == kind and r["lr"] == lr]
            for weights in ("last", "ema"):
                row = {"kind": kind, "lr": lr, "weights": weights, "seeds": [r["seed"] for r in mine],
                       "generator_steps": round(statistics.fmean(r["generator_steps"] for r in mine))}  # fmt: skip
                for metric in METRICS:
                    row[metric] = mean_sd([r["judged"][weights][split][metric] for r in mine])
                table.append(row)
    return table


def choose(validation_table: List[Dict]) -> Dict[str, Dict]:
    """Each kind's setting with the lowest mean Fréchet distance on the validation split."""
    chosen = {}
    for kind in KINDS:
        rows = [row for row in validation_table if row["kind"] == kind]
        if rows:
            best = min(rows, key=lambda row: row["frechet"]["mean"])
            chosen[kind] = {"lr": best["lr"], "weights": best["weights"]}
    return chosen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kinds", default=",".join(KINDS), help="some of wgan_gp,dcgan (comma-separated)")
    parser.add_argument(
        "--lrs", default="4e-4,8e-4,1.6e-3", help="Adam learning rates, the same for both kinds"
    )
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated (default 0,1,2)")
    add_run_options(parser, output="wgan_vs_dcgan", minutes=2.0)
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds):
        parser.error(f"--kinds takes some of {','.join(KINDS)}; got {args.kinds!r}")
    lrs = [float(x) for x in args.lrs.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)

    load_start, wall_start = load_average(), time.perf_counter()
    device = get_device()
    clock = compute_clock(device)
    train = load_dataset("fashion-mnist", "train", limit=args.train_images)
    classifier = reference_classifier("fashion-mnist", device=device)
    references = {
        split: classifier_features(load_dataset("fashion-mnist", split, verbose=False).images[: args.samples],
                                   model=classifier)
        for split in ("validation", "test")
    }  # fmt: skip
    floor = frechet_distance(references["validation"], references["test"])
    print(f"{len(kinds)} kinds × {len(lrs)} learning rates × {len(seeds)} seeds, {args.minutes:g} compute minutes "
          f"each; device {device} ({torch.get_num_threads()} threads), load {load_start:.2f}; "
          f"Fréchet floor (validation vs test, N = {args.samples:,}) {floor:.2f}")  # fmt: skip

    runs, generators = [], {}
    for seed in seeds:  # seeds outermost: an interrupted run still has whole seeds
        for kind in kinds:
            for lr in lrs:
                run = train_run(kind, lr, seed, train.images * 2 - 1, args, device, clock)
                nets = run.pop("generators")
                run["judged"] = {
                    w: judge(g, references, classifier, args.samples, seed) for w, g in nets.items()
                }
                runs.append(run)
                if seed == seeds[0]:
                    generators[(kind, lr)] = nets
                print(f"{kind:8} lr {lr:g} seed {seed}: {run['generator_steps']:,} G steps; " + "; ".join(
                    f"{w} FD {j['validation']['frechet']:.1f} (validation)"
                    for w, j in run["judged"].items()), flush=True)  # fmt: skip

    validation = settings_table(runs, "validation")
    test = settings_table(runs, "test")
    chosen = choose(validation)
    checkpoints = []
    print(f"\nmean ± sd over {len(seeds)} training seeds (N = {args.samples:,})")
    for row_v, row_t in zip(validation, test):
        mark = (
            "  ← chosen"
            if chosen.get(row_v["kind"]) == {"lr": row_v["lr"], "weights": row_v["weights"]}
            else ""
        )
        print(f"{row_v['kind']:8} lr {row_v['lr']:<7g} {row_v['weights']:4}  validation FD "
              f"{row_v['frechet']['mean']:6.1f} ± {row_v['frechet']['sd']:4.1f}   test FD {row_t['frechet']['mean']:6.1f} ± "
              f"{row_t['frechet']['sd']:4.1f}  recall {row_t['recall']['mean']:.2f}  ({row_v['generator_steps']:,} G steps)"
              f"{mark}")  # fmt: skip
    for kind, setting in chosen.items():
        generator = generators[(kind, setting["lr"])][setting["weights"]]
        checkpoints.append(save_run_checkpoint(
            generator, args.output, kind, seeds[0], league_row=LEAGUE_ROW[kind], lr=setting["lr"],
            weights=setting["weights"], compute_seconds=args.minutes * 60, threads=torch.get_num_threads(),
            steps=next(r["generator_steps"] for r in runs
                       if r["kind"] == kind and r["lr"] == setting["lr"] and r["seed"] == seeds[0]),
        ))  # fmt: skip
    load_end = load_average()
    write_results(
        args.output,
        {
            "settings": vars(args),
            "batch_size": BATCH,
            "judged_against": f"the first {args.samples:,} validation images (choice) and test images (report)",
            "frechet_floor_validation_vs_test": round(floor, 2),
            "runs": runs,
            "validation": validation,
            "test": test,
            "chosen": chosen,
            "checkpoints": checkpoints,
            "load_average_1min": {"at_start": load_start, "at_end": load_end},
            "wall_seconds": round(time.perf_counter() - wall_start, 1),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
