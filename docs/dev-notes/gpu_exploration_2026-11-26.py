"""Exploration on the GPU machine (not part of the course): EMA of G for DCGAN / cGAN, WGAN ring grid."""

import json
import sys
import time

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from course_utils import get_device, load_dataset, seed_everything
from course_utils.batches import TensorBatches
from course_utils.judge import frechet_to_test, judge_samples, reference_classifier
from course_utils.models import conditional, gan, wgan
from course_utils.models.dcgan import DCDiscriminator, DCGenerator


def dcgan_exp(steps=20000, every=2000, n=5000, d_channels=32):
    seed_everything(0)
    dev = get_device()
    train = load_dataset("fashion-mnist", "train", verbose=False)
    clf = reference_classifier("fashion-mnist", device=dev)
    G, D = DCGenerator(noise_dim=64, channels=32).to(dev), DCDiscriminator(channels=d_channels).to(dev)
    ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=True)

    def judge(step):
        out = {"step": step}
        for name, model in (("raw", G), ("ema", ema.module)):
            model.eval()
            with torch.no_grad():
                x = model.generate(n, torch.Generator().manual_seed(1)).cpu()
            model.train()
            v = judge_samples(x, model=clf)
            f = frechet_to_test(x, model=clf)
            out[name] = (round(v["confident_share"], 3), round(v["entropy_ratio"], 3), round(f["frechet"], 1))
        out["floor"] = round(f["floor"], 2)
        print("DCGAN", d_channels, json.dumps(out), flush=True)

    gan.train_gan(
        G,
        D,
        train.images * 2 - 1,
        steps=steps,
        batch_size=128,
        lr=2e-4,
        seed=0,
        show_progress=False,
        every=[(1, lambda s: ema.update_parameters(G)), (every, judge)],
    )


def cgan_exp(conditioning, steps=12000, every=1500, per_class=300, channels=16, batch=64):
    seed_everything(0)
    dev = get_device()
    train = load_dataset("fashion-mnist", "train", verbose=False)
    clf = reference_classifier("fashion-mnist", device=dev)
    G = conditional.ConditionalGenerator(channels=channels).to(dev)
    D = conditional.ConditionalDiscriminator(channels=channels, conditioning=conditioning).to(dev)
    ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=True)
    g_opt = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = TensorBatches(
        train.images * 2 - 1, train.labels, batch_size=batch, device=dev, drop_last=True, seed=0
    )
    step = 0
    t0 = time.time()
    while step < steps:
        for real, y in batches:
            conditional.cgan_train_step(G, D, real, y, g_opt, d_opt)
            ema.update_parameters(G)
            step += 1
            if step % every == 0:
                out = {"step": step, "s": round(time.time() - t0)}
                for name, model in (("raw", G), ("ema", ema.module)):
                    accs = []
                    for k in range(10):
                        x = conditional.sample_class(model, k, per_class, generator_seed=k)
                        pred = judge_samples(x.cpu(), model=clf)["predictions"]
                        accs.append(float((torch.as_tensor(pred) == k).float().mean()))
                    out[name] = round(sum(accs) / 10, 3)
                    out[name + "_per_class"] = [round(a, 2) for a in accs]
                print("CGAN", conditioning, channels, batch, json.dumps(out), flush=True)
            if step >= steps:
                break


def ring_exp(lr, beta1, seed, steps=3000):
    from course_utils.toy_data import nearest_mode, ring_of_gaussians

    torch.set_num_threads(1)
    real = ring_of_gaussians(4000, seed=0)
    torch.manual_seed(seed)
    G, C = gan.point_gan(noise_dim=8, width=128)
    t = time.process_time()
    wgan.train_wgan(
        G, C, real, steps=steps, batch_size=256, lr=lr, betas=(beta1, 0.9), seed=seed, show_progress=False
    )
    s = G.generate(2000, torch.Generator().manual_seed(seed + 100))
    mode, on = nearest_mode(s)
    counts = torch.bincount(mode[on], minlength=8)
    print(
        "RING",
        json.dumps(
            {
                "lr": lr,
                "b1": beta1,
                "seed": seed,
                "steps": steps,
                "modes": int((counts >= 40).sum()),
                "on": round(float(on.float().mean()), 3),
                "cpu": round(time.process_time() - t, 1),
            }
        ),
        flush=True,
    )


VARIANTS = {
    "base": {},
    "batch64": {"batch": 64, "steps": 20000},
    "ttur": {"g_lr": 1e-4, "d_lr": 4e-4},
    "lr4e-4": {"g_lr": 4e-4, "d_lr": 4e-4},
    "g48": {"g_channels": 48},
    "d_none": {"d_norm": "none"},
    "b2_0.99": {"betas": (0.5, 0.99)},
    "b1_0": {"betas": (0.0, 0.9)},
}


def dcgan_variant(name, n=5000):
    v = {
        "batch": 128,
        "steps": 10000,
        "g_lr": 2e-4,
        "d_lr": 2e-4,
        "g_channels": 32,
        "d_channels": 32,
        "d_norm": "batch",
        "betas": (0.5, 0.999),
        **VARIANTS[name],
    }
    seed_everything(0)
    dev = get_device()
    train = load_dataset("fashion-mnist", "train", verbose=False)
    clf = reference_classifier("fashion-mnist", device=dev)
    G = DCGenerator(noise_dim=64, channels=v["g_channels"]).to(dev)
    D = DCDiscriminator(channels=v["d_channels"], norm=v["d_norm"]).to(dev)
    out = {"name": name}

    def judge(step):
        G.eval()
        with torch.no_grad():
            x = G.generate(n, torch.Generator().manual_seed(1)).cpu()
        G.train()
        vv = judge_samples(x, model=clf)
        f = frechet_to_test(x, model=clf)
        out[step] = (round(vv["confident_share"], 3), round(vv["entropy_ratio"], 3), round(f["frechet"], 1))
        print("VAR", json.dumps(out), flush=True)

    gan.train_gan(
        G,
        D,
        train.images * 2 - 1,
        steps=v["steps"],
        batch_size=v["batch"],
        lr=v["g_lr"],
        d_lr=v["d_lr"],
        betas=v["betas"],
        seed=0,
        show_progress=False,
        every=[(v["steps"] // 2, judge)],
    )


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "dcgan":
        dcgan_exp(d_channels=int(sys.argv[2]) if len(sys.argv) > 2 else 32)
    elif what == "cgan":
        cgan_exp(sys.argv[2])
    elif what == "var":
        dcgan_variant(sys.argv[2])
    elif what == "ring":
        ring_exp(float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
