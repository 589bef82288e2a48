"""Fixtures of the browser tests: one JupyterLab server and one headless Chromium for all lessons.

Without Chromium (or Playwright) the tests are skipped with the reason, except in CI (``CI`` set to anything but
``0``/``false``), where ``.ci/run`` installs both, so a missing browser is a failure there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .lab import CHROMIUM_ARGS, VIEWPORT, LabServer, find_chromium, in_ci

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def missing(reason: str):
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so the browser test must run: .ci/run installs it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        missing(
            "no Chromium: install Debian's `chromium` (sudo apt-get install chromium) or set COURSE_CHROMIUM"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshot_dir(request) -> Path:
    """Where the screenshots go: ``$COURSE_SCREENSHOT_DIR``, else a new temporary folder (printed)."""
    folder = os.environ.get("COURSE_SCREENSHOT_DIR")
    path = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="course-screenshots-"))
    path.mkdir(parents=True, exist_ok=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past pytest's output capture, onto the terminal
            reporter.write_line(f"\nbrowser test: screenshots of each lesson after Run All go to {path}")
    return path


@pytest.fixture(scope="session")
def lab(tmp_path_factory, chromium_path):
    """JupyterLab serving copies of the lessons (outputs never land in the repository), kernels in fast mode."""
    root = tmp_path_factory.mktemp("lessons")
    for lesson in LESSONS:
        shutil.copy(lesson, root / lesson.name)
    kernel_env = {
        "COURSE_FAST": "1",
        "COURSE_CHECKPOINT_DIR": str(tmp_path_factory.mktemp("checkpoints")),  # nothing left over hides a bug
    }
    server = LabServer(root, kernel_env, log_path=tmp_path_factory.mktemp("lab-log") / "jupyterlab.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context
    context.close()
