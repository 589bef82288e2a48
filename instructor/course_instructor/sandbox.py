"""The grading sandbox: runs each exercise's check in a fresh process, from the learner's solution cells only.

``grading.grade_notebook`` starts ``python -m course_instructor.sandbox`` and writes one job to its stdin
(JSON: the trusted imports, and per exercise the solution cells to run and the instructor's check cell). This
process is the *launcher*: it never runs learner code. It imports the checkers first, so it holds them pristine,
loads every answer-key module (``integrity.AnswerKeyAudit.prepare``), runs the trusted imports (the ``import``
lines of the instructor's notebook), then for each exercise forks a child that starts from that clean state and

1. sets its limits: memory (``RLIMIT_AS``, above what the imports already use), output file size, time (an
   alarm; the launcher kills it if it ignores the alarm);
2. installs the answer-key audit (``integrity``): from here on, every use of the answer key by the learner's code
   is seen, whatever its spelling;
3. runs the submission's solution cells of the earlier exercises in notebook order, then the course's own
   solutions of those exercises (so that a mistake there is not counted again here), then the exercise's own
   cell, each compiled under a name like ``<submission cell 19 (exercise 03.3)>`` so tracebacks point at the
   learner's line; a cell the integrity scan flags is not run (under ``strict``). After each cell, the modules
   and classes the checkers rely on are compared with a snapshot: a change is undone and flagged against that
   cell's exercise;
4. runs the instructor's check cell (hidden tests included) in a namespace of its own, with the instructor's
   imports, ``check`` bound to the pristine checkers (wrapped so the result goes to the launcher, not to
   anything the learner's code could have replaced) and the learner's functions.

A use of the answer key, or a change to the libraries, by this exercise's cell or while its check runs scores
it 0 under ``strict``. The child writes its result to a file, each record stamped with a secret the learner's code
never sees; the launcher prints one JSON line per exercise. Whatever a child does (loops, allocates without end,
exits, dies), the launcher reports it against that exercise and goes on with the next. Linux and macOS
(``fork``).
"""

from __future__ import annotations

import json
import linecache
import os
import signal
import sys
import tempfile
import time
import traceback
import types
from typing import Dict, List, Optional

from .integrity import CHECKER_MODULES, COURSE_PACKAGES, TAMPERING, AnswerKeyAudit, describe_uses, is_under

PASSED, FAILED, FLAGGED, TIMEOUT, MEMORY, ERROR = "passed", "failed", "flagged", "timeout", "memory", "error"
GRACE_SECONDS = 3.0  # how long past its time limit a child that ignores the alarm may run before it is killed
OUTPUT_LIMIT_BYTES = 20 * 2**20  # what a child may print (to a file nobody reads unless debugging)
# Modules whose contents the checkers rely on: any of their attributes replaced during a check is tampering.
WATCHED_MODULES = ("builtins", "math", "torch", "torch.nn", "torch.nn.functional", "numpy")
WATCHED_CLASSES = (("torch", "Tensor"), ("torch.nn", "Module"))


class GradingTimeout(BaseException):
    """Raised by the alarm when an exercise runs past its time limit (a BaseException: harder to swallow)."""


def watched_owners() -> Dict[str, object]:
    """The modules and classes whose attributes the checkers rely on: PyTorch's, Python's, the course's modules and
    the checkers' own classes (the spy models they hand to the learner's function). Taken in the launcher, before
    any stand-in replaces a module."""
    owners: Dict[str, object] = {name: sys.modules[name] for name in WATCHED_MODULES if name in sys.modules}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in COURSE_PACKAGES or not isinstance(module, types.ModuleType):
            continue
        owners[name] = module
        if is_under(name, CHECKER_MODULES):
            for key, value in list(vars(module).items()):
                if isinstance(value, type) and value.__module__ == name:
                    owners[f"{name}.{key}"] = value
    for module_name, class_name in WATCHED_CLASSES:
        owner = getattr(sys.modules.get(module_name), class_name, None)
        if owner is not None:
            owners[f"{module_name}.{class_name}"] = owner
    return owners


def _snapshot(owners: Dict[str, object]) -> Dict[str, Dict[str, object]]:
    """Every attribute of the watched modules and classes, as it is now."""
    return {name: dict(vars(owner)) for name, owner in owners.items()}


def _changed(owners: Dict[str, object], before: Dict[str, Dict[str, object]]) -> List[tuple]:
    """(owner, attribute) replaced or removed since ``before``, except by the library itself (PyTorch wraps some of
    its functions when it first imports parts of itself, e.g. torch.manual_seed)."""
    changed = []
    missing = object()
    for name, owner in owners.items():
        now = vars(owner)
        for key, value in before.get(name, {}).items():
            current = now.get(key, missing)
            if current is value or (key.startswith("__") and isinstance(owner, types.ModuleType)):
                continue  # a module's own dunders (__warningregistry__, ...) change by themselves
            module = getattr(current, "__module__", None)
            learners = str(getattr(getattr(current, "__code__", None), "co_filename", "")).startswith(
                "<submission"
            )
            same_library = (
                isinstance(module, str) and module.split(".")[0] == name.split(".")[0] not in COURSE_PACKAGES
            )
            if same_library and not learners:
                continue
            changed.append((name, key))
    return changed


def _restore(owners: Dict[str, object], before: Dict[str, Dict[str, object]], changed: List[tuple]) -> None:
    """Put back what a cell replaced, so that the next cell and the check see the libraries as they were."""
    for name, key in changed:
        try:
            setattr(owners[name], key, before[name][key])
        except (AttributeError, TypeError):
            pass  # read-only: the change is flagged all the same


def _describe(error: BaseException) -> str:
    """``Type: message (submission cell 19 line 4: `code`)``: the learner's own line when there is one."""
    text = " ".join(str(error).split())
    text = text if len(text) <= 300 else text[:299] + "…"
    where = ""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<submission")]
    if frames:
        frame = frames[-1]
        where = f" ({frame.filename[1:-1]}, line {frame.lineno}: `{(frame.line or '').strip()}`)"
    elif isinstance(error, SyntaxError) and (error.filename or "").startswith("<submission"):
        where = f" ({error.filename[1:-1]}, line {error.lineno})"
    return f"{type(error).__name__}: {text}{where}" if text else f"{type(error).__name__}{where}"


def _out_of_memory(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, MemoryError) or "can't allocate memory" in text or "out of memory" in text


def _compile(source: str, filename: str):
    from course_utils.exercise_layout import python_source

    code = python_source(source)
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    return compile(code, filename, "exec")


def _virtual_memory_bytes() -> Optional[int]:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _resident_bytes(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _limit_child(memory_bytes: int, seconds: float, log_path: str) -> None:
    import resource

    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a print loop gets an error, not a dead process
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT_BYTES, OUTPUT_LIMIT_BYTES))
    base = _virtual_memory_bytes()
    if (
        base is not None
    ):  # Linux: a clean MemoryError past the limit (macOS ignores RLIMIT_AS; the watchdog acts)
        limit = base + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def alarm(signum, frame):
        raise GradingTimeout()

    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _checker_proxy(pristine: Dict[str, object], records: list, result_type: type, failed_type: type):
    """A stand-in for ``course_utils.check`` whose checkers are the pristine ones and report to ``records``."""
    proxy = types.ModuleType("course_utils.check")

    def recorded(run):
        def checker(*args, **kwargs):
            try:
                result = run(*args, **kwargs)
            except failed_type as failure:
                if type(failure.result) is result_type:
                    records.append(failure.result)
                raise
            if type(result) is result_type:
                records.append(result)
            return result

        return checker

    for name, run in pristine.items():
        setattr(proxy, name, recorded(run))
    return proxy


def _cells_in_order(exercise: Dict) -> List[Dict]:
    """The earlier exercises' solution cells in notebook order, then the course's solutions of the earlier
    exercises (so that this exercise is checked with correct versions of the functions it builds on), then the
    exercise's own cells."""
    cells = exercise["cells"]
    supplied = [dict(cell, supplied=True) for cell in exercise.get("supplied", [])]
    return [c for c in cells if not c["own"]] + supplied + [c for c in cells if c["own"]]


def _run_cell(cell: Dict, namespace: Dict, audit: AnswerKeyAudit, owners: Dict) -> tuple:
    """Run one solution cell; return (its error or None, what it did to the answer key or the libraries)."""
    mark, before = audit.mark(), _snapshot(owners)
    error: Optional[BaseException] = None
    try:
        exec(_compile(cell["source"], f"<{cell['label']}>"), namespace)
    except GradingTimeout:
        raise
    except BaseException as raised:  # the learner's cell: a SyntaxError, a crash, even SystemExit
        if _out_of_memory(raised):
            raise
        error = raised
    return error, _findings(audit, mark, owners, before)


def _findings(audit: AnswerKeyAudit, mark: int, owners: Dict, before: Dict) -> List[str]:
    """What the learner's code did since ``mark``/``before``: answer-key uses and changed libraries (undone)."""
    found = describe_uses(audit.uses_since(mark))
    changed = _changed(owners, before)
    if changed:
        _restore(owners, before, changed)
        names = ", ".join(f"{owner}.{key}" for owner, key in changed[:5])
        found.append(f"{TAMPERING}: it changed {names} (undone before the check)")
    switched_off = audit.tampered()
    if switched_off:
        found.append(switched_off)
    return found


def _flagged_message(flags: List[str]) -> str:
    advice = (
        " Write it yourself: the course package is the answer key, and the grader sees every use of it."
        if any(not f.startswith(TAMPERING) for f in flags)
        else ""
    )
    return "0 points: your solution " + "; ".join(flags) + "." + advice


def _run_exercise(
    job: Dict,
    exercise: Dict,
    namespace: Dict,
    trusted: Dict,
    pristine: Dict,
    audit: AnswerKeyAudit,
    owners: Dict,
    secret: str,
    result_path: str,
):
    """In the forked child: run the exercise and write its result; never returns."""
    from course_utils.exercises import core

    result = open(result_path, "w", encoding="utf-8")  # noqa: SIM115 (kept open until the end)

    def write(record: Dict) -> None:
        result.write(json.dumps({"secret": secret, **record}) + "\n")
        result.flush()

    status, message, flags, notes = ERROR, "", [], []
    try:
        _limit_child(int(job["memory_bytes"]), float(job["check_timeout"]), result_path + ".log")
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass
        strict = bool(job.get("strict", True))
        own_error: Optional[BaseException] = None
        audit.install([namespace, trusted])
        for cell in _cells_in_order(exercise):
            write({"phase": cell["label"]})
            if cell.get("supplied"):  # the course's own solution of an earlier exercise: trusted code
                try:
                    exec(_compile(cell["source"], f"<{cell['label']}>"), namespace)
                except Exception as error:
                    notes.append(f"{cell['label']} raised {_describe(error)}")
                continue
            scanned = list(cell["scan"].get("flags", []))
            if cell["own"]:
                flags.extend(scanned)
            if scanned and strict:
                if not cell["own"]:
                    notes.append(f"{cell['label']} was not run: the integrity scan flagged it")
                continue
            error, found = _run_cell(cell, namespace, audit, owners)
            if cell["own"]:
                flags.extend(found)
                own_error = error or own_error
            elif error is not None:
                notes.append(f"{cell['label']} raised {_describe(error)}")
        if flags and strict:
            status, message = FLAGGED, _flagged_message(flags)
        else:
            records: list = []
            # The check cell sees the course's imports as the instructor's notebook binds them (a solution that
            # rebinds `torch` or `check` changes its own namespace only) and the learner's functions.
            check_namespace = {**namespace, **trusted}
            check_namespace["check"] = _checker_proxy(
                pristine, records, core.CheckResult, core.ExerciseFailed
            )
            write({"phase": f"the check cell of exercise {exercise['id']}"})
            mark, before = audit.mark(), _snapshot(owners)
            check_error: Optional[BaseException] = None
            try:
                exec(_compile(exercise["check_source"], "<check cell>"), check_namespace)
            except GradingTimeout:
                raise
            except BaseException as error:
                if _out_of_memory(error):
                    raise
                check_error = error
            signal.setitimer(signal.ITIMER_REAL, 0)
            flags.extend(_findings(audit, mark, owners, before))
            mine = [r for r in records if r.exercise_id == exercise["id"]]
            if flags and strict:
                status, message = FLAGGED, _flagged_message(flags)
            elif not mine:
                status = FAILED
                reason = _describe(check_error) if check_error else "nothing (no checker call)"
                message = f"no result: the check cell raised {reason}"
                if own_error is not None:
                    message += f"; your solution cell raised {_describe(own_error)}"
                message += "."
            elif not mine[-1].passed:
                status, message = FAILED, mine[-1].message
            elif check_error is not None and not isinstance(check_error, core.ExerciseFailed):
                status = FAILED
                message = f"the checker passed, but a hidden test then failed: {_describe(check_error)}."
            else:
                status, message = PASSED, mine[-1].message
    except GradingTimeout:
        status = TIMEOUT
        message = (
            f"ran past the time limit of {float(job['check_timeout']):g} s for one exercise and was stopped."
        )
    except BaseException as error:
        if _out_of_memory(error):
            status = MEMORY
            message = (
                f"ran out of memory: it needed more than the {int(job['memory_bytes']) / 2**30:g} GiB "
                f"allowed per exercise ({_describe(error)})."
            )
        else:
            status, message = ERROR, f"the grader's check could not run: {_describe(error)}."
    try:
        signal.setitimer(signal.ITIMER_REAL, 0)
        audit.uninstall()
        write({"status": status, "message": message, "flags": flags, "notes": notes})
        result.close()
    finally:
        os._exit(0)


def _wait(pid: int, deadline: float, memory_bytes: int, baseline: int):
    """Wait for a child; kill it past its deadline or its memory. Returns (wait status or None, reason)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, None
        now = time.monotonic()
        resident = _resident_bytes(pid)
        reason = None
        if now > deadline:
            reason = TIMEOUT
        elif resident is not None and resident > baseline + memory_bytes:
            reason = MEMORY
        if reason:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, reason
        time.sleep(0.02)


def _read_records(path: str, secret: str) -> List[Dict]:
    records = []
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for line in file:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.pop("secret", None) == secret:
                    records.append(record)
    except OSError:
        pass
    return records


def _verdict(exercise: Dict, job: Dict, records: List[Dict], status, killed: Optional[str]) -> Dict:
    final = next((r for r in reversed(records) if "status" in r), None)
    if final is not None and killed is None:
        return {"id": exercise["id"], **final}
    phase = next((r["phase"] for r in reversed(records) if "phase" in r), "its start")
    if killed == TIMEOUT:
        limit = float(job["check_timeout"])
        return {
            "id": exercise["id"],
            "status": TIMEOUT,
            "message": f"ran past the time limit of {limit:g} s for one exercise (in {phase}) and was stopped.",
        }
    if killed == MEMORY:
        return {
            "id": exercise["id"],
            "status": MEMORY,
            "message": f"ran out of memory in {phase}: it used more than the {int(job['memory_bytes']) / 2**30:g} "
            "GiB allowed per exercise and was stopped.",
        }
    if status is not None and os.WIFSIGNALED(status):
        signal_number = os.WTERMSIG(status)
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = str(signal_number)
        hint = " (killed: out of memory?)" if signal_number == signal.SIGKILL else ""
        how = f"died from signal {name}{hint}"
    else:
        how = f"ended (exit status {os.WEXITSTATUS(status) if status is not None else '?'}) without a result"
    return {
        "id": exercise["id"],
        "status": ERROR,
        "message": f"the grading process {how} while running {phase}.",
    }


def _warm_up() -> None:
    """Run once in the launcher what every exercise's process would otherwise pay for again: PyTorch's first use
    of the 'meta' device (the checkers' stand-in for a GPU) loads its rules, about 2 s."""
    try:
        import torch
        import torch.nn.functional as F

        labels = torch.zeros(2, dtype=torch.long, device="meta")
        F.one_hot(labels, 3).float() + torch.zeros(2, 3, device="meta")
    except Exception:
        pass


def main() -> int:
    job = json.loads(sys.stdin.read())
    secret = job.pop("secret")
    from course_utils import check  # noqa: F401  (registers every checker before any other code runs)
    from course_utils.exercises import core

    pristine = {info.name: info.checker for info in core.CHECKERS.values()}
    audit = AnswerKeyAudit()
    audit.prepare()
    _warm_up()
    workdir = tempfile.mkdtemp(prefix="course-sandbox-")
    for number, submission in enumerate(job["submissions"]):
        # The trusted imports, run here: the learner's code never is.
        namespace: Dict = {"__name__": "__main__"}
        problems = []
        for statement in submission["imports"]:
            try:
                exec(compile(statement, "<course imports>", "exec"), namespace)
            except Exception as error:
                problems.append(f"the course's import `{statement}` failed: {type(error).__name__}: {error}")
        trusted = dict(namespace)
        owners = watched_owners()
        print(json.dumps({"submission": number, "problems": problems}), flush=True)
        baseline = _resident_bytes(os.getpid()) or 0
        for exercise in submission["exercises"]:
            result_path = os.path.join(workdir, f"{number}-{exercise['id']}.jsonl")
            sys.stdout.flush()
            sys.stderr.flush()
            started = time.monotonic()
            pid = os.fork()
            if pid == 0:
                _run_exercise(job, exercise, namespace, trusted, pristine, audit, owners, secret, result_path)
            deadline = started + float(job["check_timeout"]) + GRACE_SECONDS
            status, killed = _wait(pid, deadline, int(job["memory_bytes"]), baseline)
            verdict = _verdict(exercise, job, _read_records(result_path, secret), status, killed)
            verdict.update(submission=number, seconds=round(time.monotonic() - started, 2))
            print(json.dumps(verdict), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
