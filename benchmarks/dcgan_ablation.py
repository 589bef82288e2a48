"""What makes lesson 05's deeper DCGAN good? Each change on its own, at equal compute, over several training seeds.

    python benchmarks/dcgan_ablation.py                          # 4 arms × 3 seeds, 5 minutes of compute each
    python benchmarks/dcgan_ablation.py --minutes 3 --threads 2  # the committed run (36 minutes in all)

Lesson 05's final DCGAN differs from its first one in three ways at once: a second 3×3 convolution at each scale in
the generator (G), the same in the discriminator (D), and sampling from a moving average of G's weights (EMA). This
script trains the four arms

    first      one convolution per scale in G and in D
    deeper_d   the deeper D only
    deeper_g   the deeper G only
    both       the deeper G and the deeper D (lesson 05's final DCGAN)

with the same Adam learning rate (``--lr``, 8e-4: the best on the validation split for each of the three arms
that ``dcgan_validation_search.py`` tried, ``results/dcgan_validation_search.json``), the same batch (128) and the
same compute budget (``--minutes`` of this process's CPU time per run, or wall-clock on a GPU), for each training
seed in ``--seeds``. Every run keeps the moving average of G (decay ``--decay``, 0.995 as lesson 05) beside the last
weights, so EMA on and off come from the same run: both generators are judged.

Judging: ``--samples`` samples of each generator against as many test images, in the course classifier's features:
the Fréchet distance (with the real-vs-real floor at that N), the judge's confident share, and k-NN recall (k = 3).
The settings were fixed before this run and nothing is chosen on the test split. Each arm's figures are reported as
mean ± sd over the training seeds, so the spread includes the spread between training runs.

Writes ``benchmarks/results/dcgan_ablation.json`` (``--output`` names another): every run's figures, the table of
means and sds, and the machine's conditions and load.
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

from benchmarks.common import add_run_options, compute_clock, load_average, write_results  # noqa: E402
from course_utils import get_device, load_dataset, seed_everything  # noqa: E402
from course_utils.judge import classifier_features, frechet_to_test, judge_samples, reference_classifier  # noqa: E402
from course_utils.metrics import precision_recall  # noqa: E402
from course_utils.models import gan  # noqa: E402
from course_utils.models.dcgan import DEEPER_LR, DCDiscriminator, DCGenerator  # noqa: E402

ARMS = {
    "first": (1, 1),
    "deeper_d": (1, 2),
    "deeper_g": (2, 1),
    "both": (2, 2),
}  # convolutions per scale: (G, D)
METRICS = ("frechet", "confident", "recall")


def judge(
    generator: torch.nn.Module, test_images: torch.Tensor, test_features, classifier, n: int, seed: int
):
    """Fréchet distance (with its floor), confident share and k-NN recall of ``n`` fresh samples."""
    samples = generator.generate(n, torch.Generator().manual_seed(10_000 + seed)).cpu()
    frechet = frechet_to_test(samples, model=classifier)
    verdict = judge_samples(samples, model=classifier)
    quality = precision_recall(test_features, classifier_features(samples, model=classifier), k=3)
    return {
        "frechet": round(frechet["frechet"], 2),
        "floor": round(frechet["floor"], 2),
        "confident": round(verdict["confident_share"], 4),
        "recall": round(quality["recall"], 4),
        "precision": round(quality["precision"], 4),
        "classes": verdict["classes_produced"],
    }


def train_arm(arm: str, seed: int, args, images: torch.Tensor, device, clock) -> Dict:
    """One run: the arm's networks from ``seed``, trained for the budget; the last and the averaged G judged."""
    g_convs, d_convs = ARMS[arm]
    seed_everything(seed)
    generator = DCGenerator(noise_dim=64, convs_per_scale=g_convs).to(device)
    discriminator = DCDiscriminator(convs_per_scale=d_convs).to(device)
    start = clock()
    run = gan.train_gan(generator, discriminator, images, steps=10_000_000, batch_size=128, lr=args.lr, seed=seed,
                        log_every=250, max_seconds=args.minutes * 60, clock=clock, average_decay=args.decay,
                        show_progress=False)  # fmt: skip
    return {"arm": arm, "seed": seed, "steps": run.steps, "compute_seconds": round(clock() - start, 1),
            "generators": {"last": generator.eval(), "ema": run.averaged.eval()}}  # fmt: skip


def summarize(runs: List[Dict]) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Mean and sd over seeds of each metric, for each arm and each of the last and averaged generators."""
    table: Dict[str, Dict[str, Dict[str, float]]] = {}
    for arm in ARMS:
        for weights in ("last", "ema"):
            judged = [r["judged"][weights] for r in runs if r["arm"] == arm]
            if not judged:
                continue
            row = {}
            for metric in METRICS:
                values = [j[metric] for j in judged]
                row[metric] = round(statistics.fmean(values), 4)
                row[metric + "_sd"] = round(statistics.stdev(values), 4) if len(values) > 1 else 0.0
            row["steps"] = round(statistics.fmean(r["steps"] for r in runs if r["arm"] == arm))
            table.setdefault(arm, {})[weights] = row
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--arms", default=",".join(ARMS), help=f"some of {', '.join(ARMS)}, comma-separated")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated (default 0,1,2)")
    parser.add_argument("--lr", type=float, default=DEEPER_LR, help="Adam's learning rate for every arm")
    add_run_options(parser, output="dcgan_ablation", minutes=5.0)
    args = parser.parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not arms or any(a not in ARMS for a in arms):
        parser.error(f"--arms takes some of {','.join(ARMS)}; got {args.arms!r}")
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)

    load_start, wall_start = load_average(), time.perf_counter()
    device = get_device()
    clock = compute_clock(device)
    train = load_dataset("fashion-mnist", "train", limit=args.train_images)
    test_images = load_dataset("fashion-mnist", "test", verbose=False).images[: args.samples]
    classifier = reference_classifier("fashion-mnist", device=device)
    test_features = classifier_features(test_images, model=classifier)
    print(f"{len(arms)} arms × {len(seeds)} seeds, {args.minutes:g} compute minutes each, Adam {args.lr:g}, "
          f"EMA {args.decay}; device {device} ({torch.get_num_threads()} threads), load {load_start:.2f}")  # fmt: skip

    runs = []
    for seed in seeds:  # seeds outermost: an interrupted run still has every arm for the first seeds
        for arm in arms:
            run = train_arm(arm, seed, args, train.images * 2 - 1, device, clock)
            generators = run.pop("generators")
            run["judged"] = {w: judge(g, test_images, test_features, classifier, args.samples, seed)
                             for w, g in generators.items()}  # fmt: skip
            runs.append(run)
            print(f"{arm:9} seed {seed}: {run['steps']:,} steps; " + "; ".join(
                f"{w} FD {j['frechet']:.1f}, confident {j['confident']:.1%}, recall {j['recall']:.2f}"
                for w, j in run["judged"].items()), flush=True)  # fmt: skip

    table = summarize(runs)
    print(f"\nmean ± sd over {len(seeds)} training seeds (N = {args.samples:,}; floor "
          f"{runs[0]['judged']['last']['floor']:.2f})")  # fmt: skip
    for arm, rows in table.items():
        for weights, row in rows.items():
            print(f"{arm:9} {weights:4} " + "  ".join(
                f"{m} {row[m]:.3g} ± {row[m + '_sd']:.2g}" for m in METRICS) + f"  ({row['steps']:,} steps)")  # fmt: skip
    load_end = load_average()
    write_results(
        args.output,
        {
            "settings": vars(args),
            "arms": {
                arm: {
                    "generator_convs_per_scale": ARMS[arm][0],
                    "discriminator_convs_per_scale": ARMS[arm][1],
                }
                for arm in arms
            },  # fmt: skip
            "judged_against": f"the first {args.samples:,} test images",
            "runs": runs,
            "table": table,
            "load_average_1min": {"at_start": load_start, "at_end": load_end},
            "wall_seconds": round(time.perf_counter() - wall_start, 1),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
