"""Issue 15 exploration (session 6): which extra layers, learning rate, loss or weight average lift the DCGAN's
confident share in the 10-minute CPU budget? Judged on the validation split (N = 5,000), never on test.

Usage: arch_exp.py G D SECONDS LR BATCH EMA TAG [LOSS]
  G: base (DCGenerator) or deep (a 3×3 conv at 14×14 and a 28×28 feature layer: convs_per_scale=2)
  D: base, deep (a 3×3 conv at 7×7), deep2 (3×3 convs at 14×14 and 7×7: convs_per_scale=2) or sn (spectral norm)
  EMA: decay of a moving average of G's weights (0 = none); LOSS: bce (default), topk (Sinha et al., 2020) or hinge
  The environment variable DC sets D's width (default 32). Writes /tmp/arch_TAG.json.
"""

import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
from course_utils import load_dataset, seed_everything
from course_utils.judge import classifier_features, judge_samples, reference_classifier
from course_utils.metrics import frechet_distance
from course_utils.models import gan
from course_utils.models.dcgan import DCDiscriminator, DCGenerator, discriminator_block, init_weights

g_kind, d_kind, budget, lr, batch, ema, tag = sys.argv[1:8]
budget, lr, batch, ema = float(budget), float(lr), int(batch), float(ema)
loss = sys.argv[8] if len(sys.argv) > 8 else "bce"


def make_generator(kind: str) -> nn.Module:
    return DCGenerator(noise_dim=64, channels=32, convs_per_scale=2 if kind == "deep" else 1)


def make_discriminator(kind: str) -> nn.Module:
    c = int(os.environ.get("DC", "32"))
    if kind == "deep2":
        return DCDiscriminator(channels=c, convs_per_scale=2)
    if kind == "sn":  # spectral norm on every layer, no batch norm (Miyato et al., 2018)
        d = DCDiscriminator(channels=c, norm="none")
        for m in d.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.utils.parametrizations.spectral_norm(m)
        return d
    d = DCDiscriminator(channels=c)
    if kind == "deep":  # only a 3×3 conv at 7×7
        extra = [nn.Conv2d(2 * c, 2 * c, 3, padding=1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)]
        d.features = nn.Sequential(discriminator_block(1, c, "none"), discriminator_block(c, 2 * c), *extra)
        d.apply(init_weights)
    return d


TOP_FRACTION = [1.0]  # the share of the batch G learns from, decayed every step


def topk_step(g, d, real, g_opt, d_opt):
    """G learns only from the k fakes D rates highest; k decays from the batch to half (Sinha et al., 2020)."""
    frac = TOP_FRACTION
    fake = g(torch.randn(len(real), g.noise_dim))
    d_loss = gan.discriminator_loss(d(real), d(fake.detach()))
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    frac[0] = max(0.5, frac[0] * 0.9995)
    logits = d(fake).flatten()
    g_loss = F.softplus(-logits.topk(max(1, int(frac[0] * len(real)))).values).mean()
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return {"d_loss": float(d_loss), "g_loss": float(g_loss)}


def hinge_step(g, d, real, g_opt, d_opt):
    fake = g(torch.randn(len(real), g.noise_dim))
    d_loss = F.relu(1 - d(real)).mean() + F.relu(1 + d(fake.detach())).mean()
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    g_loss = -d(fake).mean()
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return {"d_loss": float(d_loss), "g_loss": float(g_loss)}


seed_everything(0)
train = load_dataset("fashion-mnist", "train", verbose=False)
val = load_dataset("fashion-mnist", "validation", verbose=False)
judge = reference_classifier("fashion-mnist")
generator, discriminator = make_generator(g_kind), make_discriminator(d_kind)
step_fn = {"bce": None, "topk": topk_step, "hinge": hinge_step}[loss]
run = gan.train_gan(generator, discriminator, train.images * 2 - 1, steps=10**9, batch_size=batch, lr=lr, seed=0,
                    log_every=250, max_seconds=budget, clock=time.process_time, show_progress=False,
                    average_decay=ema or None, step_fn=step_fn)  # fmt: skip
val_features = classifier_features(val.images, model=judge)
out = {"loss": loss, "g": g_kind, "d": d_kind, "lr": lr, "batch": batch, "ema_decay": ema, "steps": run.steps,
       "budget": budget, "gparams": sum(p.numel() for p in generator.parameters()),
       "dparams": sum(p.numel() for p in discriminator.parameters())}  # fmt: skip
models = {"raw": generator} | ({"ema": run.averaged} if ema else {})
for name, model in models.items():
    model.eval()
    with torch.no_grad():
        samples = model(torch.randn(5000, 64, generator=torch.Generator().manual_seed(1)))
    verdict = judge_samples(samples, model=judge)
    out[name] = {
        "confident": round(float(verdict["confident_share"]), 4),
        "entropy": round(float(verdict["entropy_ratio"]), 4),
        "classes": verdict["classes_produced"],
        "frechet_val": round(frechet_distance(classifier_features(samples, model=judge), val_features), 2),
    }
print(json.dumps(out), flush=True)
json.dump(out, open(f"/tmp/arch_{tag}.json", "w"))
