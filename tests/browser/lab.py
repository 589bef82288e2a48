"""Serve a folder with JupyterLab on loopback and drive it from headless Chromium (the browser tests' plumbing).

- ``find_chromium()``: Debian's ``chromium`` (or ``$COURSE_CHROMIUM``); Playwright drives it, nothing downloaded.
- ``LabServer``: JupyterLab on 127.0.0.1, a free port and a random token, its own config, settings and workspace
  folders (so a learner's own JupyterLab settings neither leak in nor get changed), the kernel in fast mode.
- ``open_notebook`` / ``run_all``: open a notebook in a fresh page and run it as a learner does (*Run All*).

The app object is reached through ``window.jupyterapp`` (``--LabApp.expose_app_in_browser=True``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# The machine (CI included) may have no internet: background services would only fail noisily.
CHROMIUM_ARGS = [
    "--no-sandbox",  # Chromium refuses to start as root (CI runs as root) with its sandbox on
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 900}
# JupyterLab's "get Jupyter news?" toast and update check reach the internet and cover part of the page.
PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}


def in_ci() -> bool:
    """True under CI (``CI`` set to anything but empty, 0, false or no): there, a missing browser is a failure."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def find_chromium() -> Optional[str]:
    """The Chromium to drive: ``$COURSE_CHROMIUM`` if set, else Debian's; None when there is none."""
    wanted = os.environ.get("COURSE_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).exists() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """JupyterLab serving ``root`` on 127.0.0.1 until ``stop()``; the kernels it starts see ``kernel_env``."""

    def __init__(self, root: Path, kernel_env: Dict[str, str], log_path: Path) -> None:
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.home = Path(tempfile.mkdtemp(prefix="course-lab-"))
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # the tests run with Agg; in JupyterLab figures must show inline
        for name, sub in (
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTERLAB_SETTINGS_DIR", "settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTER_DATA_DIR", "data"),  # e.g. the notebook-signing key, otherwise written into ~/.local
        ):
            env[name] = str(self.home / sub)
            (self.home / sub).mkdir()
        (self.home / "config" / "labconfig").mkdir()
        (self.home / "config" / "labconfig" / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
        env.update(kernel_env)
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--allow-root",  # CI runs as root
        ]
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_up(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited at start; its log:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5):
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s; its log:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        shutil.rmtree(self.home, ignore_errors=True)


# JavaScript run in the page. `panel` is the notebook open in the main area.
JS_KERNEL_STATUS = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.sessionContext || !panel.content || !panel.content.model) return null;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return kernel ? kernel.status : null;
}"""

JS_RUN_ALL = """async () => {
    await window.jupyterapp.commands.execute('notebook:run-all-cells');
}"""

# For every code cell: its index, execution count, and a summary of its outputs.
JS_CELL_STATES = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.model.cells;
    const states = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        const outputs = [];
        for (let j = 0; j < cell.outputs.length; j++) {
            const o = cell.outputs.get(j).toJSON();
            const text = o.output_type === 'error'
                ? `${o.ename}: ${o.evalue}`
                : (o.output_type === 'stream' ? [].concat(o.text).join('') : '');
            const mimes = o.data ? Object.keys(o.data) : [];
            outputs.push({type: o.output_type, name: o.name || null, text: text.slice(0, 2000), mimes});
        }
        states.push({index: i, count: cell.executionCount, source: cell.sharedModel.getSource().slice(0, 120),
                     outputs});
    }
    return states;
}"""


def open_notebook(context, lab: LabServer, name: str, timeout: float = 120.0):
    """A new page with the notebook ``name`` open and its kernel idle."""
    page = context.new_page()
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout * 1000)
    wait_for_kernel_idle(page, timeout)
    return page


def wait_for_kernel_idle(page, timeout: float) -> None:
    page.wait_for_function(f"() => ({JS_KERNEL_STATUS})() === 'idle'", timeout=timeout * 1000, polling=250)


def run_all(page, timeout: float) -> List[dict]:
    """Click Run All (through the app's command) and wait until every code cell ran or the run stopped.

    Returns the code cells' states (``JS_CELL_STATES``). A run stops early at an error: the cells after it keep
    no execution count, which the caller reports.
    """
    page.evaluate(JS_RUN_ALL)
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        states = page.evaluate(JS_CELL_STATES)
        status = page.evaluate(JS_KERNEL_STATUS)
        done = all(s["count"] is not None for s in states)
        stopped = any(o["type"] == "error" for s in states for o in s["outputs"])
        if status == "idle" and (done or stopped):
            # idle for a moment, not between two cells
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 1.0:
                return states
        else:
            idle_since = None
        time.sleep(0.5)
    raise TimeoutError(f"Run All did not finish within {timeout:.0f} s")


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# Tag every output that the kernel sent as a widget (data-course-widget="N") and say how it rendered: as a
# widget view (`.jupyter-widgets` inside) or not (the text fallback, or "Error displaying widget").
JS_TAG_WIDGETS = """(mime) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const found = [];
    panel.content.widgets.forEach((cell, index) => {
        if (cell.model.type !== 'code') return;
        const nodes = cell.node.querySelectorAll('.jp-OutputArea-child > .jp-OutputArea-output');
        for (let j = 0; j < cell.model.outputs.length; j++) {
            const data = cell.model.outputs.get(j).toJSON().data || {};
            if (!(mime in data)) continue;
            const node = nodes[j];
            const id = found.length;
            if (node) node.setAttribute('data-course-widget', String(id));
            const text = node ? node.innerText.slice(0, 200) : '';
            found.push({
                id, cell: index,
                rendered: !!node && !!node.querySelector('.jupyter-widgets') && !/Error displaying widget/.test(text),
                text,
                sliders: node ? node.querySelectorAll('.noUi-handle').length : 0,
                images: node ? node.querySelectorAll('img').length : 0,
            });
        }
    });
    return found;
}"""

JS_COLLAPSE_SIDEBARS = """() => {
    window.jupyterapp.shell.collapseLeft();
    window.jupyterapp.shell.collapseRight();
}"""

JS_SHUTDOWN_KERNEL = """async () => {
    await window.jupyterapp.shell.currentWidget.sessionContext.shutdown();
}"""

# The notebook's scrolling element, its height and the visible height.
JS_SCROLLER = """() => {
    const notebook = window.jupyterapp.shell.currentWidget.content.node;
    const s = notebook.querySelector('.jp-WindowedPanel-outer') || notebook;
    return {scrollHeight: s.scrollHeight, clientHeight: s.clientHeight};
}"""

JS_SCROLL_TO = """(y) => {
    const notebook = window.jupyterapp.shell.currentWidget.content.node;
    const s = notebook.querySelector('.jp-WindowedPanel-outer') || notebook;
    s.scrollTop = y;
    return s.scrollTop;
}"""

# The output chosen for a lesson's picture: the first widget with a slider, else the last image output.
JS_SHOWCASE = """() => {
    const notebook = window.jupyterapp.shell.currentWidget.content.node;
    const slider = notebook.querySelector('[data-course-widget] .noUi-handle');
    const target = slider ? slider.closest('[data-course-widget]')
                          : Array.from(notebook.querySelectorAll('.jp-RenderedImage')).pop();
    if (!target) return false;
    const s = notebook.querySelector('.jp-WindowedPanel-outer') || notebook;
    s.scrollTop += target.getBoundingClientRect().top - s.getBoundingClientRect().top - 40;
    return true;
}"""
