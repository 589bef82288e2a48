"""Does clamping DDIM's x̂0 at every step help or hurt? Lesson 09's diffusion model sampled both ways, same noise.

    python benchmarks/ddim_clipping.py --checkpoint diffusion-fashion-mnist-last.pt --steps 10,25,50 --seeds 2

(the checkpoint: the last weights of ``diffusion_quality.py --minutes 3`` in
``results/diffusion_quality-average-3min.json``'s run, 788 training steps)

``benchmarks/diffusion_quality.py`` sampled its diffusion model with DDIM's estimate x̂0 clamped to the pixels'
range [-1, 1] at every step, a common heuristic (Song, Meng & Ermon's own DDIM sampler does without it), and its
15-minute model scored a *lower* Fréchet distance with 25 steps than with 50 (124.1 against 142.9 at N = 1,000,
``results/diffusion_quality.json``). This script takes a diffusion model that ``diffusion_quality.py`` saved in
``checkpoint_dir()`` and, for each number of steps and each noise seed, samples 1,000 images two ways from the
same noise: x̂0 clamped at every step (``ddim_sample``'s ``clip_x0``), and only the final image clamped (``clip``).
Each batch gets the course classifier's Fréchet distance to the test set (N = 1,000; the real-vs-real floor
beside it); the seeds say how much of a difference is the luck of the noise. One thread. Writes
``benchmarks/results/ddim_clipping.json``, with a summary for ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import load_average, portable_path, write_results  # noqa: E402
from course_utils import checkpoint_dir, load_checkpoint  # noqa: E402
from course_utils.judge import frechet_to_test, reference_classifier  # noqa: E402
from course_utils.models import diffusion  # noqa: E402

IMAGE_SHAPE = (1, 28, 28)
WAYS = {"x0_clamped_every_step": "clip_x0", "final_image_clamped": "clip"}


def draw(model, schedule, n: int, steps: int, seed: int, way: str) -> torch.Tensor:
    """``n`` DDIM samples from the noise of ``seed`` (in batches of 500, as ``diffusion_quality.py`` draws them)."""
    noise = torch.Generator().manual_seed(seed)
    chunks = []
    for start in range(0, n, 500):
        shape = (min(500, n - start), *IMAGE_SHAPE)
        chunks.append(
            diffusion.ddim_sample(model, shape, schedule, steps, generator=noise, **{WAYS[way]: (-1, 1)})
        )
    return torch.cat(chunks).clamp(-1, 1)


def spread(values) -> dict:
    row = {"seeds": [round(v, 3) for v in values], "mean": round(statistics.mean(values), 3)}
    if len(values) > 1:
        row["sd"] = round(statistics.stdev(values), 3)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--checkpoint", default="diffusion_quality-diffusion-seed0.pt", help="a file in checkpoint_dir()"
    )
    parser.add_argument("--steps", default="10,25,50", help="numbers of DDIM steps")
    parser.add_argument(
        "--seeds", type=int, default=2, help="noise seeds 1 … seeds (diffusion_quality's seeds)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    loads = [load_average()]
    start = time.perf_counter()
    path = checkpoint_dir() / args.checkpoint
    model, meta = load_checkpoint(path)
    classifier = reference_classifier("fashion-mnist")
    schedule = diffusion.linear_schedule()
    steps = [int(k) for k in args.steps.split(",") if k]
    figures = {
        "checkpoint": portable_path(path),
        "checkpoint_meta": {
            k: meta[k] for k in ("steps", "minutes", "compute_seconds", "weights") if k in meta
        },
        "n": 1000,
        "by_steps": {},
    }
    floor = None
    for k in steps:
        figures["by_steps"][k] = {}
        for way in WAYS:
            values = []
            for seed in range(1, args.seeds + 1):
                result = frechet_to_test(draw(model, schedule, 1000, k, seed, way), model=classifier)
                values.append(result["frechet"])
                floor = result["floor"]
            figures["by_steps"][k][way] = spread(values)
            print(f"{k} steps, {way}: {figures['by_steps'][k][way]}", flush=True)
        loads.append(load_average())
    figures["frechet_floor"] = round(floor, 3)
    figures["load_average_1min"] = {"start": loads[0], "end": loads[-1], "all": loads}
    figures["wall_seconds"] = round(time.perf_counter() - start, 1)

    def means(way: str) -> str:
        return " / ".join(f"{figures['by_steps'][k][way]['mean']:.1f}" for k in steps)

    sds = [row.get("sd", 0.0) for k in steps for row in figures["by_steps"][k].values()]
    summary = {
        "lesson": "09",
        "compares": "DDIM with x̂0 clamped at every step against only the final image clamped, on one diffusion model",
        "headline": (
            f"Fréchet distance (N = 1,000, floor {floor:.2f}) at {' / '.join(map(str, steps))} steps: x̂0 clamped at "
            f"every step **{means('x0_clamped_every_step')}**, final image only **{means('final_image_clamped')}** "
            f"(mean of {args.seeds} noise seeds; largest sd {max(sds):.1f})"
        ),
        "budget": f"{args.checkpoint}: {meta['steps']:,} training steps"
        if "steps" in meta
        else args.checkpoint,
    }
    record_path = write_results("ddim_clipping", figures)
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "summary": summary}, indent=2, ensure_ascii=False) + "\n")
    print(summary["headline"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
