"""Every lesson, opened in JupyterLab in a real browser, runs to the end with *Run All* (fast mode): no error
output, no code cell left unexecuted, every widget drawn as a widget (not as text), and dragging any slider with
the mouse changes the picture next to it. Screenshots of each lesson go to a folder for a person to look at.

Run alone: ``make browser-test`` (needs Debian's ``chromium``; skipped with the reason without it, except in CI).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from .conftest import LESSONS
from .lab import (
    JS_COLLAPSE_SIDEBARS,
    JS_SCROLL_TO,
    JS_SCROLLER,
    JS_SHOWCASE,
    JS_SHUTDOWN_KERNEL,
    JS_TAG_WIDGETS,
    WIDGET_MIME,
    open_notebook,
    run_all,
)

RUN_ALL_TIMEOUT = 600  # seconds per lesson in fast mode (each takes well under a minute)
REDRAW_TIMEOUT = 15  # seconds for a picture to follow a slider


def uses_course_widgets(lesson: Path) -> bool:
    return "course_utils.widgets import" in lesson.read_text()


def drag(page, handle, track, fraction: float) -> None:
    """Press the mouse on a slider's handle, move it to ``fraction`` of the track's width, release."""
    box, bar = handle.bounding_box(), track.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(bar["x"] + fraction * bar["width"], box["y"] + box["height"] / 2, steps=12)
    page.mouse.up()


def pictures(widget) -> list:
    """What the learner sees of each image in a widget (element screenshots)."""
    images = widget.locator("img")
    return [images.nth(i).screenshot() for i in range(images.count())]


def slider_changes_picture(page, widget, k: int) -> str:
    """Drag the widget's slider ``k`` across its track; '' if a picture changed, else what went wrong."""
    handle = widget.locator(".noUi-handle").nth(k)
    track = widget.locator(".noUi-target").nth(k)
    handle.scroll_into_view_if_needed()
    before = pictures(widget)
    bar, box = track.bounding_box(), handle.bounding_box()
    at = (box["x"] + box["width"] / 2 - bar["x"]) / bar["width"]
    drag(page, handle, track, 0.1 if at > 0.5 else 0.9)  # to the far side
    moved = handle.bounding_box()
    if abs(moved["x"] - box["x"]) < 5:
        return f"slider {k}'s handle did not move when dragged"
    deadline = time.monotonic() + REDRAW_TIMEOUT
    while time.monotonic() < deadline:
        if pictures(widget) != before:
            return ""
        time.sleep(0.25)
    return f"slider {k} moved but no picture in the widget changed within {REDRAW_TIMEOUT} s"


def save_screenshots(page, folder: Path, stem: str, every_page: bool) -> None:
    """One picture of the lesson (``stem.png``: the first slider widget, else the last image output) kept small
    for the README; with ``every_page``, also the whole notebook, one viewport after another
    (``stem/page-NN.png``), for a person to look through (a few seconds per lesson, so only when asked for)."""
    from PIL import Image

    notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook").first
    if every_page:
        pages = folder / stem
        pages.mkdir(parents=True, exist_ok=True)
        for old in pages.glob("page-*.png"):
            old.unlink()
        size = page.evaluate(JS_SCROLLER)
        step = max(200, int(size["clientHeight"] * 0.9))
        for n, y in enumerate(range(0, max(1, size["scrollHeight"]), step), start=1):
            page.evaluate(JS_SCROLL_TO, y)
            time.sleep(0.1)
            notebook.screenshot(path=str(pages / f"page-{n:02d}.png"))
    if page.evaluate(JS_SHOWCASE):
        time.sleep(0.3)
        shot = Image.open(io.BytesIO(notebook.screenshot()))
        width, height = shot.size
        shot = shot.crop((0, 0, min(width, 1000), min(height, 640))).convert("RGB")
        shot.quantize(colors=128).save(folder / f"{stem}.png", optimize=True)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_in_jupyterlab(lesson, lab, context, screenshot_dir):
    page = open_notebook(context, lab, lesson.name)
    page.evaluate(JS_COLLAPSE_SIDEBARS)
    try:
        cells = run_all(page, RUN_ALL_TIMEOUT)
        widgets = page.evaluate(JS_TAG_WIDGETS, WIDGET_MIME)
        problems = []
        for cell in cells:
            for output in cell["outputs"]:
                if output["type"] == "error":
                    problems.append(f"cell {cell['index']} shows an error: {output['text']}")
        not_run = [c["index"] for c in cells if c["count"] is None]
        if not_run:
            problems.append(f"cells {not_run} were not executed")
        for w in widgets:
            if not w["rendered"]:
                problems.append(f"cell {w['cell']}: a widget shows as text, not as a widget: {w['text']!r}")
        dragged = 0
        for w in widgets:
            if w["rendered"] and w["sliders"] and w["images"]:
                widget = page.locator(f'[data-course-widget="{w["id"]}"]')
                for k in range(w["sliders"]):
                    trouble = slider_changes_picture(page, widget, k)
                    dragged += 1
                    if trouble:
                        problems.append(f"cell {w['cell']}: {trouble}")
        if uses_course_widgets(lesson) and dragged == 0:
            problems.append("the lesson imports course_utils.widgets but no slider with a picture was found")
        # Every page of the notebook only when someone asked for the screenshots (make screenshots, browser-test).
        save_screenshots(
            page, screenshot_dir, lesson.stem, every_page=bool(os.environ.get("COURSE_SCREENSHOT_DIR"))
        )
        assert not problems, f"{lesson.name} in JupyterLab:\n  " + "\n  ".join(problems)
    finally:
        page.evaluate(JS_SHUTDOWN_KERNEL)
        page.close()
