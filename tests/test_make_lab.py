"""The README's first command, `make lab`, starts JupyterLab, also as root (containers, cloud machines)."""

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


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "jupyter").exists(), reason="no .venv with JupyterLab")
def test_make_lab_starts_jupyterlab(tmp_path):
    """Run `make lab` for real (no browser, loopback only, a throwaway config folder) until the server is up.

    As root (CI), Jupyter exits at once unless `make lab` adds --allow-root, so this fails there without it."""
    port = free_port()
    env = dict(
        os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt")
    )
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.port_retries=0"
    process = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_ARGS={args}"],
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
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_lab_adds_allow_root_only_for_root():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "lab"], cwd=REPO, capture_output=True, text=True
    )
    command = next(line for line in dry_run.stdout.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in command) == (os.geteuid() == 0), command
