"""Load and isolation test of the classroom on loopback: N learners, each with their own account, log in, work
through lessons and hand in; then each tries to get at another learner's work, and must fail.

    sudo python classroom/prepare.py                         # once (the classroom folder: /srv/genmodels-classroom)
    sudo python classroom/loadtest.py --users 10 --grade     # best with nothing else heavy running on the machine

Run it as root, like the hub. It makes N learner accounts (``accounts.py``, a password each), starts JupyterHub
(``jupyterhub_config.py``) on 127.0.0.1 only, and, as the instructor (a Hub service), watches. Each learner, all
at the same time:

1. logs in with their own password through the Hub's API (``POST /hub/api/users/NAME/tokens``);
2. starts their server (it runs as their Unix user) and waits until it is ready (timed); checks their lessons
   are in ``~/lessons`` and writes a note of their own into ``lessons/00_welcome.ipynb``;
3. in a kernel, fetches the released assignments (``nbgrader fetch_assignment``);
4. for each assignment (default lesson 00 and lesson 02, fast mode): opens the notebook through the server's
   contents API, writes the right answers into the solution cells, signed with a comment naming the learner,
   runs every code cell in a kernel over its websocket (as JupyterLab does), saves, and hands in
   (``nbgrader submit``).

Memory of each learner's processes is sampled meanwhile. Then, for every learner A and the next learner B:

- **isolation**: code in A's kernel tries to read, list and write B's home and notebook, read B's server's
  environment (its token), signal B's server, call B's server directly with A's token, list the exchange's
  hand-ins, read the instructor's course folder and the hub's database, and write into the shared data; with A's
  token, A asks the Hub's API and B's server for B's notebook, to write a file there, to start a kernel, to stop,
  start or read B's server, for a token of B's; A logs in as B with A's password; and A hands in lesson 00 under
  B's name. Each must fail; two controls (A reads their own notebook and the shared data) must succeed;
- **the instructor still collects**: the instructor reads B's notebook through B's server, and ``collect.py``
  collects every hand-in, refusing those handed in under another's name; each collected notebook must hold its
  own learner's signed answers;
- **content update mid-term**: a changed lesson 00 is published; every learner's copy (with their note) must stay
  as it was, the new version arriving beside it;
- **limits** (where cgroups are available): in one learner's kernel, two processes of 2.5 GB each (under the
  per-process limit, over the learner's 4 GB together) and one allocation past the per-process limit;
- with ``--grade``: ``nbgrader autograde`` and the course's grader on the hand-ins, and ``export_grades.py`` from
  each: the two CSV files must be the same.

Then the hub, every server, the accounts and their homes are removed (``--keep-class`` keeps the accounts and
homes). Everything is bounded: a total time limit (``--max-seconds``) and a memory floor stop the learners.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

import nbformat
import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import accounts  # noqa: E402
import collect  # noqa: E402
import export_grades  # noqa: E402
import lessons  # noqa: E402
import limits  # noqa: E402

CELL_TIMEOUT = 600.0
COURSE_ID = os.environ.get("CLASSROOM_COURSE_ID", "genmodels")
DENIED_HTTP = (302, 401, 403, 404)  # a redirect to the login page, or a refusal


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

    async def call(self, method: str, path: str, token=None, body=None) -> Tuple[int, bytes]:
        """One request; (status, body). No redirect is followed: a redirect to the login page is a refusal."""
        request = HTTPRequest(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {token or self.token}"} if token is not False else {},
            body=None if body is None and method in ("GET", "DELETE") else json.dumps(body or {}),
            request_timeout=600,
            allow_nonstandard_methods=True,
            follow_redirects=False,
        )
        response = await self.http.fetch(request, raise_error=False)
        return response.code, response.body or b""

    async def api(self, method: str, path: str, token=None, body=None):
        code, text = await self.call(method, path, token, body)
        if code not in (200, 201, 202, 204):
            raise RuntimeError(f"{method} {path}: HTTP {code} {text[:300]!r}")
        return json.loads(text) if text else None


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
        await self.hub.call("DELETE", f"/user/{self.user}/api/kernels/{self.id}", self.token)

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

    async def run_json(self, code: str, timeout: float = CELL_TIMEOUT):
        """Execute ``code``, which prints one JSON value last; return it (or the error text)."""
        status, outputs = await self.run(code, timeout)
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        try:
            return json.loads(text.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": f"status {status}: {text[-500:]} {outputs[-1:] if outputs else ''}"}


def nbgrader_in_kernel(*args: str) -> str:
    return (
        "import subprocess, sys\n"
        f"r = subprocess.run([sys.executable, '-m', 'nbgrader', {', '.join(map(repr, args))}], capture_output=True, text=True)\n"
        "print(r.returncode)\nprint(r.stderr[-500:])"
    )


def signed(answers: Dict[str, str], name: str) -> Dict[str, str]:
    """The right answers, each ending with a comment naming the learner: every hand-in is told apart."""
    return {grade_id: f"{source}\n# answer of {name}" for grade_id, source in answers.items()}


async def learner(hub: Hub, name: str, password: str, args, answers, result: Dict):
    started = time.monotonic()
    login = await hub.api(
        "POST", f"/hub/api/users/{name}/tokens", False, {"auth": {"username": name, "password": password}}
    )
    token = result["token"] = login["token"]
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
    listing = await hub.api("GET", f"/user/{name}/api/contents/{lessons.LESSONS}", token)
    result["lessons"] = sorted(i["name"] for i in listing["content"] if i["name"].endswith(".ipynb"))
    # The learner's own work in their copy of lesson 00: a note, which a content update must never touch.
    path = f"/user/{name}/api/contents/{lessons.LESSONS}/00_welcome.ipynb"
    nb = nbformat.from_dict((await hub.api("GET", path, token))["content"])
    nb.cells.append(nbformat.v4.new_markdown_cell(f"My own note, {name}."))
    await hub.api("PUT", path, token, {"type": "notebook", "content": nb})
    async with Kernel(hub, name, token) as kernel:
        status, outputs = await kernel.run(nbgrader_in_kernel("fetch_assignment", *args.assignments))
    result["fetched"] = status == "ok" and bool(outputs) and outputs[0].get("text", "").startswith("0")
    result["handed_in"] = {}
    for assignment in args.assignments:
        begun = time.monotonic()
        listing = await hub.api("GET", f"/user/{name}/api/contents/{assignment}", token)
        notebook_name = next(i["name"] for i in listing["content"] if i["name"].endswith(".ipynb"))
        path = f"{assignment}/{notebook_name}"
        nb = nbformat.from_dict((await hub.api("GET", f"/user/{name}/api/contents/{path}", token))["content"])
        mine = {}
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in answers[assignment]:
                cell.source = mine[grade_id] = signed(answers[assignment], name)[grade_id]
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
            status, outputs = await kernel.run(nbgrader_in_kernel("submit", assignment))
        result["handed_in"][assignment] = {
            "path": path,
            "seconds": round(time.monotonic() - begun, 1),
            "cell_errors": errors,
            "submitted": status == "ok" and bool(outputs) and outputs[0].get("text", "").startswith("0"),
            "answers": digest(mine),
        }
    result["ok"] = True


# ---------------------------------------------------------------------------------------------- isolation

PROBES = r"""
import json, os, urllib.error, urllib.request
args = json.loads({args!r})

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None  # a redirect to the login page is a refusal, not an answer

def attempt(action):
    try:
        action()
        return "allowed"
    except PermissionError:
        return "denied"
    except urllib.error.HTTPError as error:
        return "denied" if error.code in {denied} else f"HTTP {{error.code}}"
    except Exception as error:
        return f"{{type(error).__name__}}: {{error}}"

def write(path):
    with open(path, "w") as file:
        file.write("written by another learner")

def http(url):
    request = urllib.request.Request(url, headers={{"Authorization": "token " + args["token"]}})
    urllib.request.build_opener(NoRedirect).open(request, timeout=60).read()

print(json.dumps({{
    "control: read my own notebook": attempt(lambda: open(args["own_notebook"]).read()),
    "control: read the shared data": attempt(lambda: open(args["data_file"], "rb").read(16)),
    "control: my own server with my token": attempt(lambda: http(args["own_server"] + "api/status")),
    "read B's notebook": attempt(lambda: open(args["their_notebook"]).read()),
    "list B's home": attempt(lambda: os.listdir(args["their_home"])),
    "write a file in B's home": attempt(lambda: write(os.path.join(args["their_home"], "intruder.txt"))),
    "write over B's notebook": attempt(lambda: write(args["their_notebook"])),
    "read B's server's environment (its token)": attempt(lambda: open(f"/proc/{{args['their_pid']}}/environ", "rb").read()),
    "signal B's server": attempt(lambda: os.kill(args["their_pid"], 0)),
    "B's server directly, with A's token": attempt(lambda: http(args["their_server"] + "api/contents/" + args["their_path"])),
    "list the hand-ins in the exchange": attempt(lambda: os.listdir(args["inbound"])),
    "read the instructor's course folder": attempt(lambda: os.listdir(args["course"])),
    "read the hub's database": attempt(lambda: open(args["hub_db"], "rb").read(16)),
    "write into the shared data": attempt(lambda: write(os.path.join(args["data"], "intruder"))),
}}))
"""


def server_of(name: str) -> Tuple[int, str]:
    """(pid, URL) of the learner's running server, found as root from its process."""
    uid = pwd.getpwnam(name).pw_uid
    for process in psutil.process_iter(["uids", "cmdline"]):
        if process.info["uids"] and process.info["uids"].real == uid:
            if "jupyterhub-singleuser" in " ".join(process.info["cmdline"] or []):
                return process.pid, process.environ()["JUPYTERHUB_SERVICE_URL"].rstrip("/") + "/"
    raise RuntimeError(f"no server running for {name}")


async def isolation(hub: Hub, a: str, b: str, passwords, results, run: Path, first: str) -> Dict[str, str]:
    """Every way learner A might get at learner B's work; each outcome as 'denied', 'allowed' or an error."""
    token = results[a]["token"]
    lesson = first  # the first assignment, handed in by both
    b_path = results[b]["handed_in"][lesson]["path"]
    b_home, a_home = Path(pwd.getpwnam(b).pw_dir), Path(pwd.getpwnam(a).pw_dir)
    b_pid, b_server = server_of(b)
    _, a_server = server_of(a)
    data_file = next(p for p in (run / "data").rglob("*") if p.is_file())
    args = {
        "token": token,  # A's own token, from A's login
        "own_notebook": str(a_home / results[a]["handed_in"][lesson]["path"]),
        "own_server": a_server,
        "data_file": str(data_file),
        "data": str(data_file.parent),
        "their_notebook": str(b_home / b_path),
        "their_home": str(b_home),
        "their_pid": b_pid,
        "their_server": b_server,
        "their_path": b_path,
        "inbound": str(run / "exchange" / COURSE_ID / "inbound"),
        "course": str(run / "course"),
        "hub_db": str(run / "hub" / "jupyterhub.sqlite"),
    }
    outcomes = {}
    async with Kernel(hub, a, token) as kernel:
        found = await kernel.run_json(PROBES.format(args=json.dumps(args), denied=set(DENIED_HTTP)))
        outcomes.update(found if "error" not in found else {"probes in A's kernel": found["error"]})
        # A hands in lesson 00 under B's name (nbgrader lets anyone name any student): collect must refuse it.
        status, outputs = await kernel.run(nbgrader_in_kernel("submit", lesson, f"--student={b}"))
        outcomes["hand in under B's name (refused at collect)"] = (
            "handed in"
            if status == "ok" and outputs and outputs[0].get("text", "").startswith("0")
            else "failed"
        )
    requests = {
        "API: read B's notebook": ("GET", f"/user/{b}/api/contents/{b_path}", token),
        "API: write a notebook in B's home": ("PUT", f"/user/{b}/api/contents/intruder.ipynb", token),
        "API: start a kernel on B's server": ("POST", f"/user/{b}/api/kernels", token),
        "API: read B's user model": ("GET", f"/hub/api/users/{b}", token),
        "API: get a token of B's": ("POST", f"/hub/api/users/{b}/tokens", token),
        "API: stop B's server": ("DELETE", f"/hub/api/users/{b}/server", token),
        "API: start B's server": ("POST", f"/hub/api/users/{b}/server", token),
    }
    for label, (method, path, who) in requests.items():
        code, _ = await hub.call(method, path, who, {"type": "notebook"} if method == "PUT" else None)
        outcomes[label] = "denied" if code in DENIED_HTTP else f"HTTP {code}"
    code, _ = await hub.call(
        "POST", f"/hub/api/users/{b}/tokens", False, {"auth": {"username": b, "password": passwords[a]}}
    )
    outcomes["log in as B with A's password"] = "denied" if code in DENIED_HTTP else f"HTTP {code}"
    return outcomes


def isolation_passed(label: str, outcome: str) -> bool:
    if label.startswith("control"):
        return outcome == "allowed"
    if label.startswith("hand in under B's name"):
        return True  # judged at collection: B's collected notebook must still be B's own
    return outcome == "denied"


# ------------------------------------------------------------------------------------------------ memory


def learner_uids(names: List[str]) -> Dict[int, str]:
    return {pwd.getpwnam(name).pw_uid: name for name in names}


async def sample_memory(uids, peaks, totals, stop: asyncio.Event, low: asyncio.Event, floor_bytes: int):
    while not stop.is_set():
        per_user: Dict[str, int] = {}
        for process in psutil.process_iter(["uids", "memory_info"]):
            uid = process.info["uids"].real if process.info["uids"] else None
            if uid in uids and process.info["memory_info"] is not None:
                per_user[uids[uid]] = per_user.get(uids[uid], 0) + process.info["memory_info"].rss
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


LIMITS_PROBE = r"""
import json, resource, subprocess, sys, time
grab = "import sys, time; b = b'x' * int(2.5 * 2**30); time.sleep(4)"
processes = [subprocess.Popen([sys.executable, "-c", grab]) for _ in range(2)]
codes = [p.wait() for p in processes]
try:
    big = b'x' * int(3.5 * 2**30)
    one = "allocated"
except MemoryError:
    one = "MemoryError"
burn = "import time\nt = time.time()\nwhile time.time() - t < 4: pass"
start, before = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
for p in [subprocess.Popen([sys.executable, "-c", burn]) for _ in range(2)]:
    p.wait()
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cores = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / (time.time() - start)
print(json.dumps({"two 2.5 GB processes, exit codes": codes, "one 3.5 GB allocation": one, "two busy processes, cores used": round(cores, 2)}))
"""


# ------------------------------------------------------------------------------------------------- class


def reset(run: Path) -> None:
    """Start from a clean class: no homes, hub database, hand-ins, grades or gradebook entries of an earlier run."""
    for path in ("homes", "course/submitted", "course/autograded", "course/feedback", "course/grades"):
        shutil.rmtree(run / path, ignore_errors=True)
    (run / "hub" / "jupyterhub.sqlite").unlink(missing_ok=True)
    for folder in ("inbound", "refused"):
        for item in (run / "exchange" / COURSE_ID / folder).glob("*"):
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    gradebook = run / "course" / "gradebook.db"
    if gradebook.exists():
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{gradebook}") as book:
            for student in list(book.students):
                book.remove_student(student.id)


def stop_leftovers(uids: Dict[int, str]) -> int:
    """Kill every process of the learners' accounts still alive (servers, kernels)."""
    killed = 0
    for process in psutil.process_iter(["uids"]):
        if process.info["uids"] and process.info["uids"].real in uids:
            try:
                process.kill()
                killed += 1
            except psutil.Error:
                continue
    return killed


def folder_digest(folder: Path) -> str:
    """A digest of every file's name, size, time and contents under ``folder`` (to show nobody wrote to it)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        stat = path.stat()
        h.update(f"{path.relative_to(folder)} {stat.st_size} {stat.st_mtime_ns}".encode())
        if path.is_file():
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def content_update(run: Path, names: List[str]) -> Dict[str, int]:
    """Publish a changed lesson 00, update every learner, and check no learner's copy was written over."""
    from prepare import publish_student_version

    published = lessons.student_texts_from(run / "student")
    with tempfile.TemporaryDirectory() as folder:
        changed = Path(folder)
        for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            shutil.copyfile(
                path, changed / path.name
            )  # the course as it is now, and a correction to lesson 00:
        nb = nbformat.read(str(changed / "00_welcome.ipynb"), as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell("A correction published mid-term."))
        nbformat.write(nb, str(changed / "00_welcome.ipynb"))
        publish_student_version(run, changed)
    now = lessons.student_texts_from(run / "student")
    # Lesson 00, and any other lesson the course changed since the class's copies were made, must arrive beside.
    expected = sorted(name[:-6] for name, text in now.items() if published.get(name) != text)
    counts = {
        "learners": len(names),
        "every copy kept as it was": 0,
        "each changed lesson beside the copy": 0,
    }
    counts["lessons changed"] = expected
    for name in names:
        folder = Path(pwd.getpwnam(name).pw_dir) / lessons.LESSONS
        before = {p.name: p.read_bytes() for p in folder.glob("*.ipynb")}
        lessons.update_learner(name, run / "student")
        after = {p.name: p.read_bytes() for p in folder.glob("*.ipynb")}
        note_kept = f"My own note, {name}.".encode() in after.get("00_welcome.ipynb", b"")
        counts["every copy kept as it was"] += note_kept and all(
            after.get(n) == text for n, text in before.items()
        )
        new = sorted(n for n in after if n not in before)
        counts["each changed lesson beside the copy"] += (
            [n.split(".updated-")[0] for n in new] == expected
            and b"published mid-term" in after[new[0]]
            and all((folder / n).stat().st_uid == pwd.getpwnam(name).pw_uid for n in new)
        )
    publish_student_version(run, REPO / "notebooks")  # back to the course as it is
    return counts


def grade_both_ways(run: Path, assignments: List[str], report: Dict) -> None:
    """nbgrader autograde and the course's grader on the collected hand-ins, each exported to CSV; compared."""
    course = run / "course"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    began = time.monotonic()
    for assignment in assignments:
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"],
            cwd=course,
            env=env,
            capture_output=True,
            check=False,
        )
    report["nbgrader_autograde_s"] = round(time.monotonic() - began, 1)
    grades, max_points = export_grades.from_gradebook(f"sqlite:///{course / 'gradebook.db'}", assignments)
    from_nbgrader = export_grades.grades_csv(grades, max_points)
    began = time.monotonic()
    reports = export_grades.run_course_grader(course, assignments)
    report["course_grader_s"] = round(time.monotonic() - began, 1)
    grades, max_points = export_grades.from_reports(export_grades.read_reports(reports))
    from_grader = export_grades.grades_csv(grades, max_points)
    (run / "grades-nbgrader.csv").write_text(from_nbgrader)
    (run / "grades-course-grader.csv").write_text(from_grader)
    report["grades_csv_head"] = from_grader.splitlines()[:4]
    report["grades_csv_same_from_both"] = from_nbgrader == from_grader
    report["grades_csv_rows"] = len(from_grader.splitlines()) - 1


async def main_async(args) -> Dict:
    run = args.run_dir.resolve()
    os.environ["PATH"] = (
        f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader, alembic
    )
    reset(run)
    names = [f"learner{i:03d}" for i in range(args.users)]
    passwords = accounts.add_learners(names, run)
    uids = learner_uids(names)
    service_token = secrets.token_hex(24)
    env = dict(
        os.environ, CLASSROOM_RUN_DIR=str(run), CLASSROOM_SERVICE_TOKEN=service_token, CLASSROOM_ADMINS=""
    )
    env["CLASSROOM_PORT"] = str(args.port)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = open(run / "hub" / "hub.log", "w")  # noqa: SIM115
    hub_process = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(HERE / "jupyterhub_config.py")],
        cwd=run / "hub",
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    data_before = folder_digest(run / "data")
    hub = Hub(f"http://127.0.0.1:{args.port}", service_token)
    report: Dict = {"users": args.users, "assignments": args.assignments, "cgroups": limits.available()}
    report["load_average_before"] = os.getloadavg()[0]
    try:
        for _ in range(240):
            try:
                await hub.api("GET", "/hub/api/")
                break
            except Exception:
                await asyncio.sleep(0.5)
        await hub.api("POST", "/hub/api/users", body={"usernames": names})  # the instructor enrols the class
        course = run / "course"
        answers = {}
        for assignment in args.assignments:
            source = next((course / "source" / assignment).glob("*.ipynb"))
            answers[assignment] = solution_sources(nbformat.read(str(source), as_version=4))
        peaks: Dict[str, int] = {}
        totals: List = []
        stop, low = asyncio.Event(), asyncio.Event()
        sampler = asyncio.ensure_future(
            sample_memory(uids, peaks, totals, stop, low, int(args.memory_floor_gb * 2**30))
        )
        results = {name: {} for name in names}
        began = time.monotonic()
        tasks = [
            asyncio.ensure_future(learner(hub, n, passwords[n], args, answers, results[n])) for n in names
        ]
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
        watcher.cancel()
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        report["wall_s"] = round(time.monotonic() - began, 1)
        stop.set()
        await sampler
        for name, task in zip(names, tasks):
            if task.done() and not task.cancelled() and task.exception() is not None:
                results[name]["error"] = f"{type(task.exception()).__name__}: {task.exception()}"
            elif task in pending:
                results[name]["error"] = "stopped at the memory floor" if low.is_set() else "out of time"
            results[name]["peak_rss_mb"] = round(peaks.get(name, 0) / 2**20)
        report["learners"] = results
        report["peak_all_learners_mb"] = round(max((t[1] for t in totals), default=0) / 2**20)
        report["peak_machine_used_mb"] = round(max((t[2] for t in totals), default=0) / 2**20)
        if report["cgroups"]:
            report["cgroup_peak_mb"] = {
                n: round(limits.usage(n)["memory_peak_bytes"] / 2**20)
                for n in names
                if (limits.base("memory") / n).exists()
            }

        # Isolation: every learner A against the next one, B, at the same time.
        done = [n for n in names if results[n].get("ok")]
        pairs = [(a, done[(i + 1) % len(done)]) for i, a in enumerate(done)] if len(done) > 1 else []
        outcomes = await asyncio.gather(
            *(isolation(hub, a, b, passwords, results, run, args.assignments[0]) for a, b in pairs),
            return_exceptions=True,
        )
        checks: Dict[str, Dict[str, int]] = {}
        failures = []
        for (a, b), found in zip(pairs, outcomes):
            if isinstance(found, Exception):
                failures.append(f"{a} -> {b}: the check itself failed: {found!r}")
                continue
            for label, outcome in found.items():
                passed = isolation_passed(label, outcome)
                counts = checks.setdefault(label, {"passed": 0, "failed": 0})
                counts["passed" if passed else "failed"] += 1
                if not passed:
                    failures.append(f"{a} -> {b}: {label}: {outcome}")
        # The instructor can still read any learner's work through their server.
        admin_reads = 0
        for _, b in pairs:
            code, text = await hub.call(
                "GET", f"/user/{b}/api/contents/{results[b]['handed_in'][args.assignments[0]]['path']}"
            )
            admin_reads += code == 200 and f"# answer of {b}" in text.decode()
        report["instructor_reads_learners_notebooks"] = f"{admin_reads} of {len(pairs)}"
        for a, b in pairs:  # nothing was left in B's home by A
            if (Path(pwd.getpwnam(b).pw_dir) / "intruder.txt").exists():
                failures.append(f"{a} -> {b}: a file of A's is in B's home")
        report["isolation"] = checks
        report["isolation_pairs"] = len(pairs)
        report["isolation_failures"] = failures

        # The instructor collects: impersonated hand-ins refused, each learner's own answers intact.
        refused = collect.collect(run, args.assignments)
        report["refused_hand_ins"] = {a: len(r) for a, r in refused.items()}
        report["collected"] = {}
        for assignment in args.assignments:
            collected = intact = 0
            for name in names:
                files = sorted((course / "submitted" / name / assignment).glob("*.ipynb"))
                collected += bool(files)
                expected = results[name].get("handed_in", {}).get(assignment, {}).get("answers")
                if files:
                    sources = solution_sources(nbformat.read(str(files[0]), as_version=4))
                    intact += digest(sources) == expected
            report["collected"][assignment] = {"collected": collected, "intact": intact}

        report["content_update"] = content_update(run, done)
        if report["cgroups"] and done and args.limits_check:
            name = done[0]
            async with Kernel(hub, name, results[name]["token"]) as kernel:
                report["limits_check"] = {"learner": name, **await kernel.run_json(LIMITS_PROBE, timeout=300)}
                report["limits_check"]["learner's memory limit reached (times)"] = limits.usage(name)[
                    "limit_reached"
                ]
        report["load_average_after_learners"] = os.getloadavg()[0]
        if args.grade:
            grade_both_ways(run, args.assignments, report)
    finally:
        try:
            os.killpg(
                hub_process.pid, signal.SIGTERM
            )  # the hub stops the servers it started (cleanup_servers)
            hub_process.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(hub_process.pid, signal.SIGKILL)
        time.sleep(2)
        report["leftover_processes_killed"] = stop_leftovers(uids)
        report["shared_data_unchanged"] = folder_digest(run / "data") == data_before
        for name in names:
            limits.remove_learner_cgroups(name)
        if not args.keep_class:
            accounts.remove_learners(names, delete_home=True)
        log.close()
        report["load_average_after"] = os.getloadavg()[0]
    return report


def summary(report: Dict) -> str:
    learners = report["learners"].values()
    starts = sorted(r["start_s"] for r in learners if "start_s" in r)
    peaks = sorted(r["peak_rss_mb"] for r in learners if r.get("peak_rss_mb"))
    ok = sum(bool(r.get("ok")) for r in learners)
    lines = [
        f"load average (1 min) before {report['load_average_before']:.2f}, after {report['load_average_after']:.2f}",
        f"{report['users']} learners, assignments {', '.join(report['assignments'])}: {ok} finished in "
        f"{report.get('wall_s', 0):g} s",
    ]
    if starts:
        lines.append(
            f"server start: median {starts[len(starts) // 2]:.1f} s, fastest {starts[0]:.1f} s, slowest {starts[-1]:.1f} s"
        )
    if peaks:
        lines.append(
            f"peak memory per learner (server + kernels, RSS): median {peaks[len(peaks) // 2]} MB, max {peaks[-1]} MB; "
            f"machine in use at peak {report['peak_machine_used_mb']} MB of {round(psutil.virtual_memory().total / 2**20)} MB"
        )
    for assignment, counts in report.get("collected", {}).items():
        lines.append(
            f"{assignment}: {counts['collected']} of {report['users']} hand-ins collected, {counts['intact']} with the "
            f"learner's own answers; refused (handed in under another's name): {report['refused_hand_ins'][assignment]}"
        )
    checks = report.get("isolation", {})
    passed = sum(c["passed"] for c in checks.values())
    failed = sum(c["failed"] for c in checks.values())
    lines.append(
        f"isolation: {report.get('isolation_pairs', 0)} pairs, {len(checks)} checks each: {passed} passed, {failed} failed; "
        f"the instructor read {report.get('instructor_reads_learners_notebooks')} learners' notebooks"
    )
    lines += [f"  FAILED {f}" for f in report.get("isolation_failures", [])[:20]]
    if "content_update" in report:
        lines.append(f"content update mid-term: {report['content_update']}")
    if "limits_check" in report:
        lines.append(f"limits: {report['limits_check']}")
    if "grades_csv_same_from_both" in report:
        lines.append(
            f"grades CSV: {report['grades_csv_rows']} learners, the same from nbgrader and the course grader: "
            f"{report['grades_csv_same_from_both']} (autograde {report['nbgrader_autograde_s']} s, course grader "
            f"{report['course_grader_s']} s); head: {report['grades_csv_head']}"
        )
    lines.append(f"shared data folder unchanged: {report.get('shared_data_unchanged')}")
    lines += [f"{n}: {r['error']}" for n, r in report["learners"].items() if r.get("error")][:10]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", type=Path, default=accounts.default_run_dir())
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--assignments", nargs="+", default=["lesson00", "lesson02"])
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="stop the learners after this long")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--memory-floor-gb",
        type=float,
        default=4.0,
        help="stop the learners when the machine has less than this much memory available (default 4)",
    )
    parser.add_argument("--grade", action="store_true", help="grade both ways and export the grades to CSV")
    parser.add_argument("--no-limits-check", dest="limits_check", action="store_false")
    parser.add_argument("--keep-class", action="store_true", help="keep the learners' accounts and homes")
    parser.add_argument("--output", type=Path, help="write the full report (JSON) here")
    args = parser.parse_args(argv)
    if not 2 <= args.users <= 200:
        parser.error("--users must be between 2 and 200 (the isolation checks need two learners)")
    if os.geteuid() != 0:
        parser.error("run it as root, like the hub: it makes the learners' accounts")
    report = asyncio.run(main_async(args))
    for result in report.get("learners", {}).values():
        result.pop("token", None)
    if args.output:
        args.output.write_text(json.dumps(report, indent=2))
    print(summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
