"""Draw the course's diagrams (matplotlib only) into PNG files, one per diagram.

    python assets/make_diagrams.py            # rewrite the PNGs in assets/
    python assets/make_diagrams.py OUT_DIR    # write them somewhere else (the tests do this)

A notebook shows a diagram with ``![what it shows](assets/NAME.png)`` in a markdown cell, which
``python -m course_instructor.notebook_template`` turns into the PNG's bytes embedded in the cell. After changing a
diagram, run this script, then that command, to embed the new bytes in every notebook that shows it.

The output is deterministic for given matplotlib and Pillow versions: fixed size and DPI, fixed random seeds,
matplotlib's default style, and no date or "Software" entry in the PNG; the two versions are written into a
"Comment" entry instead, so a test can tell a changed drawing from a changed library. Colours are the course's colour-blind-safe palette
(Okabe & Ito) from ``course_utils.plots``, and every colour also comes with a shape, a line style or a label.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import PIL  # noqa: E402
from matplotlib.patches import Circle, Ellipse, FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle  # noqa: E402
from PIL import Image  # noqa: E402
from PIL.PngImagePlugin import PngInfo  # noqa: E402

from course_utils.plots import LINE_COLORS  # noqa: E402

DPI = 100  # a figure 8.8 inches wide is 880 pixels: the width a notebook shows without scaling
FONT = 14  # points; at 100 DPI about 19 pixels tall, readable at the size a notebook shows
SMALL = 12
BLUE, ORANGE, GREEN, VERMILLION, PURPLE = (LINE_COLORS[i] for i in (0, 1, 2, 3, 4))
INK = "#222222"
GRADIENT = VERMILLION

Point = Tuple[float, float]


def tint(color: str, amount: float = 0.75) -> Tuple[float, float, float]:
    """The colour mixed with white (amount = share of white): a light fill that black text stays readable on."""
    rgb = np.array(matplotlib.colors.to_rgb(color))
    return tuple(rgb + (1.0 - rgb) * amount)


def canvas(width: float, height: float):
    """A figure of width × height inches whose one axes uses inches as data units (so circles stay round)."""
    fig = plt.figure(figsize=(width, height), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def box(ax, center: Point, size: Point, text: str, color: str, fontsize: float = FONT, **text_kw) -> None:
    """A rounded box with a light fill in ``color``, a border in ``color`` and centred text."""
    (x, y), (w, h) = center, size
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.12",
            facecolor=tint(color), edgecolor=color, linewidth=2.2,
        )
    )  # fmt: skip
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=INK, **text_kw)


def node(
    ax, center: Point, radius: float, text: str, color: str, filled: bool = False, fontsize=FONT
) -> None:
    """A circle: a random variable. ``filled`` (darker fill) marks an observed one, as in graphical models."""
    face = tint(color, 0.35) if filled else "white"
    ax.add_patch(Circle(center, radius, facecolor=face, edgecolor=color, linewidth=2.4))
    ax.text(*center, text, ha="center", va="center", fontsize=fontsize, color=INK)


def arrow(
    ax,
    start: Point,
    end: Point,
    color: str = INK,
    dashed: bool = False,
    width: float = 2.0,
    bend: float = 0.0,
    head: float = 18,
) -> None:
    """An arrow from ``start`` to ``end``; ``bend`` curves it (the arc's rad), ``dashed`` for inference/gradients."""
    ax.add_patch(
        FancyArrowPatch(
            start, end, arrowstyle="-|>", mutation_scale=head, linewidth=width, color=color,
            linestyle=(0, (5, 3)) if dashed else "-", connectionstyle=f"arc3,rad={bend}",
            shrinkA=0, shrinkB=0, capstyle="butt", joinstyle="miter",
        )
    )  # fmt: skip


def label(ax, xy: Point, text: str, fontsize: float = SMALL, color: str = INK, **kw) -> None:
    ax.text(*xy, text, fontsize=fontsize, color=color, **kw)


# ------------------------------------------------------------------------------------------------ lesson 01


def _gaussian_log_density(points: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    diff = points - mean
    inv = np.linalg.inv(cov)
    return -0.5 * np.einsum("...i,ij,...j->...", diff, inv, diff) - 0.5 * np.log(np.linalg.det(cov))


def _ellipse(mean, cov, n_std: float, color: str, **kw) -> Ellipse:
    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    w, h = 2 * n_std * np.sqrt(values[::-1])
    return Ellipse(mean, w, h, angle=angle, facecolor="none", edgecolor=color, **kw)


def generative_vs_discriminative():
    """Lesson 01: the same two classes seen by p(y | x) (a boundary) and by p(x | y) (a cloud per class)."""
    rng = np.random.default_rng(0)
    classes = [  # mean, covariance, colour, marker, name
        (np.array([-1.1, 0.35]), np.array([[0.45, 0.22], [0.22, 0.32]]), BLUE, "o", "class A"),
        (np.array([1.15, -0.25]), np.array([[0.28, -0.08], [-0.08, 0.55]]), ORANGE, "^", "class B"),
    ]
    points = [rng.multivariate_normal(m, c, size=45) for m, c, *_ in classes]
    new = [rng.multivariate_normal(m, c, size=5) for m, c, *_ in classes]

    fig, axes = plt.subplots(1, 2, figsize=(8.8, 5.0), dpi=DPI)
    fig.subplots_adjust(left=0.03, right=0.99, bottom=0.24, top=0.83, wspace=0.08)
    lim_x, lim_y = (-3.0, 3.0), (-2.4, 2.4)
    gx, gy = np.meshgrid(np.linspace(*lim_x, 300), np.linspace(*lim_y, 240))
    grid = np.stack([gx, gy], axis=-1)
    log_ratio = _gaussian_log_density(grid, *classes[0][:2]) - _gaussian_log_density(grid, *classes[1][:2])

    for ax in axes:
        ax.set_xlim(*lim_x)
        ax.set_ylim(*lim_y)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("feature $x_1$", fontsize=SMALL)
        ax.set_ylabel("feature $x_2$", fontsize=SMALL)
        ax.set_aspect("equal")

    left, right = axes
    left.contourf(gx, gy, log_ratio, levels=[-1e9, 0, 1e9], colors=[tint(ORANGE, 0.8), tint(BLUE, 0.8)])
    left.contour(gx, gy, log_ratio, levels=[0], colors=[INK], linewidths=2.5)
    for pts, (_, _, color, marker, name) in zip(points, classes):
        left.scatter(*pts.T, s=34, c=color, marker=marker, edgecolors="white", linewidths=0.6, label=name)
    left.set_title("Discriminative: learns p(y | x)\nwhich class, given the features x", fontsize=FONT, pad=8)

    for pts, extra, (mean, cov, color, marker, _) in zip(points, new, classes):
        right.scatter(*pts.T, s=34, c=[tint(color, 0.45)], marker=marker, edgecolors="none")
        for n_std, style in ((1, "-"), (2, "--")):
            right.add_patch(_ellipse(mean, cov, n_std, color, linewidth=2.2, linestyle=style))
        right.scatter(*extra.T, s=150, c=color, marker="*", edgecolors=INK, linewidths=0.9, zorder=3)
    right.set_title("Generative: learns p(x | y)\nwhere each class's examples lie", fontsize=FONT, pad=8)

    def key(ax, handles):  # a legend under each panel
        box_ = ax.get_position()
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(box_.x0, box_.y0 - 0.07), fontsize=SMALL,
                   frameon=False, handletextpad=0.4, labelspacing=0.3)  # fmt: skip

    def mark(**kw):
        return plt.Line2D([], [], **kw)

    key(left, [
        mark(marker="o", linestyle="", color=BLUE, markersize=8, label="class A"),
        mark(marker="^", linestyle="", color=ORANGE, markersize=8, label="class B"),
        mark(color=INK, linewidth=2.5, label="boundary: p(A | x) = p(B | x)"),
    ])  # fmt: skip
    key(right, [
        mark(color="#777777", linewidth=2.2, label="1 standard deviation of a class"),
        mark(color="#777777", linewidth=2.2, linestyle="--", label="2 standard deviations"),
        mark(marker="*", linestyle="", color="#777777", markeredgecolor=INK, markersize=14,
             label="new points sampled from p(x | y)"),
    ])  # fmt: skip
    return fig


# ------------------------------------------------------------------------------------------------ lesson 02


def _tshirt(blur: bool = False) -> np.ndarray:
    """A 28×28 T-shirt silhouette (the reconstruction is a blurred copy: autoencoders smooth details)."""
    img = np.zeros((28, 28))
    img[5:25, 8:20] = 0.85  # body
    img[5:13, 3:8] = 0.75  # left sleeve
    img[5:13, 20:25] = 0.75  # right sleeve
    img[4:6, 11:17] = 0.0  # neckline
    img[5:7, 12:16] = 0.0
    img[9:24, 13] = 0.6  # a seam
    if blur:
        kernel = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
        kernel /= kernel.sum()
        img = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 0, img)
        img = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, img)
    return img


def _image(ax, center: Point, size: float, img: np.ndarray) -> None:
    x, y = center
    extent = (x - size / 2, x + size / 2, y - size / 2, y + size / 2)
    ax.imshow(img, cmap="gray", vmin=0, vmax=1, extent=extent, interpolation="nearest", zorder=2)
    ax.add_patch(Rectangle(extent[::2], size, size, fill=False, edgecolor=INK, linewidth=1.5, zorder=3))


def autoencoder():
    """Lesson 02: image → encoder → a short code (the bottleneck) → decoder → reconstruction, and the loss."""
    fig, ax = canvas(8.8, 4.0)
    mid = 2.35
    _image(ax, (0.85, mid), 1.3, _tshirt())
    label(ax, (0.85, mid + 0.85), "input x", fontsize=FONT, ha="center")
    label(ax, (0.85, mid - 0.8), "28×28 pixels\n= 784 numbers", ha="center", va="top")

    def trapezoid(x0, x1, h0, h1, color, title, sizes):
        corners = [(x0, mid - h0 / 2), (x1, mid - h1 / 2), (x1, mid + h1 / 2), (x0, mid + h0 / 2)]
        ax.add_patch(Polygon(corners, facecolor=tint(color), edgecolor=color, linewidth=2.2))
        ax.text((x0 + x1) / 2, mid + 0.16, title, ha="center", va="center", fontsize=FONT, color=INK)
        ax.text((x0 + x1) / 2, mid - 0.24, sizes, ha="center", va="center", fontsize=SMALL, color=INK)

    trapezoid(1.75, 3.75, 2.3, 0.9, BLUE, "encoder f", "784→512→256→30")
    trapezoid(5.05, 7.05, 0.9, 2.3, ORANGE, "decoder g", "30→256→512→784")
    arrow(ax, (1.52, mid), (1.74, mid), head=14)
    arrow(ax, (7.06, mid), (7.28, mid), head=14)

    # the code: a short column of numbers, the narrowest point
    cells, cell_h, cx = 6, 0.16, 4.4
    top = mid + cells * cell_h / 2
    for i in range(cells):
        ax.add_patch(
            Rectangle((cx - 0.16, top - (i + 1) * cell_h), 0.32, cell_h, facecolor=tint(PURPLE, 0.55),
                      edgecolor=PURPLE, linewidth=1.5)
        )  # fmt: skip
    arrow(ax, (3.76, mid), (4.2, mid), head=14)
    arrow(ax, (4.6, mid), (5.04, mid), head=14)
    label(ax, (cx, top + 0.55), "code z = f(x)", fontsize=FONT, ha="center", va="bottom")
    label(ax, (cx, top + 0.12), "30 numbers", ha="center", va="bottom")
    label(ax, (cx, mid - cells * cell_h / 2 - 0.12), "the\nbottleneck", ha="center", va="top",
          fontweight="bold")  # fmt: skip

    _image(ax, (7.95, mid), 1.3, _tshirt(blur=True))
    label(ax, (7.95, mid + 0.85), "reconstruction $\\hat{x}$", fontsize=FONT, ha="center")
    label(ax, (7.95, mid - 0.8), "$\\hat{x} = g(f(x))$", ha="center", va="top")

    # the loss compares input and reconstruction, pixel by pixel
    y = 0.35
    ax.plot([0.85, 0.85, 7.95, 7.95], [mid - 1.38, y, y, mid - 1.38], color=VERMILLION, linewidth=2,
            linestyle=(0, (5, 3)))  # fmt: skip
    ax.text(4.4, y, "  loss = $\\Vert x - \\hat{x} \\Vert^2$: squared error summed over the 784 pixels  ", ha="center",
            va="center", fontsize=FONT, color=INK, backgroundcolor="white")  # fmt: skip
    return fig


# ------------------------------------------------------------------------------------------------ lesson 03


def vae_graphical_model():
    """Lesson 03: z → x with p(z) and p(x | z); the encoder q(z | x) as a dashed arrow back."""
    fig, ax = canvas(8.8, 4.2)
    z, x, r = (2.3, 3.05), (2.3, 1.05), 0.42
    ax.add_patch(
        FancyBboxPatch((0.35, 0.3), 3.9, 3.6, boxstyle="round,pad=0,rounding_size=0.1", facecolor="none",
                       edgecolor="#777777", linewidth=1.5)
    )  # fmt: skip
    label(ax, (4.12, 0.42), "N images", ha="right", va="bottom", color="#555555")
    node(ax, z, r, "$z$", PURPLE, fontsize=20)
    node(ax, x, r, "$x$", GREEN, filled=True, fontsize=20)
    arrow(ax, (z[0], z[1] - r), (x[0], x[1] + r), width=2.4)
    arrow(ax, (x[0] - 0.32, x[1] + 0.28), (z[0] - 0.32, z[1] - 0.28), dashed=True, color=BLUE, bend=-0.45,
          width=2.4)  # fmt: skip
    label(ax, (z[0] + 0.6, z[1] + 0.05), "prior\n$p(z) = \\mathcal{N}(0, I)$", va="center")
    label(ax, (x[0] + 0.22, 2.05), "decoder\n$p_\\theta(x \\mid z)$", va="center")
    label(ax, (0.5, 2.05), "encoder\n$q_\\phi(z \\mid x)$", va="center", color=BLUE)

    tx = 4.75
    rows = [
        (3.55, "white", PURPLE, False, "$z$: the code, never observed"),
        (2.95, None, GREEN, True, "$x$: an image, observed"),
    ]
    for y, _, color, filled, text in rows:
        node(ax, (tx + 0.15, y), 0.14, "", color, filled=filled)
        label(ax, (tx + 0.45, y), text, va="center")
    arrow(ax, (tx - 0.05, 2.35), (tx + 0.35, 2.35), width=2.2, head=14)
    label(ax, (tx + 0.45, 2.35), "generate: draw $z \\sim p(z)$,\nthen $x \\sim p_\\theta(x \\mid z)$",
          va="center")  # fmt: skip
    arrow(ax, (tx - 0.05, 1.45), (tx + 0.35, 1.45), dashed=True, color=BLUE, width=2.2, head=14)
    label(ax, (tx + 0.45, 1.45), "infer: which codes could\nhave made this $x$?", va="center", color=BLUE)
    label(ax, (tx - 0.05, 0.62), "$q_\\phi(z \\mid x)$ approximates the true\nposterior $p_\\theta(z \\mid x)$",
          va="center")  # fmt: skip
    return fig


def gradient(ax, start: Point, end: Point, offset: Tuple[float, float] = (0.2, 0.0)) -> None:
    """The gradient of the loss flowing back along the forward edge start → end: a dashed arrow end → start."""
    (dx, dy) = offset
    arrow(
        ax, (end[0] + dx, end[1] + dy), (start[0] + dx, start[1] + dy), color=GRADIENT, dashed=True, head=13
    )


def _reparam_panel(ax, cx: float, trick: bool) -> None:
    """One column of the reparameterization figure, bottom (image) to top (loss), centred at x = cx."""
    ys = {"x": 0.95, "enc": 1.85, "params": 2.9, "z": 4.05, "dec": 5.2, "loss": 6.1}
    half = 0.25  # half a box's height
    box(ax, (cx, ys["x"]), (1.1, 0.5), "image $x$", GREEN)
    box(ax, (cx, ys["enc"]), (1.9, 0.5), "encoder $\\phi$", BLUE)
    mu, lv = (cx - 0.55, ys["params"]), (cx + 0.55, ys["params"])
    box(ax, mu, (0.8, 0.5), "$\\mu$", BLUE, fontsize=16)
    box(ax, lv, (0.8, 0.5), "$\\log\\sigma^2$", BLUE)
    box(ax, (cx, ys["dec"]), (1.9, 0.5), "decoder $\\theta$", ORANGE)
    box(ax, (cx, ys["loss"]), (1.9, 0.5), "loss", VERMILLION)
    edges = [
        ((cx, ys["x"] + half), (cx, ys["enc"] - half)),
        ((mu[0], ys["enc"] + half), (mu[0], mu[1] - half)),
        ((lv[0], ys["enc"] + half), (lv[0], lv[1] - half)),
        ((cx, ys["dec"] + half), (cx, ys["loss"] - half)),
    ]
    zy = ys["z"]
    if trick:
        z_half = 0.28
        box(ax, (cx, zy), (1.9, 2 * z_half), "$z = \\mu + \\sigma \\odot \\varepsilon$", INK, fontsize=15)
        edges += [
            ((mu[0], mu[1] + half), (mu[0], zy - z_half)),
            ((lv[0], lv[1] + half), (lv[0], zy - z_half)),
            ((cx, zy + z_half), (cx, ys["dec"] - half)),
        ]
        label(ax, (lv[0] + 0.3, (lv[1] + zy) / 2 - 0.04), "$\\sigma = e^{\\frac{1}{2}\\log\\sigma^2}$",
              va="center", fontsize=13)  # fmt: skip
        eps = (cx + 2.0, zy)
        node(ax, eps, 0.48, "$\\varepsilon \\sim$\n$\\mathcal{N}(0, I)$", PURPLE, fontsize=SMALL)
        arrow(ax, (eps[0] - 0.48, zy), (cx + 0.96, zy), head=14)
        label(ax, (eps[0], zy + 0.6), "random, but no\nparameters: needs\nno gradient", ha="center", va="bottom", color=PURPLE)  # fmt: skip
        backward = edges[1:]  # every edge but the one from the image carries a gradient back
    else:
        r = 0.48
        node(ax, (cx, zy), r, "$z \\sim$\n$\\mathcal{N}(\\mu, \\sigma^2)$", PURPLE, fontsize=SMALL)
        draws = [
            ((mu[0], mu[1] + half), (cx - 0.36, zy - 0.33)),
            ((lv[0], lv[1] + half), (cx + 0.36, zy - 0.33)),
        ]
        edges += draws + [((cx, zy + r), (cx, ys["dec"] - half))]
        for (x0, y0), (x1, y1) in draws:  # the gradient stops at the random draw
            ax.text(
                (x0 + x1) / 2,
                (y0 + y1) / 2,
                "✗",
                ha="center",
                va="center",
                fontsize=22,
                color=GRADIENT,
                fontweight="bold",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0},
            )
        label(ax, (cx - 0.95, zy + 0.05), "no gradient\nthrough the\nrandom draw", ha="right", va="center",
              color=GRADIENT)  # fmt: skip
        backward = edges[-1:] + edges[3:4]  # only decoder and loss, above the draw
    for start, end in edges:
        arrow(ax, start, end, head=14)
    for start, end in backward:
        gradient(ax, start, end)


def vae_reparameterization():
    """Lesson 03: z ~ N(μ, σ²) blocks gradients; z = μ + σ·ε lets them reach μ, σ and the encoder."""
    fig, ax = canvas(8.9, 7.3)
    left, right = 2.35, 6.05
    for cx, title, subtitle in (
        (left, "Sampling z directly", "the encoder gets no gradient"),
        (
            right,
            "The reparameterization trick",
            "$\\partial z / \\partial \\mu = 1,\\ \\partial z / \\partial \\sigma = \\varepsilon$"
            ": gradients flow",
        ),
    ):
        ax.text(cx, 7.0, title, ha="center", va="center", fontsize=FONT, fontweight="bold")
        ax.text(cx, 6.62, subtitle, ha="center", va="center", fontsize=SMALL)
    ax.plot([4.2, 4.2], [0.6, 7.15], color="#BBBBBB", linewidth=1.2)
    _reparam_panel(ax, left, trick=False)
    _reparam_panel(ax, right, trick=True)
    # the key, along the bottom
    y = 0.3
    arrow(ax, (1.2, y), (1.7, y), head=14)
    label(ax, (1.8, y), "forward pass", va="center")
    arrow(ax, (4.0, y), (4.5, y), color=GRADIENT, dashed=True, head=13)
    label(ax, (4.6, y), "gradient of the loss (backward pass)", va="center")
    return fig


# ------------------------------------------------------------------------------------------------ lesson 04


def gan_loop():
    """Lesson 04: noise → G → fakes; real data; both → D → P(real); each loss updates one network only."""
    fig, ax = canvas(8.8, 6.0)
    top, bottom, mid = 4.0, 1.8, 2.9
    node(ax, (0.75, top), 0.55, "noise\n$z \\sim \\mathcal{N}(0, I)$", PURPLE, fontsize=SMALL)
    box(ax, (2.55, top), (1.5, 0.8), "generator\nG", ORANGE)
    box(ax, (4.45, top), (1.45, 0.8), "fakes\nG(z)", ORANGE)
    box(ax, (4.45, bottom), (1.45, 0.8), "real\nexamples x", GREEN)
    box(ax, (6.1, mid), (1.6, 1.0), "discriminator\nD", BLUE)
    box(ax, (7.9, mid), (1.45, 1.0), "D(·) =\nP(real)", BLUE)
    arrow(ax, (1.3, top), (1.79, top))
    arrow(ax, (3.31, top), (3.71, top))
    arrow(ax, (5.18, top - 0.2), (5.3, mid + 0.3))
    arrow(ax, (5.18, bottom + 0.2), (5.3, mid - 0.3))
    arrow(ax, (6.91, mid), (7.16, mid))

    # the two losses, and the one network each of them updates
    g_loss, d_loss = (7.3, 5.2), (7.3, 0.6)
    box(ax, g_loss, (2.9, 0.85), 'G\'s loss: −log D(G(z))\n"make D call fakes real"', ORANGE, fontsize=SMALL)
    box(
        ax,
        d_loss,
        (2.9, 0.85),
        "D's loss: real → 1, fakes → 0\nthe two halves' BCEs, averaged",
        BLUE,
        fontsize=SMALL,
    )
    arrow(ax, (7.9, mid + 0.51), (7.9, g_loss[1] - 0.44))
    arrow(ax, (7.9, mid - 0.51), (7.9, d_loss[1] + 0.44))

    def update(start, end, color):  # along the edges: out sideways, then a right angle into the network
        ax.add_patch(
            FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=18, linewidth=2.4, color=color,
                            linestyle=(0, (5, 3)), connectionstyle="angle,angleA=180,angleB=90,rad=0.15",
                            shrinkA=0, shrinkB=0)
        )  # fmt: skip

    update((g_loss[0] - 1.46, g_loss[1]), (2.55, top + 0.41), ORANGE)
    label(ax, (4.05, g_loss[1] + 0.12), "updates G only: the gradient passes\nthrough D, whose weights stay fixed",
          ha="center", va="bottom")  # fmt: skip
    update((d_loss[0] - 1.46, d_loss[1]), (5.55, mid - 0.51), BLUE)
    label(ax, (5.38, d_loss[1]), "updates D only: the fakes go in\ndetached (no gradient reaches G)",
          ha="right", va="center")  # fmt: skip
    return fig


DIAGRAMS: Dict[str, Callable[[], plt.Figure]] = {
    "generative_vs_discriminative.png": generative_vs_discriminative,
    "autoencoder.png": autoencoder,
    "vae_graphical_model.png": vae_graphical_model,
    "vae_reparameterization.png": vae_reparameterization,
    "gan_loop.png": gan_loop,
}


def stamp() -> str:
    """The PNG "Comment" entry: which script and which library versions drew the file (no date)."""
    return (
        f"drawn by assets/make_diagrams.py with matplotlib {matplotlib.__version__}, Pillow {PIL.__version__}"
    )


def save(fig, path: Path) -> None:
    """Write a figure as an RGB PNG with no date or software stamp, so equal drawings give equal bytes.

    ``savefig`` would write RGBA (an alpha channel these opaque diagrams do not need, about 10% more bytes), so
    the figure is drawn by matplotlib's Agg canvas and its pixels saved by Pillow, matplotlib's own PNG writer.
    """
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    info = PngInfo()
    info.add_text("Comment", stamp())
    Image.fromarray(np.ascontiguousarray(rgb)).save(path, format="png", pnginfo=info, optimize=True)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(args[0]) if args else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    plt.rcdefaults()  # the same drawing whatever the user's matplotlibrc says
    for name, draw in DIAGRAMS.items():
        save(draw(), out / name)
        print(f"wrote {out / name} ({(out / name).stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
