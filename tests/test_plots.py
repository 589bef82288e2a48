"""Image grids and curves: right pictures for right input, clear errors for wrong shapes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from course_utils import History, ShapeError, plot_history, show_images
from course_utils.live import LiveView


def titles_of(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def test_grid_with_class_names():
    fig = show_images(
        torch.rand(5, 1, 28, 28), labels=[0, 1, 2, 1, 0], class_names=["a", "b", "c"], ncols=3, show=False
    )
    assert len(fig.axes) == 6  # 2 rows × 3 columns, the last one empty
    assert titles_of(fig) == ["a", "b", "c", "b", "a"]


@pytest.mark.parametrize(
    "images",
    [
        torch.rand(28, 28),
        torch.rand(1, 28, 28),
        torch.rand(4, 28, 28),
        torch.rand(2, 3, 8, 8),
        np.zeros((2, 28, 28)),
    ],
    ids=["one-2d", "one-chw", "batch-gray", "batch-rgb", "numpy"],
)
def test_accepted_shapes(images):
    assert show_images(images, show=False) is not None


def test_minus_one_one_range_is_detected():
    fig = show_images(torch.full((1, 1, 4, 4), -1.0), show=False)
    assert float(fig.axes[0].images[0].get_array().max()) == 0.0  # -1 drawn as black


@pytest.mark.parametrize(
    "images, message",
    [
        (torch.rand(2, 1, 1, 28, 28), "Cannot draw images of shape"),
        (torch.rand(4, 28, 28, 3), "channels look last"),
        (torch.rand(16, 784), "flat vectors of 784 pixels"),
        (torch.rand(0, 1, 28, 28), "no images"),
        ("not images", "tensor or NumPy array"),
    ],
)
def test_wrong_shapes_are_explained(images, message):
    with pytest.raises(ShapeError, match=message):
        show_images(images, show=False)


def test_labels_must_match_images():
    with pytest.raises(ShapeError, match="3 images but 2 labels"):
        show_images(torch.rand(3, 1, 28, 28), labels=[1, 2], show=False)
    with pytest.raises(ShapeError, match="Label 7 has no class name"):
        show_images(torch.rand(1, 1, 28, 28), labels=[7], class_names=["a"], show=False)


def test_plot_history():
    history = History()
    for step in range(5):
        history.record(step, loss=1.0 / (step + 1), accuracy=step / 5)
    fig = plot_history(history, title="curves", show=False)
    assert [line.get_label() for line in fig.axes[0].lines] == ["loss", "accuracy"]
    with pytest.raises(KeyError, match="the history has: loss, accuracy"):
        plot_history(history, names=["lr"], show=False)


def test_live_view_is_quiet_outside_a_notebook():
    view = LiveView("t")
    assert view.enabled is False
    view.update(History())  # does nothing, raises nothing
    assert view.draws == 0


def test_live_view_updates_one_display_in_place(monkeypatch):
    calls = []

    class Handle:
        def update(self, obj):
            calls.append("update")

    def fake_display(obj, display_id=False):
        calls.append("display")
        return Handle()

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    history = History()
    history.record(0, loss=1.0)
    view = LiveView("t", every_seconds=3600, enabled=True)
    view.update(history, torch.rand(4, 1, 28, 28))
    view.update(history)  # throttled: too soon
    view.close(history, torch.rand(4, 1, 28, 28))
    assert calls == ["display", "update"] and view.draws == 2


def test_figures_made_with_show_false_are_not_drawn_by_a_later_show():
    # Issue 11: three figures made with show=False for a slider were drawn by the next plt.show() anyway.
    import matplotlib.pyplot as plt

    plt.close("all")
    fig = show_images(torch.rand(2, 1, 28, 28), show=False)
    assert fig is not None and plt.get_fignums() == []
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")  # still usable
    assert buffer.getvalue()[:4] == b"\x89PNG"
