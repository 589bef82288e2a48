"""Experiment: WGAN-GP on the ring at lesson 04's settings; judge the raw G and EMA copies of its weights."""

import json
import sys
import time

import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3] / "benchmarks"))
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from wgan_quality import mode_report

from course_utils.models import gan, wgan
from course_utils.toy_data import ring_of_gaussians

seeds = [int(s) for s in sys.argv[1].split(",")]
lr = float(sys.argv[2])
kind = sys.argv[3] if len(sys.argv) > 3 else "wgan"
real = ring_of_gaussians(4000, seed=0)
for seed in seeds:
    torch.manual_seed(seed)
    g, c = gan.point_gan(noise_dim=8, width=128)
    emas = {d: AveragedModel(g, multi_avg_fn=get_ema_multi_avg_fn(d)) for d in (0.99, 0.999)}

    def update(step, emas=emas, g=g):
        for e in emas.values():
            e.update_parameters(g)

    t = time.process_time()
    if kind == "wgan":
        wgan.train_wgan(
            g, c, real, steps=3000, batch_size=256, lr=lr, seed=seed, show_progress=False, every=[(1, update)]
        )
    else:
        gan.train_gan(
            g, c, real, steps=3000, batch_size=256, lr=lr, seed=seed, show_progress=False, every=[(1, update)]
        )
    row = {"kind": kind, "lr": lr, "seed": seed}
    gen = torch.Generator().manual_seed(seed + 100)
    row["raw"] = mode_report(g.generate(2000, torch.Generator().manual_seed(seed + 100)))
    for d, e in emas.items():
        with torch.no_grad():
            z = torch.randn(2000, g.noise_dim, generator=torch.Generator().manual_seed(seed + 100))
            row[f"ema{d}"] = mode_report(e.module.eval()(z))
    row["cpu"] = round(time.process_time() - t, 1)
    print(json.dumps(row), flush=True)
