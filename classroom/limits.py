"""Per-learner limits with the kernel's control groups (cgroup v1): memory, CPU and processes for all of a
learner's processes together (their server and every kernel it starts).

The hub creates, for each learner, ``genmodels-classroom/NAME`` under its own cgroup in the ``memory``, ``cpu``
and ``pids`` hierarchies, writes the limits, and moves the learner's server into them before it starts; every
kernel the server starts inherits them. What the kernel then enforces:

- ``memory.limit_in_bytes``: past it, the kernel's out-of-memory killer stops the learner's largest process (their
  kernel, which JupyterLab shows as "restarting"); other learners are not touched;
- ``cpu.cfs_quota_us``: the learner's processes together get at most that many cores' time;
- ``pids.max``: the number of processes and threads (a fork bomb stops there).

This needs cgroup v1 hierarchies writable by root (``/sys/fs/cgroup/memory`` and so on). On a server with cgroup
v2 and systemd, use ``SystemdSpawner`` instead (``classroom/README.md``), which asks systemd for the same limits.
Where neither is available, :func:`available` says so and the hub falls back to per-process limits.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "pids")
FOLDER = "genmodels-classroom"
CPU_PERIOD_US = 100_000


def own_cgroup(controller: str) -> str:
    """The hub's own cgroup in ``controller``'s hierarchy, from /proc/self/cgroup (e.g. ``/`` or ``/a/b``)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path
    raise FileNotFoundError(f"no cgroup v1 {controller} hierarchy")


def base(controller: str) -> Path:
    """Where the learners' cgroups of one controller live: under the hub's own cgroup."""
    return ROOT / controller / own_cgroup(controller).lstrip("/") / FOLDER


def available() -> bool:
    """True when every controller's hierarchy is there and we may create cgroups in it (root, v1)."""
    try:
        for controller in CONTROLLERS:
            folder = base(controller)
            folder.mkdir(exist_ok=True)
            if not os.access(folder, os.W_OK):
                return False
        return True
    except OSError:
        return False


def learner_cgroups(name: str, memory_bytes: int, cpus: float, max_tasks: int) -> List[Path]:
    """Create (or update) the learner's cgroups with their limits; return their ``cgroup.procs`` files.

    Writing a process id into each of these files (before the learner's server starts) puts it, and everything
    it starts afterwards, under the limits.
    """
    settings: Dict[str, Dict[str, str]] = {
        "memory": {"memory.limit_in_bytes": str(memory_bytes)},
        "cpu": {"cpu.cfs_period_us": str(CPU_PERIOD_US), "cpu.cfs_quota_us": str(int(cpus * CPU_PERIOD_US))},
        "pids": {"pids.max": str(max_tasks)},
    }
    procs = []
    for controller, values in settings.items():
        folder = base(controller) / name
        folder.mkdir(parents=True, exist_ok=True)
        for file, value in values.items():
            (folder / file).write_text(value)
        procs.append(folder / "cgroup.procs")
    return procs


def usage(name: str) -> Dict[str, int]:
    """What the kernel counts for the learner now: memory in bytes (and its peak), tasks."""
    memory, pids = base("memory") / name, base("pids") / name
    return {
        "memory_bytes": int((memory / "memory.usage_in_bytes").read_text()),
        "memory_peak_bytes": int((memory / "memory.max_usage_in_bytes").read_text()),
        "limit_reached": int((memory / "memory.failcnt").read_text()),  # times an allocation hit the limit
        "tasks": int((pids / "pids.current").read_text()),
    }


def remove_learner_cgroups(name: str) -> None:
    """Remove the learner's cgroups once no process is left in them (the kernel refuses while any is)."""
    for controller in CONTROLLERS:
        folder = base(controller) / name
        try:
            folder.rmdir()
        except OSError:
            pass
