"""The course's league table: every generator the course trains, evaluated the same way (lesson 08).

Each row of the table is an ``Entry`` in ``REGISTRY``: a name, the lesson that teaches the model, and a ``build``
function that returns a *sampler* (``sampler(n, generator) -> n images, N×1×28×28 in [0, 1]``; a trained network
behind it is attached as ``sampler.model``) and a sentence
saying where the model came from (a checkpoint, or trained here within a stated budget). ``evaluate`` draws the
same number of samples from every entry with the same seeds and scores them against the same test images in the
judge's features (``course_utils.judge``):

- ``frechet``: Fréchet distance to as many test images (the "real images" row is the real-vs-real floor);
- ``precision`` and ``recall``: k-NN precision (quality) and recall (coverage), Kynkäänniemi et al. (2019);
- ``entropy``: entropy of the judge's class histogram / log 10; ``confident``: share classified with p > 0.9;
- ``score``: the Inception-Score formula in the judge's probabilities (1 to 10);
- ``copies``: share of samples nearer their nearest training image than 99% of test images are;
  ``nn_ratio``: median distance to the nearest training image, samples / test images (pixels).

Every figure is the mean (and sd) over the seeds: the same trained model, fresh samples and a fresh draw of test
images per seed (training is not repeated per seed). All Fréchet distances are in the course classifier's
features: never comparable with papers' FIDs.

The rows: three yardsticks (real validation images, pixel noise, a training-set copier), then the models of
lessons 01-07 and 09-11. The diffusion and flow-matching rows sample with ``SAMPLING_STEPS`` network evaluations per
image (DDIM and Euler); the conditional rows are asked for labels drawn uniformly over the 10 classes. A new model
is added with a few lines (see ``register`` and the DCGAN row)::

    @register("my_gan", "my GAN", lesson="10")
    def _my_gan(context):
        generator, source = load_or_train(["my-gan.pt"], "league-my-gan",
                                          train=lambda: ...,  # returns (model, metadata dict)
                                          fast=context.fast,
                                          accept=lambda meta: meta.get("steps", 0) >= 3000)
        return generator_sampler(generator), source
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import matplotlib.pyplot as plt
import torch
from torch import nn

from . import training
from .checkpoints import checkpoint_dir, file_sha256, load_checkpoint, save_checkpoint
from .data import Dataset, load_dataset
from .errors import CheckpointError, UnknownNameError
from .gaussian import PCA, ClassGaussians
from .judge import classifier_features, reference_classifier
from .metrics import (
    class_histogram_scores,
    classifier_score,
    frechet_distance,
    memorization,
    nearest_distances,
    precision_recall,
)
from .models import conditional, dcgan, diffusion, flow_matching, guidance, latent, wgan
from .models.autoencoder import ConvAutoencoder, encode_images, train_autoencoder
from .models.classifier import predict_proba
from .models.gan import image_gan, train_gan
from .models.time_networks import SmallUNet, train_time_model
from .models.vae import VAE, train_vae
from .plots import LINE_COLORS
from .runtime import device_of, get_device, is_fast_mode
from .training import Report, evaluating

Sampler = Callable[[int, torch.Generator], torch.Tensor]  # (n, generator) -> n images N×1×28×28 in [0, 1]

# What the models trained on the spot get (full, fast). A row trains only when no checkpoint trained at least as
# long exists: the benchmarks save theirs, and lessons 04-07 save the models they train, so lesson 08 after them
# in full mode trains three stand-ins: the autoencoder (103 s), the VAE (16 s) and the deeper DCGAN (139 s)
# (benchmarks/results/full_run.json, lesson 08's printed source lines).
TRAINING = {
    "train_images": (None, 1000),
    "autoencoder_epochs": (5, 1),
    "vae_epochs": (10, 1),
    "gan_steps": (3000, 100),
    "dcgan_steps": (2000, 20),
    "dcgan_deeper_steps": (1000, 20),  # a stand-in: no lesson trains it at length (its benchmark does)
    "wgan_steps": (600, 5),  # generator steps, each with 5 critic steps
    "cgan_steps": (3000, 20),
    "cvae_epochs": (5, 1),
    "diffusion_steps": (1000, 10),
    "flow_steps": (1000, 10),
    "cfg_steps": (1000, 10),
    "latent_steps": (1000, 10),  # each of lesson 11's two stages: the autoencoder, then the latent flow
}

# The guidance scales of lesson 10's rows: the conditional model alone (w = 0) and a guided one (w = 2), one model.
GUIDED_W = 2.0
# Rows that sample another row's trained model (its checkpoint, pinned record and training cost).
SHARES_MODEL_WITH = {"cfg_guided": "cfg"}

# Network evaluations per sample of the diffusion (DDIM) and flow-matching (Euler) rows (full, fast). Each costs
# about 0.6 ms per image with 2 threads of a 2-core CPU (lesson 09's timing table in full_run.json): at N = 2,000
# × 3 seeds, 25 steps are about 1½ minutes per row, the league's largest cost.
SAMPLING_STEPS = (25, 5)


@dataclass
class Context:
    """What every ``build`` function may use: the training split, fast mode, the device, the training budget, the
    sampling steps of the diffusion and flow-matching rows, whether a row without a checkpoint may train, and the
    checkpoints some rows must load (``pinned``: a benchmark's results file names the file and its SHA-256)."""

    train: Dataset
    fast: bool
    device: torch.device
    budget: Dict[str, Optional[int]]
    dataset: str = "fashion-mnist"
    sampling_steps: int = SAMPLING_STEPS[0]
    train_missing: bool = True  # False: a row without a checkpoint is left out instead of trained here
    pinned: Dict[str, Tuple[str, str]] = field(default_factory=dict)  # row -> (file, SHA-256) it must load
    row: str = ""  # the row being built (``build`` sets it)

    def checkpoint_rules(self) -> Dict[str, object]:
        """What ``load_or_train`` must respect for the row being built: may it train, and a pinned checkpoint."""
        return {"may_train": self.train_missing, "pinned": self.pinned.get(self.row)}

    @property
    def train_images(self) -> torch.Tensor:
        """The images models are trained on (a subset in fast mode)."""
        limit = self.budget["train_images"]
        return self.train.images if limit is None else self.train.images[:limit]

    @property
    def train_labels(self) -> torch.Tensor:
        limit = self.budget["train_images"]
        return self.train.labels if limit is None else self.train.labels[:limit]


@dataclass
class Entry:
    """One row of the league: ``build(context) -> (sampler, source)``."""

    key: str
    name: str
    lesson: str
    build: Callable[[Context], Tuple[Sampler, str]]
    reference: bool = False  # a yardstick (real images, noise, a copier), not a model


REGISTRY: Dict[str, Entry] = {}


def register(key: str, name: str, lesson: str, reference: bool = False) -> Callable:
    """Add a row to the league: decorate ``build(context) -> (sampler, source)``. Rows keep their order."""

    def add(build: Callable[[Context], Tuple[Sampler, str]]) -> Callable:
        if key in REGISTRY:
            raise ValueError(f"The league already has a row {key!r} ({REGISTRY[key].name}).")
        REGISTRY[key] = Entry(key, name, lesson, build, reference)
        return build

    return add


def make_context(dataset: str = "fashion-mnist") -> Context:
    """The training split, the mode (fast or full) with its training budget and sampling steps, and the device."""
    fast = is_fast_mode()
    budget = {name: pair[1] if fast else pair[0] for name, pair in TRAINING.items()}
    steps = SAMPLING_STEPS[1] if fast else SAMPLING_STEPS[0]
    return Context(load_dataset(dataset, "train", verbose=False), fast, get_device(), budget, dataset, steps)


# ----------------------------------------------------------------------------------------------------------------
# Training recipes: each row's network and settings (the lesson's), for a budget of steps, epochs or seconds
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class Budget(training.Budget):
    """How long a recipe trains (``training.Budget``: ``steps``, or ``epochs`` for the autoencoders and VAEs, and/or
    ``seconds`` on ``clock``), and ``average_decay``: also keep the moving average of the weights
    (``training.moving_average``), which every recipe offers."""

    average_decay: Optional[float] = None

    @property
    def step_limit(self) -> int:
        """The ``steps`` a step-counting trainer gets: ``steps``, or no limit when only ``seconds`` bound it."""
        if self.steps is None and self.seconds is None:
            raise ValueError("A Budget needs steps or seconds (or epochs for the autoencoders and VAEs).")
        return self.steps if self.steps is not None else 10**9


@dataclass
class Trained:
    """What a recipe returns: the last weights, their moving average (None unless asked for) and the steps done."""

    model: nn.Module
    averaged: Optional[nn.Module]
    steps: int


def _recipe_autoencoder(images, labels, budget: Budget, device) -> Trained:
    model = ConvAutoencoder(latent_dim=30).to(device)
    history = train_autoencoder(model, images, epochs=budget.epochs, time_limit=budget.seconds, clock=budget.clock,
                                average_decay=budget.average_decay, show_progress=False)  # fmt: skip
    return Trained(model, history.averaged, history.steps_done)


def _recipe_vae(images, labels, budget: Budget, device) -> Trained:
    model = VAE(latent_dim=20, hidden=(256,)).to(device)
    history = train_vae(model, images, epochs=budget.epochs, batch_size=256, lr=1e-2, dynamic_binarization=True,
                        time_limit=budget.seconds, clock=budget.clock, average_decay=budget.average_decay,
                        show_progress=False)  # fmt: skip
    return Trained(model, history.averaged, history.steps_done)


def _recipe_mlp_gan(images, labels, budget: Budget, device) -> Trained:
    generator, discriminator = image_gan()  # lesson 04's networks and train_gan's defaults
    generator.to(device)
    run = train_gan(generator, discriminator, images * 2 - 1, steps=budget.step_limit, max_seconds=budget.seconds,
                    clock=budget.clock, average_decay=budget.average_decay, show_progress=False)  # fmt: skip
    return Trained(generator, run.averaged, run.steps)


def _recipe_dcgan(images, labels, budget: Budget, device, lr: float = 2e-4, convs: int = 1) -> Trained:
    generator = dcgan.DCGenerator(noise_dim=64, convs_per_scale=convs).to(device)
    discriminator = dcgan.DCDiscriminator(convs_per_scale=convs)
    run = train_gan(generator, discriminator, images * 2 - 1, steps=budget.step_limit, batch_size=128, lr=lr,
                    max_seconds=budget.seconds, clock=budget.clock, average_decay=budget.average_decay,
                    show_progress=False)  # fmt: skip
    return Trained(generator, run.averaged, run.steps)


def _recipe_dcgan_deeper(images, labels, budget: Budget, device) -> Trained:
    # Lesson 05's final DCGAN: a 3×3 convolution more at each scale in both networks, Adam DEEPER_LR.
    return _recipe_dcgan(images, labels, budget, device, lr=dcgan.DEEPER_LR, convs=2)


def _recipe_wgan_gp(images, labels, budget: Budget, device) -> Trained:
    # Lesson 06's settings: lesson 05's generator, a critic without batch norm, Adam IMAGE_LR, 5 critic steps.
    generator, critic = dcgan.DCGenerator(noise_dim=64).to(device), dcgan.DCDiscriminator(norm="layer")
    run = wgan.train_wgan(generator, critic, images * 2 - 1, steps=budget.step_limit, batch_size=64,
                          lr=wgan.IMAGE_LR, max_seconds=budget.seconds, clock=budget.clock,
                          average_decay=budget.average_decay, show_progress=False)  # fmt: skip
    return Trained(generator, run.averaged, run.steps)


def _recipe_conditional_gan(images, labels, budget: Budget, device, conditioning: str) -> Trained:
    # Lesson 07's settings: width 16, batch 64, Adam 2e-4 with β₁ = 0.5.
    generator = conditional.ConditionalGenerator(noise_dim=64, channels=16).to(device)
    discriminator = conditional.ConditionalDiscriminator(channels=16, conditioning=conditioning)
    history = conditional.train_cgan(generator, discriminator, images * 2 - 1, labels, budget, batch_size=64,
                                     average_decay=budget.average_decay, report=Report(show_progress=False))  # fmt: skip
    return Trained(generator, history.averaged, history.steps_done)


def _recipe_cvae(images, labels, budget: Budget, device) -> Trained:
    model = conditional.ConditionalVAE(latent_dim=16).to(device)
    history = conditional.train_cvae(model, images, labels, epochs=budget.epochs, time_limit=budget.seconds,
                                     clock=budget.clock, average_decay=budget.average_decay, show_progress=False)  # fmt: skip
    return Trained(model, history.averaged, history.steps_done)


def _recipe_time_model(images, labels, budget: Budget, device, kind: str) -> Trained:
    # Lesson 09's settings: SmallUNet with channels (16, 32, 64), batch 64, Adam 1e-3.
    model = SmallUNet(channels=(16, 32, 64), time_scale=1.0 if kind == "diffusion" else 1000.0).to(device)
    if kind == "diffusion":
        alpha_bars = diffusion.linear_schedule().alpha_bars.to(device)
        loss = lambda m, x: diffusion.epsilon_loss(m, x, alpha_bars)  # noqa: E731
    else:
        loss = flow_matching.flow_matching_loss
    history = train_time_model(model, images * 2 - 1, loss, steps=budget.steps, seconds=budget.seconds,
                               batch_size=64, lr=1e-3, clock=budget.clock, average_decay=budget.average_decay,
                               show_progress=False)  # fmt: skip
    return Trained(model, history.averaged, history.steps_done)


def _recipe_cfg(images, labels, budget: Budget, device) -> Trained:
    """Lesson 10's conditional flow model, trained with label dropout (``guidance.train_guided_flow``)."""
    model = SmallUNet(channels=(16, 32, 64), time_scale=1000.0, num_classes=10).to(device)
    history = guidance.train_guided_flow(model, images * 2 - 1, labels, training.Budget(steps=budget.steps,
                                         seconds=budget.seconds, clock=budget.clock), batch_size=64, lr=1e-3,
                                         average_decay=budget.average_decay, report=Report(show_progress=False))  # fmt: skip
    return Trained(model, history.averaged, history.steps_done)


# Lesson 11's latent size, C×7×7: the one benchmarks/latent_quality.py chose on the validation images
# (results/latent_quality.json, "chosen_channels").
LATENT_CHANNELS = 2


def _recipe_latent_flow(images, labels, budget: Budget, device) -> Trained:
    """Lesson 11's latent model: the autoencoder for half the budget (or ``steps`` steps), then the flow on its
    scaled latents for the other half (or ``steps`` more; batch 128, Adam 2e-3), as ``latent_quality.py`` does."""
    half = training.Budget(steps=budget.steps, seconds=None if budget.seconds is None else budget.seconds / 2,
                           clock=budget.clock)  # fmt: skip
    autoencoder = latent.LatentAutoencoder(latent_channels=LATENT_CHANNELS).to(device)
    latent.train_latent_autoencoder(autoencoder, images, half, report=Report(show_progress=False))
    latents = latent.encode_dataset(autoencoder, images)
    scale = latent.latent_scale(latents)
    velocity = latent.LatentVelocityNet(latent_channels=LATENT_CHANNELS).to(device)
    history = train_time_model(velocity, latents * scale, flow_matching.flow_matching_loss, steps=half.steps,
                               seconds=half.seconds, batch_size=128, lr=2e-3, clock=budget.clock,
                               average_decay=budget.average_decay, show_progress=False)  # fmt: skip
    model = latent.LatentFlow.from_parts(autoencoder, velocity, scale)
    averaged = (
        None
        if history.averaged is None
        else latent.LatentFlow.from_parts(autoencoder, history.averaged, scale)
    )
    return Trained(model, averaged, history.steps_done)


# Each trained row's recipe: recipe(images in [0, 1], labels, budget, device) -> Trained. The rows below train with
# them (within ``TRAINING``), and ``benchmarks/league_training.py`` trains every row with them for one budget.
RECIPES: Dict[str, Callable[..., Trained]] = {
    "autoencoder": _recipe_autoencoder,
    "vae": _recipe_vae,
    "mlp_gan": _recipe_mlp_gan,
    "dcgan": _recipe_dcgan,
    "dcgan_deeper": _recipe_dcgan_deeper,
    "wgan_gp": _recipe_wgan_gp,
    "cgan": lambda *args: _recipe_conditional_gan(*args, conditioning="channels"),
    "acgan": lambda *args: _recipe_conditional_gan(*args, conditioning="auxiliary"),
    "cvae": _recipe_cvae,
    "diffusion": lambda *args: _recipe_time_model(*args, kind="diffusion"),
    "flow": lambda *args: _recipe_time_model(*args, kind="flow"),
    "cfg": _recipe_cfg,
    "latent_flow": _recipe_latent_flow,
}


def train_row(key: str, context: Context, budget: Budget) -> Trained:
    """Train row ``key``'s network with its recipe on the context's training images for ``budget``."""
    return RECIPES[key](context.train_images, context.train_labels, budget, context.device)


# ----------------------------------------------------------------------------------------------------------------
# Checkpoints: load one that exists, or train and save
# ----------------------------------------------------------------------------------------------------------------


def load_or_train(
    candidates: Sequence[str],
    own_name: str,
    train: Callable[[], Tuple[nn.Module, dict]],
    fast: bool,
    accept: Callable[[dict], bool] = lambda meta: True,
    device: Optional[torch.device] = None,
    may_train: bool = True,
    pinned: Optional[Tuple[str, str]] = None,
) -> Tuple[nn.Module, str]:
    """A trained model and where it came from.

    Tries the checkpoints ``candidates`` (file names in ``checkpoint_dir()``, e.g. a benchmark's or a lesson's),
    then the league's own ``<own_name>.pt`` (``<own_name>-fast.pt`` in fast mode, never used in full mode), keeping
    the first that loads and that ``accept(metadata)`` approves (e.g. "trained at least as long as the budget
    here"). Otherwise calls ``train() -> (model, metadata)``, saves the model as the league's own checkpoint and
    returns it; with ``may_train=False`` it raises ``NotTrainedYet`` instead. ``source`` says which happened.

    ``pinned=(file, sha256)``: load exactly that checkpoint, the one a benchmark's results file recorded, and
    nothing else; a missing file or one whose SHA-256 differs (another run wrote over it) is refused with a
    ``CheckpointError`` that says so, so a table built from it reproduces that benchmark's models or stops.
    """
    if pinned is not None:
        return _load_pinned(*pinned, device=device)
    own = f"{own_name}-fast.pt" if fast else f"{own_name}.pt"
    names = list(candidates) + [f"{own_name}.pt"] + ([own] if fast else [])
    for name in names:
        path = checkpoint_dir() / name
        if not path.is_file():
            continue
        try:
            model, meta = load_checkpoint(path, device=device)
        except CheckpointError as problem:
            print(f"{problem}\nSkipping it.")
            continue
        if accept(meta):
            about = meta.get("about") or next(
                (_count(meta[unit + "s"], unit) for unit in ("step", "epoch") if unit + "s" in meta), ""
            )
            return model.eval(), f"checkpoint {name}" + (f" ({about})" if about else "")
    if not may_train:
        raise NotTrainedYet(f"no checkpoint among {', '.join(names)}")
    started = time.perf_counter()
    model, meta = train()
    seconds = time.perf_counter() - started
    meta = {**meta, "seconds": round(seconds, 1), "fast": fast}
    save_checkpoint(model, checkpoint_dir() / own, **meta)
    about = meta.get("about", "")
    return model.eval(), f"trained here: {about}, {seconds:.0f} s; saved as {own}"


def _load_pinned(name: str, sha256: str, device: Optional[torch.device]) -> Tuple[nn.Module, str]:
    """The checkpoint ``name`` if its bytes are the ones recorded (``sha256``), else a ``CheckpointError``."""
    path = checkpoint_dir() / name
    if not path.is_file():
        raise CheckpointError(
            f"{name} is not in {checkpoint_dir()}, but a results file names it for this row. Run the benchmark "
            "that made it (its results file says how), or build this row without pinning it."
        )
    found = file_sha256(path)
    if found != sha256:
        raise CheckpointError(
            f"{name} is not the checkpoint its results file recorded: SHA-256 {found[:12]}…, recorded "
            f"{sha256[:12]}…. Another run wrote over it; run the benchmark again, so that its results and its "
            "checkpoint agree."
        )
    model, meta = load_checkpoint(path, device=device)
    steps = next((_count(meta[unit + "s"], unit) for unit in ("step", "epoch") if unit + "s" in meta), "")
    return (
        model.eval(),
        f"checkpoint {name} ({steps + '; ' if steps else ''}SHA-256 {sha256[:12]}, as recorded)",
    )


class NotTrainedYet(LookupError):
    """A row that may only be loaded (a later lesson's model, see ``build``) has no checkpoint yet."""


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def generator_sampler(generator: nn.Module, value_range: Tuple[float, float] = (-1.0, 1.0)) -> Sampler:
    """A sampler for a noise-to-image network with ``noise_dim`` (e.g. lesson 04's ``Generator``).

    Noise is drawn on the CPU from the sampler's ``torch.Generator`` (so samples are the same on every device);
    outputs in ``value_range`` are mapped to [0, 1].
    """
    low, high = value_range

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        z = torch.randn(n, generator.noise_dim, generator=rng).to(device_of(generator))
        with evaluating(generator), torch.no_grad():
            images = generator(z).cpu()
        return ((images - low) / (high - low)).clamp(0, 1)

    sample.model = generator
    return sample


# ----------------------------------------------------------------------------------------------------------------
# The rows: references first, then the course's models in lesson order
# ----------------------------------------------------------------------------------------------------------------


@register("real", "real images (validation)", lesson="–", reference=True)
def _real(context: Context) -> Tuple[Sampler, str]:
    images = load_dataset(context.dataset, "validation", verbose=False).images

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        if n > len(images):
            raise ValueError(f"Only {len(images):,} validation images; ask for at most that many samples.")
        return images[torch.randperm(len(images), generator=rng)[:n]]

    return sample, f"new real images: the {len(images):,} validation images, never trained on (the floor)"


@register("noise", "pixel noise", lesson="–", reference=True)
def _noise(context: Context) -> Tuple[Sampler, str]:
    return (lambda n, rng: torch.rand(n, 1, 28, 28, generator=rng)), "each pixel uniform in [0, 1]"


@register("copier", "training-set copier", lesson="–", reference=True)
def _copier(context: Context) -> Tuple[Sampler, str]:
    images = context.train.images

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        return images[torch.randint(len(images), (n,), generator=rng)]

    return sample, f"returns random training images (of {len(images):,}): memorizes everything"


@register("gaussians", "per-class Gaussians on 40 PCA codes", lesson="01")
def _gaussians(context: Context) -> Tuple[Sampler, str]:
    started = time.perf_counter()
    flat = context.train_images.flatten(1)
    pca = PCA(k=40).fit(flat)
    gaussians = ClassGaussians().fit(pca.encode(flat), context.train_labels)
    seconds = time.perf_counter() - started

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        labels = torch.multinomial(gaussians.priors.float(), n, replacement=True, generator=rng)
        codes = torch.zeros(n, 40)
        for k in labels.unique().tolist():
            chosen = labels == k
            codes[chosen] = gaussians.sample(int(chosen.sum()), label=k, generator=rng)
        return pca.decode(codes).clamp(0, 1).reshape(n, 1, 28, 28)

    return sample, f"fitted here to {len(flat):,} images in {seconds:.0f} s (classes drawn by their shares)"


@register("autoencoder", "autoencoder, Gaussian codes", lesson="02")
def _autoencoder(context: Context) -> Tuple[Sampler, str]:
    epochs = context.budget["autoencoder_epochs"]

    def train() -> Tuple[nn.Module, dict]:
        model = train_row("autoencoder", context, Budget(epochs=epochs)).model
        return model.cpu(), {"epochs": epochs, "train_images": len(context.train_images),
                             "about": f"{_count(epochs, 'epoch')} on {len(context.train_images):,} images"}  # fmt: skip

    model, source = load_or_train(
        ["autoencoder-conv-30d.pt"], "league-autoencoder", train, context.fast,
        accept=lambda meta: meta.get("config", {}).get("latent_dim") == 30, device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip
    # A Gaussian (mean and full covariance) fitted to the codes of training images, as in lesson 02 §6.
    codes = encode_images(model, context.train_images[:10000]).double()
    fitted = f"{len(codes):,}"
    mean = codes.mean(0)
    scale = torch.linalg.cholesky(torch.cov(codes.T) + 1e-6 * torch.eye(codes.shape[1], dtype=torch.float64))

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        z = mean + torch.randn(n, len(mean), generator=rng, dtype=torch.float64) @ scale.T
        with evaluating(model), torch.no_grad():
            return model.decode(z.float().to(device_of(model))).cpu()

    sample.model = model
    return sample, source + f"; decodes codes drawn from a Gaussian fitted to {fitted} training codes"


@register("vae", "VAE (20-d latent)", lesson="03")
def _vae(context: Context) -> Tuple[Sampler, str]:
    epochs = context.budget["vae_epochs"]

    def train() -> Tuple[nn.Module, dict]:
        model = train_row("vae", context, Budget(epochs=epochs)).model
        return model.cpu(), {"epochs": epochs, "train_images": len(context.train_images),
                             "about": f"{_count(epochs, 'epoch')} on {len(context.train_images):,} binarized images"}  # fmt: skip

    model, source = load_or_train(
        [], "league-vae", train, context.fast, device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        with evaluating(model):
            return model.sample(n, generator=rng).cpu()

    sample.model = model
    return sample, source + "; samples are the decoder's pixel probabilities (the mean of p(x|z))"


@register("mlp_gan", "MLP GAN", lesson="04")
def _mlp_gan(context: Context) -> Tuple[Sampler, str]:
    steps = context.budget["gan_steps"]

    def train() -> Tuple[nn.Module, dict]:
        run = train_row("mlp_gan", context, Budget(steps=steps))
        return run.model.cpu(), {"steps": run.steps, "train_images": len(context.train_images),
                                 "about": f"{run.steps:,} steps on {len(context.train_images):,} images"}  # fmt: skip

    # A benchmark's generator (benchmarks/gan_quality.py, or the MLP GAN of benchmarks/dcgan_quality.py) or lesson
    # 04's, when trained at least as long.
    candidates = [
        "gan_quality-mlp_gan-seed0.pt",
        "dcgan_quality-mlp-seed0.pt",
        "lesson04-fashion-generator.pt",
    ]
    model, source = load_or_train(
        candidates, "league-mlp-gan", train, context.fast,
        accept=lambda meta: meta.get("steps", 0) >= steps, device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip
    return generator_sampler(model), source


@register("dcgan", "DCGAN", lesson="05")
def _dcgan(context: Context) -> Tuple[Sampler, str]:
    steps = context.budget["dcgan_steps"]

    def train() -> Tuple[nn.Module, dict]:
        run = train_row("dcgan", context, Budget(steps=steps))
        return run.model.cpu(), {"steps": run.steps, "train_images": len(context.train_images),
                                 "about": f"{run.steps:,} steps on {len(context.train_images):,} images"}  # fmt: skip

    # Lesson 05's benchmark (benchmarks/dcgan_quality.py) or the lesson's own, when trained at least as long.
    model, source = load_or_train(
        ["dcgan_quality-dcgan-seed0.pt", "lesson05-dcgan-generator.pt"], "league-dcgan", train, context.fast,
        accept=lambda meta: meta.get("steps", 0) >= steps, device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip
    return generator_sampler(model), source


@register("dcgan_deeper", "deeper DCGAN", lesson="05")
def _dcgan_deeper(context: Context) -> Tuple[Sampler, str]:
    steps = context.budget["dcgan_deeper_steps"]

    def train() -> Tuple[nn.Module, dict]:
        # Lesson 05's final DCGAN, sampled from the moving average of G's weights.
        run = train_row(
            "dcgan_deeper", context, Budget(steps=steps, average_decay=dcgan.DEEPER_AVERAGE_DECAY)
        )
        return run.averaged.cpu(), {"steps": run.steps, "train_images": len(context.train_images),
                                    "about": f"{run.steps:,} steps on {len(context.train_images):,} images"}  # fmt: skip

    # Lesson 05's benchmark (benchmarks/dcgan_quality.py), when trained at least as long.
    model, source = load_or_train(
        ["dcgan_quality-deeper-seed0.pt"], "league-dcgan-deeper", train, context.fast,
        accept=lambda meta: meta.get("steps", 0) >= steps, device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip
    return generator_sampler(model), source


@register("wgan_gp", "WGAN-GP", lesson="06")
def _wgan_gp(context: Context) -> Tuple[Sampler, str]:
    steps = context.budget["wgan_steps"]

    def train() -> Tuple[nn.Module, dict]:
        run = train_row("wgan_gp", context, Budget(steps=steps))
        about = f"{run.steps:,} generator steps (5 critic steps each) on {len(context.train_images):,} images"
        return run.model.cpu(), {
            "steps": run.steps,
            "train_images": len(context.train_images),
            "about": about,
        }

    # Lesson 06's benchmark (benchmarks/wgan_quality.py) or the lesson's own, when trained at least as long.
    model, source = load_or_train(
        ["wgan_quality-wgan_gp-seed0.pt", "lesson06-wgan-gp-generator.pt"], "league-wgan-gp", train,
        context.fast,
        accept=lambda meta: meta.get("steps", 0) >= steps, device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip
    return generator_sampler(model), source


def _balanced_labels(n: int, rng: torch.Generator) -> torch.Tensor:
    """The labels a conditional row is asked for: uniform over the 10 classes (the data's shares are almost equal)."""
    return torch.randint(conditional.NUM_CLASSES, (n,), generator=rng)


def _conditional_gan(
    context: Context, conditioning: str, checkpoint: str, lesson_checkpoint: str
) -> Tuple[Sampler, str]:
    """Lesson 07's conditional GAN with D's ``conditioning`` ("channels" or "auxiliary"): the benchmark's
    ``checkpoint`` or the lesson's, when trained at least as long on as many images, else trained here."""
    steps = context.budget["cgan_steps"]
    images = context.train_images

    def train() -> Tuple[nn.Module, dict]:
        run = train_row("cgan" if conditioning == "channels" else "acgan", context, Budget(steps=steps))
        return run.model.cpu(), {"steps": run.steps, "train_images": len(images),
                                 "about": f"{run.steps:,} steps on {len(images):,} images"}  # fmt: skip

    # Lesson 07's benchmark (benchmarks/conditional_quality.py) and the lesson itself save both cGANs.
    model, source = load_or_train(
        [checkpoint, lesson_checkpoint], "league-cgan" + ("" if conditioning == "channels" else "-" + conditioning),
        train, context.fast,
        accept=lambda meta: meta.get("steps", 0) >= steps and meta.get("train_images", 0) >= len(images),
        device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        wanted = _balanced_labels(n, rng)
        with torch.no_grad():
            return ((model.generate(wanted, generator=rng).cpu() + 1) / 2).clamp(0, 1)

    sample.model = model
    return sample, source + "; labels drawn uniformly over the 10 classes"


@register("cgan", "conditional GAN", lesson="07")
def _cgan(context: Context) -> Tuple[Sampler, str]:
    return _conditional_gan(
        context, "channels", "conditional_quality-cgan-seed0.pt", "lesson07-cgan-generator.pt"
    )


@register("acgan", "AC-GAN", lesson="07")
def _acgan(context: Context) -> Tuple[Sampler, str]:
    return _conditional_gan(
        context, "auxiliary", "conditional_quality-cgan-auxiliary-seed0.pt", "lesson07-acgan-generator.pt"
    )


@register("cvae", "conditional VAE", lesson="07")
def _cvae(context: Context) -> Tuple[Sampler, str]:
    epochs = context.budget["cvae_epochs"]
    images = context.train_images

    def train() -> Tuple[nn.Module, dict]:
        model = train_row("cvae", context, Budget(epochs=epochs)).model
        return model.cpu(), {"epochs": epochs, "train_images": len(images),
                             "about": f"{_count(epochs, 'epoch')} on {len(images):,} images"}  # fmt: skip

    model, source = load_or_train(
        ["conditional_quality-cvae-seed0.pt", "lesson07-cvae.pt"], "league-cvae", train, context.fast,
        accept=lambda meta: meta.get("epochs", 0) >= epochs and meta.get("train_images", 0) >= len(images),
        device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        return model.sample(_balanced_labels(n, rng), generator=rng).cpu()

    sample.model = model
    return sample, source + "; labels drawn uniformly; samples are the decoder's pixel probabilities"


def _time_model(context: Context, kind: str) -> Tuple[nn.Module, str]:
    """Lesson 09's SmallUNet for ``kind`` ("diffusion" or "flow"): a checkpoint, or trained here (lesson 09's
    settings: channels (16, 32, 64), batch 64, Adam 1e-3) for the budget's steps."""
    steps = context.budget[f"{kind}_steps"]
    data = context.train_images * 2 - 1

    def train() -> Tuple[nn.Module, dict]:
        run = train_row(kind, context, Budget(steps=steps))
        return run.model.cpu(), {"steps": run.steps, "train_images": len(data),
                             "about": f"{run.steps:,} steps on {len(data):,} images"}  # fmt: skip

    # Lesson 09's benchmark (benchmarks/diffusion_quality.py) or the lesson's own, when trained at least as long.
    return load_or_train(
        [f"diffusion_quality-{kind}-seed0.pt", f"lesson09-{kind}.pt"], f"league-{kind}", train, context.fast,
        accept=lambda meta: meta.get("steps", 0) >= steps, device=context.device,
        **context.checkpoint_rules(),
    )  # fmt: skip


def _chunked(draw: Callable[[int, torch.Generator], torch.Tensor], chunk: int = 500) -> Sampler:
    """A sampler that calls ``draw`` on at most ``chunk`` images at a time (a U-Net on 5,000 images at once needs
    gigabytes), mapping its [-1, 1] output to [0, 1]."""

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        parts = [draw(min(chunk, n - start), rng) for start in range(0, n, chunk)]
        return ((torch.cat(parts) + 1) / 2).clamp(0, 1)

    return sample


@register("diffusion", "diffusion (DDIM)", lesson="09")
def _diffusion(context: Context) -> Tuple[Sampler, str]:
    model, source = _time_model(context, "diffusion")
    schedule, steps = diffusion.linear_schedule(), context.sampling_steps
    sample = _chunked(lambda n, rng: diffusion.ddim_sample(model, (n, 1, 28, 28), schedule, steps, generator=rng,
                                                           clip=(-1, 1)))  # fmt: skip
    sample.model, sample.evaluations = model, steps
    return sample, source + f"; DDIM with {steps} steps (η = 0)"


@register("flow", "flow matching (Euler)", lesson="09")
def _flow(context: Context) -> Tuple[Sampler, str]:
    model, source = _time_model(context, "flow")
    steps = context.sampling_steps
    sample = _chunked(lambda n, rng: flow_matching.sample(model, (n, 1, 28, 28), steps, generator=rng,
                                                          clip=(-1, 1)))  # fmt: skip
    sample.model, sample.evaluations = model, steps
    return sample, source + f"; {steps} Euler steps"


def _cfg_rows(context: Context, w: float) -> Tuple[Sampler, str]:
    """Lesson 10's conditional flow model sampled with classifier-free guidance at scale ``w`` (Euler, the league's
    sampling steps, two network evaluations per step when w > 0). Both rows load the one model of the row "cfg"."""
    steps = context.budget["cfg_steps"]
    cfg_context = replace(context, row="cfg")

    def train() -> Tuple[nn.Module, dict]:
        run = train_row("cfg", context, Budget(steps=steps))
        return run.model.cpu(), {"steps": run.steps, "about": f"{run.steps:,} steps"}

    model, source = load_or_train(["lesson10-cfg.pt"], "league-cfg", train, context.fast,
                                  accept=lambda meta: meta.get("steps", 0) >= steps, device=context.device,
                                  **cfg_context.checkpoint_rules())  # fmt: skip
    sampling = context.sampling_steps

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        samples = guidance.cfg_sample(
            model, _balanced_labels(n, rng), w, steps=sampling, generator=rng, batch_size=500
        )
        return ((samples + 1) / 2).clamp(0, 1)

    sample.model, sample.evaluations = model, sampling * (2 if w else 1)
    return sample, source + f"; {sampling} Euler steps, w = {w:g}; labels drawn uniformly over the 10 classes"


@register("cfg", "conditional flow, no guidance (w = 0)", lesson="10")
def _cfg(context: Context) -> Tuple[Sampler, str]:
    return _cfg_rows(context, 0.0)


@register("cfg_guided", f"conditional flow, guided (w = {GUIDED_W:g})", lesson="10")
def _cfg_guided(context: Context) -> Tuple[Sampler, str]:
    return _cfg_rows(context, GUIDED_W)


@register("latent_flow", "latent flow matching (Euler, then the decoder)", lesson="11")
def _latent_flow(context: Context) -> Tuple[Sampler, str]:
    """Lesson 11's autoencoder and latent flow: the benchmark's or the lesson's checkpoint, or trained here
    (``latent_steps`` steps for each stage); sampled with the league's Euler steps in the latent space."""
    steps = context.budget["latent_steps"]

    def train() -> Tuple[nn.Module, dict]:
        run = train_row("latent_flow", context, Budget(steps=steps))
        return run.model.cpu(), {"steps": run.steps, "about": f"{run.steps:,} steps per stage"}

    model, source = load_or_train(["latent_quality-latent-flow-seed0.pt", "lesson11-latent-flow.pt"],
                                  "league-latent-flow", train, context.fast,
                                  accept=lambda meta: meta.get("steps", 0) >= steps, device=context.device,
                                  **context.checkpoint_rules())  # fmt: skip
    sampling = context.sampling_steps

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        return model.sample(n, steps=sampling, generator=rng, batch_size=500)

    sample.model, sample.evaluations = model, sampling
    return sample, source + f"; {sampling} Euler steps in the latent space, then the decoder"


# ----------------------------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------------------------

METRICS = ("frechet", "precision", "recall", "entropy", "confident", "score", "copies", "nn_ratio")


@dataclass
class Samplers:
    """The built rows: ``samplers[key]``, ``sources[key]``, ``models[key]`` (the trained network, or None for rows
    without one), ``evaluations[key]`` (network evaluations per sample: 1 for a generator or decoder, the sampling
    steps for diffusion and flow matching, 0 without a network), and how long building took."""

    samplers: Dict[str, Sampler] = field(default_factory=dict)
    sources: Dict[str, str] = field(default_factory=dict)
    models: Dict[str, Optional[nn.Module]] = field(default_factory=dict)
    evaluations: Dict[str, int] = field(default_factory=dict)
    seconds: Dict[str, float] = field(default_factory=dict)


def build(
    keys: Optional[Sequence[str]] = None,
    context: Optional[Context] = None,
    load_only_after: Optional[str] = None,
) -> Samplers:
    """Load or train every row in ``keys`` (default: all), printing where each came from.

    ``load_only_after="08"``: rows of lessons after 08 are only loaded from a checkpoint (the lesson's or its
    benchmark's); without one the row is left out, and a line says so. A learner's first pass through lesson 08
    then scores what lessons 01-07 trained, instead of training lesson 09's models here.
    """
    context = context or make_context()
    keys = list(keys) if keys is not None else list(REGISTRY)
    unknown = [k for k in keys if k not in REGISTRY]
    if unknown:
        raise UnknownNameError(f"No league row {unknown[0]!r}. Rows: {', '.join(REGISTRY)}.")
    built = Samplers()
    for key in keys:
        entry = REGISTRY[key]
        later = load_only_after is not None and entry.lesson.isdigit() and entry.lesson > load_only_after
        started = time.perf_counter()
        try:
            row_context = replace(context, train_missing=not later, row=key)
            built.samplers[key], built.sources[key] = entry.build(row_context)
        except NotTrainedYet:
            print(f"{entry.name}: left out until lesson {entry.lesson} has saved it (run lesson {entry.lesson}, "
                  "then this cell again)")  # fmt: skip
            continue
        built.models[key] = getattr(built.samplers[key], "model", None)
        built.evaluations[key] = (
            getattr(built.samplers[key], "evaluations", 1) if built.models[key] is not None else 0
        )
        built.seconds[key] = round(time.perf_counter() - started, 1)
        print(f"{entry.name}: {built.sources[key]}")
    return built


def score_samples(
    samples: torch.Tensor,
    test_features: torch.Tensor,
    test_distances: torch.Tensor,
    train_images: torch.Tensor,
    classifier: nn.Module,
    memorization_n: int,
    k: int = 3,
) -> Dict[str, float]:
    """Every league figure for one set of samples (N×1×28×28 in [0, 1]) against one draw of test images."""
    features = classifier_features(samples, model=classifier)
    probs = predict_proba(classifier, samples)
    classes = class_histogram_scores(probs)
    quality = precision_recall(test_features, features, k=k)
    copying = memorization(nearest_distances(samples[:memorization_n], train_images)[0], test_distances)
    return {
        "frechet": frechet_distance(features, test_features),
        "precision": quality["precision"],
        "recall": quality["recall"],
        "entropy": classes["entropy_ratio"],
        "confident": classes["confident_share"],
        "score": classifier_score(probs),
        "copies": copying["copy_share"],
        "nn_ratio": copying["ratio"],
    }


def evaluate(
    built: Samplers,
    n: int = 5000,
    seeds: Sequence[int] = (0, 1, 2),
    memorization_n: int = 1000,
    k: int = 3,
    context: Optional[Context] = None,
    classifier: Optional[nn.Module] = None,
) -> List[Dict]:
    """Score every built row with ``n`` samples per seed; returns one dict per row (``mean`` and ``sd`` of each).

    Per seed: the same ``n`` test images (a fresh random draw per seed) for every row, and each row's sampler
    called with ``torch.Generator().manual_seed(seed)``. Memorization uses the first ``memorization_n`` samples and
    as many test images, against the whole training split.
    """
    context = context or make_context()
    classifier = classifier or reference_classifier(context.dataset)
    test = load_dataset(context.dataset, "test", verbose=False).images
    per_seed: Dict[str, List[Dict[str, float]]] = {key: [] for key in built.samplers}
    started = time.perf_counter()
    for seed in seeds:
        test_n = test[torch.randperm(len(test), generator=torch.Generator().manual_seed(10_000 + seed))[:n]]
        test_features = classifier_features(test_n, model=classifier)
        test_distances, _ = nearest_distances(test_n[:memorization_n], context.train.images)
        for key, sampler in built.samplers.items():
            samples = sampler(n, torch.Generator().manual_seed(seed))
            per_seed[key].append(score_samples(samples, test_features, test_distances, context.train.images,
                                               classifier, memorization_n, k))  # fmt: skip
    print(f"Evaluated {len(built.samplers)} rows × {len(seeds)} seeds, {n:,} samples each, in "
          f"{time.perf_counter() - started:.0f} s.")  # fmt: skip
    rows = []
    for key, results in per_seed.items():
        entry = REGISTRY[key]
        row = {"key": key, "name": entry.name, "lesson": entry.lesson, "reference": entry.reference,
               "source": built.sources[key], "n": n, "seeds": len(results),
               "evaluations": built.evaluations.get(key, 0)}  # fmt: skip
        for metric in METRICS:
            values = torch.tensor([r[metric] for r in results], dtype=torch.float64)
            row[metric] = float(values.mean())
            row[metric + "_sd"] = float(values.std()) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------------------------
# The table and the plot
# ----------------------------------------------------------------------------------------------------------------

COLUMNS = (
    ("frechet", "FD ↓", 1),
    ("precision", "precision ↑", 2),
    ("recall", "recall ↑", 2),
    ("entropy", "entropy/log 10", 2),
    ("confident", "confident", 2),
    ("score", "class score", 2),
    ("copies", "copies", 3),
    ("nn_ratio", "NN ratio", 2),
)


def _cell(row: Dict, metric: str, digits: int) -> str:
    mean, sd = row[metric], row[metric + "_sd"]
    if row["seeds"] > 1:
        return f"{mean:.{digits}f} ± {sd:.{digits}f}"
    return f"{mean:.{digits}f}"


# What each row cost (``benchmarks/league_table.py`` fills them in from the checkpoints' records): training compute,
# training steps, whether the moving average of the weights was used, and network evaluations per sample.
COST_COLUMNS = (
    ("compute", "training compute"),
    ("steps", "steps"),
    ("ema", "EMA"),
    ("evaluations", "evals/sample"),
)


def _cost_cell(row: Dict, key: str) -> str:
    value = row.get(key)
    if value is None or (key == "evaluations" and value == 0):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown_table(rows: List[Dict]) -> str:
    """The league as a markdown table (references in italics), ``mean ± sd`` over seeds, with what each row cost
    (``COST_COLUMNS``) when the rows say."""
    costs = [(key, title) for key, title in COST_COLUMNS if any(key in row for row in rows)]
    header = ["", "lesson"] + [title for _, title in costs] + [title for _, title, _ in COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        name = f"*{row['name']}*" if row["reference"] else row["name"]
        cells = [name, row["lesson"]] + [_cost_cell(row, key) for key, _ in costs]
        cells += [_cell(row, m, d) for m, _, d in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_table(rows: List[Dict]) -> None:
    """The league as aligned text, one row per model."""
    width = max(len(r["name"]) for r in rows) + 2
    cells = [[_cell(r, m, d) for m, _, d in COLUMNS] for r in rows]
    widths = [max(len(title), *(len(c[i]) for c in cells)) + 2 for i, (_, title, _) in enumerate(COLUMNS)]
    print(f"{'':{width}}{'lesson':>7}" + "".join(f"{t:>{w}}" for (_, t, _), w in zip(COLUMNS, widths)))
    for row, row_cells in zip(rows, cells):
        print(
            f"{row['name']:{width}}{row['lesson']:>7}"
            + "".join(f"{c:>{w}}" for c, w in zip(row_cells, widths))
        )
    seeds = rows[0]["seeds"]
    spread = f"mean ± sd over {seeds} seeds (fresh samples and test images; the models are not retrained)"
    print(f"\nN = {rows[0]['n']:,} samples per seed; {spread if seeds > 1 else 'one seed'}. "
          "FD: Fréchet distance to the test images in the course classifier's features (not comparable with "
          "papers' FIDs).")  # fmt: skip


MARKERS = "os^vD<>pPX*h"


def plot_league(rows: List[Dict], ax=None, title: Optional[str] = None):
    """Quality (precision) against coverage (recall), one marker per row (± sd as error bars), legend with FD."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5.5))
    for i, row in enumerate(rows):
        color = "0.45" if row["reference"] else LINE_COLORS[i % len(LINE_COLORS)]
        lesson = "" if row["reference"] else f" ({row['lesson']})"
        ax.errorbar(row["recall"], row["precision"], xerr=row["recall_sd"], yerr=row["precision_sd"],
                    fmt=MARKERS[i % len(MARKERS)], color=color, markersize=9, capsize=3, alpha=0.85,
                    label=f"{row['name']}{lesson}: FD {row['frechet']:.0f}")  # fmt: skip
    ax.set(xlim=(-0.05, 1.05), ylim=(-0.05, 1.05), xlabel="recall: share of real images covered (coverage)",
           ylabel="precision: share of samples that look real (quality)")  # fmt: skip
    ax.set_title(title or f"The course's league table (N = {rows[0]['n']:,}, k = 3 nearest neighbours)")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return ax


def row_by_key(rows: List[Dict], key: str) -> Dict:
    """The row of ``key`` (e.g. ``"real"`` for the floor)."""
    for row in rows:
        if row["key"] == key:
            return row
    raise UnknownNameError(f"No row {key!r} in this table: {', '.join(r['key'] for r in rows)}.")


def default_sizes() -> Dict[str, object]:
    """The league's evaluation sizes: (full, fast) → N samples, seeds, memorization samples."""
    fast = is_fast_mode()
    return {
        "n": 300 if fast else 5000,
        "seeds": (0,) if fast else (0, 1, 2),
        "memorization_n": 100 if fast else 1000,
    }


__all__ = [
    "REGISTRY",
    "SAMPLING_STEPS",
    "TRAINING",
    "Context",
    "Entry",
    "NotTrainedYet",
    "Samplers",
    "build",
    "default_sizes",
    "evaluate",
    "generator_sampler",
    "load_or_train",
    "make_context",
    "markdown_table",
    "plot_league",
    "print_table",
    "register",
    "row_by_key",
    "score_samples",
]
