"""The README's first command, `make lab`: the learner's own copies of the lessons, opened in JupyterLab, also as
root (containers, cloud machines)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_make_lab_until_ready(env: dict, my_notebooks: str) -> str:
    """Run `make lab` for real (no browser, loopback only) until JupyterLab serves; return what it printed."""
    port = free_port()
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.port_retries=0"
    process = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_ARGS={args}", f"MY_NOTEBOOKS={my_notebooks}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
            if f"127.0.0.1:{port}/lab" in line:
                break
        output = "".join(lines)
        assert f"127.0.0.1:{port}/lab" in output, f"JupyterLab did not start:\n{output[-2000:]}"
        return output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "jupyter").exists(), reason="no .venv with JupyterLab")
def test_make_lab_opens_the_learners_copies_and_keeps_them(tmp_path):
    """`make lab` writes the student version into the learner's folder and opens lesson 00 there; a second
    `make lab` keeps an edited copy byte for byte.

    As root (CI), Jupyter exits at once unless `make lab` adds --allow-root, so this fails there without it."""
    env = dict(
        os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt")
    )
    relative = f"build/make-lab-test-{os.getpid()}"  # inside the clone (JupyterLab's root), ignored by git
    folder = REPO / relative
    try:
        output = run_make_lab_until_ready(env, relative)
        assert "Your copies of the lessons are in" in output
        lessons = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        assert sorted(p.name for p in folder.glob("*.ipynb")) == lessons
        assert not any("BEGIN SOLUTION" in (folder / name).read_text(encoding="utf-8") for name in lessons)

        welcome = folder / "00_welcome.ipynb"
        edited = welcome.read_text(encoding="utf-8").replace("# 00 ·", "# 00 (my notes) ·", 1)
        welcome.write_text(edited, encoding="utf-8")
        run_make_lab_until_ready(env, relative)
        assert welcome.read_text(encoding="utf-8") == edited
        assert sorted(p.name for p in folder.glob("*.ipynb")) == lessons
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_make_lab_adds_allow_root_only_for_root():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "lab"], cwd=REPO, capture_output=True, text=True
    )
    command = next(line for line in dry_run.stdout.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in command) == (os.geteuid() == 0), command
