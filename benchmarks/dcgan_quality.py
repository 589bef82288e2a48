"""Lesson 05's quality bar: the lesson's DCGAN against lesson 04's fully connected GAN, same run, same budget.

    python benchmarks/dcgan_quality.py --threads 1   # 10 minutes each, on the CPU
    .venv/bin/python benchmarks/dcgan_quality.py --minutes 1 --models dcgan --samples 2000   # throughput only

Both GANs train on the training split (55,000 images) with lesson 04's step (``gan.train_step``: D step on
detached fakes, then the non-saturating G step), Adam with learning rate 2e-4 and β1 = 0.5, batch 128 (DCGAN's
published settings, Radford et al., 2016; nothing here was tuned on the test set), one after the other in this
process, each for ``--minutes`` of compute. Then each draws ``--samples`` images from fresh noise and the course's
judge (``course_utils.judge``, lesson 01's classifier) reports:

- Fréchet distance to as many test images in the judge's 128 features, beside the real-vs-real floor (as many
  training images against the same test images): the idea of the FID (Heusel et al., 2017) in our classifier's
  features, never comparable with papers' FIDs; compared at the same N only;
- the class histogram's entropy / log 10 (1 = all classes equally often), the confident share (p > 0.9), and the
  number of classes produced.

Targets (issue 15): DCGAN's Fréchet distance ≤ 0.5 × the MLP GAN's, DCGAN entropy ≥ 0.95, confident share ≥ 0.6,
all 10 classes (exit status 1 if not met).

Time is *compute* time on a CPU: this process's CPU time divided by its threads (equal to wall-clock time on an
idle machine; other programs on a shared machine do not eat the budget); wall-clock time on a GPU. Throughput
(images/s = steps × batch / compute seconds) is printed for each model; on a GPU, ``--minutes 1 --models dcgan``
is a quick throughput check. The JSON (``benchmarks/results/dcgan_quality.json``) records the 1-minute load
average at the start and the end, and ``--alone`` says the run held the CPU lock with no other heavy job running.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import compute_clock, load_average, write_results  # noqa: E402
from course_utils import checkpoint_dir, get_device, load_dataset, save_checkpoint, seed_everything  # noqa: E402
from course_utils.judge import frechet_to_test, judge_samples, reference_classifier  # noqa: E402
from course_utils.models import gan  # noqa: E402
from course_utils.models.dcgan import DCDiscriminator, DCGenerator  # noqa: E402

TIME_LIMIT_MINUTES = 10.0
TARGETS = {"frechet_ratio": 0.5, "entropy_ratio": 0.95, "confident_share": 0.6, "classes_produced": 10}


def build(name: str, channels: int):
    """The pair of networks a model name stands for, freshly initialised."""
    if name == "dcgan":
        return DCGenerator(noise_dim=64, channels=channels), DCDiscriminator(channels=channels)
    return gan.image_gan(noise_dim=64)


def train_and_judge(name: str, args, train_images: torch.Tensor, classifier, device, clock) -> dict:
    """Train one GAN for the budget, then judge ``args.samples`` fresh samples; return its figures."""
    seed_everything(args.seed)
    generator, discriminator = build(name, args.channels)
    generator, discriminator = generator.to(device), discriminator.to(device)
    sizes = [sum(p.numel() for p in m.parameters()) for m in (generator, discriminator)]
    print(
        f"\n== {name}: generator {sizes[0]:,} parameters, discriminator {sizes[1]:,}; {args.minutes:g} minutes"
    )
    wall_start, compute_start = time.perf_counter(), clock()
    run = gan.train_gan(generator, discriminator, train_images, steps=10_000_000, batch_size=args.batch_size,
                        lr=args.lr, seed=args.seed, log_every=250, max_seconds=args.minutes * 60, clock=clock)  # fmt: skip
    compute = clock() - compute_start
    wall = time.perf_counter() - wall_start
    throughput = run.steps * args.batch_size / compute
    print(
        f"{run.steps:,} steps in {compute:.0f} s of compute ({wall:.0f} s wall-clock): {throughput:,.0f} images/s"
    )

    samples = generator.generate(args.samples, torch.Generator().manual_seed(args.seed + 1)).cpu()
    verdict = judge_samples(samples, model=classifier)
    frechet = frechet_to_test(samples, model=classifier)
    path = save_checkpoint(generator.cpu(), checkpoint_dir() / f"{name}-benchmark-fashion-mnist.pt",
                           steps=run.steps, compute_seconds=round(compute, 1))  # fmt: skip
    history = run.history
    return {
        "generator_config": generator.config,
        "discriminator_config": discriminator.config,
        "parameters": {"generator": sizes[0], "discriminator": sizes[1]},
        "steps_done": run.steps,
        "train_compute_seconds": round(compute, 1),
        "train_wall_seconds": round(wall, 1),
        "images_per_second": round(throughput, 1),
        "generated": {
            k: verdict[k] for k in ("confident_share", "entropy_ratio", "classes_produced", "class_counts")
        },
        "frechet": {k: round(v, 3) if isinstance(v, float) else v for k, v in frechet.items()},
        "end_of_training": {name: round(history[name][-1], 4) for name in history.names()},
        "checkpoint": str(path),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=TIME_LIMIT_MINUTES, help="compute minutes per model")
    parser.add_argument("--models", default="dcgan,mlp", help="which to train, in order: dcgan, mlp or both")
    parser.add_argument("--samples", type=int, default=10_000, help="generated images to judge per model")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--channels", type=int, default=32, help="the DCGAN's width C (the lesson's: 32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice; 1 "
        "avoids the stalls of 2 threads on a machine shared with other programs, measured 20× here)",
    )
    parser.add_argument("--alone", action="store_true", help="say that no other heavy job ran (recorded)")
    parser.add_argument("--output", default="dcgan_quality", help="results file name (benchmarks/results/)")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models or any(m not in ("dcgan", "mlp") for m in models):
        parser.error(f"--models takes dcgan, mlp or dcgan,mlp; got {args.models!r}")

    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = load_average()
    seed_everything(args.seed)
    device = get_device()
    threads = torch.get_num_threads()

    clock = compute_clock(device)
    train = load_dataset("fashion-mnist", "train")
    classifier = reference_classifier("fashion-mnist", device=device)
    print(f"Device {device} ({threads} threads); 1-minute load average at the start: {load_start:.2f}")

    results = {m: train_and_judge(m, args, train.images * 2 - 1, classifier, device, clock) for m in models}
    real = judge_samples(
        load_dataset("fashion-mnist", "test", verbose=False).images[: args.samples], model=classifier
    )
    load_end = load_average()

    print(f"\nJudged {args.samples:,} samples each against the test set (Fréchet distance in the judge's features: "
          "not comparable with papers' FIDs).")  # fmt: skip
    print(f"{'':30}" + "".join(f"{m:>12}" for m in models) + f"{'real test':>12}")
    rows = [
        ("Fréchet distance", lambda r: f"{r['frechet']['frechet']:.2f}", f"{next(iter(results.values()))['frechet']['floor']:.2f}"),
        ("entropy / log 10", lambda r: f"{r['generated']['entropy_ratio'] + 0.0:.3f}", f"{real['entropy_ratio']:.3f}"),
        ("confident share (p > 0.9)", lambda r: f"{r['generated']['confident_share']:.3f}", f"{real['confident_share']:.3f}"),
        ("classes produced", lambda r: f"{r['generated']['classes_produced']}", f"{real['classes_produced']}"),
        ("training steps", lambda r: f"{r['steps_done']:,}", ""),
        ("images/s (training)", lambda r: f"{r['images_per_second']:,.0f}", ""),
    ]  # fmt: skip
    for label, cell, last in rows:
        print(f"{label:30}" + "".join(f"{cell(results[m]):>12}" for m in models) + f"{last:>12}")
    print(
        "(the real column's Fréchet distance is the floor: as many training images against the same test images)"
    )

    passed = None
    if set(models) == {"dcgan", "mlp"}:
        d, m = results["dcgan"], results["mlp"]
        ratio = d["frechet"]["frechet"] / m["frechet"]["frechet"]
        checks = {
            f"DCGAN Fréchet distance ≤ {TARGETS['frechet_ratio']} × MLP GAN's ({ratio:.3f})": ratio <= TARGETS["frechet_ratio"],
            f"entropy ≥ {TARGETS['entropy_ratio']}": d["generated"]["entropy_ratio"] >= TARGETS["entropy_ratio"],
            f"confident share ≥ {TARGETS['confident_share']}": d["generated"]["confident_share"] >= TARGETS["confident_share"],
            "all 10 classes": d["generated"]["classes_produced"] >= TARGETS["classes_produced"],
            f"≤ {TIME_LIMIT_MINUTES:g} minutes each": args.minutes <= TIME_LIMIT_MINUTES,
        }  # fmt: skip
        for text, ok in checks.items():
            print(f"  {'met' if ok else 'NOT MET'}: {text}")
        passed = all(checks.values())
        print(f"Targets: {'PASSED' if passed else 'NOT MET'}.")
    print(f"1-minute load average: {load_start:.2f} at the start, {load_end:.2f} at the end.")

    write_results(
        args.output,
        {
            "settings": vars(args),
            "device": str(device),
            "train_images": len(train.labels),
            "judged_against": "test split (10,000 images)",
            "models": results,
            "real_test": {k: real[k] for k in ("confident_share", "entropy_ratio", "classes_produced", "class_counts")},
            "targets": TARGETS,
            "passed": passed,
            "load_average_1min": {"start": load_start, "end": load_end},
            "alone": bool(args.alone),
            "cpu_count": os.cpu_count(),
        },
    )  # fmt: skip
    return 0 if passed in (True, None) else 1


if __name__ == "__main__":
    sys.exit(main())
