"""A live view of training in Jupyter: one output area, updated in place, with loss curves and samples.

It uses a display handle (``display(..., display_id=True)`` then ``handle.update(...)``), which replaces the
previous picture instead of adding another one; this works in JupyterLab, Colab and under nbval (a
``clear_output`` loop would pile figures up there). Outside a notebook (a script, a test) it stays quiet.
"""

from __future__ import annotations

import time
from typing import Optional

import matplotlib.pyplot as plt
import numpy as np

from .images import to_unit_range
from .plots import LINE_COLORS, as_image_batch, figure_to_png


def in_notebook() -> bool:
    """True when running inside a Jupyter kernel (JupyterLab, Notebook, Colab, nbval)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class LiveView:
    """Loss curves (and optionally a grid of the latest samples) redrawn in place while a model trains.

    >>> view = LiveView("VAE on Fashion-MNIST")
    >>> view.update(history, samples)      # cheap to call often: redraws at most every ``every_seconds``
    >>> view.close(history, samples)       # the final picture

    Args:
        title: shown above the curves.
        every_seconds: the least time between two redraws (drawing costs ~0.1 s).
        enabled: ``None`` means "only in a notebook".
    """

    def __init__(self, title: str = "", every_seconds: float = 2.0, enabled: Optional[bool] = None) -> None:
        self.title = title
        self.every_seconds = every_seconds
        self.enabled = in_notebook() if enabled is None else enabled
        self.handle = None
        self.last_draw: Optional[float] = None
        self.draws = 0

    def update(self, history, samples=None, force: bool = False) -> None:
        """Redraw if enough time has passed (or ``force``).

        ``samples``: images to show beside the curves, or a function that returns them (called only when the
        view redraws, so making samples costs nothing between redraws).
        """
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and self.last_draw is not None and now - self.last_draw < self.every_seconds:
            return
        self.last_draw = now
        if callable(samples):
            samples = samples()
        png = figure_to_png(self._draw(history, samples))
        from IPython.display import Image, display

        if self.handle is None:
            self.handle = display(Image(data=png), display_id=True)
        else:
            self.handle.update(Image(data=png))
        self.draws += 1

    def close(self, history, samples=None) -> None:
        """Draw the final state."""
        self.update(history, samples, force=True)

    def _draw(self, history, samples):
        has_samples = samples is not None
        fig, axes = plt.subplots(1, 2 if has_samples else 1, figsize=(10 if has_samples else 6, 3.5))
        axes = np.atleast_1d(axes)
        ax = axes[0]
        for i, name in enumerate(history.names()):
            ax.plot(
                history.steps[name], history.values[name], label=name, color=LINE_COLORS[i % len(LINE_COLORS)]
            )
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if history.names():
            ax.legend(frameon=False)
        ax.set_title(self.title)
        if has_samples:
            x = to_unit_range(as_image_batch(samples))[:64]
            n = x.shape[0]
            ncols = int(np.ceil(np.sqrt(n)))
            nrows = int(np.ceil(n / ncols))
            c, h, w = x.shape[1:]
            grid = np.ones((nrows * (h + 2), ncols * (w + 2), c), dtype=np.float32)
            for i in range(n):
                r, col = divmod(i, ncols)
                grid[r * (h + 2) : r * (h + 2) + h, col * (w + 2) : col * (w + 2) + w] = (
                    x[i].permute(1, 2, 0).numpy()
                )
            axes[1].imshow(grid[..., 0] if c == 1 else grid, cmap="gray", vmin=0, vmax=1)
            axes[1].axis("off")
            axes[1].set_title("latest samples")
        fig.tight_layout()
        return fig
