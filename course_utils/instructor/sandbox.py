"""The grading sandbox: runs each exercise's check in a fresh process, from the learner's solution cells only.

``grading.grade_notebook`` starts ``python -m course_utils.instructor.sandbox`` and writes one job to its stdin
(JSON: the trusted imports, and per exercise the solution cells to run and the instructor's check cell). This
process is the *launcher*: it never runs learner code. It imports the checkers first, so it holds them pristine,
runs the trusted imports (the ``import`` lines of the instructor's notebook), then for each exercise forks a
child that starts from that clean state and

1. sets its limits: memory (``RLIMIT_AS``, above what the imports already use), output file size, time (an
   alarm; the launcher kills it if it ignores the alarm);
2. runs the submission's solution cells up to this exercise's, in notebook order, each compiled under a name
   like ``<submission cell 19 (exercise 03.3)>`` so tracebacks point at the learner's line; a cell the
   integrity scan flags is not run (under ``strict``);
3. runs the instructor's check cell (hidden tests included) with ``check`` bound to the pristine checkers,
   wrapped so the result goes to the launcher, not to anything the learner's code could have replaced;
4. compares the modules the checkers rely on with a snapshot taken before the learner's code ran.

The child writes its result to a file, each record stamped with a secret the learner's code never sees; the
launcher prints one JSON line per exercise. Whatever a child does (loops, allocates without end, exits, dies),
the launcher reports it against that exercise and goes on with the next. Linux and macOS (``fork``).
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

from .integrity import ANSWER_KEY, COURSE_PACKAGE, TAMPERING, TAMPERING_MODULES

PASSED, FAILED, FLAGGED, TIMEOUT, MEMORY, ERROR = "passed", "failed", "flagged", "timeout", "memory", "error"
GRACE_SECONDS = 3.0  # how long past its time limit a child that ignores the alarm may run before it is killed
OUTPUT_LIMIT_BYTES = 20 * 2**20  # what a child may print (to a file nobody reads unless debugging)
# Modules whose contents the checkers rely on: any of their attributes replaced during a check is tampering.
WATCHED_MODULES = ("builtins", "math", "torch", "torch.nn", "torch.nn.functional", "numpy")
WATCHED_CLASSES = (("torch", "Tensor"), ("torch.nn", "Module"))


class GradingTimeout(BaseException):
    """Raised by the alarm when an exercise runs past its time limit (a BaseException: harder to swallow)."""


def _is_course_object(value) -> bool:
    """True for course_utils modules and for anything defined in course_utils (functions, classes, instances)."""
    try:
        if isinstance(value, types.ModuleType):
            return (value.__name__ or "").split(".")[0] == COURSE_PACKAGE
        for owner in (value, type(value)):
            module = getattr(owner, "__module__", None)
            if isinstance(module, str) and module.split(".")[0] == COURSE_PACKAGE:
                return True
    except Exception:
        return False
    return False


def runtime_flags(scan: Dict, namespace: Dict) -> List[str]:
    """The integrity findings that need the values of the names a solution cell uses, as they are now."""
    flags: List[str] = []
    for name in scan.get("names", []):
        if name not in namespace:
            continue
        value = namespace[name]
        if _is_course_object(value):
            what = value.__name__ if isinstance(value, types.ModuleType) else _qualified(value)
            flags.append(f"{ANSWER_KEY}: refers to `{name}`, which is {what} of the course package")
        elif isinstance(value, types.ModuleType) and value.__name__.split(".")[0] in TAMPERING_MODULES:
            flags.append(f"{TAMPERING}: uses `{name}` (the module {value.__name__})")
    for name in scan.get("assigned_bases", []):
        value = namespace.get(name)
        if isinstance(value, (types.ModuleType, type)):
            kind = "module" if isinstance(value, types.ModuleType) else "class"
            flags.append(f"{TAMPERING}: assigns to an attribute of the {kind} `{name}`")
    return flags


def _qualified(value) -> str:
    owner = value if isinstance(value, type) or callable(value) else type(value)
    return f"{getattr(owner, '__module__', '?')}.{getattr(owner, '__qualname__', type(value).__name__)}"


def _watched() -> Dict[str, object]:
    """The modules and classes whose attributes the checkers rely on (the course's own modules included)."""
    owners: Dict[str, object] = {name: sys.modules[name] for name in WATCHED_MODULES if name in sys.modules}
    owners.update({n: m for n, m in sys.modules.items() if n.split(".")[0] == COURSE_PACKAGE and m})
    for module_name, class_name in WATCHED_CLASSES:
        owner = getattr(sys.modules.get(module_name), class_name, None)
        if owner is not None:
            owners[f"{module_name}.{class_name}"] = owner
    return owners


def _snapshot() -> Dict[str, Dict[str, int]]:
    """The identity of every attribute of the watched modules and classes."""
    return {name: {k: id(v) for k, v in vars(owner).items()} for name, owner in _watched().items()}


def _changed(before: Dict[str, Dict[str, int]]) -> List[str]:
    """Attributes of the watched modules and classes replaced since ``before``, except by the library itself
    (PyTorch wraps some of its functions when it first imports parts of itself, e.g. torch.manual_seed)."""
    changed = []
    for name, owner in _watched().items():
        now = vars(owner)
        for key, identity in before.get(name, {}).items():
            if (key.startswith("__") and isinstance(owner, types.ModuleType)) or (
                key in now and id(now[key]) == identity
            ):
                continue  # a module's own dunders (__warningregistry__, ...) change by themselves
            value = now.get(key)
            module = getattr(value, "__module__", None)
            learners = str(getattr(getattr(value, "__code__", None), "co_filename", "")).startswith(
                "<submission"
            )
            same_library = (
                isinstance(module, str) and module.split(".")[0] == name.split(".")[0] != COURSE_PACKAGE
            )
            if same_library and not learners:
                continue
            changed.append(f"{name}.{key}")
    return changed


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
    from .layout import python_source

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


def _run_exercise(job: Dict, exercise: Dict, namespace: Dict, pristine: Dict, secret: str, result_path: str):
    """In the forked child: run the exercise and write its result; never returns."""
    from ..exercises import core

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
        before = _snapshot()
        strict = bool(job.get("strict", True))
        own_error: Optional[BaseException] = None
        for cell in exercise["cells"]:
            write({"phase": cell["label"]})
            found = list(cell["scan"].get("flags", [])) + runtime_flags(cell["scan"], namespace)
            if cell["own"]:
                flags.extend(found)
            if found and strict:
                if not cell["own"]:
                    notes.append(f"{cell['label']} was not run: the integrity scan flagged it")
                continue
            try:
                exec(_compile(cell["source"], f"<{cell['label']}>"), namespace)
            except GradingTimeout:
                raise
            except BaseException as error:  # the learner's cell: a SyntaxError, a crash, even SystemExit
                if _out_of_memory(error):
                    raise
                if cell["own"]:
                    own_error = error
                else:
                    notes.append(f"{cell['label']} raised {_describe(error)}")
        if flags and strict:
            status, message = FLAGGED, "0 points: your solution " + "; ".join(flags) + "."
        else:
            records: list = []
            namespace["check"] = _checker_proxy(pristine, records, core.CheckResult, core.ExerciseFailed)
            write({"phase": f"the check cell of exercise {exercise['id']}"})
            check_error: Optional[BaseException] = None
            try:
                exec(_compile(exercise["check_source"], "<check cell>"), namespace)
            except GradingTimeout:
                raise
            except BaseException as error:
                if _out_of_memory(error):
                    raise
                check_error = error
            signal.setitimer(signal.ITIMER_REAL, 0)
            mine = [r for r in records if r.exercise_id == exercise["id"]]
            changed = _changed(before)
            if changed:
                flags.append(f"{TAMPERING}: changed {', '.join(changed[:5])} while running")
            if flags and strict:
                status, message = FLAGGED, "0 points: your solution " + "; ".join(flags) + "."
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


def main() -> int:
    job = json.loads(sys.stdin.read())
    secret = job.pop("secret")
    from .. import check  # noqa: F401  (registers every checker before any other code runs)
    from ..exercises import core

    pristine = {info.name: info.checker for info in core.CHECKERS.values()}
    workdir = tempfile.mkdtemp(prefix="course-sandbox-")
    for number, submission in enumerate(job["submissions"]):
        namespace: Dict = {
            "__name__": "__main__"
        }  # the trusted imports, run here: the learner's code never is
        problems = []
        for statement in submission["imports"]:
            try:
                exec(compile(statement, "<course imports>", "exec"), namespace)
            except Exception as error:
                problems.append(f"the course's import `{statement}` failed: {type(error).__name__}: {error}")
        print(json.dumps({"submission": number, "problems": problems}), flush=True)
        baseline = _resident_bytes(os.getpid()) or 0
        for exercise in submission["exercises"]:
            result_path = os.path.join(workdir, f"{number}-{exercise['id']}.jsonl")
            sys.stdout.flush()
            sys.stderr.flush()
            started = time.monotonic()
            pid = os.fork()
            if pid == 0:
                _run_exercise(job, exercise, namespace, pristine, secret, result_path)
            deadline = started + float(job["check_timeout"]) + GRACE_SECONDS
            status, killed = _wait(pid, deadline, int(job["memory_bytes"]), baseline)
            verdict = _verdict(exercise, job, _read_records(result_path, secret), status, killed)
            verdict.update(submission=number, seconds=round(time.monotonic() - started, 2))
            print(json.dumps(verdict), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
