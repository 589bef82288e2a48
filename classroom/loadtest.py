"""Load test of the classroom on loopback: N simulated learners log in, work through lessons, and hand in.

    python classroom/prepare.py                  # once (the classroom folder: ~/genmodels-classroom, or --run-dir)
    python classroom/loadtest.py --users 10      # best with nothing else heavy running on the machine

It starts JupyterHub (``jupyterhub_config.py``) on 127.0.0.1 only, then, as the instructor (a Hub service),
enrols N learners. Each learner, all at the same time:

1. logs in through the Hub's API (``POST /hub/api/users/NAME/tokens`` with username and password);
2. starts a server and waits until it is ready (timed), and checks the student notebooks are in the home;
3. in a kernel of the server, fetches the released assignments (``nbgrader fetch_assignment``);
4. for each assignment (default lesson 00 and lesson 02, in fast mode): opens the notebook through the server's
   contents API, writes the right answers into the solution cells, runs every code cell in a new kernel over its
   websocket (as JupyterLab does), saves the notebook with its outputs, and hands it in (``nbgrader submit``).

Meanwhile the memory of every learner's processes (server and kernels) is sampled. At the end the instructor
collects (``nbgrader collect``), checks that every hand-in arrived with the learner's answers in it, and grades
them with the course's grader. Then the hub and every server it started are stopped. Everything is bounded: a
total time limit (``--max-seconds``) after which whatever is left is stopped and reported.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, List

import nbformat
import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

REPO = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 600.0


def solution_sources(nb) -> Dict[str, str]:
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def digest(sources: Dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]


class Hub:
    def __init__(self, url: str, service_token: str):
        self.url, self.token = url.rstrip("/"), service_token
        self.http = AsyncHTTPClient(max_clients=500)

    async def api(self, method: str, path: str, token: str = None, body=None, ok=(200, 201, 202, 204)):
        request = HTTPRequest(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {token or self.token}"} if token is not False else {},
            body=None if body is None and method in ("GET", "DELETE") else json.dumps(body or {}),
            request_timeout=600,
            allow_nonstandard_methods=True,
        )
        response = await self.http.fetch(request, raise_error=False)
        if response.code not in ok:
            raise RuntimeError(f"{method} {path}: HTTP {response.code} {response.body[:300]!r}")
        return json.loads(response.body) if response.body else None


class Kernel:
    """A kernel of a learner's server, driven over its websocket like JupyterLab does."""

    def __init__(self, hub: Hub, user: str, token: str):
        self.hub, self.user, self.token = hub, user, token
        self.session = uuid.uuid4().hex

    async def __aenter__(self):
        model = await self.hub.api("POST", f"/user/{self.user}/api/kernels", self.token, {"name": "python3"})
        self.id = model["id"]
        url = self.hub.url.replace("http", "ws", 1) + f"/user/{self.user}/api/kernels/{self.id}/channels"
        self.ws = await websocket_connect(
            HTTPRequest(url, headers={"Authorization": f"token {self.token}"}), max_message_size=2**30
        )
        return self

    async def __aexit__(self, *exc):
        self.ws.close()
        await self.hub.api("DELETE", f"/user/{self.user}/api/kernels/{self.id}", self.token)

    async def run(self, code: str, timeout: float = CELL_TIMEOUT):
        """Execute ``code``; return (status, outputs as nbformat outputs)."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": self.user,
            "session": self.session,
        }
        header.update(date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), version="5.3")
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}}
        content.update(allow_stdin=False, stop_on_error=False)
        message = {
            "header": header,
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": "shell",
        }
        await self.ws.write_message(json.dumps(message))
        outputs, status, idle = [], None, False
        deadline = time.monotonic() + timeout
        while status is None or not idle:
            raw = await asyncio.wait_for(self.ws.read_message(), max(1.0, deadline - time.monotonic()))
            if raw is None:
                return "dead", outputs
            reply = json.loads(raw)
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = reply.get("msg_type") or reply["header"]["msg_type"]
            if kind == "execute_reply":
                status = reply["content"]["status"]
            elif kind == "status" and reply["content"]["execution_state"] == "idle":
                idle = True
            elif kind in ("stream", "error", "execute_result", "display_data"):
                reply.setdefault("msg_type", kind)
                outputs.append(nbformat.v4.output_from_msg(reply))
        return status, outputs


async def learner(hub: Hub, name: str, password: str, args, answers: Dict[str, Dict[str, str]], result: Dict):
    started = time.monotonic()
    login = await hub.api(
        "POST", f"/hub/api/users/{name}/tokens", False, {"auth": {"username": name, "password": password}}
    )
    token = login["token"]
    result["login_s"] = round(time.monotonic() - started, 2)
    spawn = time.monotonic()
    await hub.api("POST", f"/hub/api/users/{name}/server", token)
    while True:
        model = await hub.api("GET", f"/hub/api/users/{name}", token)
        server = (model.get("servers") or {}).get("")
        if server and server.get("ready"):
            break
        if time.monotonic() - spawn > 600:
            raise RuntimeError("server did not start in 600 s")
        await asyncio.sleep(0.5)
    result["start_s"] = round(time.monotonic() - spawn, 2)
    listing = await hub.api("GET", f"/user/{name}/api/contents/", token)
    result["starting_files"] = sorted(
        item["name"] for item in listing["content"] if item["name"].endswith(".ipynb")
    )
    async with Kernel(hub, name, token) as kernel:
        status, outputs = await kernel.run(
            "import subprocess, sys\n"
            f"r = subprocess.run([sys.executable, '-m', 'nbgrader', 'fetch_assignment', {', '.join(map(repr, args.assignments))}],"
            " capture_output=True, text=True)\nprint(r.returncode)\nprint(r.stderr[-500:])"
        )
    result["fetched"] = status == "ok" and outputs and outputs[0].get("text", "").startswith("0")
    result["lessons"] = {}
    for assignment in args.assignments:
        begun = time.monotonic()
        folder = f"{assignment}"
        listing = await hub.api("GET", f"/user/{name}/api/contents/{folder}", token)
        notebook_name = next(i["name"] for i in listing["content"] if i["name"].endswith(".ipynb"))
        path = f"{folder}/{notebook_name}"
        model = await hub.api("GET", f"/user/{name}/api/contents/{path}", token)
        nb = nbformat.from_dict(model["content"])
        mine = {}
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in answers[assignment]:
                cell.source = mine[grade_id] = answers[assignment][grade_id]
        errors = 0
        async with Kernel(hub, name, token) as kernel:
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                status, cell.outputs = await kernel.run(cell.source)
                errors += status != "ok"
                if status == "dead":
                    break
            await hub.api(
                "PUT", f"/user/{name}/api/contents/{path}", token, {"type": "notebook", "content": nb}
            )
            status, outputs = await kernel.run(
                "import subprocess, sys\n"
                f"r = subprocess.run([sys.executable, '-m', 'nbgrader', 'submit', {assignment!r}], capture_output=True, text=True)\n"
                "print(r.returncode)"
            )
        submitted = status == "ok" and outputs and outputs[0].get("text", "").startswith("0")
        result["lessons"][assignment] = {
            "seconds": round(time.monotonic() - begun, 1),
            "cell_errors": errors,
            "submitted": bool(submitted),
            "answers": digest(mine),
        }
    result["ok"] = True


async def sample_memory(
    run: Path, peaks: Dict[str, int], totals: List, stop: asyncio.Event, low: asyncio.Event, floor_bytes: int
):
    homes = str(run / "homes")
    while not stop.is_set():
        per_user: Dict[str, int] = {}
        for process in psutil.process_iter(["pid"]):
            try:
                env = process.environ()
                if env.get("HOME", "").startswith(homes) and env.get("JUPYTERHUB_USER"):
                    per_user[env["JUPYTERHUB_USER"]] = (
                        per_user.get(env["JUPYTERHUB_USER"], 0) + process.memory_info().rss
                    )
            except (psutil.Error, OSError):
                continue
        for user, rss in per_user.items():
            peaks[user] = max(peaks.get(user, 0), rss)
        memory = psutil.virtual_memory()
        totals.append((time.monotonic(), sum(per_user.values()), memory.total - memory.available))
        if memory.available < floor_bytes and not low.is_set():
            low.set()  # the machine is nearly full: stop adding work (main_async cancels the learners)
        try:
            await asyncio.wait_for(stop.wait(), 2.0)
        except asyncio.TimeoutError:
            pass


def folder_digest(folder: Path) -> str:
    """A digest of every file's name, size, time and contents under ``folder`` (to show nobody wrote to it)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        stat = path.stat()
        h.update(f"{path.relative_to(folder)} {stat.st_size} {stat.st_mtime_ns}".encode())
        if path.is_file():
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def reset(run: Path) -> None:
    """Start from a clean class: no learners' homes, hub database, hand-ins or collected files of an earlier run."""
    import shutil

    for path in (run / "homes", run / "course" / "submitted"):
        shutil.rmtree(path, ignore_errors=True)
    (run / "jupyterhub.sqlite").unlink(missing_ok=True)
    for inbound in run.glob("exchange/*/inbound"):
        for item in inbound.iterdir():
            shutil.rmtree(item) if item.is_dir() else item.unlink()


def stop_leftovers(run: Path) -> int:
    """Kill every process whose home is a learner's home of this run (servers, kernels) that is still alive."""
    homes, killed = str(run / "homes"), 0
    for process in psutil.process_iter(["pid"]):
        try:
            if process.pid != os.getpid() and process.environ().get("HOME", "").startswith(homes):
                process.kill()
                killed += 1
        except (psutil.Error, OSError):
            continue
    return killed


async def main_async(args) -> Dict:
    run = args.run_dir.resolve()
    password, service_token = secrets.token_hex(8), secrets.token_hex(24)
    env = dict(
        os.environ,
        CLASSROOM_RUN_DIR=str(run),
        CLASSROOM_PASSWORD=password,
        CLASSROOM_SERVICE_TOKEN=service_token,
    )
    env["CLASSROOM_PORT"] = str(args.port)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = open(run / "hub.log", "w")  # noqa: SIM115
    hub_process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyterhub"),
            "-f",
            str(REPO / "classroom" / "jupyterhub_config.py"),
        ],
        cwd=run,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    reset(run)
    data_before = folder_digest(run / "data")
    hub = Hub(f"http://127.0.0.1:{args.port}", service_token)
    report: Dict = {"users": args.users, "assignments": args.assignments, "learners": {}}
    try:
        for _ in range(240):
            try:
                await hub.api("GET", "/hub/api/")
                break
            except Exception:
                await asyncio.sleep(0.5)
        names = [f"learner{i:03d}" for i in range(args.users)]
        await hub.api("POST", "/hub/api/users", body={"usernames": names})
        course = run / "course"
        answers = {}
        for assignment in args.assignments:
            source = next((course / "source" / assignment).glob("*.ipynb"))
            answers[assignment] = solution_sources(nbformat.read(str(source), as_version=4))
        peaks: Dict[str, int] = {}
        totals: List = []
        stop = asyncio.Event()
        low = asyncio.Event()
        floor = int(args.memory_floor_gb * 2**30)
        sampler = asyncio.ensure_future(sample_memory(run, peaks, totals, stop, low, floor))
        results = {name: {} for name in names}
        began = time.monotonic()
        tasks = [asyncio.ensure_future(learner(hub, n, password, args, answers, results[n])) for n in names]
        watcher = asyncio.ensure_future(low.wait())
        working = set(tasks)
        while working and not low.is_set():
            remaining = args.max_seconds - (time.monotonic() - began)
            if remaining <= 0:
                break
            finished, _ = await asyncio.wait(
                working | {watcher}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            working -= finished
        report["stopped_at_memory_floor"] = low.is_set()
        if low.is_set():
            report["running_when_stopped"] = sum(not t.done() for t in tasks)
        watcher.cancel()
        done = {t for t in tasks if t.done()}
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        report["wall_s"] = round(time.monotonic() - began, 1)
        stop.set()
        await sampler
        for name, task in zip(names, tasks):
            if task in done and task.exception() is not None:
                results[name]["error"] = f"{type(task.exception()).__name__}: {task.exception()}"
            elif task in pending:
                why = (
                    "stopped at the memory floor"
                    if low.is_set()
                    else f"not finished within {args.max_seconds:g} s"
                )
                results[name]["error"] = why
            results[name]["peak_rss_mb"] = round(peaks.get(name, 0) / 2**20)
        report["learners"] = results
        report["peak_all_learners_mb"] = round(max((t[1] for t in totals), default=0) / 2**20)
        report["peak_machine_used_mb"] = round(max((t[2] for t in totals), default=0) / 2**20)
        # The instructor collects and checks every hand-in.
        nb_env = dict(os.environ, PATH=env["PATH"])
        collected = {}
        for assignment in args.assignments:
            subprocess.run(
                [sys.executable, "-m", "nbgrader", "collect", assignment, "--update"],
                cwd=course,
                env=nb_env,
                capture_output=True,
                check=False,
            )
            for name in names:
                files = sorted((course / "submitted" / name / assignment).glob("*.ipynb"))
                match = bool(files) and digest(
                    solution_sources(nbformat.read(str(files[0]), as_version=4))
                ) == (results[name].get("lessons", {}).get(assignment, {}).get("answers"))
                collected.setdefault(assignment, {})[name] = {
                    "collected": bool(files),
                    "answers_intact": match,
                }
        report["collected"] = {
            a: {
                "collected": sum(v["collected"] for v in by.values()),
                "intact": sum(v["answers_intact"] for v in by.values()),
            }
            for a, by in collected.items()
        }
        if args.grade:
            from course_utils.instructor.grading import grade_notebooks

            paths = sorted((course / "submitted").glob("*/*/*.ipynb"))
            graded = grade_notebooks(paths, fast=True, source=REPO / "notebooks")
            report["grades"] = {
                f"{p.parts[-3]}/{p.parts[-2]}": f"{r.score:g}/{r.max_score:g}" for p, r in zip(paths, graded)
            }
    finally:
        try:
            os.killpg(
                hub_process.pid, signal.SIGTERM
            )  # the hub stops the servers it started (cleanup_servers)
            hub_process.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(hub_process.pid, signal.SIGKILL)
        report["leftover_processes_killed"] = stop_leftovers(run)
        report["shared_data_unchanged"] = folder_digest(run / "data") == data_before
        log.close()
    return report


def summary(report: Dict) -> str:
    learners = report["learners"].values()
    starts = sorted(r["start_s"] for r in learners if "start_s" in r)
    peaks = sorted(r["peak_rss_mb"] for r in learners if r.get("peak_rss_mb"))
    ok = sum(bool(r.get("ok")) for r in learners)
    lines = [
        f"{report['users']} learners, assignments {', '.join(report['assignments'])}: {ok} finished in "
        f"{report.get('wall_s', 0):g} s",
    ]
    if starts:
        lines.append(
            f"server start: median {starts[len(starts) // 2]:.1f} s, slowest {starts[-1]:.1f} s, fastest {starts[0]:.1f} s"
        )
    if peaks:
        lines.append(
            f"peak memory per learner (server + kernels, RSS): median {peaks[len(peaks) // 2]} MB, max {peaks[-1]} MB; "
            f"all learners together at peak {report['peak_all_learners_mb']} MB; machine in use at peak "
            f"{report['peak_machine_used_mb']} MB of {round(psutil.virtual_memory().total / 2**20)} MB"
        )
    for assignment, counts in report.get("collected", {}).items():
        lines.append(
            f"{assignment}: {counts['collected']} of {report['users']} hand-ins collected, {counts['intact']} with the "
            "learner's answers intact"
        )
    lines.append(f"shared data folder unchanged: {report.get('shared_data_unchanged')}")
    if report.get("stopped_at_memory_floor"):
        lines.append(
            f"stopped at the memory floor with {report.get('running_when_stopped')} learners still working"
        )
    errors = [f"{n}: {r['error']}" for n, r in report["learners"].items() if r.get("error")]
    lines += errors[:10]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", type=Path, default=Path.home() / "genmodels-classroom")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--assignments", nargs="+", default=["lesson00", "lesson02"])
    parser.add_argument(
        "--max-seconds", type=float, default=1200.0, help="stop whatever is left after this long"
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--memory-floor-gb",
        type=float,
        default=4.0,
        help="stop the test when the machine has less than this much memory available (default 4)",
    )
    parser.add_argument(
        "--grade", action="store_true", help="grade the collected hand-ins with the course's grader"
    )
    parser.add_argument("--output", type=Path, help="write the full report (JSON) here")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 200:
        parser.error("--users must be between 1 and 200")
    report = asyncio.run(main_async(args))
    if args.output:
        args.output.write_text(json.dumps(report, indent=2))
    print(summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
