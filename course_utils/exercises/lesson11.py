"""Checkers for lesson 11 (latent generative models).

11.1 ``latent_scale(latents)``                                   one number: 1 / the latents' standard deviation
11.3 ``latent_flow_loss(velocity_net, encode, images, scale)``    lesson 09's loss on frozen, scaled latents
11.4 ``generate(velocity_net, decode, scale, n, latent_shape, steps, generator)``
                                                                 noise of the latents' shape → Euler → ÷ scale → decode
11.2 ``reconstruction_floor(reconstruct, images, reference_features, features)``
                                                                 the Fréchet distance of the reconstructions
11.5 ``choose_latent_channels(curve, tolerance)``               the smallest latent within tolerance of the best

The mistakes they name: the standard deviation itself, the variance, the largest value, one scale per channel,
the scaled latents returned instead of the factor; the scale forgotten or divided, gradients into the frozen
autoencoder, one time for the whole batch, noise and data swapped on the path, the target reversed or the data
itself; noise shaped like images, the scale not undone or multiplied again before decoding, the flow run backwards
or with the wrong step length, the noise not drawn from the generator, latents returned instead of images; the
real images' distance (the data's floor, not the decoder's), the reconstructions compared with their own inputs,
the pixel error instead of a Fréchet distance; the lowest floor or the best distance regardless of cost, the
smallest latent regardless of quality, the first row that qualifies, the tolerance taken as an absolute number, a
strict inequality, the row returned instead of its size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..metrics import frechet_distance
from .core import Mistake, call, close, exercise, expect_tensor, match_variants


def _unchanged(before: torch.Tensor, after: torch.Tensor, name: str, what: str) -> None:
    if not torch.equal(before, after):
        raise Mistake(f"{what} changed {name} in place; compute new tensors instead.")


def _as_number(out, what: str) -> float:
    if isinstance(out, torch.Tensor) and out.numel() == 1:
        return float(out)
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return float(out)
    raise Mistake(f"{what} should return one number; got {type(out).__name__}"
                  f"{' of shape ' + str(tuple(out.shape)) if isinstance(out, torch.Tensor) else ''}.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# 11.1 latent_scale
# ----------------------------------------------------------------------------------------------------------------


@exercise("11.1", "latent_scale", points=1)
def latent_scale(fn) -> str:
    """Check ``latent_scale(latents)`` = 1 / std of all the latents' numbers (or 1 / their root mean square)."""
    gen = torch.Generator().manual_seed(0)
    # Latents with a spread far from 1 and channels of different spreads, as a real encoder's are.
    spreads = torch.tensor([4.0, 2.0, 6.0, 3.0]).view(1, 4, 1, 1)
    latents = 0.3 + spreads * torch.randn(500, 4, 7, 7, generator=gen)
    what = "latent_scale(latents)"
    given = latents.clone()
    out = call(fn, given, what=what)
    _unchanged(latents, given, "latents", what)
    if isinstance(out, torch.Tensor) and tuple(out.shape) == tuple(latents.shape):
        raise Mistake(f"{what} returned the scaled latents; return the factor itself (one number), so that the "
                      "same factor can scale new latents and undo the scaling before decoding.")  # fmt: skip
    if isinstance(out, torch.Tensor) and out.numel() == 4:
        raise Mistake(f"{what} returned one factor per channel; this lesson scales every latent number by the SAME "
                      "factor (as Stable Diffusion does): use the std over all of them.")  # fmt: skip
    value = _as_number(out, what)
    std, rms = float(latents.std()), float(latents.pow(2).mean().sqrt())
    if any(math.isclose(value, 1 / s, rel_tol=2e-3) for s in (std, rms)):
        return "scale = 1 / std: scaled latents spread like the N(0, I) noise the flow starts from."
    largest, channel_mean = float(latents.abs().max()), float(latents.std(dim=(0, 2, 3)).mean())
    hints = {
        std: "that is the standard deviation itself; the scale MULTIPLIES the latents to make their std 1, so it is "
        "1 / std",
        1 / std**2: "that is 1 / variance; divide by the standard deviation, the square root of the variance",
        std**2: "that is the variance; the scale is 1 / std",
        1
        / largest: "1 / max |z| squeezes the latents into [-1, 1] but leaves their spread far below 1; the noise "
        "has std 1, so use 1 / std",
        1
        / channel_mean: "that is 1 / the average of the channels' stds; use the std of all the numbers together",
    }
    for target, hint in hints.items():
        if math.isclose(value, target, rel_tol=2e-3):
            raise Mistake(f"{what} returned {value:.4g}: {hint}.")
    raise Mistake(f"{what} returned {value:.4g}; expected 1 / std of all the latents, {1 / std:.4g}.")


# ----------------------------------------------------------------------------------------------------------------
# 11.3 latent_flow_loss
# ----------------------------------------------------------------------------------------------------------------


class _Encoder(nn.Module):
    """A stand-in encoder: 4×4 average pooling and a learnable gain, latents 2×7×7 with a spread far from 1."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(5.0))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if (
            not isinstance(images, torch.Tensor)
            or images.dim() != 4
            or tuple(images.shape[1:]) != (1, 28, 28)
        ):
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"encode takes images N×1×28×28, got {got}")
        pooled = F.avg_pool2d(images, 4)  # N×1×7×7
        return self.gain * torch.cat([pooled - 0.5, 0.5 - pooled.flip(-1)], dim=1)


class _Velocity(nn.Module):
    """A stand-in velocity network that records what it was given and insists on one time per example."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Conv2d(2, 2, 1)
        self.calls = []

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or tuple(x.shape[1:]) != (2, 7, 7):
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"velocity_net takes latents N×2×7×7 (the latents' shape), got {got}")
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != (len(x),):
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(
                f"velocity_net needs one time per example: a tensor of shape ({len(x)},), got {got}"
            )
        self.calls.append((x.detach().clone(), t.detach().clone()))
        return self.mix(x) * (1 + t.view(-1, 1, 1, 1))


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@exercise("11.3", "latent_flow_loss", points=2)
def latent_flow_loss(fn) -> str:
    """Check ``latent_flow_loss(velocity_net, encode, images, scale)``: whatever order the learner draws the noise
    and the times in, the path point the network saw must be (1 − t) x0 + t · scale · encode(images) with x0 like
    N(0, I), one t per example, and the loss the MSE to x1 − x0 (a sum is accepted: its minimiser is the same)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return _check_latent_flow_loss(fn)


def _check_latent_flow_loss(fn) -> str:
    images, scale = _images(400, 1), 0.5
    encoder, net = _Encoder(), _Velocity()
    what = "latent_flow_loss(velocity_net, encode, images, scale)"
    given = images.clone()
    try:
        loss = call(fn, net, encoder, given, scale, what=what)
    except Mistake as mistake:
        if "latents' shape" in str(mistake) or "size of tensor" in str(mistake):
            raise Mistake(f"{mistake} The flow works on the latents: encode the images first, and draw the noise "
                          "with the latents' shape (torch.randn_like(x1)), not the images'.") from None  # fmt: skip
        if "one time per example" in str(mistake):
            raise Mistake(
                f"{mistake} Draw t with torch.rand(len(x1)): one time per example, shape (N,)."
            ) from None
        raise
    _unchanged(images, given, "images", what)
    if len(net.calls) != 1:
        raise Mistake(f"{what} called velocity_net {len(net.calls)} times; one call, on the batch of path points, "
                      "is the step.")  # fmt: skip
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise Mistake(f"{what} should return the loss as one number (a 0-d tensor), to call .backward() on.")
    if not loss.requires_grad:
        raise Mistake(f"{what} returned a loss without gradients: do not .item() or detach it.")
    loss.backward()
    if encoder.gain.grad is not None and float(encoder.gain.grad.abs()) > 0:
        raise Mistake(f"{what} let gradients flow into the autoencoder. It is trained and frozen: encode under "
                      "torch.no_grad() (or .detach() the latents), so that only the velocity network learns.")  # fmt: skip
    x_t, t = net.calls[0]
    if float(t.std()) < 1e-6:
        raise Mistake(f"{what} used one time t for the whole batch; draw one per example, t = torch.rand(N), so "
                      "every batch trains the network at many noise levels.")  # fmt: skip
    if float(t.min()) < 0 or float(t.max()) > 1:
        raise Mistake(f"{what}: the times should lie in [0, 1] (torch.rand), got {float(t.min()):.2f} … "
                      f"{float(t.max()):.2f}.")  # fmt: skip
    with torch.no_grad():
        latents = encoder(images)
    s = t.view(-1, 1, 1, 1)
    keep = (t > 0.02) & (t < 0.98)  # away from the ends, where solving for the noise divides by ~0
    if int(keep.sum()) < 100:
        raise Mistake(f"{what}: the times do not look uniform on [0, 1]; draw them with torch.rand.")
    # Each hypothesis: the data end x1 the learner used, and how x_t was mixed from it and the noise x0.
    hypotheses = {
        "right": (scale * latents, False),
        "no_scale": (latents, False),
        "divided": (latents / scale, False),
        "swapped": (scale * latents, True),
    }
    for name, (x1, swapped) in hypotheses.items():  # noqa: B007 (the name that fits is used below)
        data_share = (1 - s) if swapped else s
        x0 = (x_t - data_share * x1) / (1 - data_share)
        x0 = x0[keep]
        if abs(float(x0.mean())) < 0.1 and abs(float(x0.std()) - 1) < 0.1:
            break
    else:
        raise Mistake(f"{what}: the points given to velocity_net are not (1 − t)·x0 + t·x1 with x0 ~ N(0, I) and "
                      "x1 = scale · encode(images).")  # fmt: skip
    if name == "no_scale":
        raise Mistake(f"{what} forgot the scale: the data end of the path is x1 = scale · encode(images), the latents "
                      "with unit spread.")  # fmt: skip
    if name == "divided":
        raise Mistake(f"{what} divided the latents by the scale; multiply: x1 = scale · encode(images).")
    if name == "swapped":
        raise Mistake(f"{what} mixed the path the other way round: x_t = (1 − t)·x0 + t·x1 starts at the noise x0 "
                      "(t = 0) and ends at the data x1 (t = 1).")  # fmt: skip
    # x0 as the learner drew it, recovered from the path point; then the loss as the answer key computes it.
    x1 = scale * latents
    x0 = (x_t - s * x1) / (1 - s).clamp_min(1e-6)
    with torch.no_grad():
        squared = (net.mix(x_t) * (1 + s) - (x1 - x0)).pow(2)
        v = net.mix(x_t) * (1 + s)
    got = float(loss.detach())
    if not math.isfinite(got):
        raise Mistake(f"{what} returned a loss that is not finite.")
    right = {"mean": float(squared.mean()), "sum": float(squared.sum()),
             "per_example": float(squared.flatten(1).sum(1).mean())}  # fmt: skip
    if any(math.isclose(got, r, rel_tol=2e-3) for r in right.values()):
        return (
            "x1 = scale · encode(images) (frozen), x_t = (1 − t) x0 + t x1, loss = ‖v(x_t, t) − (x1 − x0)‖²."
        )
    wrong = {
        "reversed": float((v - (x0 - x1)).pow(2).mean()),
        "data": float((v - x1).pow(2).mean()),
        "noise": float((v - x0).pow(2).mean()),
    }
    advice = {
        "reversed": "the target is reversed: the path runs from the noise to the data, so its velocity is x1 − x0",
        "data": "the target is the velocity x1 − x0, not the data x1",
        "noise": "the target is the velocity x1 − x0, not the noise x0 (that is a diffusion model's ε target)",
    }
    for key, target in wrong.items():
        if math.isclose(got, target, rel_tol=2e-3):
            raise Mistake(f"{what}: {advice[key]}.")
    raise Mistake(f"{what} returned {got:.4g}; expected the mean squared error between v(x_t, t) and x1 − x0, "
                  f"{right['mean']:.4g}.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# 11.4 generate
# ----------------------------------------------------------------------------------------------------------------

LATENT_SHAPE = (2, 7, 7)


class _Decoder:
    """A stand-in decoder: latents N×2×7×7 → images N×1×28×28, recording what it was given."""

    def __init__(self) -> None:
        self.calls = []

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or tuple(z.shape[1:]) != LATENT_SHAPE:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"decode takes latents N×2×7×7, got {got}")
        self.calls.append(z.detach().clone())
        return torch.sigmoid(F.interpolate(z[:, :1], scale_factor=4))


class _Field(_Velocity):
    """A velocity field of latents that depends on x and t: v = mix(x)·(1 + t) − x."""

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return super().forward(x, t) - x


def _reference_path(field: nn.Module, noise: torch.Tensor, steps: int, reverse: bool = False, dt=None):
    x = noise
    dt = (1.0 / steps) if dt is None else dt
    with torch.no_grad():
        for i in range(steps):
            tau = 1 - i / steps if reverse else i / steps
            x = x + (-dt if reverse else dt) * nn.Module.__call__(field, x, torch.full((len(x),), tau))
    return x


@exercise("11.4", "generate", points=2)
def generate(fn) -> str:
    """Check ``generate(velocity_net, decode, scale, n, latent_shape, steps, generator)`` against the answer key,
    with a stand-in field and decoder: the same noise (from ``generator``), Euler steps, ÷ scale, decode."""
    n, steps, scale = 6, 4, 0.25
    field = _Field()
    torch.manual_seed(5)
    nn.init.normal_(field.mix.weight, std=0.3)
    what = f"generate(velocity_net, decode, scale={scale}, n={n}, latent_shape={LATENT_SHAPE}, steps={steps}, generator)"
    decoder = _Decoder()
    try:
        out = call(
            fn, field, decoder, scale, n, LATENT_SHAPE, steps, torch.Generator().manual_seed(7), what=what
        )
    except Mistake as mistake:
        if "latents' shape" in str(mistake):
            raise Mistake(f"{mistake} The noise has the LATENTS' shape, n × latent_shape, not the images'; the flow "
                          "runs in the latent space and only the decoder makes images.") from None  # fmt: skip
        if "decode takes latents" in str(mistake):
            raise Mistake(
                f"{mistake} Decode the latents the flow ends at, N×{'×'.join(map(str, LATENT_SHAPE))}."
            ) from None
        raise
    noise = torch.randn(n, *LATENT_SHAPE, generator=torch.Generator().manual_seed(7))
    end = _reference_path(field, noise, steps)
    expected = torch.sigmoid(F.interpolate((end / scale)[:, :1], scale_factor=4))
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (n, *LATENT_SHAPE):
        raise Mistake(
            f"{what} returned latents; decode them (after dividing by the scale) and return the images."
        )
    expect_tensor(out, what, shape=(n, 1, 28, 28))
    if not decoder.calls:
        raise Mistake(f"{what} never called decode: the images come from the decoder.")
    if close(out, expected):
        again = call(fn, field, _Decoder(), scale, n, LATENT_SHAPE, steps, torch.Generator().manual_seed(7),
                     what=what)  # fmt: skip
        if not close(again, out):
            raise Mistake(f"{what} gave different images for the same generator: draw the noise from it, "
                          "torch.randn(n, *latent_shape, generator=generator).")  # fmt: skip
        return "noise of the latents' shape → Euler steps → ÷ scale → decode: images from the latent flow."
    decoded = decoder.calls[-1]
    if close(decoded, end):
        raise Mistake(f"{what} decoded the scaled latents: the flow was trained on scale · z, so divide by the scale "
                      "before decoding, decode(x / scale).")  # fmt: skip
    if close(decoded, end * scale):
        raise Mistake(f"{what} multiplied by the scale before decoding; undo it instead: decode(x / scale).")
    variants = {
        "reversed": _reference_path(field, noise, steps, reverse=True) / scale,
        "no_length": _reference_path(field, noise, steps, dt=1.0) / scale,
    }
    advice = {
        "reversed": "the flow runs from the noise at t = 0 to the data at t = 1: start at t = 0 and step forward",
        "no_length": "each Euler step moves by v(x, t) · Δt with Δt = 1 / steps",
    }
    hint = match_variants(decoded, variants, advice, close)
    if hint:
        raise Mistake(f"{what}: {hint}.")
    same_seed = _Decoder()
    call(fn, field, same_seed, scale, n, LATENT_SHAPE, steps, torch.Generator().manual_seed(7), what=what)
    if not close(same_seed.calls[-1], decoded):
        raise Mistake(f"{what} gave different images for the same generator: draw the noise from it, "
                      "torch.randn(n, *latent_shape, generator=generator).")  # fmt: skip
    raise Mistake(f"{what}: not the images expected from noise → {steps} Euler steps of Δt = 1/{steps} from t = 0 → "
                  "÷ scale → decode.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# 11.2 reconstruction_floor
# ----------------------------------------------------------------------------------------------------------------


@exercise("11.2", "reconstruction_floor", points=1)
def reconstruction_floor(fn) -> str:
    """Check ``reconstruction_floor(reconstruct, images, reference_features, features, distance)`` =
    distance(features(reconstruct(images)), reference_features), with stand-ins defined here (the learner's code
    calls them: they are the checker's spies, not the answer key)."""

    def features(
        images: torch.Tensor,
    ) -> torch.Tensor:  # stand-in judge features: 4×4 average pooling, 49 numbers
        return F.avg_pool2d(images, 4).flatten(1)

    def blur(images: torch.Tensor) -> torch.Tensor:  # a stand-in autoencoder that loses detail
        return F.avg_pool2d(images, 3, stride=1, padding=1)

    def distance(a: torch.Tensor, b: torch.Tensor) -> float:  # lesson 08's Fréchet distance
        return frechet_distance(a, b)

    gen = torch.Generator().manual_seed(3)
    images = (torch.rand(300, 1, 28, 28, generator=gen) > 0.6).float()
    reference = features((torch.rand(300, 1, 28, 28, generator=gen) > 0.6).float())
    what = "reconstruction_floor(reconstruct, images, reference_features, features, distance)"
    given = images.clone()
    out = call(fn, blur, given, reference.clone(), features, distance, what=what)
    _unchanged(images, given, "images", what)
    value = _as_number(out, what)
    right = frechet_distance(features(blur(images)), reference)
    if math.isclose(value, right, rel_tol=1e-3, abs_tol=1e-4):
        return "the decoder's floor: the Fréchet distance of the reconstructions to the reference images."
    wrong = {
        "real": frechet_distance(features(images), reference),
        "own_inputs": frechet_distance(features(blur(images)), features(images)),
        "pixels": float((blur(images) - images).pow(2).flatten(1).sum(1).mean()),
        "pixels_mean": float((blur(images) - images).pow(2).mean()),
    }
    advice = {
        "real": "that is the distance of the original images: the data's own floor. Reconstruct them first; the "
        "decoder's floor is about what it gives back",
        "own_inputs": "the reconstructions were compared with their own inputs; compare them with the reference "
        "images' features, as every generated sample is",
        "pixels": "that is the reconstruction error in pixels; the floor is a Fréchet distance in the judge's "
        "features, the same measure the generated samples get",
        "pixels_mean": "that is the reconstruction error in pixels; the floor is a Fréchet distance in the judge's "
        "features, the same measure the generated samples get",
    }
    for key, target in wrong.items():
        if math.isclose(value, target, rel_tol=1e-3, abs_tol=1e-4):
            raise Mistake(f"{what} returned {value:.4g}: {advice[key]}.")
    raise Mistake(f"{what} returned {value:.4g}; expected distance(features(reconstruct(images)), reference_features), "
                  f"{right:.4g}.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# 11.5 choose_latent_channels
# ----------------------------------------------------------------------------------------------------------------

# A made-up curve in no particular order: small latents are capped by their decoder (a high floor), large ones are
# harder for the flow to model in the same budget.
LATENT_CURVE = [
    {"channels": 8, "floor": 6.0, "frechet": 30.0},
    {"channels": 1, "floor": 48.0, "frechet": 60.0},
    {"channels": 4, "floor": 9.0, "frechet": 28.0},
    {"channels": 16, "floor": 4.0, "frechet": 45.0},
    {"channels": 2, "floor": 22.0, "frechet": 35.0},
]


@exercise("11.5", "choose_latent_channels", points=2)
def choose_latent_channels(fn) -> str:
    """Check ``choose_latent_channels(curve, tolerance)`` on a made-up curve (rows not sorted)."""
    cases = [(0.1, 4), (0.3, 2), (0.25, 2), (0.0, 4), (1.5, 1)]  # 1.25 × 28 = 35: the bound itself qualifies
    for tolerance, expected in cases:
        curve = [dict(row) for row in LATENT_CURVE]
        what = f"choose_latent_channels(curve, tolerance={tolerance})"
        out = call(fn, curve, tolerance, what=what)
        if curve != LATENT_CURVE:
            raise Mistake(
                f"{what} changed the curve's rows (or their order); read them without changing them."
            )
        if isinstance(out, dict):
            raise Mistake(f"{what} returned a whole row; return its size, row['channels'].")
        if isinstance(out, (int, float)) and not isinstance(out, bool) and float(out) == expected:
            continue
        bound = (1 + tolerance) * min(r["frechet"] for r in LATENT_CURVE)
        qualifying = [r for r in LATENT_CURVE if r["frechet"] <= bound]
        lowest_floor = min(LATENT_CURVE, key=lambda r: r["floor"])["channels"]
        smallest = min(r["channels"] for r in LATENT_CURVE)
        hints = {
            lowest_floor: "the lowest reconstruction floor belongs to the largest latent, but the latent model's "
            "distance is what the samples get: read the 'frechet' column",
            smallest: "the smallest latent overall ignores quality: keep only the rows within the tolerance of the "
            "best distance first",
            qualifying[0][
                "channels"
            ]: "the first row that qualifies need not be the smallest latent (the rows are "
            "not sorted): take the smallest 'channels' among those that qualify",
        }
        strict = [r for r in LATENT_CURVE if r["frechet"] < bound]
        hints.setdefault(min(r["channels"] for r in strict),
                         "a row exactly at (1 + tolerance) × best qualifies too: use ≤, not <")  # fmt: skip
        hints.setdefault(min(LATENT_CURVE, key=lambda r: r["frechet"])["channels"],
                         "that latent has the best distance, but a smaller one is within the tolerance of it: the "
                         "bound is (1 + tolerance) × best (the tolerance is a share of the best, not an amount added "
                         "to it), and among the rows under it take the smallest latent")  # fmt: skip
        number = isinstance(out, (int, float)) and not isinstance(out, bool)
        advice = hints.get(out) if number else None
        if advice is None and isinstance(out, int) and 0 <= out < len(LATENT_CURVE) and \
                LATENT_CURVE[out]["channels"] == expected:  # fmt: skip
            advice = "you returned the row's position; return its size, curve[i]['channels']"
        raise Mistake(f"{what} returned {out!r}; expected {expected}. {advice or ''}".rstrip() + ".")
    return "the smallest latent whose samples are within the tolerance of the best: size only where it pays."
