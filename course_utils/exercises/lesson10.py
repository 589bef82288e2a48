"""Checkers for lesson 10 (guidance, and one view of diffusion and flows).

10.1 ``from_epsilon(eps_hat, x_t, alpha_bar)``           ε̂ → {"x0", "v", "score"}
10.2 ``diffusion_to_flow(eps_hat, x_t, alpha_bar)``      → (x_τ, τ, velocity): the same point on lesson 09's flow
10.3 ``euler_step(velocity_fn, x, tau, tau_next)``       x + (τ_next − τ) · v(x, τ)
10.4 ``drop_labels(labels, p_uncond, null_label)``       each label → "no label" with probability p, on its own
10.5 ``guided_prediction(conditional, unconditional, w)`` (1 + w) · conditional − w · unconditional
10.6 ``choose_guidance_scale(curve, min_accuracy)``     the most recall among the rows accurate enough

The mistakes they name: the variance 1 − ᾱ where its root belongs, the score's sign, x̂0 not divided by √ᾱ, v's
terms swapped or its sign reversed; τ taken as ᾱ or √ᾱ or with noise and data swapped, x_t not rescaled, the
velocity reversed or missing the noise; the velocity read at the end of the step, the step taken backwards or
without its length, a float time where one per point is needed, the input changed in place; labels set to 0
(a real class) instead of "no label", the whole batch dropped at once, p read as the share kept, the labels changed
in place; the other convention of the guidance scale (s · cond + (1 − s) · uncond), the two predictions swapped,
the sign of the extrapolation; the most accurate row, the most recall regardless of accuracy, the first row that
is accurate enough, a strict inequality, the row returned instead of its w, and no answer when nothing qualifies.
"""

from __future__ import annotations

import math
from typing import Dict

import torch

from ..models import guidance
from .core import Mistake, call, close, exercise, expect_tensor, match_variants

# Three examples at three noise levels, one ᾱ per example (N×1, to broadcast over each example's coordinates).
ALPHA_BAR = torch.tensor([[0.9], [0.5], [0.1]])


def _cases():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(3, 2, generator=gen), torch.randn(3, 2, generator=gen)


def _unchanged(before: torch.Tensor, after: torch.Tensor, name: str, what: str) -> None:
    if not torch.equal(before, after):
        raise Mistake(f"{what} changed {name} in place (e.g. {name} += ...); compute a new tensor instead.")


# ----------------------------------------------------------------------------------------------------------------
# 10.1 from_epsilon
# ----------------------------------------------------------------------------------------------------------------

FROM_EPSILON_ADVICE = {
    "x0": {
        "variance": "x̂0 uses the noise's standard deviation √(1 − ᾱ), not its variance 1 − ᾱ: x̂0 = (x_t − √(1 − ᾱ) ε̂) / √ᾱ",
        "not_divided": "x_t = √ᾱ x0 + √(1 − ᾱ) ε, so after removing the noise divide by √ᾱ: x̂0 = (x_t − √(1 − ᾱ) ε̂) / √ᾱ",
        "divided_by_alpha_bar": "divide by √ᾱ, not by ᾱ: x̂0 = (x_t − √(1 − ᾱ) ε̂) / √ᾱ",
    },
    "v": {
        "v_swapped": "v = √ᾱ ε − √(1 − ᾱ) x0 (Salimans & Ho): ε takes √ᾱ and x0 takes √(1 − ᾱ); you swapped them",
        "v_sign": "v = √ᾱ ε − √(1 − ᾱ) x0; yours has the opposite sign",
    },
    "score": {
        "score_variance": "the score is −ε̂ / √(1 − ᾱ): divide by the noise's standard deviation, not its variance",
        "score_sign": "the score points towards more likely x, against the noise: −ε̂ / √(1 − ᾱ), with a minus",
        "score_no_divide": "the score is −ε̂ / √(1 − ᾱ); −ε̂ alone is off by the noise's standard deviation",
    },
}


def _from_epsilon_variants(eps, x_t, ab) -> Dict[str, Dict[str, torch.Tensor]]:
    a, b = ab.sqrt(), (1 - ab).sqrt()
    x0 = (x_t - b * eps) / a
    return {
        "x0": {
            "variance": (x_t - (1 - ab) * eps) / a,
            "not_divided": x_t - b * eps,
            "divided_by_alpha_bar": (x_t - b * eps) / ab,
        },  # fmt: skip
        "v": {"v_swapped": b * eps - a * x0, "v_sign": b * x0 - a * eps},
        "score": {"score_variance": -eps / (1 - ab), "score_sign": eps / b, "score_no_divide": -eps},
    }


@exercise("10.1", "from_epsilon", points=2)
def from_epsilon(fn) -> str:
    """Check ``from_epsilon(eps_hat, x_t, alpha_bar)`` returns x̂0, v̂ and the score, keyed "x0", "v", "score"."""
    eps, x_t = _cases()
    what = "from_epsilon(eps_hat, x_t, alpha_bar)"
    inputs = (eps.clone(), x_t.clone(), ALPHA_BAR.clone())
    out = call(fn, *inputs, what=what)
    _unchanged(eps, inputs[0], "eps_hat", what)
    _unchanged(x_t, inputs[1], "x_t", what)
    if not isinstance(out, dict) or not {"x0", "v", "score"} <= set(out):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise Mistake(f'{what} should return a dict with the keys "x0", "v" and "score"; got {got}.')
    right = guidance.from_epsilon(eps.double(), x_t.double(), ALPHA_BAR.double())
    variants = _from_epsilon_variants(eps.double(), x_t.double(), ALPHA_BAR.double())
    for key in ("x0", "v", "score"):
        value = expect_tensor(out[key], f'{what}["{key}"]', shape=tuple(x_t.shape))
        if close(value, right[key]):
            continue
        advice = match_variants(value, variants[key], FROM_EPSILON_ADVICE[key], close)
        if key == "v" and advice is None and not close(out["x0"], right["x0"]):
            advice = "v is built from x̂0, which is not right yet: fix x̂0 first"
        raise Mistake(f'{what}["{key}"]: {advice or "not right yet"}.')
    return "x̂0 = (x_t − √(1 − ᾱ) ε̂) / √ᾱ, v̂ = √ᾱ ε̂ − √(1 − ᾱ) x̂0, score = −ε̂ / √(1 − ᾱ)."


# ----------------------------------------------------------------------------------------------------------------
# 10.2 diffusion_to_flow
# ----------------------------------------------------------------------------------------------------------------

TAU_ADVICE = {
    "alpha_bar": "τ is not ᾱ: the flow's point τ x1 + (1 − τ) x0 has its data and noise shares adding up to 1, so "
    "τ = √ᾱ / (√ᾱ + √(1 − ᾱ))",
    "root_alpha_bar": "τ is not √ᾱ: √ᾱ and √(1 − ᾱ) add up to more than 1. Divide by their sum: "
    "τ = √ᾱ / (√ᾱ + √(1 − ᾱ))",
    "reversed": "τ runs from the noise (τ = 0) to the data (τ = 1): it is the data's share, √ᾱ / (√ᾱ + √(1 − ᾱ)), "
    "not the noise's",
}
X_TAU_ADVICE = {
    "not_scaled": "x_τ is x_t divided by √ᾱ + √(1 − ᾱ), so that its data and noise shares add up to 1",
    "times_sum": "divide x_t by √ᾱ + √(1 − ᾱ), do not multiply",
}
VELOCITY_ADVICE = {
    "reversed": "the flow runs from the noise to the data: the velocity is x̂0 − ε̂ (data minus noise)",
    "only_x0": "the velocity of the straight path is x̂0 − ε̂ (where it ends minus where it started), not x̂0",
    "from_x_t": "the velocity is x̂0 − ε̂ with x̂0 = (x_t − √(1 − ᾱ) ε̂) / √ᾱ; yours looks like x_t − ε̂",
}


@exercise("10.2", "diffusion_to_flow", points=2)
def diffusion_to_flow(fn) -> str:
    """Check ``diffusion_to_flow(eps_hat, x_t, alpha_bar)`` = (x_t / (a + b), a / (a + b), x̂0 − ε̂)."""
    eps, x_t = _cases()
    what = "diffusion_to_flow(eps_hat, x_t, alpha_bar)"
    inputs = (eps.clone(), x_t.clone(), ALPHA_BAR.clone())
    out = call(fn, *inputs, what=what)
    _unchanged(eps, inputs[0], "eps_hat", what)
    _unchanged(x_t, inputs[1], "x_t", what)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise Mistake(f"{what} should return three things: (x_tau, tau, velocity).")
    x_tau, tau, velocity = out
    ab = ALPHA_BAR.double()
    a, b = ab.sqrt(), (1 - ab).sqrt()
    x0 = (x_t.double() - b * eps.double()) / a
    if not isinstance(tau, torch.Tensor):
        raise Mistake(
            f"{what}: tau should be a tensor, one τ per example like alpha_bar; got {type(tau).__name__}."
        )
    if tau.numel() != ab.numel():
        raise Mistake(
            f"{what}: tau should hold one τ per example (shape {tuple(ab.shape)}); got {tuple(tau.shape)}."
        )
    tau = tau.double().reshape(ab.shape)
    if not close(tau, a / (a + b)):
        advice = match_variants(
            tau, {"alpha_bar": ab, "root_alpha_bar": a, "reversed": b / (a + b)}, TAU_ADVICE, close
        )
        raise Mistake(f"{what}: {advice or 'τ should be √ᾱ / (√ᾱ + √(1 − ᾱ))'}.")
    expect_tensor(x_tau, f"{what}'s x_tau", shape=tuple(x_t.shape))
    if not close(x_tau, x_t.double() / (a + b)):
        advice = match_variants(
            x_tau, {"not_scaled": x_t, "times_sum": x_t.double() * (a + b)}, X_TAU_ADVICE, close
        )
        raise Mistake(f"{what}: {advice or 'x_tau should be x_t / (√ᾱ + √(1 − ᾱ))'}.")
    expect_tensor(velocity, f"{what}'s velocity", shape=tuple(x_t.shape))
    if not close(velocity, x0 - eps.double()):
        variants = {"reversed": eps.double() - x0, "only_x0": x0, "from_x_t": x_t.double() - eps.double()}
        advice = match_variants(velocity, variants, VELOCITY_ADVICE, close)
        raise Mistake(f"{what}: {advice or 'the velocity should be x̂0 − ε̂'}.")
    return (
        "x_τ = x_t / (√ᾱ + √(1 − ᾱ)), τ = √ᾱ / (√ᾱ + √(1 − ᾱ)), velocity x̂0 − ε̂: a diffusion model is a flow."
    )


# ----------------------------------------------------------------------------------------------------------------
# 10.3 euler_step
# ----------------------------------------------------------------------------------------------------------------


class _Field:
    """A velocity field that depends on x and τ, and insists on one time per point (like the course's networks)."""

    def __init__(self) -> None:
        self.calls = []

    def __call__(self, x, tau):
        if not isinstance(tau, torch.Tensor) or tau.shape != (len(x),):
            got = tuple(tau.shape) if isinstance(tau, torch.Tensor) else type(tau).__name__
            raise ValueError(
                f"velocity_fn needs one time per point: a tensor of shape ({len(x)},), got {got}"
            )
        self.calls.append(float(tau[0]))
        return torch.sin(x) + tau[:, None] * x.flip(1)


@exercise("10.3", "euler_step", points=1)
def euler_step(fn) -> str:
    """Check ``euler_step(velocity_fn, x, tau, tau_next)`` = x + (τ_next − τ) · velocity_fn(x, τ)."""
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(2))
    tau, tau_next = 0.25, 0.4
    what = f"euler_step(velocity_fn, x, {tau}, {tau_next})"
    field = _Field()
    x_in = x.clone()
    try:
        out = call(fn, field, x_in, tau, tau_next, what=what)
    except Mistake as mistake:
        if "one time per point" in str(mistake):
            raise Mistake(f"{what}: velocity_fn needs one time per point (a tensor of shape (N,)), not the number "
                          "tau: make it with torch.full((len(x),), tau).") from None  # fmt: skip
        raise
    _unchanged(x, x_in, "x", what)
    expect_tensor(out, what, shape=tuple(x.shape))
    probe = _Field()
    at_tau = probe(x, torch.full((4,), tau))
    at_next = probe(x, torch.full((4,), tau_next))
    dt = tau_next - tau
    if close(out, x + dt * at_tau):
        return "x + (τ_next − τ) · v(x, τ): the velocity read where the step starts."
    variants = {"at_end": x + dt * at_next, "backwards": x - dt * at_tau, "no_length": x + at_tau,
                "velocity_only": dt * at_tau}  # fmt: skip
    advice = {
        "at_end": "the velocity was read at τ_next; Euler's method reads it where the step starts, v(x, τ)",
        "backwards": "the step went backwards: from τ to τ_next > τ move by +(τ_next − τ) · v",
        "no_length": "multiply the velocity by the step's length τ_next − τ",
        "velocity_only": "return the new point x + (τ_next − τ) · v(x, τ), not only the change",
    }
    raise Mistake(
        f"{what}: {match_variants(out, variants, advice, close) or 'expected x + (τ_next − τ) · v(x, τ)'}."
    )


# ----------------------------------------------------------------------------------------------------------------
# 10.4 drop_labels
# ----------------------------------------------------------------------------------------------------------------


@exercise("10.4", "drop_labels", points=2)
def drop_labels(fn) -> str:
    """Check ``drop_labels(labels, p_uncond, null_label)``: each label → null with probability p, independently."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return _check_drop_labels(fn)


def _check_drop_labels(fn) -> str:
    labels = torch.arange(10).repeat(2000)  # 20,000 labels, every class
    null = 10
    for p in (0.0, 1.0, 0.2):
        what = f"drop_labels(labels, p_uncond={p}, null_label={null})"
        given = labels.clone()
        out = call(fn, given, p, null, what=what)
        _unchanged(labels, given, "labels", what)
        expect_tensor(out, what, shape=tuple(labels.shape))
        if out.is_floating_point() or out.dtype == torch.bool:
            raise Mistake(f"{what} returned {out.dtype}; return the labels themselves (int64), with some of them "
                          f"replaced by {null}, not a mask.")  # fmt: skip
        changed = out != labels
        if bool((out[changed] == 0).all()) and bool(changed.any()):
            raise Mistake(f"{what} set dropped labels to 0, which is a real class (T-shirt/top): the model would "
                          f"learn that class's images as 'no label'. Use null_label ({null}), the extra index.")  # fmt: skip
        if bool(changed.any()) and not bool((out[changed] == null).all()):
            raise Mistake(f"{what} changed labels to values other than null_label ({null}).")
        share = float(changed.float().mean())
        if p == 0.0 and share == 1.0:
            raise Mistake(f"{what} dropped every label: p_uncond is the share DROPPED, so with p_uncond = 0 keep "
                          "them all.")  # fmt: skip
        if p == 0.0 and share > 0:
            raise Mistake(f"{what} dropped {share:.1%} of the labels; with p_uncond = 0 none may go.")
        if p == 1.0 and share < 1:
            raise Mistake(f"{what} kept {1 - share:.1%} of the labels; with p_uncond = 1 all go.")
        if p == 0.2:
            if math.isclose(share, 0.8, abs_tol=0.02):
                raise Mistake(f"{what} dropped {share:.0%} of the labels: p_uncond is the share DROPPED, so keep "
                              "each label with probability 1 − p.")  # fmt: skip
            if share in (0.0, 1.0):
                raise Mistake(f"{what} dropped {'all' if share else 'none'} of the labels in one call: decide for "
                              "each label on its own (one random number per label), not once for the batch.")  # fmt: skip
            if not math.isclose(share, 0.2, abs_tol=0.015):
                raise Mistake(f"{what} dropped {share:.1%} of 20,000 labels; expected about 20%.")
            per_class = torch.stack([changed[labels == c].float().mean() for c in range(10)])
            if float(per_class.max() - per_class.min()) > 0.1:
                raise Mistake(f"{what} dropped some classes far more often than others; every label should have the "
                              "same chance p.")  # fmt: skip
    return "each label, on its own, becomes 'no label' with probability p_uncond; a new tensor."


# ----------------------------------------------------------------------------------------------------------------
# 10.5 guided_prediction
# ----------------------------------------------------------------------------------------------------------------


@exercise("10.5", "guided_prediction", points=1)
def guided_prediction(fn) -> str:
    """Check ``guided_prediction(conditional, unconditional, w)`` = (1 + w) · conditional − w · unconditional."""
    gen = torch.Generator().manual_seed(3)
    cond, uncond = torch.randn(3, 2, generator=gen), torch.randn(3, 2, generator=gen)
    for w in (2.0, 0.0, 0.5):  # at w = 2 every mistake below gives its own number
        what = f"guided_prediction(conditional, unconditional, w={w})"
        c, u = cond.clone(), uncond.clone()
        out = call(fn, c, u, w, what=what)
        _unchanged(cond, c, "conditional", what)
        _unchanged(uncond, u, "unconditional", what)
        expect_tensor(out, what, shape=tuple(cond.shape))
        if close(out, (1 + w) * cond - w * uncond):
            continue
        variants = {"other_convention": w * cond + (1 - w) * uncond, "swapped": (1 + w) * uncond - w * cond,
                    "plus": (1 + w) * cond + w * uncond, "no_one": w * cond - w * uncond,
                    "added": cond + w * uncond}  # fmt: skip
        advice = {
            "other_convention": "that is the other convention, s · cond + (1 − s) · uncond with s = 1 + w; in this "
            "lesson (Ho & Salimans' w) w = 0 means no guidance: (1 + w) · conditional − w · unconditional",
            "swapped": "conditional and unconditional are swapped: go past the conditional prediction, away from "
            "the unconditional one",
            "plus": "subtract the unconditional prediction: (1 + w) · conditional − w · unconditional",
            "no_one": "the conditional prediction takes 1 + w, not w: at w = 0 the result is the conditional model",
            "added": "the guided prediction is conditional + w · (conditional − unconditional)",
        }
        raise Mistake(
            f"{what}: {match_variants(out, variants, advice, close) or 'expected (1 + w) · conditional − w · unconditional'}."
        )
    return "(1 + w) · conditional − w · unconditional: w = 0 is the conditional model, w > 0 goes past it."


# ----------------------------------------------------------------------------------------------------------------
# 10.6 choose_guidance_scale
# ----------------------------------------------------------------------------------------------------------------

# A made-up curve, not monotone in recall, so that "the first w accurate enough" and "the best recall" differ.
CURVE = [
    {"w": 0.0, "accuracy": 0.86, "recall": 0.62},
    {"w": 0.5, "accuracy": 0.93, "recall": 0.50},
    {"w": 1.0, "accuracy": 0.95, "recall": 0.41},
    {"w": 1.5, "accuracy": 0.96, "recall": 0.44},
    {"w": 2.0, "accuracy": 0.98, "recall": 0.30},
    {"w": 4.0, "accuracy": 0.99, "recall": 0.15},
]


@exercise("10.6", "choose_guidance_scale", points=2)
def choose_guidance_scale(fn) -> str:
    """Check ``choose_guidance_scale(curve, min_accuracy)`` on a made-up curve and at its edges."""
    cases = [(0.95, 1.5), (0.93, 0.5), (0.98, 2.0), (0.995, None), (0.5, 0.0)]
    for min_accuracy, expected in cases:
        curve = [dict(row) for row in CURVE]
        what = f"choose_guidance_scale(curve, min_accuracy={min_accuracy})"
        try:
            out = call(fn, curve, min_accuracy, what=what)
        except Mistake as mistake:
            if expected is None:
                raise Mistake(f"{mistake} No row reaches {min_accuracy:.1%} accuracy here: check for that and return "
                              "None.") from None  # fmt: skip
            raise
        if curve != CURVE:
            raise Mistake(
                f"{what} changed the curve's rows (or their order); read them without changing them."
            )
        if isinstance(out, dict):
            raise Mistake(f"{what} returned a whole row; return its scale, row['w'].")
        if expected is None:
            if out is not None:
                raise Mistake(f"{what} returned {out!r}, but no row reaches {min_accuracy:.1%} accuracy: return None "
                              "so that the caller knows (every w would break the requirement).")  # fmt: skip
            continue
        if out is None or not isinstance(out, (int, float)) or not math.isclose(float(out), expected):
            ok = [r for r in CURVE if r["accuracy"] >= min_accuracy]
            hints = {
                max(CURVE, key=lambda r: r["accuracy"])[
                    "w"
                ]: "the most accurate w gives away the most variety; "
                "among the w that are accurate ENOUGH, take the one with the highest recall",
                max(CURVE, key=lambda r: r["recall"])["w"]: "the highest recall overall ignores the accuracy "
                "required: keep only the rows with accuracy ≥ min_accuracy first",
                ok[0][
                    "w"
                ]: "the smallest w that is accurate enough need not keep the most variety (recall is not "
                "always falling as w grows): compare the recall of every row that qualifies",
            }
            strict = [r for r in CURVE if r["accuracy"] > min_accuracy]
            if strict:
                hints.setdefault(max(strict, key=lambda r: r["recall"])["w"],
                                 "a row whose accuracy equals min_accuracy qualifies too: use ≥, not >")  # fmt: skip
            if (
                isinstance(out, int)
                and not isinstance(out, bool)
                and 0 <= out < len(CURVE)
                and CURVE[out]["w"] == expected
            ):
                advice = "you returned the row's position; return its scale, curve[i]['w']"
            else:
                advice = hints.get(float(out)) if isinstance(out, (int, float)) else None
            raise Mistake(f"{what} returned {out!r}; expected {expected}. {advice or ''}".rstrip() + ".")
    return (
        "among the scales accurate enough, the one that keeps the most variety (recall); None when none is."
    )
