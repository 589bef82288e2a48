"""Lesson 07's conditional and controllable generators: a conditional GAN, a conditional VAE, and latent steering.

**Conditioning** (Mirza & Osindero, 2014) gives the label y to the networks as one more input:

- the generator gets ``[z, one_hot(y)]``: the noise and the label side by side (``generator_input``);
- the discriminator gets the image with the label as K extra *channels*, channel k all ones when y = k and all
  zeros otherwise (``discriminator_input``), so its first convolution sees the label at every pixel; it now
  answers "is this a real image *of class y*?", and G can only fool it by making the class it was asked for.
- the **projection discriminator** (Miyato & Koyama, 2018) instead adds the inner product of a learned class
  embedding with D's image features to an unconditional logit: ``logit = ψ(h) + embed(y) · h``.
- the **auxiliary classifier** (AC-GAN, Odena, Olah & Shlens, 2017): D sees the image alone and has two heads,
  "real or fake?" and "which class?". D learns to name the class of real images; G is rewarded when D names the
  class it was asked for (``cgan_train_step`` adds both cross-entropies when D has the second head). D's loss is
  then BCE(real, 1) + BCE(fake, 0) + CE(class head on real, y): the two BCE terms *summed*, as in Odena et al.,
  not averaged as in lesson 04's ``discriminator_loss``, so that each of the three terms has weight 1.

A **conditional VAE** (Sohn, Lee & Yan, 2015) gives y to the encoder and to the decoder; the code z then only
has to hold what the label does not say: the style.

**Steering** an *unconditional* generator: move its noise z up the gradient of a classifier's log-probability
of class k, z ← z + η ∇_z log p(k | G(z)) (``steering_step``), so that G(z) looks more like class k; this is the
objective of classifier guidance (Dhariwal & Nichol, 2021). ``objective="logit"`` climbs the raw logit of k
instead, the contrast lesson 07 shows: it does not push the other classes down.

The convolutional blocks and the initialisation are lesson 05's (``models.dcgan``); the training step mirrors
lesson 04's ``gan.train_step`` with labels added; both trainers hand their step to the course's loop ``fit``.
"""

from __future__ import annotations

import time
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..batches import TensorBatches
from ..errors import ShapeError
from ..images import IMAGE_SHAPE, check_images
from ..training import Budget, History, Report, evaluating, fit, moving_average, warmup_cosine, with_average
from .blocks import dense_stack
from .dcgan import discriminator_block, generator_block, init_weights, upsample_layers
from .gan import discriminator_loss, generator_loss
from .vae import kl_divergence, reconstruction_nll, reparameterize

NUM_CLASSES = 10
CONDITIONINGS = ("channels", "projection", "auxiliary")
AUX_WEIGHT = 1.0  # weight of the class cross-entropy in both players' losses (Odena et al.: 1)
STEERING_OBJECTIVES = ("log_probability", "logit")

# ----------------------------------------------------------------------------------------------------------------
# The conditional inputs (the answer key of exercises 07.1 and 07.2)
# ----------------------------------------------------------------------------------------------------------------


def _check_labels(labels: torch.Tensor, n: int, num_classes: int, who: str) -> None:
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or len(labels) != n:
        got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ShapeError(f"{who} needs one class index per example: a tensor of shape ({n},), got {got}.")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise ShapeError(f"{who} needs class indices (dtype torch.long), got dtype {labels.dtype}.")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ShapeError(
            f"{who}: class indices must be 0…{num_classes - 1}, got {int(labels.min())}…{int(labels.max())}."
        )


def generator_input(z: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """G's input: the noise and the one-hot label side by side, N×(noise_dim + K), on z's device and dtype."""
    one_hot = F.one_hot(labels, num_classes).to(z.dtype)
    return torch.cat([z, one_hot], dim=1)


def discriminator_input(
    images: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES
) -> torch.Tensor:
    """D's input: the images with K label channels, N×(C + K)×H×W; channel C + k is all ones where y = k."""
    n, _, height, width = images.shape
    one_hot = F.one_hot(labels, num_classes).to(images.dtype)  # N×K
    planes = one_hot[:, :, None, None].expand(n, num_classes, height, width)  # N×K×H×W, no copy
    return torch.cat([images, planes], dim=1)


# ----------------------------------------------------------------------------------------------------------------
# The conditional GAN
# ----------------------------------------------------------------------------------------------------------------


class ConditionalGenerator(nn.Module):
    """(noise N×noise_dim, labels N) → images N×1×28×28 in [-1, 1]: lesson 05's DCGAN generator fed [z, one_hot(y)].

    Linear [z, y] → 2C×7×7 → BatchNorm → ReLU → C×14×14 → 1×28×28 → tanh (``channels`` = C).
    """

    def __init__(
        self,
        noise_dim: int = 64,
        num_classes: int = NUM_CLASSES,
        channels: int = 32,
        upsample: str = "transposed",
    ) -> None:
        super().__init__()
        self.config = {"noise_dim": int(noise_dim), "num_classes": int(num_classes), "channels": int(channels),
                       "upsample": upsample}  # fmt: skip
        self.noise_dim, self.num_classes, self.data_shape = int(noise_dim), int(num_classes), IMAGE_SHAPE
        c = int(channels)
        self.project = nn.Sequential(
            nn.Linear(self.noise_dim + self.num_classes, 2 * c * 7 * 7, bias=False),
            nn.Unflatten(1, (2 * c, 7, 7)),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(inplace=True),
        )
        self.up1 = generator_block(2 * c, c, upsample)  # 7×7 → 14×14
        self.up2 = nn.Sequential(*upsample_layers(c, 1, upsample), nn.Tanh())  # 14×14 → 28×28
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.noise_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ShapeError(f"This generator expects noise of shape N×{self.noise_dim}, got {got}.")
        _check_labels(labels, len(z), self.num_classes, "This generator")
        return self.up2(self.up1(self.project(generator_input(z, labels, self.num_classes))))

    def sample_noise(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` noise vectors z ~ N(0, I) on the model's device."""
        return torch.randn(n, self.noise_dim, generator=generator).to(next(self.parameters()).device)

    def generate(self, labels: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """One new image per requested label (fresh noise), in eval mode."""
        labels = torch.as_tensor(labels, dtype=torch.long, device=next(self.parameters()).device)
        with evaluating(self):
            return self(self.sample_noise(len(labels), generator), labels)


class ConditionalDiscriminator(nn.Module):
    """(images N×1×28×28, labels N) → one logit each, N×1: "is this a real image of class y?".

    ``conditioning="channels"``: the label enters as K extra input channels (``discriminator_input``).
    ``conditioning="projection"``: features h from the image alone; logit = linear(h) + embed(y) · h
    (Miyato & Koyama, 2018).
    ``conditioning="auxiliary"``: features h from the image alone; logit = linear(h) answers "real or fake?"
    without the label, and a second head, ``classify(h)``, gives K class logits (AC-GAN, Odena et al., 2017).
    ``scores(images, labels)`` returns both heads' outputs (class logits ``None`` without the second head).
    Otherwise lesson 05's DCGAN discriminator (``channels`` = C, batch norm).
    """

    def __init__(
        self, num_classes: int = NUM_CLASSES, channels: int = 32, conditioning: str = "channels"
    ) -> None:
        super().__init__()
        if conditioning not in CONDITIONINGS:
            raise ValueError(
                f"conditioning must be one of {', '.join(map(repr, CONDITIONINGS))}; got {conditioning!r}."
            )
        self.config = {
            "num_classes": int(num_classes),
            "channels": int(channels),
            "conditioning": conditioning,
        }
        self.num_classes, self.conditioning, self.data_shape = int(num_classes), conditioning, IMAGE_SHAPE
        c = int(channels)
        in_channels = 1 + (self.num_classes if conditioning == "channels" else 0)
        self.features = nn.Sequential(
            discriminator_block(in_channels, c, norm="none"),  # 28×28 → 14×14
            discriminator_block(c, 2 * c, norm="batch"),  # 14×14 → 7×7
            nn.Flatten(),
        )
        self.head = nn.Linear(2 * c * 7 * 7, 1)
        self.embed = nn.Embedding(self.num_classes, 2 * c * 7 * 7) if conditioning == "projection" else None
        self.classify = nn.Linear(2 * c * 7 * 7, self.num_classes) if conditioning == "auxiliary" else None
        self.apply(init_weights)

    def scores(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(real-or-fake logits N×1, class logits N×K or ``None``), from one pass through the features."""
        images = check_images(images, self.data_shape, "This discriminator")
        _check_labels(labels, len(images), self.num_classes, "This discriminator")
        if self.conditioning == "channels":
            return self.head(self.features(discriminator_input(images, labels, self.num_classes))), None
        h = self.features(images)
        if self.conditioning == "auxiliary":
            return self.head(h), self.classify(h)
        return self.head(h) + (self.embed(labels) * h).sum(dim=1, keepdim=True), None

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.scores(images, labels)[0]


def cgan_train_step(
    generator: ConditionalGenerator,
    discriminator: ConditionalDiscriminator,
    real: torch.Tensor,
    labels: torch.Tensor,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    aux_weight: float = AUX_WEIGHT,
) -> dict:
    """Lesson 04's training step with labels: the fakes are asked for the real batch's labels, and D and G both
    see the label next to every image. Returns the losses and D's mean probabilities on real and fake.

    With an auxiliary classifier (``conditioning="auxiliary"``), D's loss is
    BCE(real, 1) + BCE(fake, 0) + ``aux_weight`` × the cross-entropy of its class head on the *real* images (it
    learns to name real garments; Odena et al. also trained it on the fakes): the two BCE terms are summed, as in
    Odena et al., so ``aux_weight`` = 1 weighs the class term like each of them (``discriminator_loss``, their
    average, would double its weight). G's loss adds ``aux_weight`` × the cross-entropy of that head on the fakes
    against the classes G was asked for; ``class_loss`` (D's, on real images) is returned too. Without the second
    head D's loss is lesson 04's ``discriminator_loss``.
    """
    z = torch.randn(len(real), generator.noise_dim, device=real.device)
    fake = generator(z, labels)

    real_logits, real_classes = discriminator.scores(real, labels)
    fake_logits = discriminator(fake.detach(), labels)
    if real_classes is None:
        d_loss = discriminator_loss(real_logits, fake_logits)
    else:
        class_loss = F.cross_entropy(real_classes, labels)
        real_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        fake_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_loss = real_loss + fake_loss + aux_weight * class_loss
    d_optimizer.zero_grad(set_to_none=True)
    d_loss.backward()
    d_optimizer.step()

    fake_logits_for_g, fake_classes = discriminator.scores(fake, labels)
    g_loss = generator_loss(fake_logits_for_g)
    if fake_classes is not None:
        g_loss = g_loss + aux_weight * F.cross_entropy(fake_classes, labels)
    g_optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    g_optimizer.step()
    numbers = {
        "d_loss": float(d_loss.detach()),
        "g_loss": float(g_loss.detach()),
        "d_real": float(torch.sigmoid(real_logits.detach()).mean()),
        "d_fake": float(torch.sigmoid(fake_logits.detach()).mean()),
    }
    if real_classes is not None:
        numbers["class_loss"] = float(class_loss.detach())
    return numbers


def train_cgan(
    generator: ConditionalGenerator,
    discriminator: ConditionalDiscriminator,
    images: torch.Tensor,
    labels: torch.Tensor,
    budget: Budget,
    *,
    batch_size: int = 64,
    lr: float = 2e-4,
    average_decay: Optional[float] = None,
    report: Optional[Report] = None,
    seed: int = 0,
) -> History:
    """Train a conditional GAN with ``cgan_train_step`` on ``images`` (N×1×28×28 in [-1, 1]) and their ``labels``.

    Lesson 07 writes this loop out; the league table and ``benchmarks/conditional_quality.py`` train with it.
    Adam (``lr``, β₁ = 0.5) for both players, batches of ``batch_size`` shuffled with ``seed``, for ``budget``
    (``training.Budget``: steps and/or seconds of training time on its clock). ``average_decay``: also keep a
    moving average of G's weights (``training.moving_average``), returned as ``history.averaged`` (else None).
    Returns the ``History``, with ``steps_done`` and ``seconds``.
    """
    images = check_images(images, IMAGE_SHAPE, "train_cgan")
    _check_labels(labels, len(images), generator.num_classes, "train_cgan")
    device = next(generator.parameters()).device
    discriminator.to(device)
    generator.train()
    discriminator.train()
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    batches = TensorBatches(images, labels, batch_size=batch_size, device=device, drop_last=True, seed=seed)
    averaged = moving_average(generator, average_decay)  # None without average_decay

    def step(batch):
        real, batch_labels = batch
        return cgan_train_step(generator, discriminator, real, batch_labels, g_optimizer, d_optimizer)

    report = report if report is not None else Report(desc="conditional GAN training", log_every=50)
    history = fit(with_average(step, generator, averaged), batches, budget, report=report)
    history.averaged = averaged.module.eval() if averaged is not None else None
    generator.eval()
    discriminator.eval()
    return history


def sample_class(
    generator: nn.Module, label: int, n: int, generator_seed: Optional[int] = None
) -> torch.Tensor:
    """``n`` images of class ``label`` from a conditional generator (eval mode, no gradients): the answer of 07.3."""
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(generator_seed) if generator_seed is not None else None
    z = torch.randn(n, generator.noise_dim, generator=rng).to(device)
    labels = torch.full((n,), int(label), dtype=torch.long, device=device)
    with evaluating(generator):
        return generator(z, labels)


# ----------------------------------------------------------------------------------------------------------------
# The conditional VAE
# ----------------------------------------------------------------------------------------------------------------


class ConditionalVAE(nn.Module):
    """A fully connected VAE whose encoder sees [x, one_hot(y)] and whose decoder sees [z, one_hot(y)].

    ``encode(x, y) -> (mu, log_var)``, ``decode_logits(z, y)``, ``decode(z, y)`` (pixel probabilities in [0, 1]),
    ``forward(x, y) -> (logits, mu, log_var)``, ``sample(labels)``. Trained with lesson 03's negative ELBO.
    """

    def __init__(
        self, latent_dim: int = 16, hidden: Sequence[int] = (512, 256), num_classes: int = NUM_CLASSES
    ):
        super().__init__()
        self.config = {"latent_dim": int(latent_dim), "hidden": [int(h) for h in hidden],
                       "num_classes": int(num_classes)}  # fmt: skip
        self.latent_dim, self.num_classes, self.image_shape = int(latent_dim), int(num_classes), IMAGE_SHAPE
        pixels = 28 * 28
        widths = [pixels + self.num_classes, *self.config["hidden"]]
        self.encoder = nn.Sequential(*dense_stack(widths))
        self.to_stats = nn.Linear(widths[-1], 2 * self.latent_dim)
        back = [self.latent_dim + self.num_classes, *reversed(self.config["hidden"])]
        self.decoder = nn.Sequential(
            *dense_stack(back), nn.Linear(back[-1], pixels), nn.Unflatten(1, IMAGE_SHAPE)
        )

    def _label(self, labels: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        _check_labels(labels, len(like), self.num_classes, "The conditional VAE")
        return F.one_hot(labels, self.num_classes).to(like)

    def encode(self, images: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = check_images(images, IMAGE_SHAPE, "encode").flatten(1)
        return self.to_stats(self.encoder(torch.cat([x, self._label(labels, x)], dim=1))).chunk(2, dim=1)

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ShapeError(f"decode expects codes N×{self.latent_dim}, got shape {tuple(z.shape)}.")
        return self.decoder(torch.cat([z, self._label(labels, z)], dim=1))

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z, labels))

    def forward(self, images: torch.Tensor, labels: torch.Tensor):
        mu, log_var = self.encode(images, labels)
        return self.decode_logits(reparameterize(mu, log_var), labels), mu, log_var

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """One image per requested label: z ~ N(0, I), decoded with the label (pixel probabilities in [0, 1])."""
        device = next(self.parameters()).device
        labels = torch.as_tensor(labels, dtype=torch.long, device=device)
        z = torch.randn(len(labels), self.latent_dim, generator=generator).to(device)
        with evaluating(self):
            return self.decode(z, labels)


def train_cvae(
    model: ConditionalVAE,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: Optional[int] = 10,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    show_progress: bool = True,
    live=None,
    time_limit: Optional[float] = None,
    clock: Callable[[], float] = time.perf_counter,
    average_decay: Optional[float] = None,
) -> History:
    """Train a conditional VAE on images in [0, 1] with their labels (negative ELBO, Adam, warm-up + cosine).

    ``time_limit``: stop after this many seconds of training on ``clock`` (whichever comes first with ``epochs``;
    ``epochs=None`` trains until the time is up). ``average_decay``: also keep a moving average of the weights
    (``training.moving_average``), returned as ``history.averaged``.
    """
    images = check_images(images, IMAGE_SHAPE, "train_cvae")
    _check_labels(labels, len(images), model.num_classes, "train_cvae")
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = TensorBatches(images, labels, batch_size=batch_size, device=device, seed=seed)
    averaged = moving_average(model, average_decay)  # None without average_decay

    def step(batch):
        x, y = batch
        logits, mu, log_var = model(x, y)
        rec, kl = reconstruction_nll(logits, x).mean(), kl_divergence(mu, log_var).mean()
        loss = rec + kl
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss, "reconstruction": rec, "kl": kl}

    def peek():
        return model.sample(torch.arange(16) % model.num_classes, torch.Generator().manual_seed(0)).cpu()

    model.train()
    report = Report(
        desc="training the conditional VAE", show_progress=show_progress, view=live, view_samples=peek
    )
    history = fit(with_average(step, model, averaged), batches, Budget(epochs=epochs, seconds=time_limit, clock=clock),
                  optimizers=[optimizer], schedule=warmup_cosine, report=report)  # fmt: skip
    model.eval()
    history.averaged = averaged.module.eval() if averaged is not None else None
    return history


# ----------------------------------------------------------------------------------------------------------------
# Steering an unconditional generator with a classifier (the answer key of exercise 07.4)
# ----------------------------------------------------------------------------------------------------------------


def steering_step(
    z: torch.Tensor,
    generator: nn.Module,
    classifier: nn.Module,
    target: int,
    step_size: float,
    objective: str = "log_probability",
) -> torch.Tensor:
    """One step of classifier-guided steering: z + step_size · ∇_z log p(target | G(z)), detached.

    log p(target | x) = log_softmax(logits)[target] = logit_target − logsumexp(logits), the objective of classifier
    guidance (Dhariwal & Nichol, 2021); its gradient raises the target's logit and lowers the others' in
    proportion to their probabilities. ``objective="logit"`` climbs logit_target alone (the contrast: it also
    raises any class whose logit moves with the target's).
    The generator makes images in [-1, 1]; the classifier reads [0, 1], so the images are mapped with (x + 1) / 2.
    Each z moves on its own (the scores are summed over the batch, and z_i only affects image i).
    """
    if objective not in STEERING_OBJECTIVES:
        raise ValueError(
            f"objective must be one of {', '.join(map(repr, STEERING_OBJECTIVES))}; got {objective!r}."
        )
    z = z.detach().requires_grad_(True)
    logits = classifier((generator(z) + 1) / 2)
    scores = logits.log_softmax(dim=1) if objective == "log_probability" else logits
    (grad,) = torch.autograd.grad(scores[:, target].sum(), z)
    return (z + step_size * grad).detach()


def steer(
    generator: nn.Module,
    classifier: nn.Module,
    z: torch.Tensor,
    target: int,
    steps: int = 10,
    step_size: float = 0.1,
    step_fn: Optional[Callable] = None,
) -> List[torch.Tensor]:
    """Walk ``z`` ``steps`` times up the target class's log-probability; returns the codes [z₀, z₁, …, z_steps].

    Both networks are put in eval mode for the walk (batch norm on its running statistics) and left so.
    ``step_fn(z, generator, classifier, target, step_size)``: the step to use (default ``steering_step``; the
    lesson passes the learner's, or ``functools.partial(steering_step, objective="logit")`` for the contrast).
    """
    step_fn = step_fn or steering_step
    generator.eval()
    classifier.eval()
    path = [z.detach()]
    for _ in range(steps):
        path.append(step_fn(path[-1], generator, classifier, target, step_size))
    return path
