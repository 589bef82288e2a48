"""Lesson 05's quality bar: the lesson's DCGANs against lesson 04's fully connected GAN, same run, same budget.

    python benchmarks/dcgan_quality.py --threads 1   # 10 minutes each, on the CPU (30 minutes for the three)
    .venv/bin/python benchmarks/dcgan_quality.py --minutes 1 --models dcgan --samples 2000   # throughput only

Three GANs (``--models``, in this order by default):

- ``deeper``: the lesson's final DCGAN, ``convs_per_scale=2`` in both networks (a 3×3 convolution more at each
  resolution; lesson 05, section 7), Adam ``dcgan.DEEPER_LR`` = 8e-4, chosen on the validation split for this
  10-minute budget (``benchmarks/results/dcgan_validation_search.json``, made by
  ``benchmarks/dcgan_validation_search.py``). The issue's targets are checked on it;
- ``dcgan``: the lesson's first DCGAN (one layer per resolution) at Radford et al.'s published settings, Adam 2e-4
  (lesson 06's WGAN-GP benchmark compares itself with this one: the same networks);
- ``mlp``: lesson 04's fully connected GAN, Adam 2e-4.

All train on the training split (55,000 images) with lesson 04's step (``gan.train_step``: D step on detached
fakes, then the non-saturating G step), Adam with β1 = 0.5, batch 128, one after the other in this process, each
for ``--minutes`` of compute; nothing was tuned on the test set. Then each draws ``--samples`` images from fresh
noise and the course's judge (``course_utils.judge``, lesson 01's classifier) reports:

- Fréchet distance to as many test images in the judge's 128 features, beside the real-vs-real floor (as many
  training images against the same test images): the idea of the FID (Heusel et al., 2017) in our classifier's
  features, never comparable with papers' FIDs; compared at the same N only;
- the class histogram's entropy / log 10 (1 = all classes equally often), the confident share (p > 0.9), and the
  number of classes produced.

Targets (issue 15), for the deeper DCGAN: Fréchet distance ≤ 0.5 × the MLP GAN's, entropy ≥ 0.95, confident share
≥ 0.6, all 10 classes (exit status 1 if not met; checked when ``deeper`` and ``mlp`` are both in the run).

Time is *compute* time on a CPU: this process's CPU time divided by its threads (equal to wall-clock time on an
idle machine; other programs on a shared machine do not eat the budget); wall-clock time on a GPU. Throughput
(images/s = steps × batch / compute seconds) is printed for each model; on a GPU, ``--minutes 1 --models dcgan``
is a quick throughput check. The JSON (``benchmarks/results/dcgan_quality.json``) records the 1-minute load
average at the start and the end, and ``--alone`` records that no other heavy job ran at the same time. Each
generator is saved in ``checkpoint_dir()`` as ``<output>-<model>-seed<seed>.pt`` (``dcgan_quality-deeper-seed0.pt``
by default), so a run with another ``--output`` or seed never replaces it, and recorded in the JSON with its SHA-256:
lesson 08's league table loads exactly that file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import compute_clock, load_average, save_run_checkpoint, write_results  # noqa: E402
from course_utils import get_device, load_dataset, seed_everything  # noqa: E402
from course_utils.judge import frechet_to_test, judge_samples, reference_classifier  # noqa: E402
from course_utils.models import gan  # noqa: E402
from course_utils.models.dcgan import DEEPER_AVERAGE_DECAY, DEEPER_LR, DCDiscriminator, DCGenerator  # noqa: E402

TIME_LIMIT_MINUTES = 10.0
TARGETS = {"frechet_ratio": 0.5, "entropy_ratio": 0.95, "confident_share": 0.6, "classes_produced": 10}
MODELS = ("deeper", "dcgan", "mlp")
LEARNING_RATES = {"deeper": DEEPER_LR, "dcgan": 2e-4, "mlp": 2e-4}
# The deeper DCGAN is judged by the moving average of its generator's weights (Yazıcı et al., 2019), chosen on the
# validation split like its learning rate; its last generator is judged too and recorded beside it.
AVERAGE_DECAY = {"deeper": DEEPER_AVERAGE_DECAY}
# The league row each model stands for (lesson 08): its checkpoint is saved as <output>-<model>-seed<seed>.pt and
# recorded, with its SHA-256, in the results file, which benchmarks/league_table.py reads.
LEAGUE_ROWS = {"deeper": "dcgan_deeper", "dcgan": "dcgan", "mlp": "mlp_gan"}


def build(name: str, channels: int):
    """The pair of networks a model name stands for, freshly initialised."""
    if name == "deeper":
        return (DCGenerator(noise_dim=64, channels=channels, convs_per_scale=2),
                DCDiscriminator(channels=channels, convs_per_scale=2))  # fmt: skip
    if name == "dcgan":
        return DCGenerator(noise_dim=64, channels=channels), DCDiscriminator(channels=channels)
    return gan.image_gan(noise_dim=64)


def train_and_judge(name: str, args, train_images: torch.Tensor, classifier, device, clock) -> dict:
    """Train one GAN for the budget, then judge ``args.samples`` fresh samples; return its figures."""
    seed_everything(args.seed)
    generator, discriminator = build(name, args.channels)
    generator, discriminator = generator.to(device), discriminator.to(device)
    sizes = [sum(p.numel() for p in m.parameters()) for m in (generator, discriminator)]
    lr, decay = args.lr or LEARNING_RATES[name], AVERAGE_DECAY.get(name)
    print(
        f"\n== {name}: generator {sizes[0]:,} parameters, discriminator {sizes[1]:,}; Adam {lr:g}; "
        f"{'judged by the moving average of G (decay ' + str(decay) + '); ' if decay else ''}{args.minutes:g} minutes"
    )
    wall_start, compute_start = time.perf_counter(), clock()
    run = gan.train_gan(generator, discriminator, train_images, steps=10_000_000, batch_size=args.batch_size,
                        lr=lr, seed=args.seed, log_every=250, max_seconds=args.minutes * 60, clock=clock,
                        average_decay=decay)  # fmt: skip
    compute = clock() - compute_start
    wall = time.perf_counter() - wall_start
    throughput = run.steps * args.batch_size / compute
    print(
        f"{run.steps:,} steps in {compute:.0f} s of compute ({wall:.0f} s wall-clock): {throughput:,.0f} images/s"
    )

    def judged(model) -> tuple:
        samples = model.generate(args.samples, torch.Generator().manual_seed(args.seed + 1)).cpu()
        verdict = judge_samples(samples, model=classifier)
        generated = {
            k: verdict[k] for k in ("confident_share", "entropy_ratio", "classes_produced", "class_counts")
        }
        frechet = frechet_to_test(samples, model=classifier)
        return generated, {k: round(v, 3) if isinstance(v, float) else v for k, v in frechet.items()}

    extra = {}
    if run.averaged is not None:
        last_generated, last_frechet = judged(generator)
        extra["last_generator"] = {"generated": last_generated, "frechet": last_frechet}
        print(f"last generator (not the average): Fréchet distance {last_frechet['frechet']:.2f}, "
              f"confident share {last_generated['confident_share']:.3f}")  # fmt: skip
        generator = run.averaged
    generated, frechet = judged(generator)
    checkpoint = save_run_checkpoint(generator.cpu(), args.output, name, args.seed, league_row=LEAGUE_ROWS[name],
                                     steps=run.steps, compute_seconds=round(compute, 1), average_decay=decay)  # fmt: skip
    history = run.history
    return {
        "generator_config": generator.config,
        "discriminator_config": discriminator.config,
        "parameters": {"generator": sizes[0], "discriminator": sizes[1]},
        "learning_rate": lr,
        "average_decay": decay,
        "steps_done": run.steps,
        "train_compute_seconds": round(compute, 1),
        "train_wall_seconds": round(wall, 1),
        "images_per_second": round(throughput, 1),
        "generated": generated,
        "frechet": frechet,
        **extra,
        "end_of_training": {name: round(history[name][-1], 4) for name in history.names()},
        "checkpoint": checkpoint,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=TIME_LIMIT_MINUTES, help="compute minutes per model")
    parser.add_argument(
        "--models", default=",".join(MODELS), help=f"which to train, in order, of {', '.join(MODELS)}"
    )
    parser.add_argument("--samples", type=int, default=10_000, help="generated images to judge per model")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--lr", type=float, default=None, help="one learning rate for all (default: each model's)"
    )
    parser.add_argument("--channels", type=int, default=32, help="the DCGANs' width C (the lesson's: 32)")
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
    if not models or any(m not in MODELS for m in models) or len(set(models)) < len(models):
        parser.error(
            f"--models takes some of {','.join(MODELS)}, comma-separated, each once; got {args.models!r}"
        )

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
    if {"deeper", "mlp"} <= set(models):
        d, m = results["deeper"], results["mlp"]
        ratio = d["frechet"]["frechet"] / m["frechet"]["frechet"]
        print("Targets, for the deeper DCGAN (lesson 05's final one):")
        checks = {
            f"Fréchet distance ≤ {TARGETS['frechet_ratio']} × MLP GAN's ({ratio:.3f})": ratio <= TARGETS["frechet_ratio"],
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
