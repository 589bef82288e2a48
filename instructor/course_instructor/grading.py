"""Grade a learner's submitted notebook without nbgrader, so that code in the submission cannot fake a grade.

The authoritative check of each exercise runs in a fresh process of its own (``sandbox``) that executes only

1. the trusted imports: the top-level ``import`` lines of the *instructor's* notebook (not the submission's),
   after the pristine checkers were imported;
2. the submission's solution cells (nbgrader's ``exNN_k_solution`` cells, or the code cell just before an
   exercise's check cell), in notebook order, up to this exercise's own, with the instructor's solutions of the
   earlier exercises run just before its own: an exercise that builds on an earlier one (09.2 calls 09.1's
   ``q_sample``) is graded on its own, so one mistake costs once;
3. the instructor's check cell for the exercise, hidden tests included, with ``check`` bound to the pristine
   checkers.

Nothing else in the submission runs: a cell that patches ``check`` elsewhere has no effect. While the solution
cells and the check run, the integrity guard (``integrity``) sees every use of the answer key (the course package)
by the learner's code, whatever its spelling, and every change to the libraries; under ``strict`` (the default)
such an exercise scores 0 and the report says why. Each exercise has a time and a memory limit of its own, so an
endless loop or a runaway allocation costs that exercise only, and the report names it. Exercises registered as
ungraded practice (``@exercise(..., practice=True)``) are checked and reported, and count for no points.

Which lesson a submission is comes from ``--lesson``, else the notebook metadata ``course.lesson`` (written by
``python -m course_instructor.notebook_template``), else the file name (``03_*.ipynb``); never from the title cell.
Whatever the submission is, the result is a :class:`GradeReport`, never an exception.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import nbformat

from course_utils.exercise_layout import (
    Exercise,
    checker_call,
    checkers,
    exercise_sort_key,
    find_exercises,
    lesson_notebooks,
    python_source,
)

from .integrity import scan_solution

PASSED, FAILED, NOT_CHECKED, PRACTICE = "passed", "failed", "not checked", "practice"
FLAGGED, TIMED_OUT, OUT_OF_MEMORY, ERROR = "flagged", "timed out", "out of memory", "error"
MARKS = {
    PASSED: "✅ passed",
    FAILED: "❌ failed",
    NOT_CHECKED: "⚠️ not checked",
    FLAGGED: "🚩 flagged",
    TIMED_OUT: "⏱️ timed out",
    OUT_OF_MEMORY: "💥 out of memory",
    ERROR: "💥 error",
    PRACTICE: "📝 practice (ungraded)",
}
SANDBOX_STATUS = {
    "passed": PASSED,
    "failed": FAILED,
    "flagged": FLAGGED,
    "timeout": TIMED_OUT,
    "memory": OUT_OF_MEMORY,
    "error": ERROR,
}
DEFAULT_CHECK_TIMEOUT = (
    60.0  # seconds per exercise: the checks take a second or two; training is never graded
)
DEFAULT_MEMORY_GB = 2.0  # per exercise, above what importing PyTorch and the course already takes
SANDBOX_STARTUP_SECONDS = 120.0  # importing PyTorch on a busy machine
REPO_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
GRADE_ID = re.compile(r"^ex(\d+)_(\d+)_(solution|check)$")


@dataclass
class ExerciseGrade:
    exercise_id: str
    name: str
    status: str  # one of MARKS
    points: float
    max_points: float
    feedback: str
    flags: List[str] = field(default_factory=list)  # integrity findings (zero points under strict grading)


@dataclass
class GradeReport:
    """The grade of one submission: one line per exercise, and what went wrong while grading it."""

    submission: str
    exercises: List[ExerciseGrade] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)  # the run itself: unreadable file, timeouts, crashes
    cell_errors: List[str] = field(default_factory=list)  # solution cells that raised or were not run
    seconds: float = 0.0
    lesson: Optional[str] = None

    @property
    def score(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_points for e in self.exercises)

    def to_dict(self) -> Dict:
        return {
            "submission": self.submission,
            "lesson": self.lesson,
            "score": self.score,
            "max_score": self.max_score,
            "exercises": [asdict(e) for e in self.exercises],
            "problems": list(self.problems),
            "cell_errors": list(self.cell_errors),
            "seconds": round(self.seconds, 1),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        graded = [e for e in self.exercises if e.status != PRACTICE]
        passed = sum(e.status == PASSED for e in graded)
        practice = [e.exercise_id for e in self.exercises if e.status == PRACTICE]
        also = f"; {', '.join(practice)} ungraded practice" if practice else ""
        lines = [
            f"# Grade report: {Path(self.submission).name}",
            "",
            f"**Score: {_fmt(self.score)} / {_fmt(self.max_score)} points** ({passed} of {len(graded)} "
            f"graded exercises passed{also}; grading took {self.seconds:.1f} s)",
            "",
        ]
        if self.exercises:
            lines += ["| Exercise | Function | Result | Points | Feedback |", "|---|---|---|---:|---|"]
            for e in self.exercises:
                lines.append(
                    f"| {e.exercise_id} | `{e.name}` | {MARKS.get(e.status, e.status)} | {_fmt(e.points)} / "
                    f"{_fmt(e.max_points)} | {_cell_text(e.feedback)} |"
                )
        else:
            lines.append("No exercise found for this submission (give `--lesson NN`).")
        for title, items in (
            ("Problems while grading", self.problems),
            ("Solution cells that raised or were not run", self.cell_errors),
        ):
            if items:
                lines += ["", f"## {title}", ""] + [f"- {item}" for item in items]
        if self.problems or self.cell_errors:
            lines += ["", "Cells are numbered from 1 in the submitted notebook, Markdown cells included."]
        return "\n".join(lines) + "\n"


def _fmt(points: float) -> str:
    return str(int(points)) if float(points).is_integer() else f"{points:g}"


def _cell_text(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:299] + "…"


# ---------------------------------------------------------------- which lesson, which exercises, which cells


def notebook_lesson(nb) -> Optional[str]:
    """The lesson "NN" from the notebook metadata ``course.lesson``, or None."""
    course = (nb.get("metadata") or {}).get("course") if isinstance(nb, dict) else None
    lesson = course.get("lesson") if isinstance(course, dict) else None
    return str(lesson) if isinstance(lesson, (str, int)) and re.fullmatch(r"\d{2}", str(lesson)) else None


def _file_lesson(path: Path) -> Optional[str]:
    match = re.match(r"^(\d{2})_", path.name)
    return match.group(1) if match else None


def _instructor_source(source: Optional[Path], lesson: Optional[str]):
    """The instructor's notebook for the lesson (from a file, a folder, or the repository's), or None."""
    folder = REPO_NOTEBOOKS if source is None else Path(source)
    if folder.is_file():
        return nbformat.read(str(folder), as_version=4)
    if lesson is None or not folder.is_dir():
        return None
    matches = [p for p in lesson_notebooks(folder) if p.name.startswith(f"{lesson}_")]
    return nbformat.read(str(matches[0]), as_version=4) if matches else None


def expected_exercises(lesson: Optional[str], *found: List[Exercise]) -> List[Dict]:
    """Every registered exercise of the lesson, plus any exercise found in the notebooks, in order."""
    known = {info.exercise_id: (name, info) for name, info in checkers().items()}
    wanted: Dict[str, Dict] = {}

    def entry(name: str, info) -> Dict:
        return {
            "name": name,
            "points": float(info.points),
            "practice": bool(getattr(info, "practice", False)),
        }

    if lesson:
        for exercise_id, (name, info) in known.items():
            if exercise_id.split(".")[0] == lesson:
                wanted[exercise_id] = entry(name, info)
    for exercises in found:
        for exercise in exercises:
            if exercise.exercise_id in known:
                wanted.setdefault(exercise.exercise_id, entry(*known[exercise.exercise_id]))
            else:
                wanted.setdefault(
                    exercise.exercise_id,
                    {"name": exercise.checker, "points": float(exercise.points), "practice": False},
                )
    return [{"id": k, **v} for k, v in sorted(wanted.items(), key=lambda item: exercise_sort_key(item[0]))]


def submission_cells(nb) -> Tuple[Dict[str, List[int]], Dict[str, int]]:
    """(solution cells, check cell) per exercise id of a submission.

    A solution cell is a code cell whose nbgrader ``grade_id`` is ``exNN_k_solution``; where an exercise has none
    (metadata removed), it is the code cell just before the exercise's check cell. A check cell is the cell tagged
    ``exNN_k_check`` or the first cell starting with ``check.<name>(...)``.
    """
    ids_by_checker = {name: info.exercise_id for name, info in checkers().items()}
    solutions: Dict[str, List[int]] = {}
    checks: Dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        grade_id = str(((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id", ""))
        match = GRADE_ID.match(grade_id)
        exercise_id = f"{match.group(1)}.{match.group(2)}" if match else None
        if match and match.group(3) == "solution":
            solutions.setdefault(exercise_id, []).append(index)
            continue
        name = checker_call(cell.source)
        if match and match.group(3) == "check":
            checks.setdefault(exercise_id, index)
        elif name in ids_by_checker:
            checks.setdefault(ids_by_checker[name], index)
    check_cells = set(checks.values())
    for exercise_id, check_index in checks.items():
        if exercise_id in solutions:
            continue
        before = [
            i for i in range(check_index) if nb.cells[i].get("cell_type") == "code" and i not in check_cells
        ]
        if before:
            solutions[exercise_id] = [before[-1]]
    return solutions, checks


def trusted_imports(nb, skip: set) -> List[str]:
    """The top-level ``import``/``from`` statements of a notebook's code cells, except the cells in ``skip``."""
    statements: List[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or index in skip:
            continue
        try:
            tree = ast.parse(python_source(cell.source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not (
                isinstance(node, ast.ImportFrom) and node.module == "__future__"
            ):
                statement = ast.unparse(node)
                if statement not in statements:
                    statements.append(statement)
    return statements


# ---------------------------------------------------------------- running the sandbox


def _run_sandbox(job: Dict, env: Dict[str, str], timeout: float) -> Tuple[List[Dict], List[str]]:
    """Run the sandbox launcher on one job; return its JSON records and the problems of the run itself."""
    problems: List[str] = []
    with tempfile.TemporaryDirectory(prefix="course-grade-") as workdir:
        process = subprocess.Popen(
            [sys.executable, "-m", "course_instructor.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=env,
            text=True,
            start_new_session=True,  # one process group: the launcher and its children are stopped together
        )
        try:
            out, err = process.communicate(json.dumps(job), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            problems.append(f"Grading stopped at its total time limit of {timeout:g} s.")
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # nothing left behind
            except (ProcessLookupError, PermissionError):
                pass
    records = []
    for line in (out or "").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    if process.returncode not in (0, None) and not problems:
        tail = " ".join((err or "").strip().splitlines()[-1:])
        problems.append(f"The grading sandbox stopped (exit status {process.returncode}). {tail}".strip())
    return records, problems


@dataclass
class _Submission:
    """One submission on its way through the grader: its report so far and what the sandbox must run."""

    report: GradeReport
    started: float
    expected: List[Dict] = field(default_factory=list)
    grades: Dict[str, ExerciseGrade] = field(default_factory=dict)  # decided without running anything
    job: Optional[Dict] = None  # imports and exercises for the sandbox


def grade_notebook(path: Path, **options) -> GradeReport:
    """Grade one submission; see :func:`grade_notebooks` for the options. Never raises for a bad submission."""
    return grade_notebooks([path], **options)[0]


def grade_notebooks(
    paths: List[Path],
    timeout: Optional[float] = None,
    check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    memory_gb: float = DEFAULT_MEMORY_GB,
    fast: bool = False,
    lesson: Optional[str] = None,
    source: Optional[Path] = None,
    strict: bool = True,
    extra_env: Optional[Dict[str, str]] = None,
) -> List[GradeReport]:
    """Grade submissions exercise by exercise, each check in a fresh process; one report per submission.

    ``check_timeout``: seconds per exercise. ``memory_gb``: memory per exercise (GiB, above what the imports take).
    ``timeout``: all of it (default: enough for every exercise to use its limit). ``fast``: the course's fast
    mode (``COURSE_FAST=1``). ``lesson``: "NN", overriding the notebooks' metadata. ``source``: the instructor's
    notebook, or a folder of them (default: this repository's ``notebooks/``), whose imports and check cells
    (hidden tests included) are used. ``strict``: a flagged exercise scores 0 (else it is only reported).
    All submissions share one sandbox launcher, so PyTorch is imported once for the lot.
    """
    submissions = [_prepare(Path(path), lesson, source) for path in paths]
    jobs = [s.job for s in submissions if s.job is not None and s.job["exercises"]]
    records: List[Dict] = []
    problems: List[str] = []
    if jobs:
        env = dict(os.environ, **(extra_env or {}))
        env.setdefault("MPLBACKEND", "Agg")
        if fast:
            env["COURSE_FAST"] = "1"
        job = {
            "secret": secrets.token_hex(16),
            "submissions": jobs,
            "check_timeout": float(check_timeout),
            "memory_bytes": int(memory_gb * 2**30),
            "strict": bool(strict),
        }
        exercises = sum(len(j["exercises"]) for j in jobs)
        total = timeout if timeout is not None else SANDBOX_STARTUP_SECONDS + exercises * (check_timeout + 5)
        records, problems = _run_sandbox(job, env, total)
    for number, submission in enumerate(submissions):
        mine = [r for r in records if r.get("submission") == number]
        _finish(submission, mine, problems if submission.job else [], strict)
    return [s.report for s in submissions]


def _prepare(path: Path, lesson: Optional[str], source: Optional[Path]) -> _Submission:
    submission = _Submission(GradeReport(submission=str(path)), time.monotonic())
    report = submission.report
    nb, read_error = None, None
    try:
        nb = nbformat.read(str(path), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as error:
        read_error = f"Not a readable Jupyter notebook ({type(error).__name__}: {_one_line(error)})."
        nb = None
    try:
        lesson = lesson or (notebook_lesson(nb) if nb is not None else None) or _file_lesson(path)
        instructor = _instructor_source(source, lesson)
        lesson = lesson or (notebook_lesson(instructor) if instructor is not None else None)
        report.lesson = lesson
        theirs = find_exercises(instructor)[0] if instructor is not None else []
        found = find_exercises(nb)[0] if nb is not None else []
        submission.expected = expected_exercises(lesson, theirs, found)
        if read_error is not None:
            report.problems.append(read_error)
            for e in submission.expected:
                submission.grades[e["id"]] = _grade(e, ERROR, "not graded: the file is not readable.")
        else:
            _plan(submission, nb, instructor, theirs)
    except Exception as error:  # a bug of ours must still leave the instructor with a report
        report.problems.append(f"The grader failed: {type(error).__name__}: {_one_line(error)}")
    return submission


def _plan(submission: _Submission, nb, instructor, theirs: List[Exercise]) -> None:
    """Decide what the sandbox runs for each exercise (or grade it now when there is nothing to run)."""
    solutions, checks = submission_cells(nb)
    course_solutions: Dict[str, str] = {}  # the instructor's solution cell of each exercise
    if instructor is not None:
        check_sources = {e.exercise_id: instructor.cells[e.check_index].source for e in theirs}
        skip = {e.check_index for e in theirs} | {
            e.solution_index for e in theirs if e.solution_index is not None
        }
        imports = trusted_imports(instructor, skip)
        course_solutions = {
            e.exercise_id: instructor.cells[e.solution_index].source
            for e in theirs
            if e.solution_index is not None
        }
    else:
        submission.report.problems.append(
            "No instructor's notebook for this lesson (give --source): the imports and check cells were taken "
            "from the submission itself, hidden tests were not restored, and exercises that build on earlier "
            "ones use the learner's own earlier functions."
        )
        check_sources = {i: nb.cells[c].source for i, c in checks.items()}
        skip = set(checks.values()) | {i for cells in solutions.values() for i in cells}
        imports = trusted_imports(nb, skip)
    owner = {index: exercise_id for exercise_id, cells in solutions.items() for index in cells}
    scans = {index: scan_solution(nb.cells[index].source).to_dict() for index in owner}
    exercises = []
    for e in submission.expected:
        if e["id"] not in check_sources:
            feedback = f"no check cell for this exercise (expected `check.{e['name']}(...)`)."
        elif e["id"] not in solutions:
            feedback = (
                f"no solution cell for this exercise in the submission (the cell that defines `{e['name']}`, "
                "just before its check cell)."
            )
        else:
            last = max(solutions[e["id"]])
            cells = [
                {
                    "source": nb.cells[i].source,
                    "label": f"submission cell {i + 1} (exercise {owner[i]})",
                    "own": owner[i] == e["id"],
                    "scan": scans[i],
                }
                for i in sorted(owner)
                if i <= last
            ]
            # The course's solutions of the exercises before this one: it is graded on its own, never through a
            # mistake in an earlier exercise (09.2 calls 09.1's q_sample, 08.2 calls 08.1's matrix_sqrt).
            supplied = [
                {"source": source, "label": f"course solution of exercise {exercise_id}"}
                for exercise_id, source in course_solutions.items()
                if exercise_sort_key(exercise_id) < exercise_sort_key(e["id"])
            ]
            exercises.append(
                {
                    "id": e["id"],
                    "cells": cells,
                    "supplied": supplied,
                    "check_source": check_sources[e["id"]],
                }
            )
            continue
        submission.grades[e["id"]] = _grade(e, NOT_CHECKED, feedback)
    submission.job = {"imports": imports, "exercises": exercises}


def _grade(e: Dict, status: str, feedback: str, flags: Optional[List[str]] = None) -> ExerciseGrade:
    """An exercise's grade: full points only when it passed; an ungraded practice exercise is worth none."""
    if e.get("practice"):
        verdict = "passed" if status == PASSED else status
        return ExerciseGrade(
            e["id"], e["name"], PRACTICE, 0.0, 0.0, f"ungraded practice ({verdict}): {feedback}", flags or []
        )
    points = e["points"] if status == PASSED else 0.0
    return ExerciseGrade(e["id"], e["name"], status, points, e["points"], feedback, flags or [])


def _finish(submission: _Submission, records: List[Dict], problems: List[str], strict: bool) -> None:
    """Turn the sandbox's verdicts into the report's grades."""
    report = submission.report
    report.problems.extend(problems)
    verdicts, notes, seconds = {}, [], 0.0
    for record in records:
        report.problems.extend(f"The grader's imports: {p}" for p in record.get("problems", []))
        if "id" in record:
            verdicts[record["id"]] = record
            seconds += float(record.get("seconds", 0.0))
    for e in submission.expected:
        if e["id"] in submission.grades:
            continue
        verdict = verdicts.get(e["id"])
        if verdict is None:
            submission.grades[e["id"]] = _grade(
                e, ERROR, "not graded: the grader stopped before this exercise."
            )
            continue
        status = SANDBOX_STATUS.get(verdict.get("status"), ERROR)
        flags = list(verdict.get("flags") or [])
        feedback = str(verdict.get("message", ""))
        if flags and not strict:
            report.problems.append(
                f"Exercise {e['id']} was flagged (not zeroed: --no-strict): " + "; ".join(flags)
            )
        if status in (TIMED_OUT, OUT_OF_MEMORY, ERROR):
            report.problems.append(f"Exercise {e['id']}: {feedback} It costs this exercise only.")
        submission.grades[e["id"]] = _grade(e, status, feedback, flags)
        notes.extend(n for n in verdict.get("notes") or [] if n not in notes)
    report.cell_errors.extend(notes)
    report.exercises = [
        submission.grades[e["id"]] for e in submission.expected if e["id"] in submission.grades
    ]
    report.seconds = time.monotonic() - submission.started if not submission.job else seconds
